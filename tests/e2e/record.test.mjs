// Record and upload (vod-ugc-uploader/record) in headless Chromium with its fake camera, against the
// real vod-server: about 3 s recorded, uploaded with no hash pass, and the stored file is the
// recording (its size as recorded, its SHA-1 the one taken while recording) and plays in a <video>.

import assert from 'node:assert/strict';

import { forEngines } from '../../support/engines.mjs';
import { fetchBytes, sha1Hex } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';

// Chromium only: it is the engine here with a fake camera (--use-fake-device-for-media-stream) that a
// page may use without asking (--use-fake-ui-for-media-stream).
forEngines(['chromium'], (engine, test) => {
  const setup = serverFor(engine, startApiServer);

  test('a recording from the camera uploads with no hash pass, and the stored file is the recording and plays', { timeout: 60000 }, async () => {
    await openApiPage(engine, setup.server);
    const out = await engine.evaluate(async () => {
      const { recordUpload } = await import('/dist/record.js');
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
      const onProgress = recorder();
      const getSignature = signer();
      const { stop, result } = recordUpload(stream, options({ onProgress, getSignature }));
      const opfsNames = async () => {
        const names = [];
        for await (const name of (await navigator.storage.getDirectory()).keys()) names.push(name);
        return names;
      };
      await new Promise((r) => setTimeout(r, 3000));
      const opfsWhileRecording = await opfsNames();
      stop();
      stream.getTracks().forEach((track) => track.stop());
      const got = await outcome(result);
      const names = getSignature.requests.map((r) => r.fileName);
      return { ...got, events: onProgress.events, names, opfsWhileRecording, opfs: await opfsNames() };
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
    assert.match(out.names[0], /^recording-\d{8}T\d{6}Z\.webm$/, 'named after the time it started');
    // (Chromium writes through a swap file beside it, `<name>.crswap`.)
    assert.ok(out.opfsWhileRecording.some((n) => /^vod-recording-[\w-]+$/.test(n)),
      `the chunks are kept in the origin-private file system: ${out.opfsWhileRecording}`);
    assert.deepEqual(out.opfs, [], 'and removed after the upload');

    const playable = await engine.evaluate((url) => new Promise((resolve) => {
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

  test('the recording stops when all the stream\'s tracks end, and an aborted one rejects with AbortError and leaves nothing behind', { timeout: 60000 }, async () => {
    await openApiPage(engine, setup.server);
    const out = await engine.evaluate(async () => {
      const { recordUpload } = await import('/dist/record.js');
      const camera = () => navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
      const ended = await camera();
      const first = recordUpload(ended, options({ fileName: 'ended.webm' }));
      await new Promise((r) => setTimeout(r, 1500));
      ended.getTracks().forEach((track) => track.stop()); // no stop() call
      const endedOut = await outcome(first.result);

      const aborted = await camera();
      const controller = new AbortController();
      const second = recordUpload(aborted, options({ signal: controller.signal }));
      await new Promise((r) => setTimeout(r, 1500));
      controller.abort();
      const abortedOut = await outcome(second.result);
      aborted.getTracks().forEach((track) => track.stop());
      const opfs = [];
      for await (const name of (await navigator.storage.getDirectory()).keys()) opfs.push(name);
      return { endedOut, abortedOut, opfs };
    });
    assert.equal(out.endedOut.error, undefined, JSON.stringify(out.endedOut.error));
    const stored = await fetchBytes(out.endedOut.result.url);
    assert.equal(sha1Hex(stored), out.endedOut.result.fileSha);
    assert.ok(stored.length > 1000, `${stored.length} bytes recorded`);
    assert.equal(out.abortedOut.error?.name, 'AbortError', JSON.stringify(out.abortedOut));
    assert.deepEqual(out.opfs, [], 'nothing left in the origin-private file system');
  });
}, { args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
