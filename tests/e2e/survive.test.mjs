// Uploads that survive what users do (issue 13), in headless Chromium against the real vod-server:
// a signature checked before its first use, a Blob as the source, and a reload mid-upload resumed
// from pendingUploads() with an origin-private file handle. One server and one browser for the file.

import assert from 'node:assert/strict';

import { forEngines } from '../../support/engines.mjs';
import { sha1File, stats, waitFor, writeRandomFile } from '../../support/harness.mjs';
import { watch } from '../../support/probe.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { MiB, assertSameBytes, globalStats, throttleUploads } from './demo.mjs';

const PART = 512 * 1024;

// Chromium only: the tests reload the page, take the network away and slow requests down, which
// only Playwright's page does (engine.page), and keep a file in the origin-private file system through
// createWritable(), which WebKit does not have.
forEngines(['chromium'], (engine, test) => {
  const setup = serverFor(engine, startApiServer, { tempDir: 'vod-e2e-survive-' });

  /** Uploads the picked file with `getSignature` (page source) and returns its outcome and what the server saw. */
  async function uploadWith(name, seed, getSignatureSource) {
    const path = await writeRandomFile(setup.dir, name, 700_000, seed);
    await openApiPage(engine, setup.server, [path]);
    const before = (await globalStats(setup.server.origin)).calls;
    const out = await engine.evaluate(async (source) => {
      // eslint-disable-next-line no-eval
      const getSignature = (0, eval)(source);
      return outcome(api.upload(picked(), options({ getSignature })));
    }, getSignatureSource);
    return { ...out, sha: await sha1File(path), callsBefore: before, callsAfter: (await globalStats(setup.server.origin)).calls };
  }

  test('a signature for another file fails at the signature step and nothing is sent', { timeout: 60000 }, async () => {
    const other = '0123456789abcdef0123456789abcdef01234567';
    const { error, callsBefore, callsAfter, sha } = await uploadWith('other.mp4', 31, `async (request) => {
      const res = await fetch('/dev/signature', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileSha: '${other}', fileName: request.fileName, ttl: 3600 }) });
      return (await res.json()).signature;
    }`);
    assert.ok(error?.isUploadError, JSON.stringify(error));
    assert.equal(error.step, 'signature');
    assert.equal(error.code, null);
    assert.equal(error.canRetry, false);
    assert.ok(error.message.startsWith(`signature: signed for another file (fs=${other}`), error.message);
    assert.ok(error.message.includes(sha), `the message names the file's own SHA-1: ${error.message}`);
    assert.deepEqual(callsAfter, callsBefore, 'the server saw no call');
  });

  test('an expired signature, or one that is no upload signature, fails before any request', { timeout: 60000 }, async () => {
    const expired = await uploadWith('late.mp4', 32, 'signer(0, -60)');
    assert.equal(expired.error?.step, 'signature', JSON.stringify(expired.error));
    assert.equal(expired.error.code, null);
    assert.match(expired.error.message, /^signature: expired at \d{10} \(Unix time, its e\)/);
    assert.deepEqual(expired.callsAfter, expired.callsBefore, 'the server saw no call');

    const bogus = await uploadWith('bogus.mp4', 33, '() => "not-a-signature"');
    assert.equal(bogus.error?.step, 'signature');
    assert.ok(bogus.error.message.startsWith('signature: not an upload signature'), bogus.error.message);
    assert.deepEqual(bogus.callsAfter, bogus.callsBefore, 'the server saw no call');
  });

  test('a Blob uploads under options.fileName; without one it is a TypeError and nothing is asked', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'source.bin', 1_200_000, 34);
    await openApiPage(engine, setup.server, [path]);
    const before = (await globalStats(setup.server.origin)).calls;
    const unnamed = await engine.evaluate(async () => {
      const getSignature = signer();
      const blob = new Blob([await picked().arrayBuffer()], { type: 'video/mp4' });
      return { ...(await outcome(api.upload(blob, options({ getSignature })))), asked: getSignature.requests.length };
    });
    assert.ok(unnamed.error?.isTypeError, JSON.stringify(unnamed.error));
    assert.match(unnamed.error.message, /fileName/);
    assert.equal(unnamed.asked, 0, 'no signature was asked for');
    assert.deepEqual((await globalStats(setup.server.origin)).calls, before, 'the server saw no call');

    const named = await engine.evaluate(async () => {
      const getSignature = signer();
      const blob = new Blob([await picked().arrayBuffer()], { type: 'video/mp4' });
      const sha = await api.hashFile(blob);
      const out = await outcome(api.upload(blob, options({ getSignature, fileName: 'From Blob.MP4' })));
      return { ...out, sha, request: getSignature.requests[0] };
    });
    assert.equal(named.error, undefined, JSON.stringify(named.error));
    assert.equal(named.sha, await sha1File(path), 'hashFile takes a Blob without a name');
    assert.deepEqual(named.request, { fileSha: named.sha, fileName: 'From Blob.MP4', fileType: 'mp4', fileSize: 1_200_000 });
    assert.ok(named.result.url.endsWith('/f0.mp4'), named.result.url);
    await assertSameBytes(named.result.url, path);
  });

  test('a reload mid-upload, then a resume from pendingUploads() with an origin-private file handle', { timeout: 120000 }, async () => {
    // Over 8 MiB, so that a hash pass reports more than once (it reads 8 MiB windows).
    const size = 20 * PART + 777;
    const parts = 21;
    const path = await writeRandomFile(setup.dir, 'reload.mp4', size, 35);
    const sha = await sha1File(path);
    await openApiPage(engine, setup.server, [path]);
    await watch(engine);
    await throttleUploads(engine, MiB);
    // The picked file goes into the origin-private file system; the upload is given its handle.
    await engine.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const handle = await root.getFileHandle('reload.mp4', { create: true });
      const writable = await handle.createWritable();
      await writable.write(picked());
      await writable.close();
      window.started = root.getFileHandle('reload.mp4').then((h) => api.upload(h, options({ concurrency: 1 })));
      window.started.catch(() => {});
    });
    await waitFor(async () => (await stats(setup.server.origin, sha)).partsHeld >= 4, { timeout: 60000, message: '4 parts held' });
    // Within a second of the last acknowledged part, the entry says so.
    await new Promise((r) => setTimeout(r, 1000));
    // (The reload also lifts the throttle, which lived in the page.)
    await engine.page.reload();
    await engine.waitFor(() => document.body.dataset.ready === '1', null, { timeout: 15000, message: 'the API page to load again' });
    await new Promise((r) => setTimeout(r, 500));
    const held = (await stats(setup.server.origin, sha)).partsHeld;
    const received = (await stats(setup.server.origin, sha)).partsReceived;

    const { list, result, error, hashing, passReports } = await engine.evaluate(async () => {
      const entries = await api.pendingUploads();
      const list = entries.map(({ file, forget, ...fields }) => fields);
      const entry = entries.find((e) => e.fileName === 'reload.mp4');
      const file = await entry.file();
      if (!(file instanceof File)) return { list, error: { message: `file() gave ${file}` } };
      const onProgress = recorder();
      const out = await outcome(api.upload(file, options({ concurrency: 2, onProgress })));
      const hashing = onProgress.events.filter((e) => e.phase === 'hashing');
      // What a hash pass of this file reports, for comparison.
      const pass = recorder();
      await api.hashFile(file, { onProgress: pass });
      return { list, ...out, hashing, passReports: pass.events.length };
    });
    const entry = list.find((e) => e.fileName === 'reload.mp4');
    assert.ok(entry, `the upload is pending after the reload: ${JSON.stringify(list)}`);
    assert.equal(entry.fileSha, sha);
    assert.equal(entry.fileSize, size);
    assert.equal(entry.fileType, 'mp4');
    assert.ok(entry.startedAt <= entry.updatedAt && entry.updatedAt <= Date.now(), JSON.stringify(entry));
    assert.ok(entry.uploadedBytes >= 4 * PART && entry.uploadedBytes <= held * PART, `uploadedBytes ${entry.uploadedBytes}, ${held} parts held`);
    assert.equal(entry.kind, 'file');
    assert.equal(entry.recording, false);
    assert.deepEqual(Object.keys(entry).sort(), ['fileName', 'fileSha', 'fileSize', 'fileType', 'kind', 'lastModified', 'recording', 'startedAt', 'updatedAt', 'uploadedBytes']);

    assert.equal(error, undefined, JSON.stringify(error));
    assert.equal(result.resumedBytes, held * PART, 'the parts the server held were not sent again');
    assert.equal((await stats(setup.server.origin, sha)).partsReceived - received, parts - held, 'only the missing parts were sent');
    assert.ok(passReports > 1, `a hash pass reports as it goes (${passReports} reports)`);
    assert.deepEqual(hashing.map((e) => e.loaded), [size], 'no hash pass after the reload: the SHA-1 was known');
    await assertSameBytes(result.url, path);
    assert.equal((await engine.evaluate(async () => (await api.pendingUploads()).length)), 0, 'a finished upload is no longer pending');
  });

  test('offline for 10 s mid-upload: it waits, then completes with retries: 1', { timeout: 120000 }, async (t) => {
    const size = 16 * PART + 99;
    const path = await writeRandomFile(setup.dir, 'offline.mp4', size, 36);
    const sha = await sha1File(path);
    await openApiPage(engine, setup.server, [path]);
    // Each part takes a while to go, so that the upload is under way when the network goes.
    const slowParts = async (route) => {
      await new Promise((r) => setTimeout(r, 250));
      await route.continue().catch(() => {});
    };
    await engine.page.route('**/v2/index.php?Action=UploadPartEx*', slowParts);
    t.after(() => engine.page.unroute('**/v2/index.php?Action=UploadPartEx*', slowParts));
    await engine.evaluate(() => {
      window.onProgress = recorder();
      window.done = outcome(api.upload(picked(), options({ concurrency: 2, retries: 1, retryDelay: 100, onProgress })));
    });
    await waitFor(async () => (await stats(setup.server.origin, sha)).partsHeld >= 3, { timeout: 60000, message: '3 parts held' });
    await engine.page.context().setOffline(true);
    await new Promise((r) => setTimeout(r, 10000));
    const offline = await engine.evaluate(() => ({ last: onProgress.events.at(-1) }));
    const heldOffline = (await stats(setup.server.origin, sha)).partsHeld;
    assert.equal(offline.last.phase, 'waiting', `progress says it waits: ${JSON.stringify(offline.last)}`);
    assert.equal(offline.last.total, size);
    await engine.page.context().setOffline(false);

    const { result, error, events } = await engine.evaluate(async () => ({ ...(await window.done), events: onProgress.events }));
    assert.equal(error, undefined, JSON.stringify(error));
    assert.ok(heldOffline < 17, 'it was not done before the network went');
    assert.equal(result.resumedBytes, 0);
    await assertSameBytes(result.url, path);
    const phases = events.map((e) => e.phase);
    const wait = phases.indexOf('waiting');
    assert.ok(wait > 0 && phases.slice(wait + 1).includes('uploading'), `it went on uploading after waiting: ${phases}`);
  });

  test('abort while waiting to be online rejects with an AbortError', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'offline-abort.mp4', 4 * PART, 37);
    await openApiPage(engine, setup.server, [path]);
    await engine.evaluate(() => api.ready());
    await engine.page.context().setOffline(true);
    const { error, events } = await engine.evaluate(async () => {
      const controller = new AbortController();
      const onProgress = recorder();
      const done = outcome(api.upload(picked(), options({ signal: controller.signal, onProgress })));
      await new Promise((r) => setTimeout(r, 1500));
      controller.abort();
      return { ...(await done), events: onProgress.events };
    });
    await engine.page.context().setOffline(false);
    assert.equal(error?.name, 'AbortError', JSON.stringify(error));
    assert.ok(!events.some((e) => e.phase === 'uploading'), 'nothing was uploaded while offline');
    assert.equal(events.at(-1)?.phase, 'waiting', 'it said it waited to be online');
  });
});
