// One size's upload measurements, in its page: ours (upload()) and plain fetch POSTs of the same
// parts, per concurrency, with the memory sampled meanwhile; the figures into `entry.upload` and
// `entry.memory`.

import { devSignature } from '../support/harness.mjs';
import { DEFAULT_CONCURRENCY, best, fmt, log, mbps } from './common.mjs';
import { rendererRssBytes, startSampler } from './machine.mjs';

export async function measureUploads({ entry, opts, label, size, file, page, cdp, server, wipeServer, gc, check, fail }) {
  // --- uploads first, in the fresh page, so that the memory figures are the upload's own (the
  // hash baselines below leave garbage and grown heaps behind). Ours and the plain fetch baseline,
  // in pairs, per concurrency; the default concurrency first. A pair starts only while this size's
  // upload time budget allows another one as long as the last (--upload-budget; 0 = no limit).
  entry.memory.rendererRssAtLoadBytes = rendererRssBytes();
  const order = [...opts.concurrency].sort((a, b) => (a === DEFAULT_CONCURRENCY ? -1 : b === DEFAULT_CONCURRENCY ? 1 : a - b));
  const up = new Map(opts.concurrency.map((c) => [c, { ours: [], plain: [], bytes: null, copy: null, peaks: [] }]));
  const uploadStart = Date.now();
  let lastPairMs = 0;
  entry.uploadSkipped = [];
  for (let r = 1; r <= opts.runs; r++) {
    for (const concurrency of order) {
      const elapsed = Date.now() - uploadStart;
      if (opts.uploadBudgetS > 0 && lastPairMs > 0 && elapsed + lastPairMs > opts.uploadBudgetS * 1000) {
        entry.uploadSkipped.push({ run: r, concurrency });
        log(`${label}: run ${r}, concurrency ${concurrency}: skipped (upload budget ${opts.uploadBudgetS} s: ${Math.round(elapsed / 1000)} s used, the last pair took ${Math.round(lastPairMs / 1000)} s)`);
        continue;
      }
      const pairStart = Date.now();
      const slot = up.get(concurrency);

      await wipeServer();
      // The package may cache file hashes in IndexedDB: clear it so that every upload() measures a
      // first upload (hash pass included), whatever the package version.
      await cdp.send('Storage.clearDataForOrigin', { origin: server.origin, storageTypes: 'indexeddb' }).catch(() => {});
      await gc();
      log(`${label}: run ${r}: ours upload(), concurrency ${concurrency}`);
      const stop = startSampler(cdp);
      let o;
      try {
        o = await page.evaluate((a) => window.bench.uploadOurs(a), { endpoint: server.endpoint, concurrency });
      } finally {
        const peak = await stop();
        peak.wasmBytes = await page.evaluate(() => window.bench.wasmMemory()).catch(() => null);
        slot.peaks.push(peak);
      }
      check('upload() result fileSha', o.fileSha, file.sha);
      if (o.instant || o.uploadedBytes !== size) fail(`${label}: upload() sent ${o.uploadedBytes} bytes (instant: ${o.instant}), expected all ${size}`);
      log(`${label}: run ${r}: ours upload phase ${fmt(mbps(size, o.uploadMs))} MB/s (end to end ${(o.ms / 1000).toFixed(1)} s)`);
      slot.ours.push(o);

      await wipeServer();
      const signature = await devSignature(server.origin, { fileSha: file.otherSha, fileName: file.name });
      // The same parts as ours': the size its session used.
      const partSize = o.partSize;
      const md5s = file.md5sBySize[partSize];
      if (!md5s) fail(`${label}: upload() sent parts of ${partSize} bytes, which the baseline has no MD5s for`);
      slot.partSize = partSize;
      const base = { endpoint: server.endpoint, sha: file.otherSha, signature, partSize, concurrency };
      await page.evaluate((a) => window.bench.plainInit(a), { ...base, size });
      await gc();
      log(`${label}: run ${r}: plain fetch POSTs (file.slice bodies), concurrency ${concurrency}`);
      const p = await page.evaluate((a) => window.bench.plainParts(a), { ...base, md5s, bodies: 'blob' });
      log(`${label}: run ${r}: plain fetch ${fmt(mbps(p.bytes, p.ms))} MB/s`);
      slot.plain.push(p);

      // Diagnostic, once per concurrency: the same plain POSTs with the part's bytes read into an
      // ArrayBuffer first and sent as a Uint8Array (what a client that MD5s the bytes it sends does),
      // over the first --bytes-cap of the file (it can be slow).
      if (slot.bytes == null && opts.bytesCap > 0) {
        await wipeServer();
        const sig2 = await devSignature(server.origin, { fileSha: file.otherSha, fileName: file.name });
        const base2 = { ...base, signature: sig2 };
        await page.evaluate((a) => window.bench.plainInit(a), { ...base2, size });
        const nParts = Math.max(1, Math.min(md5s.length, Math.floor(opts.bytesCap / partSize)));
        log(`${label}: plain fetch POSTs (Uint8Array bodies, first ${nParts} parts), concurrency ${concurrency}`);
        slot.bytes = await page.evaluate((a) => window.bench.plainParts(a), { ...base2, md5s: md5s.slice(0, nParts), bodies: 'bytes' });
        log(`${label}: plain fetch, Uint8Array bodies: ${fmt(mbps(slot.bytes.bytes, slot.bytes.ms))} MB/s`);
      }
      // Diagnostic, once per concurrency, over the whole file: plain POSTs that do per part what
      // upload() does (read it, MD5 it, send a Blob of its bytes), on the page's thread.
      if (slot.copy == null && opts.bytesCap > 0) {
        await wipeServer();
        const sig3 = await devSignature(server.origin, { fileSha: file.otherSha, fileName: file.name });
        const base3 = { ...base, signature: sig3 };
        await page.evaluate((a) => window.bench.plainInit(a), { ...base3, size });
        log(`${label}: plain fetch POSTs, each part read, MD5'd and sent as a Blob of its bytes, concurrency ${concurrency}`);
        slot.copy = await page.evaluate((a) => window.bench.plainParts(a), { ...base3, md5s, bodies: 'copy' });
        log(`${label}: plain fetch, read + MD5 + Blob bodies: ${fmt(mbps(slot.copy.bytes, slot.copy.ms))} MB/s`);
      }
      lastPairMs = Date.now() - pairStart;
    }
  }
  for (const concurrency of opts.concurrency) {
    const slot = up.get(concurrency);
    if (slot.ours.length === 0) {
      entry.upload.push({ concurrency, skipped: true });
      continue;
    }
    const e2e = best(slot.ours, 'ms');
    const phase = best(slot.ours, 'uploadMs');
    const plain = best(slot.plain, 'ms');
    entry.upload.push({
      concurrency,
      runs: slot.ours.length,
      endToEndMBps: mbps(size, e2e.ms),
      endToEndMs: e2e.ms,
      hashMs: e2e.hashMs,
      finishMs: e2e.finishMs,
      oursUploadMBps: mbps(size, phase.uploadMs),
      oursUploadMs: phase.uploadMs,
      plainMBps: mbps(plain.bytes, plain.ms),
      plainMs: plain.ms,
      ratio: mbps(size, phase.uploadMs) / mbps(plain.bytes, plain.ms),
      partSize: slot.partSize,
      // How the part pass spent its time: mean UploadPartEx fetch (call to response headers) and
      // the share of concurrency x wall time that a POST was in flight (1 = the lanes never waited).
      oursPostMeanMs: phase.postMeanMs,
      oursLaneBusy: phase.laneBusy,
      plainPostMeanMs: plain.postMeanMs,
      plainLaneBusy: plain.laneBusy,
      plainBytesBodies: slot.bytes && { MBps: mbps(slot.bytes.bytes, slot.bytes.ms), bytes: slot.bytes.bytes, postMeanMs: slot.bytes.postMeanMs, laneBusy: slot.bytes.laneBusy },
      plainCopyBodies: slot.copy && { MBps: mbps(slot.copy.bytes, slot.copy.ms), bytes: slot.copy.bytes, postMeanMs: slot.copy.postMeanMs, laneBusy: slot.copy.laneBusy },
      runsDetail: {
        ours: slot.ours.map(({ ms, hashMs, uploadMs, finishMs, postMeanMs, laneBusy }) => ({ ms, hashMs, uploadMs, finishMs, postMeanMs, laneBusy })),
        plain: slot.plain.map(({ ms, bytes, postMeanMs, laneBusy }) => ({ ms, bytes, postMeanMs, laneBusy })),
      },
      peak: {
        jsHeapUsedBytes: Math.max(...slot.peaks.map((p) => p.jsHeapUsedBytes)),
        jsHeapLiveBytes: Math.max(...slot.peaks.map((p) => p.jsHeapLiveBytes)),
        rendererRssBytes: slot.peaks.some((p) => p.rendererRssBytes != null) ? Math.max(...slot.peaks.map((p) => p.rendererRssBytes ?? 0)) : null,
        wasmBytes: Math.max(...slot.peaks.map((p) => p.wasmBytes ?? 0)),
      },
    });
  }
  const all = entry.upload.filter((u) => !u.skipped).map((u) => u.peak);
  entry.memory.jsHeapPeakBytes = Math.max(...all.map((p) => p.jsHeapUsedBytes));
  entry.memory.wasmBytes = Math.max(...all.map((p) => p.wasmBytes));
  entry.memory.totalBytes = entry.memory.jsHeapPeakBytes + entry.memory.wasmBytes;
  entry.memory.jsHeapLiveBytes = Math.max(...all.map((p) => p.jsHeapLiveBytes));
  entry.memory.liveBytes = entry.memory.jsHeapLiveBytes + entry.memory.wasmBytes;
  entry.memory.rendererRssPeakBytes = all.some((p) => p.rendererRssBytes != null) ? Math.max(...all.map((p) => p.rendererRssBytes ?? 0)) : null;
}
