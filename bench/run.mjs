#!/usr/bin/env node
// The benchmark (`npm run bench` runs scripts/bench.sh, which builds dist/ and the release vod-server
// first, then this). For each file size it writes a pseudo-random file to disk, opens bench/index.html
// from a release vod-server in headless Chromium, picks the file through <input type=file>, and
// measures in that one page:
//
//   hash     ours (hashFile from /dist/index.js), hash-wasm streamed SHA-1, js-sha1 + spark-md5 (the
//            legacy way, capped), WebCrypto one-shot (files <= 512 MiB), the wasm SHA-1 compute ceiling
//   upload   ours end to end (upload()) and its upload phase, against plain fetch POSTs of the same parts
//            at the same concurrency, for each concurrency in --concurrency
//   memory   peak JS heap (CDP Performance.getMetrics, every 250 ms), wasm memory, renderer RSS
//   package  per entry point, what a page importing it downloads (JS + wasm) gzipped, against its budget
//   engines  per engine of --engines (Chromium, Firefox ESR, WebKitGTK: support/engines.mjs), in one
//            page of its own: hashFile, and upload() end to end at the default concurrency (the hash
//            pass and the upload phase timed from its progress reports)
//
// Every measurement runs --runs times (default 2), sequentially; the best is reported. Nothing
// asserts a timing: the exit status is non-zero only when something broke (a method failed, or two
// methods disagree on the SHA-1). Results: bench-results/<timestamp>/{results.json,table.txt,chart.svg}
// and bench-results/latest.json.
//
// Usage: node bench/run.mjs [--sizes 256M,1G] [--quick] [--runs 2] [--concurrency 1,2,4,6]
//                           [--legacy-cap 256M] [--webcrypto-max 512M] [--ceiling-mb 512]
//                           [--upload-budget 210] [--bytes-cap 32M] [--engines chromium,firefox,webkit]
//   --quick          one 64 MiB file
//   --upload-budget  seconds of upload measurements per file size (0: no limit): a slow uploader makes
//                    the later pairs (ours + plain fetch) be skipped, and the table says so
//   --bytes-cap      the Uint8Array-bodies diagnostic POSTs only this much of the file (0: off)
//   --engines        the engines measured per engine (default: every one installed; Chromium's full
//                    comparison above runs whatever this says)
//   --latency-ms     the server answers every protocol call this much later (its `slow` fault on every
//                    call): a network's round trip, for the part pass where the client's CPU does not
//                    compete with a server on the same two cores

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ENGINES, launchEngine, unavailable } from '../support/engines.mjs';
import { devSignature, launchBrowser, makeTempDir, startServer } from '../support/harness.mjs';
import { entrySizes } from '../support/sizes.mjs';
import { network } from './network.mjs';
import { formatTable, renderSvg } from './report.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1 << 20;
const PART_SIZE = MiB; // the uploader's default partSize; the baseline posts the same parts
const USAGE = 'usage: node bench/run.mjs [--sizes 256M,1G] [--quick] [--runs 2] [--concurrency 1,2,4,6] [--legacy-cap 256M] '
  + '[--webcrypto-max 512M] [--ceiling-mb 512] [--upload-budget 210] [--bytes-cap 32M] [--latency-ms 0] [--engines chromium,firefox,webkit]\n'
  + '       node bench/run.mjs --network [--links 16k,128k,1m,10m,loopback,flap]   (bench/network.mjs: the shaped links)';
const DEFAULT_CONCURRENCY = 4; // the uploader's default: measured first

// ---------------------------------------------------------------------------------------------
// Arguments

function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?)?\s*$/i.exec(text);
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)} (examples: 64M, 256M, 1G, 1048576)`);
  const unit = (m[2] ?? '').charAt(0).toLowerCase();
  const mult = { '': 1, k: 1024, m: MiB, g: 1024 * MiB }[unit];
  const n = Math.round(Number(m[1]) * mult);
  if (n < 1) throw new Error(`size must be at least 1 byte: ${text}`);
  return n;
}

function sizeLabel(n) {
  if (n % (1024 * MiB) === 0) return `${n / (1024 * MiB)} GiB`;
  if (n % MiB === 0) return `${n / MiB} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

