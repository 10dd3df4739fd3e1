// The bandwidth cap and the queue (vod-ugc-uploader/queue) in headless Chromium against the real
// vod-server, measured at the server's door: a proxy (proxy.mjs) notes each UploadPartEx
// call's arrival, end and size, and how many were in flight at once. The stored bytes are checked by
// downloading them.

import assert from 'node:assert/strict';

import { forEngines } from '../../support/engines.mjs';
import { writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { assertSameBytes } from './demo.mjs';
import { mostBytesInWindow, startProxy } from './proxy.mjs';

const PART = 512 * 1024;

// Chromium only: these tests were written for it (the queue and the cap are the package's own code,
// the same in every engine, so they are not repeated in Firefox and WebKit).
forEngines(['chromium'], (engine, test) => {
  const setup = serverFor(engine, startApiServer, { tempDir: 'vod-e2e-queue-', proxy: startProxy });

  /** The API page through the proxy, with `paths` picked. */
  function openPage(paths) {
    return openApiPage(engine, setup.proxy, paths);
  }

  test('a cap of 1,000,000 B/s: 4,000,000 bytes take at least 3 s, and no 2 s window at the server holds more than 2 s at the cap plus a part', { timeout: 60000 }, async () => {
    const cap = 1_000_000;
    const path = await writeRandomFile(setup.dir, 'capped.mp4', 4_000_000, 11);
    await openPage([path]);
    setup.proxy.reset();
    const { result, error, seconds } = await engine.evaluate(async (cap) => {
      const t0 = performance.now();
      const out = await outcome(api.upload(picked(), options({ maxBytesPerSecond: cap, hashCache: false })));
      return { ...out, seconds: (performance.now() - t0) / 1000 };
    }, cap);
    assert.equal(error, undefined, 'the upload succeeds');
    assert.equal(result.uploadedBytes, 4_000_000);
    await assertSameBytes(result.url, path);
    assert.ok(seconds >= 3, `took ${seconds.toFixed(2)} s`);
    const sent = setup.proxy.parts.reduce((sum, p) => sum + p.bytes, 0);
    assert.equal(sent, 4_000_000, 'every part reached the server once');
    const most = mostBytesInWindow(setup.proxy.parts, 2000);
    assert.ok(most <= 2 * cap + PART, `${most} bytes arrived within 2 s (bound ${2 * cap + PART})`);
  });

  test('maxBytesPerSecond must be a number of bytes per second above 0', { timeout: 30000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'any.mp4', 1000, 12);
    await openPage([path]);
    for (const bad of [0, -1, 'fast', null, Number.POSITIVE_INFINITY]) {
      const { error } = await engine.evaluate((bad) => outcome(api.upload(picked(), options({ maxBytesPerSecond: bad }))), bad);
      assert.equal(error?.isTypeError, true, `maxBytesPerSecond ${bad}: ${JSON.stringify(error)}`);
      assert.match(error.message, /maxBytesPerSecond/);
    }
  });

  test('3 files in a queue of concurrency 2 never have more than 2 parts in flight at the server; 3 upload() calls at once do', { timeout: 90000 }, async () => {
    const sizes = [1_700_000, 2_300_000, 1_300_000];
    const paths = await Promise.all(sizes.map((size, i) => writeRandomFile(setup.dir, `q${i}.mp4`, size, 20 + i)));
    const others = await Promise.all(sizes.map((size, i) => writeRandomFile(setup.dir, `p${i}.mp4`, size, 30 + i)));
    await openPage([...paths, ...others]);

    setup.proxy.reset();
    const queued = await engine.evaluate(async () => {
      const { createQueue } = await import('/dist/queue.js');
      const reports = [];
      const queue = createQueue({ concurrency: 2, ...options(), onProgress: (p) => reports.push(p) });
      const outs = await Promise.all([0, 1, 2].map((i) => outcome(queue.add(picked(i)))));
      return { outs, last: reports.at(-1), filesDoneSeen: reports.map((r) => r.filesDone) };
    });
    const queuedMost = setup.proxy.maxInFlight();
    for (const [i, out] of queued.outs.entries()) {
      assert.equal(out.error, undefined, `file ${i} uploads`);
      await assertSameBytes(out.result.url, paths[i]);
    }
    assert.ok(queuedMost <= 2, `${queuedMost} parts were in flight at once`);
    assert.equal(queuedMost, 2, 'the queue used both lanes');
    const total = sizes.reduce((a, b) => a + b, 0);
    assert.deepEqual(queued.last, { ...queued.last, filesDone: 3, filesTotal: 3, loaded: total, total });
    assert.ok(queued.filesDoneSeen.every((n, i, all) => i === 0 || all[i - 1] <= n), 'filesDone never goes back');

    // The same at concurrency 2 per call, with no queue: the proxy sees more at once.
    setup.proxy.reset();
    const loose = await engine.evaluate(() => Promise.all([3, 4, 5].map((i) => outcome(api.upload(picked(i), options({ concurrency: 2 }))))));
    assert.ok(loose.every((o) => o.error === undefined));
    assert.ok(setup.proxy.maxInFlight() > 2, `3 upload() calls had ${setup.proxy.maxInFlight()} parts in flight at once`);
  });

  test('a queue: a cancelled file rejects with AbortError, a failing one does not stop the others, pause holds parts back', { timeout: 90000 }, async () => {
    const paths = await Promise.all([3_000_000, 1_200_000, 0, 900_000].map((size, i) => writeRandomFile(setup.dir, `c${i}.mp4`, size, 40 + i)));
    await openPage(paths);
    setup.proxy.reset();
    await engine.evaluate(async () => {
      const { createQueue } = await import('/dist/queue.js');
      window.queue = createQueue({ concurrency: 2, ...options() });
      queue.pause();
      window.running = [0, 1, 2, 3].map((i) => outcome(queue.add(picked(i))));
    });
    // Paused: the files are hashed and started, but no part is sent.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(setup.proxy.maxInFlight(), 0, 'no part was sent while paused');
    assert.equal(setup.proxy.parts.length, 0, 'no part was sent while paused');
    const outs = await engine.evaluate(() => {
      queue.cancel(picked(0));
      queue.resume();
      return Promise.all(running);
    });
    const [cancelled, second, empty, fourth] = outs;
    assert.equal(cancelled.error?.name, 'AbortError', JSON.stringify(cancelled));
    assert.equal(empty.error?.isUploadError, true, `the empty file fails: ${JSON.stringify(empty)}`);
    assert.equal(second.error, undefined);
    assert.equal(fourth.error, undefined);
    await assertSameBytes(second.result.url, paths[1]);
    await assertSameBytes(fourth.result.url, paths[3]);
    const sent = setup.proxy.parts.reduce((sum, p) => sum + p.bytes, 0);
    assert.equal(sent, 1_200_000 + 900_000, 'nothing of the cancelled file was sent');
  });

  test('a queue\'s cap holds for its files together, and setMaxBytesPerSecond changes it mid-upload', { timeout: 90000 }, async () => {
    const cap = 1_000_000;
    const paths = await Promise.all([2_000_000, 2_000_000].map((size, i) => writeRandomFile(setup.dir, `cap${i}.mp4`, size, 50 + i)));
    const lifted = await writeRandomFile(setup.dir, 'lifted.mp4', 6_000_000, 52);
    await openPage([...paths, lifted]);

    setup.proxy.reset();
    const together = await engine.evaluate(async (cap) => {
      const { createQueue } = await import('/dist/queue.js');
      const queue = createQueue({ concurrency: 4, maxBytesPerSecond: cap, ...options({ hashCache: false }) });
      const t0 = performance.now();
      const outs = await Promise.all([0, 1].map((i) => outcome(queue.add(picked(i)))));
      return { outs, seconds: (performance.now() - t0) / 1000 };
    }, cap);
    assert.ok(together.outs.every((o) => o.error === undefined), JSON.stringify(together.outs));
    assert.ok(together.seconds >= 3, `4,000,000 bytes at ${cap} B/s took ${together.seconds.toFixed(2)} s`);
    const most = mostBytesInWindow(setup.proxy.parts, 2000);
    assert.ok(most <= 2 * cap + PART, `${most} bytes arrived within 2 s (bound ${2 * cap + PART})`);

    // 200,000 B/s would take 30 s for 6,000,000 bytes; lifted after 1.5 s, the rest goes at once.
    const changed = await engine.evaluate(async () => {
      const { createQueue } = await import('/dist/queue.js');
      const queue = createQueue({ concurrency: 4, maxBytesPerSecond: 200_000, ...options({ hashCache: false }) });
      const t0 = performance.now();
      const running = outcome(queue.add(picked(2)));
      await new Promise((r) => setTimeout(r, 1500));
      queue.setMaxBytesPerSecond(undefined);
      const out = await running;
      return { ...out, seconds: (performance.now() - t0) / 1000 };
    });
    assert.equal(changed.error, undefined);
    await assertSameBytes(changed.result.url, lifted);
    assert.ok(changed.seconds < 15, `took ${changed.seconds.toFixed(2)} s after the cap was lifted`);
  });
});
