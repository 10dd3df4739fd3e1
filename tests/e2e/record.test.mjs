// Record and upload (vod-ugc-uploader/record) in headless Chromium with its fake camera, against the
// real vod-server: about 3 s recorded, uploaded with no hash pass, and the stored file is the
// recording (its size as recorded, its SHA-1 the one taken while recording) and plays in a <video>.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { fetchBytes, launchBrowser, sha1Hex } from '../../support/harness.mjs';
import { openApiPage, startApiServer } from './api.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([
    startApiServer(),
    launchBrowser({ args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] }),
  ]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a recording from the camera uploads with no hash pass, and the stored file is the recording and plays', { timeout: 60000 }, async (t) => {
  const page = await openApiPage(browser, t, server);
  const out = await page.evaluate(async () => {
    const { recordUpload } = await import('/dist/record.js');
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
    const onProgress = recorder();
    const getSignature = signer();
    const { stop, result } = recordUpload(stream, options({ onProgress, getSignature }));
    await new Promise((r) => setTimeout(r, 3000));
    stop();
    stream.getTracks().forEach((track) => track.stop());
    const opfs = [];
    const got = await outcome(result);
    for await (const name of (await navigator.storage.getDirectory()).keys()) opfs.push(name);
    return { ...got, events: onProgress.events, names: getSignature.requests.map((r) => r.fileName), opfs };
  });
  assert.equal(out.error, undefined, `the upload succeeds: ${JSON.stringify(out.error)}`);
  const phases = out.events.map((e) => e.phase);
  assert.ok(!phases.includes('hashing'), `no hash pass: ${phases}`);
  const recording = out.events.filter((e) => e.phase === 'recording');
  assert.ok(recording.length >= 2, `a report per chunk while recording: ${phases}`);
  assert.ok(recording.every((e, i) => i === 0 || recording[i - 1].loaded < e.loaded), 'bytes recorded grow');
  const firstUpload = phases.indexOf('uploading');
  assert.ok(firstUpload > 0 && phases.slice(0, firstUpload).every((p) => p === 'recording'), `phases: ${phases}`);
  const recorded = recording.at(-1).loaded;

  const stored = await fetchBytes(out.result.url);
  assert.equal(stored.length, recorded, 'the stored file has the bytes recorded');
  assert.equal(sha1Hex(stored), out.result.fileSha, 'its SHA-1 is the one taken while recording');
  assert.equal(out.result.uploadedBytes, recorded);
  assert.equal(out.names.length, 1);
  assert.match(out.names[0], /^recording-\d{4}-\d\d-\d\dT[\d:.]+Z\.webm$/, 'named after the time it started');
  assert.deepEqual(out.opfs, [], 'the chunks kept in the origin-private file system are gone');

  const playable = await page.evaluate((url) => new Promise((resolve) => {
    const video = document.createElement('video');
    video.muted = true;
    video.oncanplay = () => resolve({ ok: true, width: video.videoWidth });
    video.onerror = () => resolve({ ok: false, error: video.error?.message });
    video.src = url;
    document.body.append(video);
  }), out.result.url);
  assert.equal(playable.ok, true, `the recording plays: ${JSON.stringify(playable)}`);
  assert.equal(playable.width, 320);
});