/** What each flag takes, as node:util parseArgs reads them. */
const FLAGS = {
  sizes: { type: 'string' },
  quick: { type: 'boolean' },
  runs: { type: 'string' },
  concurrency: { type: 'string' },
  'legacy-cap': { type: 'string' },
  'webcrypto-max': { type: 'string' },
  'ceiling-mb': { type: 'string' },
  'upload-budget': { type: 'string' },
  'bytes-cap': { type: 'string' },
  'latency-ms': { type: 'string' },
  engines: { type: 'string' },
  network: { type: 'boolean' },
  links: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** A whole number of at least `min` from a flag's text. */
function count(text, flag, min) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be a whole number of at least ${min}, not ${JSON.stringify(text)}`);
  return n;
}

function parseOptions(argv) {
  const { values: v } = parseArgs({ args: argv, options: FLAGS, strict: true });
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = (text) => text.split(',').map((x) => x.trim()).filter(Boolean);
  const opts = {
    sizes: v.quick ? [64 * MiB] : v.sizes ? list(v.sizes).map(parseSize) : [256 * MiB, 1024 * MiB],
    runs: v.runs ? count(v.runs, 'runs', 1) : 2,
    concurrency: v.concurrency ? list(v.concurrency).map((c) => count(c, 'concurrency', 1)).filter((c) => c <= 16) : [1, 2, 4, 6],
    legacyCap: v['legacy-cap'] ? parseSize(v['legacy-cap']) : 256 * MiB,
    webCryptoMax: v['webcrypto-max'] ? parseSize(v['webcrypto-max']) : 512 * MiB,
    ceilingMb: v['ceiling-mb'] ? count(v['ceiling-mb'], 'ceiling-mb', 1) : 512,
    uploadBudgetS: v['upload-budget'] ? Math.max(0, Number.parseFloat(v['upload-budget']) || 0) : 210,
    bytesCap: v['bytes-cap'] === '0' ? 0 : v['bytes-cap'] ? parseSize(v['bytes-cap']) : 32 * MiB,
    latencyMs: v['latency-ms'] ? count(v['latency-ms'], 'latency-ms', 0) : 0,
    engines: v.engines ? list(v.engines) : ENGINES,
    network: v.network ?? false,
    links: v.links ? list(v.links) : undefined,
  };
  if (opts.sizes.length === 0) throw new Error('--sizes is empty');
  if (opts.concurrency.length === 0) throw new Error('--concurrency is empty');
  const unknown = opts.engines.filter((e) => !ENGINES.includes(e));
  if (unknown.length) throw new Error(`unknown engine(s) ${unknown.join(', ')}: --engines takes ${ENGINES.join(', ')}`);
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Files: deterministic pseudo-random bytes (AES-128-CTR keystream, seeded by the size), written to
// disk while node computes the reference digests: SHA-1 of the file, SHA-1 of its first `legacyCap`
// bytes, MD5 of each 1 MiB part (the baseline's dataMd5, computed here, outside any timed section),
// and SHA-1 of the "other" file: the same bytes with one byte changed, which gets its own upload
// session for the plain fetch baseline (it is never written: only its SHA-1 is needed).

async function writeBenchFile(dir, size, legacyCap) {
  const name = `bench-${sizeLabel(size).replace(' ', '')}.mp4`;
  const path = join(dir, name);
  const key = createHash('sha256').update(`vod-bench-${size}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(8 * MiB);
  const sha = createHash('sha1');
  const otherSha = createHash('sha1');
  const prefixSha = createHash('sha1');
  const flipAt = Math.floor(size / 2);
  const md5s = [];
  let partHash = createHash('md5');
  let partFill = 0;
  const fh = await open(path, 'w');
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(zeros.length, size - done);
      const chunk = cipher.update(zeros.subarray(0, n));
      sha.update(chunk);
      if (done < legacyCap) prefixSha.update(chunk.subarray(0, Math.min(n, legacyCap - done)));
      if (flipAt >= done && flipAt < done + n) {
        const other = Buffer.from(chunk);
        other[flipAt - done] ^= 0xff;
        otherSha.update(other);
      } else {
        otherSha.update(chunk);
      }
      for (let off = 0; off < n;) {
        const take = Math.min(PART_SIZE - partFill, n - off);
        partHash.update(chunk.subarray(off, off + take));
        partFill += take;
        off += take;
        if (partFill === PART_SIZE) { md5s.push(partHash.digest('hex')); partHash = createHash('md5'); partFill = 0; }
      }
      await fh.write(chunk);
      done += n;
    }
  } finally {
    await fh.close();
  }
  if (partFill > 0) md5s.push(partHash.digest('hex'));
  return { name, path, size, sha: sha.digest('hex'), otherSha: otherSha.digest('hex'), prefixSha: prefixSha.digest('hex'), prefixBytes: Math.min(size, legacyCap), md5s };
}

