// End to end, in Chromium, Firefox ESR and WebKitGTK (support/engines.mjs) against the real
// vod-server: a person picks files on the demo page and uploads them. Fresh upload, a recorded video,
// the same file again (instant), files dropped and picked, an empty file, an expired signature. One
// server and one browser per engine; the tests run in order.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { sha1File, stats, writeRandomFile } from '../../support/harness.mjs';
import { seen, signatureTtl } from '../../support/probe.mjs';
import { serverFor } from '../../support/suite.mjs';
import {
  MiB, assertSameBytes, cardCount, globalStats, openDemo, pickFiles, progressOf, readError, readResult,
  cardOf, press, startDemoServer, statesSeen, waitForState,
} from './demo.mjs';

const PART = 512 * 1024;
const QUERY = { partSize: PART, concurrency: 3 };

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startDemoServer, { tempDir: `vod-e2e-upload-${engine.name}-` });

  test('a fresh upload: the card goes through hashing and uploading to done, and the link serves the same bytes', { timeout: 90000 }, async () => {
    const size = 12 * MiB + 12345;
    const path = await writeRandomFile(setup.dir, 'fresh-upload.mp4', size, 101);
    await openDemo(engine, setup.server, QUERY);

    const [card] = await pickFiles(engine, [path]);
    assert.equal(await card.attr('data-file-name'), 'fresh-upload.mp4');
    assert.equal(await card.attr('data-state'), 'queued');
    assert.equal(await card.text('file-size'), '13 MB', 'the card shows the file size');

    await card.click('upload');
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
    const states = await statesSeen(card);
    for (const state of ['queued', 'hashing', 'uploading', 'done']) {
      assert.ok(states.includes(state), `the card showed ${state} (saw ${states.join(' → ')})`);
    }

    await assertSameBytes(result.url, path);
    const fileStats = await stats(setup.server.origin, result.fileSha);
    assert.equal(fileStats.finished, true);
    assert.equal(fileStats.fileId, result.fileId);
    assert.equal(fileStats.partsReceived, Math.ceil(size / PART), 'every part was sent once');
  });

  test('a real video, recorded in the browser, uploads and plays in the card', { timeout: 60000 }, async (t) => {
    await openDemo(engine, setup.server, QUERY);
    // A 1.5 s VP8 WebM of a changing canvas, made with MediaRecorder: a file the <video> can decode.
    const recorded = await engine.evaluate(async () => {
      if (typeof MediaRecorder !== 'function' || !MediaRecorder.isTypeSupported('video/webm;codecs=vp8')) {
        return { unsupported: `MediaRecorder cannot record video/webm;codecs=vp8 here (${typeof MediaRecorder === 'function' ? 'type not supported' : 'no MediaRecorder'})` };
      }
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
      return { webm: btoa(binary) };
    });
    if (recorded.unsupported) {
      t.skip(`${engine.version}: ${recorded.unsupported}; the test needs a recorded video`);
      return;
    }
    const webm = Buffer.from(recorded.webm, 'base64');
    assert.ok(webm.length > 1000, `MediaRecorder produced a video (${webm.length} bytes)`);
    const path = join(setup.dir, 'recorded-clip.webm');
    writeFileSync(path, webm);

    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForState(card, 'done');
    const result = await readResult(card);
    assert.match(result.url, /\/f0\.webm$/);
    await assertSameBytes(result.url, path);

    await engine.waitFor((id) => {
      const el = document.querySelector(`[data-item-id="${id}"] [data-testid="video"]`);
      return el.readyState >= 2 || el.error;
    }, card.id, { timeout: 15000, message: 'the <video> to load' });
    const playback = await card.on((el) => {
      const video = el.querySelector('[data-testid="video"]');
      return { error: video.error && `${video.error.code} ${video.error.message}`, width: video.videoWidth, height: video.videoHeight };
    });
    assert.equal(playback.error, null, 'the <video> loads the stored file without an error');
    assert.deepEqual([playback.width, playback.height], [320, 180], 'the <video> decoded the frames');
    assert.equal(await card.isHidden('.video-note'), true, 'no "cannot play" note');
  });

  test('the same file picked again uploads instantly, with the same fileId', { timeout: 90000 }, async () => {
    const size = 6 * MiB + 1;
    const path = await writeRandomFile(setup.dir, 'twice.mp4', size, 202);
    await openDemo(engine, setup.server, QUERY);

    const [first] = await pickFiles(engine, [path]);
    await first.click('upload');
    await waitForState(first, 'done');
    const firstResult = await readResult(first);
    assert.equal(firstResult.instant, false);

    const [second] = await pickFiles(engine, [path]);
    assert.equal(await cardCount(engine), 2, 'a second card for the same file');
    await second.click('upload');
    await waitForState(second, 'done');
    const secondResult = await readResult(second);
    assert.equal(secondResult.instant, true, 'the instant badge is shown');
    assert.equal(secondResult.fileId, firstResult.fileId);
    assert.equal(secondResult.url, firstResult.url);
    assert.equal(secondResult.uploadedBytes, 0);

    const fileStats = await stats(setup.server.origin, firstResult.fileSha);
    assert.equal(fileStats.partsReceived, Math.ceil(size / PART), 'nothing was sent the second time');
    await assertSameBytes(secondResult.url, path);
  });

  test('several files, one dropped on the page and two picked: Upload all uploads every one', { timeout: 90000 }, async () => {
    const paths = await Promise.all([
      writeRandomFile(setup.dir, 'dropped.mp4', 1 * MiB + 100, 211),
      writeRandomFile(setup.dir, 'picked-a.mp4', 3 * MiB + 200, 212),
      writeRandomFile(setup.dir, 'picked-b.mp4', 2 * MiB + 300, 213),
    ]);
    await openDemo(engine, setup.server, QUERY);

    // The file dropped on the drop zone: a DataTransfer holding it, in a dragenter and a drop.
    const dropped = readFileSync(paths[0]).toString('base64');
    await engine.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'dropped.mp4', { type: 'video/mp4' }));
      const zone = document.getElementById('dropzone');
      for (const type of ['dragenter', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true, composed: true }));
      }
    }, dropped);
    const firstName = await engine.waitFor(() => document.querySelector('[data-testid="upload-card"]')?.dataset.fileName,
      null, { message: 'the dropped file\'s card' });
    assert.equal(firstName, 'dropped.mp4');
    await pickFiles(engine, paths.slice(1));
    assert.equal(await cardCount(engine), 3);

    await press(engine, 'upload-all');
    const cards = (await engine.evaluate(async () => [...document.querySelectorAll('[data-testid="upload-card"]')]
      .map((card) => card.dataset.itemId))).map((id) => cardOf(engine, id));
    for (const card of cards) await waitForState(card, 'done');
    for (let i = 0; i < 3; i++) {
      const result = await readResult(cards[i]);
      assert.equal(await cards[i].attr('data-file-name'), ['dropped.mp4', 'picked-a.mp4', 'picked-b.mp4'][i]);
      await assertSameBytes(result.url, paths[i]);
    }
    assert.equal(await engine.evaluate(async () => document.querySelector('[data-testid="upload-all"]').disabled), true,
      'nothing left to upload');
  });

  test('an empty file shows a clear error and sends nothing to the server', { timeout: 60000 }, async () => {
    const path = join(setup.dir, 'empty.mp4');
    writeFileSync(path, '');
    await openDemo(engine, setup.server, QUERY);
    const statsBefore = await globalStats(setup.server.origin);

    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForState(card, 'error', { timeout: 15000 });

    const error = await readError(card);
    assert.ok(error.visible, 'the error is shown on the card');
    assert.ok(error.message.length > 5, `the error says what is wrong (got "${error.message}")`);
    assert.match(`${error.title} ${error.message}`, /empty|0 bytes|zero/i);
    assert.equal(error.retryVisible, false, 'no Retry for an empty file');
    const sent = (await seen(engine)).requests.map(({ method, url }) => `${method} ${url}`)
      .filter((line) => /^\S+ https?:\/\/[^/]+\/(v2|dev)\//.test(line));
    assert.deepEqual(sent, [], 'the page sent no request for an empty file');
    assert.deepEqual(await globalStats(setup.server.origin), statsBefore, 'the server saw no call');
  });

  test('an expired signature shows a readable error, and no request reaches the server', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'expired.mp4', 2 * MiB + 3, 303);
    await openDemo(engine, setup.server, QUERY);
    // The page's signing backend issues signatures that expired a minute ago.
    await signatureTtl(engine, -60);
    const callsBefore = (await globalStats(setup.server.origin)).calls;

    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForState(card, 'error', { timeout: 30000 });

    const error = await readError(card);
    assert.ok(error.visible, 'the error is shown on the card');
    assert.match(error.message, /^signature: expired at \d{10} \(Unix time, its e\)/i, "the card shows the uploader's message");
    assert.equal(error.code, '', 'no server code: the server was never asked');
    assert.equal(error.step, 'signature', 'the uploader checked the signature before using it');
    assert.equal(error.retryVisible, false, 'an expired signature is not offered as retryable');
    const signatureRequests = (await seen(engine)).requests.filter(({ url }) => new URL(url).pathname === '/dev/signature').length;
    assert.ok(signatureRequests >= 1, 'the page asked its backend for a signature');
    assert.deepEqual((await globalStats(setup.server.origin)).calls, callsBefore, 'no call reached the server');
  });
});
