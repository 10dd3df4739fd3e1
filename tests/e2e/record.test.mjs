// Record and upload (vod-ugc-uploader/record) with the engine's fake camera, against the real
// vod-server: about 3 s recorded and uploaded; the stored file is the one the recorder made (its size
// as last reported, its SHA-1 the one the upload was signed for), has its Duration and a seek index
// (Cues that point at its Clusters) and, played from the server's URL, shows a finite duration and
// seeks to its middle. Nothing is left in storage after the upload, or after an abort mid-recording.

import assert from 'node:assert/strict';

import { forEngines } from '../../support/engines.mjs';
import { fetchBytes, sha1Hex } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { inspectWebm, installHelpers } from './record.mjs';

// The engines with a fake camera that a page may use without asking: Chromium with
// --use-fake-device-for-media-stream --use-fake-ui-for-media-stream, Firefox with the prefs below.
// WebKitGTK has none here.
forEngines(['chromium', 'firefox'], (engine, test) => {
  const setup = serverFor(engine, startApiServer);

  async function open() {
    await openApiPage(engine, setup.server);
    await engine.evaluate(installHelpers);
  }

  test('a recording uploads, and the stored file has its duration and seek index, plays and seeks to the middle', { timeout: 90000 }, async () => {
    await open();
    const out = await engine.evaluate(async () => {
      const stream = await camera();
      const onProgress = recorder();
      const getSignature = signer();
      const { stop, result } = rec.recordUpload(stream, options({ onProgress, getSignature }));
      await new Promise((r) => setTimeout(r, 3000));
      const whileRecording = await storeCounts();
      stop();
      stream.getTracks().forEach((track) => track.stop());
      const got = await outcome(result);
      const names = getSignature.requests.map((r) => r.fileName);
      return { ...got, events: onProgress.events, names, whileRecording, after: await storeCounts() };
    });
    assert.equal(out.error, undefined, `the upload succeeds: ${JSON.stringify(out.error)}`);
    const phases = out.events.map((e) => e.phase);
    const recording = out.events.filter((e) => e.phase === 'recording');
    assert.ok(recording.length >= 2, `a report per chunk while recording: ${phases}`);
    assert.ok(recording.every((e, i) => i === 0 || recording[i - 1].loaded < e.loaded), 'bytes recorded grow');
    const firstOther = phases.findIndex((p) => p !== 'recording');
    assert.ok(phases.slice(firstOther).every((p) => p !== 'recording'), `recording, then the upload: ${phases}`);
    assert.equal(out.names.length, 1);
    assert.match(out.names[0], /^recording-\d{8}T\d{6}Z\.webm$/, 'named after the time it started');
    assert.ok(out.whileRecording.chunks >= 2 && out.whileRecording.pending === 1,
      `the chunks are kept in IndexedDB as they come: ${JSON.stringify(out.whileRecording)}`);
    assert.deepEqual(out.after, { chunks: 0, pending: 0 }, 'and removed after the upload');

    const stored = await fetchBytes(out.result.url);
    assert.equal(stored.length, recording.at(-1).loaded, 'the stored file has the size last reported');
    assert.equal(sha1Hex(stored), out.result.fileSha, 'and the SHA-1 the upload was signed for');
    const webm = inspectWebm(stored);
    assert.ok(webm.segmentEndsAtFileEnd, `the Segment has its size: ${JSON.stringify(webm)}`);
    assert.ok(webm.duration > 2000, `Info has a Duration (ms at Chromium's and Firefox's TimecodeScale): ${webm.duration}`);
    assert.ok(webm.hasSeekHead, 'a SeekHead says where the Cues are');
    assert.ok(webm.cues.length >= 1 && webm.cues.every((c) => c.atCluster), `Cues point at Clusters: ${JSON.stringify(webm.cues)}`);

    const played = await engine.evaluate((url) => playAndSeek(url), out.result.url);
    assert.ok(Number.isFinite(played.duration) && Math.abs(played.duration - webm.duration / 1000) < 1,
      `the player shows a finite duration: ${JSON.stringify(played)}`);
    assert.ok(played.seeked && Math.abs(played.at - played.target) < 0.5, `and seeks to the middle: ${JSON.stringify(played)}`);
  });

  test('the recording stops when all the stream\'s tracks end, and an aborted one rejects with AbortError and leaves nothing behind', { timeout: 60000 }, async () => {
    await open();
    const out = await engine.evaluate(async () => {
      const ended = await camera();
      const first = rec.recordUpload(ended, options({ fileName: 'ended.webm' }));
      await new Promise((r) => setTimeout(r, 1500));
      ended.getTracks().forEach((track) => track.stop()); // no stop() call
      const endedOut = await outcome(first.result);

      const aborted = await camera();
      const controller = new AbortController();
      const second = rec.recordUpload(aborted, options({ signal: controller.signal }));
      await new Promise((r) => setTimeout(r, 1500));
      controller.abort();
      const abortedOut = await outcome(second.result);
      aborted.getTracks().forEach((track) => track.stop());
      return { endedOut, abortedOut, counts: await storeCounts(), left: (await api.pendingUploads()).length };
    });
    assert.equal(out.endedOut.error, undefined, JSON.stringify(out.endedOut.error));
    const stored = await fetchBytes(out.endedOut.result.url);
    assert.equal(sha1Hex(stored), out.endedOut.result.fileSha);
    assert.ok(stored.length > 1000, `${stored.length} bytes recorded`);
    assert.equal(out.abortedOut.error?.name, 'AbortError', JSON.stringify(out.abortedOut));
    assert.deepEqual(out.counts, { chunks: 0, pending: 0 }, 'nothing left in storage');
    assert.equal(out.left, 0, 'nothing listed');
  });
}, {
  args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  prefs: { 'media.navigator.streams.fake': true, 'media.navigator.permission.disabled': true },
});
