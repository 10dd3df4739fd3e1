// The hash pass runs in the package's Web Worker, in Chromium, Firefox ESR and WebKitGTK: a real file
// picked through <input type=file> is hashed off the page's thread, to the same SHA-1 as Node
// computes, and an abort reaches the worker.
import { before } from 'node:test';
import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { makeTempDir, sha1File, writeRandomFile } from '../../support/harness.mjs';
import { seen, watch } from '../../support/probe.mjs';
import { serverFor } from '../../support/suite.mjs';
import { fixtureSite } from './helpers.mjs';

// Several of the hash pass's 8 MiB read windows, and not a multiple of one.
const SIZE = 40 * 1024 * 1024 + 777;

let path;
let sha;

before(async () => {
  path = await writeRandomFile(makeTempDir('vod-hash-file-'), 'clip.mp4', SIZE, 5);
  sha = await sha1File(path);
});

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, () => fixtureSite([['hash.html', 'index.html']]));

  async function pagePicking() {
    await engine.goto(setup.server.url);
    await engine.waitFor(() => document.body.dataset.ready === '1', null, { message: 'the page to load' });
    await watch(engine);
    await engine.setInputFiles('#file', [path]);
  }

  test('hashFile hashes a picked file in a Web Worker to the SHA-1 Node computes', async () => {
    await pagePicking();
    const { sha: got, reports, error } = await engine.evaluate(() => window.runHash());
    assert.equal(error, undefined);
    assert.equal(got, sha);
    const { workers } = await seen(engine);
    assert.ok(workers.some((w) => w.url.endsWith('/dist/hash-worker.js') && w.messages > 0),
      `the hash worker ran (workers: ${JSON.stringify(workers)})`);
    assert.ok(reports.length > 2, 'progress came from the worker as the pass went on');
    assert.deepEqual([...reports].sort((a, b) => a - b), reports, 'progress never goes back');
    assert.equal(reports.at(-1), SIZE);
  });

  test('aborting hashFile stops the worker with an AbortError', async () => {
    await pagePicking();
    const { sha: got, error, reports } = await engine.evaluate(() => window.runHash({ abortAfterFirstProgress: true }));
    assert.equal(got, undefined);
    assert.equal(error.name, 'AbortError');
    assert.equal(error.isDomException, true);
    assert.ok(reports.at(-1) < SIZE, 'the pass stopped before the end');
  });
});
