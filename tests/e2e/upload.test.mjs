// End to end, in headless Chromium against the real vod-server: a person picks files on the demo
// page and uploads them. Fresh upload, the same file again (instant), an empty file, an expired
// signature. One server and one browser for the file; the tests run in order.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, makeTempDir, newPage, sha1File, stats, writeRandomFile } from '../../support/harness.mjs';
import {
  MiB, assertSameBytes, globalStats, openDemo, pickFiles, progressOf, readError, readResult,
  startDemoServer, statesSeen, waitForState,
} from './demo.mjs';

const PART = 512 * 1024;
const QUERY = { partSize: PART, concurrency: 3 };

let server;
let browser;
let dir;

before(async () => {
  dir = makeTempDir('vod-e2e-upload-');
  [server, browser] = await Promise.all([startDemoServer(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a fresh upload: the card goes through hashing and uploading to done, and the link serves the same bytes', { timeout: 90000 }, async (t) => {
  const size = 12 * MiB + 12345;
  const path = await writeRandomFile(dir, 'fresh-upload.mp4', size, 101);
  const page = await newPage(browser, t);
  await openDemo(page, server, QUERY);

  const [card] = await pickFiles(page, [path]);
  assert.equal(await card.getAttribute('data-file-name'), 'fresh-upload.mp4');
  assert.equal(await card.getAttribute('data-state'), 'queued');
  assert.equal(await card.getByTestId('file-size').textContent(), '13 MB', 'the card shows the file size');

  await card.getByTestId('upload').click();
  await waitForState(card, 'done');

  const result = await readResult(card);
  assert.match(result.fileId, /^\d{19,20}$/);
  assert.equal(result.instant, false, 'a fresh upload is not instant');
  assert.equal(result.fileSha, await sha1File(path));
  assert.ok(result.linkVisible, 'the link to the stored file is visible');
  assert.ok(result.videoVisible, 'the video player is visible');
  assert.equal(result.videoSrc, result.url, 'the <video> plays the stored file');
  assert.equal(result.uploadedBytes, size);
  assert.equal(await progressOf(card, 'hash'), 1);
  assert.equal(await progressOf(card, 'upload'), 1);
  const seen = await statesSeen(card);
  for (const state of ['queued', 'hashing', 'uploading', 'done']) {
    assert.ok(seen.includes(state), `the card showed ${state} (saw ${seen.join(' → ')})`);
  }

  await assertSameBytes(result.url, path);
  const fileStats = await stats(server.origin, result.fileSha);
  assert.equal(fileStats.finished, true);
  assert.equal(fileStats.fileId, result.fileId);
  assert.equal(fileStats.partsReceived, Math.ceil(size / PART), 'every part was sent once');
});

test('a real video, recorded in the browser, uploads and plays in the card', { timeout: 60000 }, async (t) => {
  const page = await newPage(browser, t);
  await openDemo(page, server, QUERY);
  // A 1.5 s VP8 WebM of a changing canvas, made with MediaRecorder: a file the <video> can decode.
  const webm = Buffer.from(await page.evaluate(async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 180;
    const ctx = canvas.getContext('2d');
    const recorder = new MediaRecorder(canvas.captureStream(30), { mimeType: 'video/webm;codecs=vp8' });
    const chunks = [];
    recorder.ondataavailable = (event) => chunks.push(event.data);
    let frame = 0;
    const draw = setInterval(() => {
      ctx.fillStyle = `hsl(${(frame * 9) % 360} 70% 45%)`;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = '#fff';
      ctx.font = '48px sans-serif';
      ctx.fillText(String(frame++), 24, 110);
    }, 33);
    recorder.start();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.stop();
    await stopped;
    clearInterval(draw);
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  }), 'base64');
  assert.ok(webm.length > 1000, `MediaRecorder produced a video (${webm.length} bytes)`);
  const path = join(dir, 'recorded-clip.webm');
  writeFileSync(path, webm);

  const [card] = await pickFiles(page, [path]);
  await card.getByTestId('upload').click();
  await waitForState(card, 'done');
  const result = await readResult(card);
  assert.match(result.url, /\/f0\.webm$/);
  await assertSameBytes(result.url, path);

  const video = card.getByTestId('video');
  const handle = await video.elementHandle();
  await page.waitForFunction((el) => el.readyState >= 2 || el.error, handle, { timeout: 15000 });
  const playback = await video.evaluate((el) => ({
    error: el.error && `${el.error.code} ${el.error.message}`,
    width: el.videoWidth,
    height: el.videoHeight,
  }));
  assert.equal(playback.error, null, 'the <video> loads the stored file without an error');
  assert.deepEqual([playback.width, playback.height], [320, 180], 'the <video> decoded the frames');
  assert.equal(await card.locator('.video-note').isVisible(), false, 'no "cannot play" note');
});

test('the same file picked again uploads instantly, with the same fileId', { timeout: 90000 }, async (t) => {
  const size = 6 * MiB + 1;
  const path = await writeRandomFile(dir, 'twice.mp4', size, 202);
  const page = await newPage(browser, t);
  await openDemo(page, server, QUERY);

  const [first] = await pickFiles(page, [path]);
  await first.getByTestId('upload').click();
  await waitForState(first, 'done');
  const firstResult = await readResult(first);
  assert.equal(firstResult.instant, false);

  const [second] = await pickFiles(page, [path]);
  assert.equal(await page.getByTestId('upload-card').count(), 2, 'a second card for the same file');
  await second.getByTestId('upload').click();
  await waitForState(second, 'done');
  const secondResult = await readResult(second);
  assert.equal(secondResult.instant, true, 'the instant badge is shown');
  assert.equal(secondResult.fileId, firstResult.fileId);
  assert.equal(secondResult.url, firstResult.url);
  assert.equal(secondResult.uploadedBytes, 0);

  const fileStats = await stats(server.origin, firstResult.fileSha);
  assert.equal(fileStats.partsReceived, Math.ceil(size / PART), 'nothing was sent the second time');
  await assertSameBytes(secondResult.url, path);
});

test('several files, one dropped on the page and two picked: Upload all uploads every one', { timeout: 90000 }, async (t) => {
  const paths = await Promise.all([
    writeRandomFile(dir, 'dropped.mp4', 1 * MiB + 100, 211),
    writeRandomFile(dir, 'picked-a.mp4', 3 * MiB + 200, 212),
    writeRandomFile(dir, 'picked-b.mp4', 2 * MiB + 300, 213),
  ]);
  const page = await newPage(browser, t);
  await openDemo(page, server, QUERY);

  const dropped = readFileSync(paths[0]).toString('base64');
  const transfer = await page.evaluateHandle((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'dropped.mp4', { type: 'video/mp4' }));
    return data;
  }, dropped);
  await page.dispatchEvent('#dropzone', 'dragenter', { dataTransfer: transfer });
  await page.dispatchEvent('#dropzone', 'drop', { dataTransfer: transfer });
  const cards = page.getByTestId('upload-card');
  await cards.first().waitFor();
  assert.equal(await cards.first().getAttribute('data-file-name'), 'dropped.mp4');
  await pickFiles(page, paths.slice(1));
  assert.equal(await cards.count(), 3);

  await page.getByTestId('upload-all').click();
  for (let i = 0; i < 3; i++) await waitForState(cards.nth(i), 'done');
  for (let i = 0; i < 3; i++) {
    const result = await readResult(cards.nth(i));
    assert.equal(await cards.nth(i).getAttribute('data-file-name'), ['dropped.mp4', 'picked-a.mp4', 'picked-b.mp4'][i]);
    await assertSameBytes(result.url, paths[i]);
  }
  assert.equal(await page.getByTestId('upload-all').isDisabled(), true, 'nothing left to upload');
});