// ---------------------------------------------------------------------------------------------
// Machine and package

function machineInfo(browserVersion) {
  let cpu = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch { /* not Linux */ }
  let git = null;
  try { git = execFileSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { /* no git */ }
  return {
    cpu,
    cores: os.cpus().length,
    ramBytes: os.totalmem(),
    chromium: browserVersion,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadAvgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    git,
  };
}

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p)); else out.push(p);
  }
  return out.sort();
}

function packageSize() {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'index.js'))) throw new Error('dist/index.js is missing: run node scripts/build.mjs first');
  const shipped = new Set(walk(dist).map((p) => relative(ROOT, p).split(sep).join('/')));
  const entries = entrySizes(ROOT, shipped).map((e) => ({ ...e, within: e.gz <= e.budget }));
  return { entries, within: entries.every((e) => e.within) };
}

// ---------------------------------------------------------------------------------------------
// Memory: the renderer's RSS (all of the page: JS heaps of the page and its workers, wasm memory,
// Blob and fetch buffers), read from /proc. The page's renderer is the largest renderer process
// descended from this node process (the browser is our child; other people's browsers are not).

function rendererRssBytes(rootPid = process.pid) {
  if (process.platform !== 'linux') return null;
  const parent = new Map();
  const renderers = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('--type=renderer')) renderers.push(Number(d));
    } catch { /* gone */ }
  }
  let max = null;
  for (const pid of renderers) {
    let p = pid;
    for (let hops = 0; p > 1 && p !== rootPid && hops < 20; hops++) p = parent.get(p) ?? 0;
    if (p !== rootPid) continue;
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) max = Math.max(max ?? 0, Number(m[1]) * 1024);
    } catch { /* gone */ }
  }
  return max;
}

/** Samples JS heap (CDP) and renderer RSS every `intervalMs` until stop() is called. */
function startSampler(cdp, intervalMs = 250, liveEvery = 8) {
  const peak = { jsHeapUsedBytes: 0, jsHeapLiveBytes: 0, rendererRssBytes: null, samples: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        // Every liveEvery-th sample (2 s) follows a forced garbage collection: what the page still
        // holds then is what the upload keeps; the other samples also count garbage not yet collected.
        const live = peak.samples % liveEvery === 0;
        if (live) await cdp.send('HeapProfiler.collectGarbage');
        const { metrics } = await cdp.send('Performance.getMetrics');
        const heap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
        peak.jsHeapUsedBytes = Math.max(peak.jsHeapUsedBytes, heap);
        if (live) peak.jsHeapLiveBytes = Math.max(peak.jsHeapLiveBytes, heap);
        const rss = rendererRssBytes();
        if (rss != null) peak.rendererRssBytes = Math.max(peak.rendererRssBytes ?? 0, rss);
        peak.samples++;
      } catch { /* page busy or closing: skip this sample */ }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return async () => { running = false; await loop; return peak; };
}

// ---------------------------------------------------------------------------------------------
// Measurements

const mbps = (bytes, ms) => (ms > 0 ? bytes / 1e6 / (ms / 1000) : null);
const fmt = (v) => (v == null ? 'n/a' : v.toFixed(1));

function best(runs, key = 'ms') {
  return runs.reduce((b, r) => (b == null || r[key] < b[key] ? r : b), null);
}

function log(msg) {
  process.stdout.write(`bench: ${msg}\n`);
}

/**
 * One engine's figures for one file: hashFile, and upload() end to end at the default concurrency
 * (its hash pass and upload phase from its progress reports), best of `runs`, in a page of its own
 * (bench/index.html, the file picked through <input type=file>). An engine that is not installed or
 * fails is reported with the reason instead of figures.
 */
