// A recording is never lost (issue 23), in headless Chromium and Firefox with their fake cameras,
// against real vod-servers: a recording whose upload fails (its server down) is listed after a reload, given back
// by file() and uploaded, the stored file being the recorded clusters, byte for byte, under a new
// head; a page closed mid-recording leaves what it recorded, listed after a reload and uploadable;
// forget() deletes a recording; after an upload no chunk is left in storage; and where IndexedDB
// refuses, the recording is kept in memory.

import assert from 'node:assert/strict';

import { forEngines } from '../../support/engines.mjs';
import { fetchBytes, sha1Hex } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { clustersOf, inspectWebm, installHelpers } from './record.mjs';

// The engines with a fake camera (see record.test.mjs); it works in a frame too.
forEngines(['chromium', 'firefox'], (engine, test) => {
  const setup = serverFor(engine, startApiServer);
  /** A second server with the same keys (the page's /dev/signature signs for it), to take down. */
  let other;

  async function open(server = setup.server) {
    await openApiPage(engine, server);
    await engine.evaluate(installHelpers);
  }

  test('a recording whose upload failed (server down) is listed after a reload and uploads, its clusters byte for byte', { timeout: 120000 }, async () => {
    other = await setup.startServer({ secretId: setup.server.secretId, secretKey: setup.server.secretKey });
    const endpoint = other.endpoint;
    await other.kill();
    await open();
    const failed = await engine.evaluate(async (endpoint) => {
      const raw = rawChunks();
      const stream = await camera();
      const { stop, result } = rec.recordUpload(stream, options({ endpoint, retries: 1, retryDelay: 100 }));
      await new Promise((r) => setTimeout(r, 3000));
      const during = await api.pendingUploads();
      stop();
      stream.getTracks().forEach((t) => t.stop());
      const got = await outcome(result);
      const [entry] = await api.pendingUploads();
      const file = await entry.file();
      return {
        error: got.error,
        during: during.map(({ fileName, fileSize, recording }) => ({ fileName, fileSize, recording })),
        entry: { fileName: entry.fileName, fileSize: entry.fileSize, recording: entry.recording, fileSha: entry.fileSha },
        raw: await base64(new Blob(raw)),
        file: await base64(file),
        counts: await storeCounts(),
      };
    }, endpoint);
    assert.ok(failed.error?.isUploadError, `the upload fails while its server is down: ${JSON.stringify(failed.error)}`);
    assert.equal(failed.during.length, 1, 'listed while recording');
    assert.equal(failed.during[0].recording, true);
    assert.ok(failed.during[0].fileSize > 0, 'with the bytes recorded so far');
    assert.match(failed.during[0].fileName, /^recording-\d{8}T\d{6}Z\.webm$/);
    assert.equal(failed.entry.recording, false, 'no longer recording once stopped');
    const raw = Buffer.from(failed.raw, 'base64');
    const kept = Buffer.from(failed.file, 'base64');
    assert.equal(failed.entry.fileSize, kept.length);
    assert.equal(failed.entry.fileSha, sha1Hex(kept), 'the entry knows the SHA-1 of the file it gives back');
    assert.ok(failed.counts.chunks >= 2, `its chunks are stored: ${JSON.stringify(failed.counts)}`);
    assert.ok(clustersOf(kept).equals(clustersOf(raw)), 'the file given back holds the clusters recorded, byte for byte');

    await other.restart();
    await open();
    const resumed = await engine.evaluate(async (endpoint) => {
      const entries = await api.pendingUploads();
      const file = await entries[0].file();
      const onProgress = recorder();
      const got = await outcome(api.upload(file, options({ endpoint, onProgress })));
      const hashing = onProgress.events.filter((e) => e.phase === 'hashing');
      return { count: entries.length, got, hashing, left: (await api.pendingUploads()).length, counts: await storeCounts() };
    }, endpoint);
    assert.equal(resumed.count, 1, 'listed after the reload');
    assert.equal(resumed.got.error, undefined, JSON.stringify(resumed.got.error));
    assert.ok(resumed.hashing.length <= 1 && resumed.hashing.every((e) => e.loaded === e.total),
      `no hash pass on resume (its SHA-1 was cached: one report, done): ${JSON.stringify(resumed.hashing)}`);
    const stored = await fetchBytes(resumed.got.result.url);
    assert.ok(Buffer.from(stored).equals(kept), 'the server stored exactly the file given back before the reload');
    assert.equal(resumed.left, 0, 'not listed once uploaded');
    assert.deepEqual(resumed.counts, { chunks: 0, pending: 0 }, 'no chunk and no entry left in storage');
  });

  test('a page closed mid-recording leaves what it recorded: listed after a reload, uploaded, playable', { timeout: 120000 }, async () => {
    await open();
    // The other page is a same-origin frame: it records, and is removed without stop(), as a tab is
    // closed (its document, its recorder and its lock go).
    const whileOpen = await engine.evaluate(async () => {
      const frame = document.createElement('iframe');
      frame.src = location.href;
      document.body.append(frame);
      await new Promise((r) => { frame.onload = r; });
      const other = frame.contentWindow;
      await new Promise((r) => { const check = () => (other.document.body.dataset.ready === '1' ? r() : setTimeout(check, 50)); check(); });
      const { recordUpload } = await other.eval("import('/dist/record.js')");
      const stream = await other.navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
      recordUpload(stream, other.options());
      await new Promise((r) => setTimeout(r, 3500));
      const whileOpen = (await api.pendingUploads()).map((e) => e.recording);
      frame.remove();
      return whileOpen;
    });
    // And this page is loaded anew.
    await open();
    const out = await engine.evaluate(async () => {
      const [entry, ...more] = await api.pendingUploads();
      const file = await entry.file();
      const got = await outcome(api.upload(file, options()));
      return { more: more.length, recording: entry.recording, fileSize: entry.fileSize, size: file.size, got, counts: await storeCounts() };
    });
    assert.deepEqual(whileOpen, [true], 'listed as recording while the other page records');
    assert.equal(out.more, 0);
    assert.equal(out.recording, false, 'no longer recording once its page closed');
    assert.ok(out.size > 1000 && out.size === out.fileSize, `what was recorded is kept: ${out.size} bytes`);
    assert.equal(out.got.error, undefined, JSON.stringify(out.got.error));
    const stored = await fetchBytes(out.got.result.url);
    assert.equal(stored.length, out.size);
    assert.deepEqual(out.counts, { chunks: 0, pending: 0 }, 'nothing left in storage');
    const webm = inspectWebm(stored);
    assert.ok(webm.duration > 1500 && webm.cues.length >= 1 && webm.cues.every((c) => c.atCluster), `with its duration and Cues: ${JSON.stringify(webm)}`);
    const played = await engine.evaluate((url) => playAndSeek(url), out.got.result.url);
    assert.ok(Number.isFinite(played.duration) && played.duration > 1.5, `it has a duration: ${JSON.stringify(played)}`);
    assert.equal(played.seeked, true, `and seeks: ${JSON.stringify(played)}`);
  });

  test('forget() deletes a recording that was not uploaded, its chunks with it', { timeout: 60000 }, async () => {
    await open();
    const out = await engine.evaluate(async (endpoint) => {
      const stream = await camera();
      const { stop, result } = rec.recordUpload(stream, options({ endpoint, retries: 0 }));
      await new Promise((r) => setTimeout(r, 2500));
      stop();
      stream.getTracks().forEach((t) => t.stop());
      const got = await outcome(result);
      const before = await storeCounts();
      const [entry] = await api.pendingUploads();
      await entry.forget();
      return { error: got.error, before, after: await storeCounts(), left: (await api.pendingUploads()).length, file: await entry.file() };
    }, 'http://127.0.0.1:9/v2/index.php');
    assert.ok(out.error, 'the upload failed');
    assert.ok(out.before.chunks >= 1 && out.before.pending === 1, JSON.stringify(out.before));
    assert.deepEqual(out.after, { chunks: 0, pending: 0 });
    assert.equal(out.left, 0);
    assert.equal(out.file, null, 'its file() is gone too');
  });

  test('where IndexedDB refuses, the recording is kept in memory and still uploads', { timeout: 60000 }, async () => {
    await open();
    const out = await engine.evaluate(async () => {
      const realOpen = IDBFactory.prototype.open;
      IDBFactory.prototype.open = function () { throw new DOMException('refused', 'UnknownError'); };
      try {
        const stream = await camera();
        const onProgress = recorder();
        const { stop, result } = rec.recordUpload(stream, options({ onProgress }));
        await new Promise((r) => setTimeout(r, 2500));
        stop();
        stream.getTracks().forEach((t) => t.stop());
        const got = await outcome(result);
        return { got, listed: (await api.pendingUploads()).length, size: onProgress.events.filter((e) => e.phase === 'recording').at(-1)?.loaded };
      } finally {
        IDBFactory.prototype.open = realOpen;
      }
    });
    assert.equal(out.got.error, undefined, JSON.stringify(out.got.error));
    assert.equal(out.listed, 0, 'nothing could be listed');
    const stored = await fetchBytes(out.got.result.url);
    assert.equal(stored.length, out.size);
    assert.ok(inspectWebm(stored).duration > 1500, 'fixed as ever');
  });
}, {
  args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  prefs: { 'media.navigator.streams.fake': true, 'media.navigator.permission.disabled': true },
});
