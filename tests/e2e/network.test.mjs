// Uploads through a slow, high-latency link, in Chromium, Firefox ESR and WebKitGTK: the shaping
// proxy (support/shaper.mjs) between the page and vod-server, in a network namespace of its own
// where one can be made (support/netns.mjs: small socket buffers, so the browser's upload progress
// follows the link rather than the kernel's buffers). On upload()'s defaults, a file finishes at
// 16 KB/s with progress that moves within its one part; a connection that goes silent is given up
// after the stall timeout and sent again; a connection cut mid-part costs at most that part. Each
// checks the stored bytes against the file, and that progress never went back.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { sha1File, writeRandomFile } from '../../support/harness.mjs';
import { isolated } from '../../support/netns.mjs';
import { startShaper } from '../../support/shaper.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { MiB, assertSameBytes } from './demo.mjs';

const inside = await isolated({ quiet: true });

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startApiServer, { tempDir: `vod-e2e-net-${engine.name}-` });

  /**
   * Starts an upload of the picked file through `shaper` with `extra` options (upload()'s defaults
   * otherwise: no partSize, concurrency or timeout), keeping each progress report with its time.
   */
  async function start(shaper, extra = {}) {
    await engine.evaluate(({ endpoint, extra }) => {
      const t0 = performance.now();
      window.reports = [];
      const onProgress = (p) => window.reports.push({ ...p, t: performance.now() - t0 });
      window.running = outcome(api.upload(picked(), { ...options({ endpoint, onProgress, ...extra }), partSize: extra.partSize }));
    }, { endpoint: `${shaper.url}/v2/index.php`, extra });
  }

  /** Waits until the upload has reported `bytes` uploaded. */
  async function uploaded(bytes) {
    for (let i = 0; i < 600; i++) {
      const loaded = await engine.evaluate(() => window.reports.filter((p) => p.phase === 'uploading').at(-1)?.loaded ?? 0);
      if (loaded >= bytes) return loaded;
      await sleep(100);
    }
    throw new Error(`the upload never reported ${bytes} bytes uploaded`);
  }

  /** The upload's outcome and reports; checks it succeeded with the file's bytes and never went back. */
  async function finished(path, size) {
    const { result, error } = await engine.evaluate(() => window.running);
    const reports = await engine.evaluate(() => window.reports);
    assert.equal(error, undefined, `the upload succeeds: ${JSON.stringify(error)}`);
    assert.equal(result.fileSha, await sha1File(path));
    assert.equal(result.uploadedBytes, size);
    await assertSameBytes(result.url, path);
    const uploading = reports.filter((p) => p.phase === 'uploading');
    for (let i = 1; i < uploading.length; i++) {
      assert.ok(uploading[i].loaded >= uploading[i - 1].loaded, `progress went back from ${uploading[i - 1].loaded} to ${uploading[i].loaded}`);
    }
    return { result, reports, uploading };
  }

  test('on the defaults, a file finishes at 16 KB/s with 300 ms round trips, and its progress moves within the part', { timeout: 90000 }, async (t) => {
    if (!inside) t.diagnostic('no network namespace here: the kernel may buffer the part, and progress jump');
    const size = 300_000;
    const path = await writeRandomFile(setup.dir, 'slow.mp4', size, 20);
    const shaper = await startShaper({ target: { port: setup.server.port }, rate: 16_000, rttMs: 300 });
    try {
      await openApiPage(engine, setup.server, [path]);
      await start(shaper);
      const { uploading, reports } = await finished(path, size);
      // One part of 300 kB takes the link ~19 s: progress that counted only acknowledged parts
      // would stand still all that time.
      const moves = uploading.filter((p, i) => i > 0 && p.loaded > uploading[i - 1].loaded);
      const finishing = reports.find((p) => p.phase === 'finishing');
      const times = [uploading[0].t, ...moves.map((p) => p.t), finishing.t];
      const gaps = times.slice(1).map((at, i) => at - times[i]);
      t.diagnostic(`${moves.length} moves of progress over ${((finishing.t - uploading[0].t) / 1000).toFixed(1)} s; the longest stand-still ${(Math.max(...gaps) / 1000).toFixed(1)} s`);
      assert.ok(moves.length >= 8, `progress moved ${moves.length} times`);
      if (inside) assert.ok(Math.max(...gaps) < 6000, `progress stood still for ${Math.max(...gaps)} ms`);
    } finally {
      await shaper.close();
    }
  });

  test('a connection that goes silent mid-part is given up after the stall timeout, and the part sent again', { timeout: 90000 }, async () => {
    const size = 1_200_000;
    const path = await writeRandomFile(setup.dir, 'silent.mp4', size, 21);
    const shaper = await startShaper({ target: { port: setup.server.port }, rate: 64_000, rttMs: 100 });
    try {
      await openApiPage(engine, setup.server, [path]);
      await start(shaper, { timeout: 3000 });
      await uploaded(300_000);
      const before = shaper.stats.connections;
      shaper.freeze();
      const { reports } = await finished(path, size);
      assert.ok(shaper.stats.connections > before, 'the part went again on a new connection');
      assert.equal(reports.at(-1).phase, 'finishing');
    } finally {
      await shaper.close();
    }
  });

  test('a connection cut mid-part costs at most that part: the upload goes on and progress holds', { timeout: 90000 }, async () => {
    const size = 1_200_000;
    const path = await writeRandomFile(setup.dir, 'cut.mp4', size, 22);
    const shaper = await startShaper({ target: { port: setup.server.port }, rate: 64_000, rttMs: 100 });
    try {
      await openApiPage(engine, setup.server, [path]);
      await start(shaper);
      const at = await uploaded(400_000);
      shaper.cut();
      const { uploading } = await finished(path, size);
      assert.ok(uploading.at(-1).loaded >= at, 'progress did not go back after the cut');
      // What passed the link beyond the file (requests' heads are a few hundred bytes each): the
      // part under way when the cut came, at most.
      const resent = shaper.stats.up - size;
      assert.ok(resent <= MiB + 32 * 1024, `${resent} bytes sent again`);
    } finally {
      await shaper.close();
    }
  });

  test('a new session\'s part size fits the link the page measured: 512 KiB before anything is known and after a slow link, 1 MiB after a fast one', { timeout: 90000 }, async () => {
    const sizes = [3 * MiB, 3 * MiB, 600_000, 600_000];
    const paths = await Promise.all(sizes.map((size, i) => writeRandomFile(setup.dir, `fit-${i}.mp4`, size, 30 + i)));
    const shaper = await startShaper({ target: { port: setup.server.port }, rate: 0, rttMs: 40 });
    try {
      await openApiPage(engine, setup.server, paths);
      // The part size each InitUploadEx asked for (it goes by fetch: it has no body).
      await engine.evaluate(() => {
        window.asked = [];
        const fetched = window.fetch;
        window.fetch = (url, init) => {
          const params = new URL(url, location.href).searchParams;
          if (params.get('Action') === 'InitUploadEx') window.asked.push(Number(params.get('dataSize')));
          return fetched(url, init);
        };
      });
      for (const [i, path] of paths.entries()) {
        // The first two on the unshaped link, the last two at 64 KB/s.
        if (i === 2) shaper.setRate(64_000);
        await engine.evaluate(({ endpoint, i }) => {
          window.reports = [];
          const onProgress = (p) => window.reports.push({ ...p, t: 0 });
          window.running = outcome(api.upload(picked(i), { ...options({ endpoint, onProgress }), partSize: undefined }));
        }, { endpoint: `${shaper.url}/v2/index.php`, i });
        await finished(path, sizes[i]);
      }
      const asked = await engine.evaluate(() => window.asked);
      // Nothing known: 512 KiB; after a fast upload: 1 MiB; the first on the slow link still follows
      // the fast one's measure, the next one the slow link's.
      assert.deepEqual(asked, [512 * 1024, MiB, MiB, 512 * 1024]);
    } finally {
      await shaper.close();
    }
  });
});