async function measureEngine(name, { server, wipeServer, file, size, label, runs, fail }) {
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

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.network) return void await network({ links: opts.links });
  const t0 = Date.now();
  const errors = [];
  const fail = (msg) => { errors.push(msg); log(`ERROR: ${msg}`); };

  const bin = join(ROOT, 'target', 'release', 'vod-server');
  if (!existsSync(bin)) throw new Error(`${relative(ROOT, bin)} is missing: run cargo build --release -p vod-server (scripts/bench.sh does)`);
  process.env.VOD_SERVER_BIN = bin;

  const pkgSize = packageSize();
  const workDir = makeTempDir('vod-bench-');
  const dataDir = join(workDir, 'data');

  log(`sizes ${opts.sizes.map(sizeLabel).join(', ')}; ${opts.runs} run(s) of each measurement, best kept; concurrency ${opts.concurrency.join(', ')}`);
  const server = await startServer({
    www: join(ROOT, 'bench'),
    mounts: { '/dist': join(ROOT, 'dist'), '/node_modules': join(ROOT, 'node_modules') },
    dataDir,
    secretId: 'AKIDvodUgcUploaderBench',
    secretKey: randomBytes(16).toString('hex'),
    faults: opts.latencyMs > 0 ? { rate: 1, kinds: 'slow', slowMs: opts.latencyMs } : undefined,
  });
  log(`vod-server ${server.origin} (data in ${dataDir})${opts.latencyMs ? `, answering every call ${opts.latencyMs} ms late` : ''}`);

  // A fresh data folder before every upload measurement: otherwise the second upload of a file is
  // answered "instant" (code 2), and a part the server already holds is answered without a write.
  const wipeServer = async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    await server.restart();
  };

  const browser = await launchBrowser();
  const machine = machineInfo(browser.version());
  const results = {
    date: new Date().toISOString(),
    machine,
    options: { ...opts, partSize: PART_SIZE },
    package: pkgSize,
    sizes: [],
    errors,
  };

  try {
    for (const size of opts.sizes) {
      const label = sizeLabel(size);
      log(`${label}: writing the file`);
      const file = await writeBenchFile(workDir, size, opts.legacyCap);
      log(`${label}: ${file.path} sha1 ${file.sha}`);
      const entry = { label, bytes: size, sha1: file.sha, hash: {}, upload: [], memory: {} };
      results.sizes.push(entry);

      // One page per size: its wasm instance starts fresh, so its memory is this size's own peak.
      const context = await browser.newContext();
      const page = await context.newPage();
      const pageLog = [];
      page.on('console', (m) => pageLog.push(`[console.${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => pageLog.push(`[pageerror] ${e.message}`));
      try {
        const cdp = await context.newCDPSession(page);
        await cdp.send('Performance.enable');
        await page.goto(`${server.origin}/index.html`);
        await page.waitForFunction(() => window.benchLoaded === true, null, { timeout: 30000 });
        const init = await page.evaluate(() => window.bench.init());
        entry.memory.wasmBytesAtLoad = init.wasmMemoryBytes;
        await page.setInputFiles('#file', file.path);
        const info = await page.evaluate(() => window.bench.fileInfo());
        if (info.size !== size) throw new Error(`the page sees ${info.size} bytes, expected ${size}`);

        const gc = () => cdp.send('HeapProfiler.collectGarbage').catch(() => {});
        const check = (what, got, want) => {
          if (got !== want) fail(`${label}: ${what} gave SHA-1 ${got}, expected ${want}`);
        };

        // --- uploads first, in the fresh page, so that the memory figures are the upload's own (the
        // hash baselines below leave garbage and grown heaps behind). Ours and the plain fetch baseline,
        // in pairs, per concurrency; the default concurrency first. A pair starts only while this size's
        // upload time budget allows another one as long as the last (--upload-budget; 0 = no limit).
        entry.memory.rendererRssAtLoadBytes = rendererRssBytes();
        const order = [...opts.concurrency].sort((a, b) => (a === DEFAULT_CONCURRENCY ? -1 : b === DEFAULT_CONCURRENCY ? 1 : a - b));
        const up = new Map(opts.concurrency.map((c) => [c, { ours: [], plain: [], bytes: null, peaks: [] }]));
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
            const base = { endpoint: server.endpoint, sha: file.otherSha, signature, partSize: PART_SIZE, concurrency };
            await page.evaluate((a) => window.bench.plainInit(a), { ...base, size });
            await gc();
            log(`${label}: run ${r}: plain fetch POSTs (file.slice bodies), concurrency ${concurrency}`);
            const p = await page.evaluate((a) => window.bench.plainParts(a), { ...base, md5s: file.md5s, bodies: 'blob' });
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
              const nParts = Math.max(1, Math.min(file.md5s.length, Math.floor(opts.bytesCap / PART_SIZE)));
              log(`${label}: plain fetch POSTs (Uint8Array bodies, first ${nParts} parts), concurrency ${concurrency}`);
              slot.bytes = await page.evaluate((a) => window.bench.plainParts(a), { ...base2, md5s: file.md5s.slice(0, nParts), bodies: 'bytes' });
              log(`${label}: plain fetch, Uint8Array bodies: ${fmt(mbps(slot.bytes.bytes, slot.bytes.ms))} MB/s`);
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
            // How the part pass spent its time: mean UploadPartEx fetch (call to response headers) and
            // the share of concurrency x wall time that a POST was in flight (1 = the lanes never waited).
            oursPostMeanMs: phase.postMeanMs,
            oursLaneBusy: phase.laneBusy,
            plainPostMeanMs: plain.postMeanMs,
            plainLaneBusy: plain.laneBusy,
            plainBytesBodies: slot.bytes && { MBps: mbps(slot.bytes.bytes, slot.bytes.ms), bytes: slot.bytes.bytes, postMeanMs: slot.bytes.postMeanMs, laneBusy: slot.bytes.laneBusy },
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
        entry.ratios = {
          oursVsCeiling: entry.hash.ours.MBps / entry.hash.ceiling.MBps,
          oursVsHashWasm: entry.hash.ours.MBps / entry.hash.hashWasm.MBps,
        };

      } catch (err) {
        fail(`${label}: ${err.stack || err.message}`);
        if (pageLog.length) log(`page log:\n${pageLog.slice(-30).join('\n')}`);
      } finally {
        await context.close().catch(() => {});
      }
      entry.engines = [];
      for (const name of opts.engines) {
        entry.engines.push(await measureEngine(name, { server, wipeServer, file, size, label, runs: opts.runs, fail }));
      }
      rmSync(file.path, { force: true });
    }
  } finally {
    await browser.close().catch(() => {});
    await server.stop().catch(() => {});
  }

  // Memory flatness: every size against the 1 GiB one (or the largest, when there is no 1 GiB run), on
  // what the page keeps (live JS heap + wasm): the peak with garbage grows with a longer run as the
  // collector lets the heap fill further, whatever the upload holds.
  const measured = results.sizes.filter((s) => s.memory.liveBytes != null);
  const ref = measured.find((s) => s.bytes === 1024 * MiB) ?? measured.reduce((a, s) => (a == null || s.bytes > a.bytes ? s : a), null);
  results.memoryFlat = measured.length < 2 ? null : measured.filter((s) => s !== ref).map((s) => {
    const diff = Math.abs(s.memory.liveBytes - ref.memory.liveBytes) / ref.memory.liveBytes;
    return { size: s.label, vs: ref.label, diff, within10pct: diff < 0.1 };
  });
  results.machine.loadAvgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  results.durationSeconds = (Date.now() - t0) / 1000;

  const table = formatTable(results);
  console.log('');
  console.log(table);

  const stamp = results.date.replace(/[:.]/g, '-');
  const outDir = join(ROOT, 'bench-results', stamp);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'table.txt'), `${table}\n`);
  writeFileSync(join(outDir, 'chart.svg'), renderSvg(results));
  copyFileSync(join(outDir, 'results.json'), join(ROOT, 'bench-results', 'latest.json'));
  copyFileSync(join(outDir, 'chart.svg'), join(ROOT, 'bench-results', 'latest.svg'));
  console.log(`\nbench: results in ${relative(ROOT, outDir)}/ (results.json, table.txt, chart.svg) and bench-results/latest.json, latest.svg`);
  console.log(`bench: ${results.durationSeconds.toFixed(0)} s`);

  if (errors.length) {
    console.error(`\nbench: FAILED: ${errors.length} problem(s):\n  ${errors.map((e) => e.split('\n')[0]).join('\n  ')}`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(`bench: FAILED: ${err.stack || err.message}`);
  process.exit(1);
});
