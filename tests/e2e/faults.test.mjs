// End to end: the upload survives a bad server. Injected faults on a quarter of the API calls, and
// the server killed (SIGKILL) mid-upload and restarted on the same port and data folder. Each test
// has its own server; one browser for the file.

import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { sha1File, stats, writeRandomFile } from '../../support/harness.mjs';
import { seen } from '../../support/probe.mjs';
import { serverFor } from '../../support/suite.mjs';
import {
  MiB, assertSameBytes, describeCard, globalStats, openDemo, pickFiles, readError, readResult,
  startDemoServer, throttleUploads, waitForState, waitForUploadProgress,
} from './demo.mjs';

const PART = 512 * 1024;

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startDemoServer, { tempDir: `vod-e2e-faults-${engine.name}-`, server: false });

  test('with faults injected on 25% of API calls, the upload completes with identical bytes', { timeout: 120000 }, async (t) => {
    const server = await setup.startServer({
      faults: { rate: 0.25, seed: 20240611, kinds: ['retry-code', 'http500', 'http503', 'drop'] },
    });
    const size = 8 * MiB + 77;
    const path = await writeRandomFile(setup.dir, 'faulty-network.mp4', size, 606);
    await openDemo(engine, server, { partSize: PART, concurrency: 3, retries: 8 });

    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForState(card, 'done', { timeout: 90000 });

    const result = await readResult(card);
    await assertSameBytes(result.url, path);
    const global = await globalStats(server.origin);
    assert.ok(global.faultsInjected > 0, `the server injected faults (stats: ${JSON.stringify(global)})`);
    t.diagnostic(`faults injected: ${global.faultsInjected}; calls: ${JSON.stringify(global.calls)}`);
    const fileStats = await stats(server.origin, await sha1File(path));
    assert.equal(fileStats.finished, true);
  });

  test('the server killed mid-upload and restarted: the upload recovers or Retry completes it', { timeout: 120000 }, async (t) => {
    const server = await setup.startServer();
    const size = 12 * MiB + 5;
    const path = await writeRandomFile(setup.dir, 'server-crash.mp4', size, 707);
    await openDemo(engine, server, { partSize: PART, concurrency: 2 });
    await throttleUploads(engine, 3 * MiB);

    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForUploadProgress(card, 0.3);
    await server.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the page notices: requests fail while the server is down
    await server.restart();
    t.diagnostic(`server down for ${Date.now() - killedAt} ms, back on port ${server.port}`);
    const failedCalls = (await seen(engine)).failed.filter(({ url }) => new URL(url).pathname.startsWith('/v2/')).length;
    assert.ok(failedCalls > 0, 'the page saw API calls fail while the server was down');
    await throttleUploads(engine, -1);

    const state = await waitForState(card, ['done', 'error'], { timeout: 60000 });
    if (state === 'error') {
      const error = await readError(card);
      t.diagnostic(`the upload failed while the server was down: ${await describeCard(card)}`);
      assert.ok(error.visible && error.message.length > 10, `a clear error (got "${error.message}")`);
      assert.ok(error.retryVisible, 'Retry is offered for a failure caused by the server going away');
      await card.click('retry');
      await waitForState(card, 'done', { timeout: 60000 });
    } else {
      t.diagnostic('the upload recovered by itself');
    }

    const result = await readResult(card);
    await assertSameBytes(result.url, path);
    const fileStats = await stats(server.origin, await sha1File(path));
    assert.equal(fileStats.finished, true);
    assert.equal(fileStats.fileId, result.fileId);
  });

  test('the server down for longer than the retries: a clear error, and Retry once it is back completes the upload', { timeout: 120000 }, async (t) => {
    const server = await setup.startServer();
    const size = 10 * MiB + 3;
    const path = await writeRandomFile(setup.dir, 'server-down.mp4', size, 808);
    await openDemo(engine, server, { partSize: PART, concurrency: 2, retries: 1, retryDelay: 200 });
    await throttleUploads(engine, 3 * MiB);

    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForUploadProgress(card, 0.3);
    await server.kill('SIGKILL');
    await waitForState(card, 'error', { timeout: 30000 });

    const error = await readError(card);
    t.diagnostic(`while the server was down: ${await describeCard(card)}`);
    assert.ok(error.visible, 'the error is shown on the card');
    assert.ok(error.message.length > 10, `a readable message (got "${error.message}")`);
    assert.equal(error.step, 'part', 'it failed while sending parts');
    assert.ok(error.retryVisible, 'Retry is offered');

    await server.restart();
    await throttleUploads(engine, -1);
    await card.click('retry');
    await waitForState(card, 'done', { timeout: 60000 });

    const result = await readResult(card);
    assert.ok(result.resumedBytes > 0, `the parts stored before the crash were kept (resumed ${result.resumedBytes} bytes)`);
    await assertSameBytes(result.url, path);
    const fileStats = await stats(server.origin, await sha1File(path));
    assert.equal(fileStats.finished, true);
  });

  // Chromium and WebKit refuse to read a File whose file changed on disk after it was picked. Firefox
  // reads the new bytes: the server refuses a part whose body no longer has the MD5 read before
  // (-10006), the part read again has another MD5, and the upload fails as a read error all the same.
  test('the file changed on disk mid-upload: a read error, nothing stored, and the file picked again uploads its new contents', { timeout: 120000 }, async (t) => {
    const server = await setup.startServer();
    const size = 12 * MiB + 9;
    const path = await writeRandomFile(setup.dir, 'edited-while-sent.mp4', size, 909);
    const oldSha = await sha1File(path);
    await openDemo(engine, server, { partSize: PART, concurrency: 2 });
    await throttleUploads(engine, 3 * MiB);

    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForUploadProgress(card, 0.3);
    // The same name and size, other bytes and a new modification time: the browser refuses to read the
    // File it was given any further.
    await writeRandomFile(setup.dir, 'edited-while-sent.mp4', size, 910);
    await waitForState(card, 'error', { timeout: 30000 });

    const error = await readError(card);
    t.diagnostic(`after the edit: ${await describeCard(card)}`);
    assert.equal(error.step, 'part', 'it failed reading the next parts');
    assert.match(error.message, /read/i, `the message says the file could not be read (got "${error.message}")`);
    assert.ok(error.retryVisible, 'Retry is offered');
    assert.equal((await stats(server.origin, oldSha)).finished, false, 'the old contents were not stored as a file');

    // Picked again, the file as it is now is hashed anew (its cached hash is not trusted), uploaded and
    // stored byte for byte.
    await throttleUploads(engine, -1);
    const [fresh] = await pickFiles(engine, [path]);
    await fresh.click('upload');
    await waitForState(fresh, 'done', { timeout: 60000 });
    const result = await readResult(fresh);
    assert.notEqual(result.fileSha, oldSha, 'the new contents were hashed, not the cached hash of the old');
    await assertSameBytes(result.url, path);
  });

  test('calls with no answer within the timeout are sent again, then fail saying so', { timeout: 60000 }, async (t) => {
    const server = await setup.startServer({ faults: { rate: 1, kinds: ['slow'], slowMs: 5000 } });
    const path = await writeRandomFile(setup.dir, 'no-answer.mp4', 300 * 1024, 1001);
    await openDemo(engine, server);
    // An input of the test's own (the demo's clears itself once it made a card).
    await engine.evaluate(async () => document.body.insertAdjacentHTML('beforeend', '<input type="file" id="picked">'));
    await engine.setInputFiles('#picked', [path]);

    // The package's own API on the picked file, with a 1 s timeout and one retry.
    const outcome = await engine.evaluate(async () => {
      const { upload } = await import('/dist/index.js');
      const file = document.getElementById('picked').files[0];
      const getSignature = ({ fileSha, fileName }) => fetch('/dev/signature', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileSha, fileName }),
      }).then((r) => r.json()).then((j) => j.signature);
      const started = performance.now();
      try {
        await upload(file, { endpoint: '/v2/index.php', getSignature, timeout: 1000, retries: 1, retryDelay: 100 });
        return { resolved: true };
      } catch (e) {
        return { name: e.name, step: e.step, canRetry: e.canRetry, message: e.message, ms: performance.now() - started };
      }
    });
    t.diagnostic(JSON.stringify(outcome));
    assert.equal(outcome.name, 'UploadError');
    assert.equal(outcome.step, 'init');
    assert.match(outcome.message, /after 2 attempts: network error: no answer within 1 s/);
    assert.equal(outcome.canRetry, true);
    // Two sends cut off at 1 s each, a short backoff between: long before two of the server's 5 s answers.
    assert.ok(outcome.ms > 1900 && outcome.ms < 8000, `failed after ${Math.round(outcome.ms)} ms`);
  });
});