test('an empty file shows a clear error and sends nothing to the server', { timeout: 60000 }, async (t) => {
  const path = join(dir, 'empty.mp4');
  writeFileSync(path, '');
  const page = await newPage(browser, t);
  await openDemo(page, server, QUERY);
  const sent = [];
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (pathname.startsWith('/v2/') || pathname.startsWith('/dev/')) sent.push(`${request.method()} ${request.url()}`);
  });
  const statsBefore = await globalStats(server.origin);

  const [card] = await pickFiles(page, [path]);
  await card.getByTestId('upload').click();
  await waitForState(card, 'error', { timeout: 15000 });

  const error = await readError(card);
  assert.ok(error.visible, 'the error is shown on the card');
  assert.ok(error.message.length > 5, `the error says what is wrong (got "${error.message}")`);
  assert.match(`${error.title} ${error.message}`, /empty|0 bytes|zero/i);
  assert.equal(error.retryVisible, false, 'no Retry for an empty file');
  assert.deepEqual(sent, [], 'the page sent no request for an empty file');
  assert.deepEqual(await globalStats(server.origin), statsBefore, 'the server saw no call');
});

test('an expired signature shows a readable error, and no request reaches the server', { timeout: 60000 }, async (t) => {
  const path = await writeRandomFile(dir, 'expired.mp4', 2 * MiB + 3, 303);
  const page = await newPage(browser, t);
  await openDemo(page, server, QUERY);
  // The page's signing backend issues signatures that expired a minute ago.
  let signatureRequests = 0;
  await page.route('**/dev/signature', async (route) => {
    signatureRequests += 1;
    const body = JSON.parse(route.request().postData() ?? '{}');
    await route.continue({ postData: JSON.stringify({ ...body, ttl: -60 }) });
  });
  const callsBefore = (await globalStats(server.origin)).calls;

  const [card] = await pickFiles(page, [path]);
  await card.getByTestId('upload').click();
  await waitForState(card, 'error', { timeout: 30000 });

  const error = await readError(card);
  assert.ok(error.visible, 'the error is shown on the card');
  assert.match(error.message, /^signature: expired at \d{10} \(Unix time, its e\)/i, "the card shows the uploader's message");
  assert.equal(error.code, '', 'no server code: the server was never asked');
  assert.equal(error.step, 'signature', 'the uploader checked the signature before using it');
  assert.equal(error.retryVisible, false, 'an expired signature is not offered as retryable');
  assert.ok(signatureRequests >= 1, 'the page asked its backend for a signature');
  assert.deepEqual((await globalStats(server.origin)).calls, callsBefore, 'no call reached the server');
});
