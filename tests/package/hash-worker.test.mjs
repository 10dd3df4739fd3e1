// The hash pass runs in the package's Web Worker: a real file picked through <input type=file> is
// hashed off the page's thread, to the same SHA-1 as Node computes, and an abort reaches the worker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser, makeTempDir, newPage, sha1File, writeRandomFile } from '../../support/harness.mjs';
import { fixtureSite } from './helpers.mjs';

let browser;
let server;
let path;

before(async () => {
  server = await fixtureSite([['hash.html', 'index.html']]);
  browser = await launchBrowser();
  // Several of the hash pass's 8 MiB read windows, and not a multiple of one.
  path = await writeRandomFile(makeTempDir('vod-hash-file-'), 'clip.mp4', 40 * 1024 * 1024 + 777, 5);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function pagePicking(t) {
  const page = await newPage(browser, t);
  const workers = [];
  page.on('worker', (w) => workers.push(w.url()));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="1"]');
  await page.setInputFiles('#file', path);
  return { page, workers };
}

test('hashFile hashes a picked file in a Web Worker to the SHA-1 Node computes', async (t) => {
  const { page, workers } = await pagePicking(t);
  const { sha, reports, error } = await page.evaluate(() => window.runHash());
  assert.equal(error, undefined);
  assert.equal(sha, await sha1File(path));
  assert.ok(workers.some((url) => url.endsWith('/dist/hash-worker.js')), `the hash worker ran (workers: ${workers})`);
  assert.ok(reports.length > 2, 'progress came from the worker as the pass went on');
  assert.deepEqual([...reports].sort((a, b) => a - b), reports, 'progress never goes back');
  assert.equal(reports.at(-1), 40 * 1024 * 1024 + 777);
});

test('aborting hashFile stops the worker with an AbortError', async (t) => {
  const { page } = await pagePicking(t);
  const { sha, error, reports } = await page.evaluate(() => window.runHash({ abortAfterFirstProgress: true }));
  assert.equal(sha, undefined);
  assert.equal(error.name, 'AbortError');
  assert.equal(error.isDomException, true);
  assert.ok(reports.at(-1) < 40 * 1024 * 1024, 'the pass stopped before the end');
});
