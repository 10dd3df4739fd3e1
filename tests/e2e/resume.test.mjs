// End to end: interrupted uploads continue where they stopped. Pause then Resume on the same card,
// and a page reload mid-upload followed by picking the same file again. The page's upload bandwidth
// is limited (Chromium network emulation) so that "mid-upload" lasts long enough to act on.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, makeTempDir, newPage, sha1File, stats, writeRandomFile } from '../../support/harness.mjs';
import {
  MiB, assertSameBytes, openDemo, pickFiles, readResult, startDemoServer, throttleUploads,
  waitForDemoReady, waitForState, waitForUploadProgress,
} from './demo.mjs';

const PART = 512 * 1024;
const CONCURRENCY = 2;
const QUERY = { partSize: PART, concurrency: CONCURRENCY };
const SLOW = 3 * MiB; // bytes per second while we wait for the moment to interrupt

let server;
let browser;
let dir;

before(async () => {
  dir = makeTempDir('vod-e2e-resume-');
  [server, browser] = await Promise.all([startDemoServer(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Writes a file, picks it on a throttled demo page and uploads it until `share` is acknowledged. */
async function uploadPartWay(t, name, size, seed, share = 0.3) {
  const path = await writeRandomFile(dir, name, size, seed);
  const sha = await sha1File(path);
  const page = await newPage(browser, t);
  await openDemo(page, server, QUERY);
  await throttleUploads(page, SLOW);
  const partRequests = countPartRequests(page);
  const [card] = await pickFiles(page, [path]);
  await card.getByTestId('upload').click();
  await waitForUploadProgress(card, share);
  return { path, sha, page, partRequests, card, totalParts: Math.ceil(size / PART) };
}

test('pause then resume: only the missing parts are sent', { timeout: 90000 }, async (t) => {
  const size = 10 * MiB + 4321;
  const { path, sha, page, partRequests, card, totalParts } = await uploadPartWay(t, 'pause-resume.mp4', size, 404);
  const speed = await card.getByTestId('speed').textContent();
  const eta = await card.getByTestId('eta').textContent();
  await card.getByTestId('pause').click();
  await waitForState(card, 'paused', { timeout: 5000 });
  assert.match(speed, /^\d+(\.\d)? MB\/s$/, 'the speed was shown while uploading');
  assert.match(eta, /left$/, 'the time left was shown while uploading');
  assert.match(await card.textContent(), /Paused/);
  assert.ok(await card.getByTestId('resume').isVisible(), 'Resume is offered');

  const atPause = await stats(server.origin, sha);
  assert.equal(atPause.finished, false);
  assert.ok(atPause.partsHeld > 0 && atPause.partsHeld < totalParts, `some parts held at pause (${atPause.partsHeld}/${totalParts})`);

  await throttleUploads(page, -1);
  await card.getByTestId('resume').click();
  await waitForState(card, 'done');

  const result = await readResult(card);
  assert.equal(result.instant, false);
  assert.ok(result.resumedBytes > 0, `the result reports resumed bytes (${result.resumedBytes})`);
  assert.match(result.transferText, /resumed/i, 'the card says it resumed');
  assert.ok(result.uploadedBytes < size, `less than the whole file was sent after resuming (${result.uploadedBytes})`);

  const final = await stats(server.origin, sha);
  assert.equal(final.finished, true);
  // Every part was stored (and counted) once; only the parts in flight when the page paused may have
  // gone twice.
  assert.ok(
    final.partsReceived >= totalParts && final.partsReceived <= totalParts + CONCURRENCY,
    `parts the server accepted: ${final.partsReceived} for ${totalParts} parts (at most the ${CONCURRENCY} in flight at pause twice)`,
  );
  assert.ok(
    partRequests.length <= totalParts + CONCURRENCY,
    `parts the page sent: ${partRequests.length} for ${totalParts} parts (at most the ${CONCURRENCY} in flight at pause twice)`,
  );
  await assertSameBytes(result.url, path);
});

test('a page reload mid-upload, then the same file picked again: it resumes', { timeout: 90000 }, async (t) => {
  const size = 10 * MiB + 999;
  const { path, sha, page, partRequests, totalParts } = await uploadPartWay(t, 'reload.mp4', size, 505);
  await page.reload();
  await waitForDemoReady(page);
  await throttleUploads(page, -1);
  assert.equal(await page.getByTestId('upload-card').count(), 0, 'the reloaded page starts empty');

  const atReload = await stats(server.origin, sha);
  assert.ok(atReload.partsHeld > 0 && atReload.partsHeld < totalParts, `some parts held at reload (${atReload.partsHeld}/${totalParts})`);

  const [again] = await pickFiles(page, [path]);
  await again.getByTestId('upload').click();
  await waitForState(again, 'done');
  const result = await readResult(again);
  assert.equal(result.instant, false);
  assert.ok(result.resumedBytes > 0, `the result reports resumed bytes (${result.resumedBytes})`);

  const final = await stats(server.origin, sha);
  assert.ok(
    final.partsReceived <= totalParts + CONCURRENCY,
    `parts the server accepted: ${final.partsReceived} for ${totalParts} parts`,
  );
  assert.ok(
    partRequests.length <= totalParts + CONCURRENCY,
    `parts the page sent, before and after the reload: ${partRequests.length} for ${totalParts} parts`,
  );
  await assertSameBytes(result.url, path);
});

test('cancel mid-upload removes the card and stops sending', { timeout: 60000 }, async (t) => {
  const { sha, page, partRequests, card } = await uploadPartWay(t, 'cancelled.mp4', 8 * MiB + 5, 909, 0.2);
  await card.getByTestId('cancel').click();
  assert.equal(await page.getByTestId('upload-card').count(), 0, 'the card is gone');
  const sentAtCancel = partRequests.length;
  await page.waitForTimeout(1000);
  assert.equal(partRequests.length, sentAtCancel, 'no part was sent after Cancel');
  const fileStats = await stats(server.origin, sha);
  assert.equal(fileStats.finished, false);
});

/** Every UploadPartEx request the page starts (aborted ones included), as offsets, in order. */
function countPartRequests(page) {
  const offsets = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.searchParams.get('Action') === 'UploadPartEx') offsets.push(Number(url.searchParams.get('offset')));
  });
  return offsets;
}
