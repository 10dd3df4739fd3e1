// One size's hash measurements, in its page: each method once per run, interleaved; the figures
// into `entry.hash` and `entry.ratios`.

import { PART_SIZE, best, log, mbps, sizeLabel } from './common.mjs';

export async function measureHashes({ entry, opts, label, size, file, page, gc, check, fail }) {
  // --- hashing: each method once per run, interleaved, so noise hits all of them alike.
  const runs = { ours: [], hashWasm: [], legacy: [], webCrypto: [], ceiling: [], readSlice: [], readStream: [] };
  for (let r = 1; r <= opts.runs; r++) {
    await gc();
    log(`${label}: run ${r}: ours hashFile`);
    const o = await page.evaluate(() => window.bench.ours());
    check('ours hashFile', o.sha, file.sha);
    runs.ours.push(o);

    await gc();
    log(`${label}: run ${r}: hash-wasm SHA-1, 8 MiB Blob.slice windows`);
    const h = await page.evaluate(() => window.bench.hashWasmSha1({ windowMiB: 8 }));
    check('hash-wasm', h.sha, file.sha);
    runs.hashWasm.push(h);

    await gc();
    log(`${label}: run ${r}: js-sha1 + spark-md5 (first ${sizeLabel(file.prefixBytes)})`);
    const l = await page.evaluate((capBytes) => window.bench.legacy({ capBytes }), opts.legacyCap);
    check('js-sha1 (prefix)', l.sha, file.prefixSha);
    const wantMd5s = file.md5s.slice(0, l.md5s.length);
    if (l.md5s.length !== Math.ceil(file.prefixBytes / PART_SIZE) || l.md5s.some((m, i) => m !== wantMd5s[i])) {
      fail(`${label}: spark-md5 part MD5s differ from node's`);
    }
    delete l.md5s;
    runs.legacy.push(l);

    if (size <= opts.webCryptoMax) {
      await gc();
      log(`${label}: run ${r}: WebCrypto one-shot`);
      const w = await page.evaluate(() => window.bench.webCrypto());
      check('WebCrypto', w.sha, file.sha);
      runs.webCrypto.push(w);
    }

    await gc();
    log(`${label}: run ${r}: read only (8 MiB Blob.slice windows; File.stream())`);
    runs.readSlice.push(await page.evaluate(() => window.bench.readOnly({ how: 'slice', windowMiB: 8 })));
    await gc();
    runs.readStream.push(await page.evaluate(() => window.bench.readOnly({ how: 'stream' })));

    await gc();
    log(`${label}: run ${r}: wasm SHA-1 ceiling (${opts.ceilingMb} MB in memory)`);
    const c = await page.evaluate((megabytes) => window.bench.ceiling({ megabytes }), opts.ceilingMb);
    runs.ceiling.push(c);
  }
  const summarize = (list) => {
    if (list.length === 0) return null;
    const b = best(list);
    return { MBps: mbps(b.bytes, b.ms), bytes: b.bytes, bestMs: b.ms, runsMs: list.map((x) => x.ms), longTaskMaxMs: b.longTaskMaxMs ?? null, longTasks: b.longTasks ?? null };
  };
  entry.hash.ours = summarize(runs.ours);
  entry.hash.ours.longTaskMaxMsAllRuns = Math.max(...runs.ours.map((x) => x.longTaskMaxMs ?? 0));
  entry.hash.ours.progressEvents = best(runs.ours).progressEvents;
  entry.hash.hashWasm = summarize(runs.hashWasm);
  entry.hash.readSlice = summarize(runs.readSlice);
  entry.hash.readStream = summarize(runs.readStream);
  entry.hash.legacy = { ...summarize(runs.legacy), capped: file.prefixBytes < size };
  entry.hash.webCrypto = runs.webCrypto.length ? summarize(runs.webCrypto) : { MBps: null, note: `n/a: file over ${sizeLabel(opts.webCryptoMax)}` };
  const bestCeiling = runs.ceiling.reduce((b, c) => (b == null || c.sha1MBps > b.sha1MBps ? c : b), null);
  entry.hash.ceiling = { MBps: bestCeiling.sha1MBps, runsMBps: runs.ceiling.map((c) => c.sha1MBps), megabytes: opts.ceilingMb };
  entry.hash.hashWasmMemory = { MBps: Math.max(...runs.ceiling.map((c) => c.hashWasmMBps)) };
  entry.hash.webCryptoMemory = { MBps: Math.max(...runs.ceiling.map((c) => c.webCryptoMBps)) };
  entry.ratios = {
    oursVsCeiling: entry.hash.ours.MBps / entry.hash.ceiling.MBps,
    oursVsHashWasm: entry.hash.ours.MBps / entry.hash.hashWasm.MBps,
    oursVsWebCrypto: entry.hash.webCrypto.MBps ? entry.hash.ours.MBps / entry.hash.webCrypto.MBps : null,
    oursVsWebCryptoMemory: entry.hash.ours.MBps / entry.hash.webCryptoMemory.MBps,
    compressionVsHashWasm: entry.hash.ceiling.MBps / entry.hash.hashWasmMemory.MBps,
  };
}
