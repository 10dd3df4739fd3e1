// One engine's figures (--engines).

import { launchEngine, unavailable } from '../support/engines.mjs';
import { DEFAULT_CONCURRENCY, best, fmt, log, mbps } from './common.mjs';

/**
 * One engine's figures for one file: hashFile, and upload() end to end at the default concurrency
 * (its hash pass and upload phase from its progress reports), best of `runs`, in a page of its own
 * (bench/index.html, the file picked through <input type=file>). An engine that is not installed or
 * fails is reported with the reason instead of figures.
 */
export async function measureEngine(name, { server, wipeServer, file, size, label, runs, fail }) {
  const why = unavailable(name);
  if (why) {
    log(`${label}: ${name}: skipped: ${why}`);
    return { engine: name, skipped: why };
  }
  let engine = null;
  try {
    engine = await launchEngine(name);
    await engine.goto(`${server.origin}/index.html`);
    await engine.waitFor(() => window.benchLoaded === true, null, { timeout: 30000, message: 'the bench page' });
    await engine.evaluate(() => window.bench.init());
    await engine.setInputFiles('#file', [file.path]);
    const uploads = [];
    const hashes = [];
    for (let r = 1; r <= runs; r++) {
      await wipeServer();
      // A first upload every time: no cached hash.
      await engine.evaluate(() => new Promise((resolve) => {
        const request = indexedDB.deleteDatabase('vod-ugc-uploader');
        request.onsuccess = request.onerror = request.onblocked = () => resolve(null);
      }));
      log(`${label}: ${name}: run ${r}: upload(), concurrency ${DEFAULT_CONCURRENCY}`);
      const o = await engine.evaluate((a) => window.bench.uploadOurs(a), { endpoint: server.endpoint, concurrency: DEFAULT_CONCURRENCY });
      if (o.fileSha !== file.sha) fail(`${label}: ${name}: upload() result fileSha ${o.fileSha}, expected ${file.sha}`);
      if (o.instant || o.uploadedBytes !== size) fail(`${label}: ${name}: upload() sent ${o.uploadedBytes} bytes (instant: ${o.instant}), expected all ${size}`);
      uploads.push(o);
      log(`${label}: ${name}: run ${r}: hashFile()`);
      const h = await engine.evaluate(() => window.bench.ours());
      if (h.sha !== file.sha) fail(`${label}: ${name}: hashFile gave SHA-1 ${h.sha}, expected ${file.sha}`);
      hashes.push(h);
    }
    const e2e = best(uploads, 'ms');
    const phase = best(uploads, 'uploadMs');
    const hash = best(hashes, 'ms');
    const figures = {
      engine: name,
      version: engine.version,
      runs,
      concurrency: DEFAULT_CONCURRENCY,
      hashFileMBps: mbps(size, hash.ms),
      endToEndMBps: mbps(size, e2e.ms),
      endToEndMs: e2e.ms,
      hashPassMs: e2e.hashMs,
      uploadPhaseMBps: mbps(size, phase.uploadMs),
      finishMs: e2e.finishMs,
    };
    log(`${label}: ${engine.version}: hashFile ${fmt(figures.hashFileMBps)} MB/s; upload() ${fmt(figures.endToEndMBps)} MB/s end to end, upload phase ${fmt(figures.uploadPhaseMBps)} MB/s`);
    return figures;
  } catch (err) {
    fail(`${label}: ${name}: ${err.stack || err.message}`);
    return { engine: name, version: engine?.version ?? null, skipped: `failed: ${err.message.split('\n')[0]}` };
  } finally {
    await engine?.close().catch(() => {});
  }
}
