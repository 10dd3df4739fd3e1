// End to end: the upload survives a bad server. Injected faults on a quarter of the API calls, and
// the server killed (SIGKILL) mid-upload and restarted on the same port and data folder. Each test
// has its own server; one browser for the file.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, makeTempDir, newPage, sha1File, stats, writeRandomFile } from '../support/harness.mjs';
import {
  MiB, assertSameBytes, describeCard, globalStats, openDemo, pickFiles, readError, readResult,
  startDemoServer, throttleUploads, waitForState, waitForUploadProgress,
} from './demo.mjs';

const PART = 512 * 1024;

let browser;
let dir;
const servers = [];

before(async () => {
  dir = makeTempDir('vod-e2e-faults-');
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  for (const server of servers) await server.stop();
});

test('with faults injected on 25% of API calls, the upload completes with identical bytes', { timeout: 120000 }, async (t) => {
  const server = await startDemoServer({
    faults: { rate: 0.25, seed: 20240611, kinds: ['retry-code', 'http500', 'http503', 'drop'] },
  });
  servers.push(server);
  const size = 8 * MiB + 77;
  const path = await writeRandomFile(dir, 'faulty-network.mp4', size, 606);
  const page = await newPage(browser, t);
  await openDemo(page, server, { partSize: PART, concurrency: 3, retries: 8 });

  const [card] = await pickFiles(page, [path]);
  await card.getByTestId('upload').click();
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
  const server = await startDemoServer();
  servers.push(server);
  const size = 12 * MiB + 5;
  const path = await writeRandomFile(dir, 'server-crash.mp4', size, 707);
  const page = await newPage(browser, t);
  await openDemo(page, server, { partSize: PART, concurrency: 2 });
  await throttleUploads(page, 3 * MiB);

  const [card] = await pickFiles(page, [path]);
  await card.getByTestId('upload').click();
  await waitForUploadProgress(card, 0.3);
  await server.kill('SIGKILL');
  const killedAt = Date.now();
  await page.waitForTimeout(1500); // the page notices: requests fail while the server is down
  await server.restart();
  t.diagnostic(`server down for ${Date.now() - killedAt} ms, back on port ${server.port}`);
  await throttleUploads(page, -1);

  const state = await waitForState(card, ['done', 'error'], { timeout: 60000 });
  if (state === 'error') {
    const error = await readError(card);
    t.diagnostic(`the upload failed while the server was down: ${await describeCard(card)}`);
    assert.ok(error.visible && error.message.length > 10, `a clear error (got "${error.message}")`);
    assert.ok(error.retryVisible, 'Retry is offered for a failure caused by the server going away');
    await card.getByTestId('retry').click();
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
