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
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';

import { launchBrowser, makeTempDir, startServer } from '../support/harness.mjs';
import { parseOptions } from './args.mjs';
import { MiB, ROOT, log, sizeLabel } from './common.mjs';
import { measureEngine } from './engine.mjs';
import { writeBenchFile } from './file.mjs';
import { measureHashes } from './hashes.mjs';
import { machineInfo, packageSize } from './machine.mjs';
import { network } from './network.mjs';
import { formatTable, renderSvg } from './report.mjs';
import { measureUploads } from './uploads.mjs';

// The modules: args.mjs (flags), file.mjs (the file written per size), machine.mjs (machine, package,
// memory sampling), uploads.mjs and hashes.mjs (one size's measurements in its page), engine.mjs
// (--engines), report.mjs (table and chart), network.mjs (--network); this one runs them in order.

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
    options: opts,
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

        await measureUploads({ entry, opts, label, size, file, page, cdp, server, wipeServer, gc, check, fail });
        await measureHashes({ entry, opts, label, size, file, page, gc, check, fail });

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
