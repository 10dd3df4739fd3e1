// The package and the demo page in every engine (Chromium, Firefox ESR, WebKitGTK; see
// support/engines.mjs): a file from disk, picked through the demo's <input type=file> at phone size,
// is uploaded and stored byte for byte; hashFile gives the SHA-1 Node computes; and the page at
// 390×844 cuts nothing off horizontally (its screenshots are kept in test-results/). WebKit's Blob
// streams are not byte streams: there the package reads the file as slices (js/read.js).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before } from 'node:test';

import { ENGINES, forEngines, resultPath } from '../../support/engines.mjs';
import { fetchBytes, sha1File, writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { startDemoServer } from '../e2e/demo.mjs';

const MiB = 1 << 20;
/** Three windows of the hash pass (8 MiB, the last one short) and 35 parts of 512 KiB, the last one short. */
const SIZE = 17 * MiB + 4321;
const PHONE = { width: 390, height: 844 };
const INPUT = '[data-testid="file-input"]';

// ---- run in the page (sent as source: they see only their arguments) --------------------------

/** Waits until the demo's module ran; fails if it says the package did not load. */
async function demoReady() {
  for (const end = Date.now() + 15000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (document.documentElement.dataset.ready === 'true') return;
    if (!document.getElementById('load-error').hidden) throw new Error('the demo could not load the package from /dist/index.js');
  }
  throw new Error('the demo page did not get ready within 15 s');
}

/** Presses Upload on the first card and waits until it is done or failed: what the card shows. */
async function uploadFirstCard(timeoutMs) {
  const card = document.querySelector('[data-testid="upload-card"]');
  card.querySelector('[data-testid="upload"]').click();
  const end = Date.now() + timeoutMs;
  while (card.dataset.state !== 'done' && card.dataset.state !== 'error' && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    state: card.dataset.state,
    sha: card.dataset.fileSha ?? null,
    link: card.querySelector('[data-testid="file-link"]').getAttribute('href'),
    error: card.querySelector('[data-testid="error-message"]').textContent,
  };
}

/** The page's width and what sticks out past the viewport's right edge. */
function layout() {
  const width = window.innerWidth;
  const outside = [...document.querySelectorAll('body *')]
    .filter((el) => el.getClientRects().length > 0 && el.getBoundingClientRect().right > width + 0.5)
    .map((el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''}`
      + ` (right edge ${Math.round(el.getBoundingClientRect().right)})`);
  return { width, height: window.innerHeight, scrollWidth: document.documentElement.scrollWidth, outside };
}

// ------------------------------------------------------------------------------------------------

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startDemoServer, { tempDir: 'vod-engines-' });
  let path;
  let sha;

  before(async () => {
    if (engine.skipped) return;
    const seed = ENGINES.indexOf(engine.name) + 1201;
    path = await writeRandomFile(setup.dir, `clip-${engine.name}.mp4`, SIZE, seed);
    sha = await sha1File(path);
  });

  /** The demo at phone size with the file picked (one queued card). */
  async function demoWithFile() {
    await engine.setViewport(PHONE.width, PHONE.height);
    await engine.goto(`${setup.server.url}?partSize=524288`);
    await engine.evaluate(demoReady);
    await engine.setInputFiles(INPUT, [path]);
  }

  /** Asserts that nothing is cut off at phone width, and keeps a screenshot named after `state`. */
  async function checkPhoneLayout(state) {
    const shot = `${resultPath(`engines-${engine.name}-demo-390x844-${state}`)}.png`;
    await engine.screenshot(shot);
    const seen = await engine.evaluate(layout);
    assert.deepEqual([seen.width, seen.height], [PHONE.width, PHONE.height], 'the viewport is not 390×844');
    assert.ok(seen.scrollWidth <= PHONE.width && seen.outside.length === 0,
      `the page is ${seen.scrollWidth} px wide at ${PHONE.width} px (${state}); past the right edge: `
      + `${seen.outside.join(', ') || 'none'}; see ${shot}`);
  }

  test('the demo page uploads a file picked through <input type=file>, and the server stores it byte for byte', async () => {
    await demoWithFile();
    const card = await engine.evaluate(uploadFirstCard, 240000);
    assert.equal(card.state, 'done', `the card ended "${card.state}": ${card.error}`);
    assert.equal(card.sha, sha, 'the SHA-1 the upload reports');
    const stored = await fetchBytes(new URL(card.link, setup.server.url).href);
    assert.equal(stored.length, SIZE);
    assert.ok(stored.equals(readFileSync(path)), 'the stored file differs from the file picked');
    await engine.evaluate(async () => document.querySelector('[data-testid="upload-card"]').scrollIntoView());
    await checkPhoneLayout('uploaded');
  });

  test('hashFile gives the SHA-1 Node computes for a file picked from disk', async () => {
    await engine.goto(setup.server.url);
    await engine.evaluate(demoReady);
    // An input of its own: the demo's forgets its files once it made their cards.
    await engine.evaluate(async () => {
      document.body.append(Object.assign(document.createElement('input'), { type: 'file', id: 'hash-input' }));
    });
    await engine.setInputFiles('#hash-input', [path]);
    const got = await engine.evaluate(async () => {
      const { hashFile } = await import(new URL('/dist/index.js', location.href).href);
      return hashFile(document.getElementById('hash-input').files[0]);
    });
    assert.equal(got, sha);
  });

  test('the hash worker runs as a module worker, the buffers it hashes transferred to it and back', async () => {
    await engine.goto(setup.server.url);
    await engine.evaluate(demoReady);
    const bytes = [...Buffer.from('every engine, fast where it can')];
    const got = await engine.evaluate(async (data) => {
      const worker = new Worker(new URL('/dist/hash-worker.js', location.href), { type: 'module' });
      try {
        const buffer = new Uint8Array(data).buffer;
        const reply = new Promise((resolve, reject) => {
          worker.onmessage = ({ data: message }) => resolve(message);
          worker.onerror = (event) => reject(new Error(`the worker failed: ${event.message ?? 'no message'}`));
          setTimeout(() => reject(new Error('no answer from the worker within 20 s')), 20000);
        });
        worker.postMessage({ id: 1, md5: buffer, length: data.length }, [buffer]);
        const sentAway = buffer.byteLength === 0;
        const { md5, chunk } = await reply;
        return { md5, sentAway, back: chunk.byteLength };
      } finally {
        worker.terminate();
      }
    }, bytes);
    assert.deepEqual(got, { md5: createHash('md5').update(Buffer.from(bytes)).digest('hex'), sentAway: true, back: bytes.length });
  });

  test('the demo page at 390×844, empty and with a file queued: nothing cut off horizontally', async () => {
    await engine.setViewport(PHONE.width, PHONE.height);
    await engine.goto(setup.server.url);
    await engine.evaluate(demoReady);
    await checkPhoneLayout('empty');
    await engine.setInputFiles(INPUT, [path]);
    await engine.evaluate(async () => {
      while (!document.querySelector('[data-testid="upload-card"]')) await new Promise((r) => setTimeout(r, 50));
    });
    await checkPhoneLayout('queued');
  });
});
