#!/usr/bin/env node
// What limits the hash pass: the package's SHA-1 and MD5 on bytes already in memory, against
// hash-wasm's, spark-md5's and WebCrypto's native SHA-1 one-shot (the platform's own ceiling), and
// hashFile() of the same bytes as a picked file against each; in Node (V8) and in each browser engine.
//
//   node bench/compress.mjs [--size 64M] [--runs 7] [--engines chromium,firefox,webkit] [--no-node] [--tables sha1,md5,read]
//
// dist/ must be built (node scripts/build.mjs). Each round runs every method once, in a random order;
// the table gives the median MB/s of the rounds, by wall time and by CPU time (the browser's processes',
// from /proc: on a loaded machine, what a method would take alone), and the median of the per-round
// ratios (a ratio within one round is less at the mercy of the load than two medians are). Every digest is checked
// against node:crypto's; a mismatch fails the run. Figures go to bench-results/compress-latest.json.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, openAsBlob, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { launchEngine, unavailable } from '../support/engines.mjs';
import { methods } from './compress-methods.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const { values: opts } = parseArgs({
  options: {
    size: { type: 'string', default: '64M' },
    runs: { type: 'string', default: '7' },
    engines: { type: 'string', default: 'chromium' },
    'no-node': { type: 'boolean', default: false },
    tables: { type: 'string', default: 'sha1,md5,read' },
  },
});
const SIZE = Number.parseInt(opts.size, 10) * ({ K: 1 << 10, M: 1 << 20, G: 1 << 30 }[opts.size.slice(-1).toUpperCase()] ?? 1);
const RUNS = Number(opts.runs);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/**
 * CPU time (ms) of this process and every process it started (the browser's, with their threads): the
 * machine is shared, and a method's CPU time is what its wall time would be on an idle machine (where
 * it runs on one thread; hashFile() reads on one and hashes on another, so its CPU time is more than
 * its idle wall time would be).
 */
function cpuMs() {
  const parents = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      parents.set(Number(pid), Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]));
    } catch { /* gone */ }
  }
  const mine = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) if (!mine.has(pid) && mine.has(ppid)) { mine.add(pid); grew = true; }
  }
  // Each thread's time on a CPU, in nanoseconds (schedstat), rather than stat's 10 ms ticks.
  let ns = 0;
  for (const pid of mine) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try { ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]); } catch { /* gone */ }
      }
    } catch { /* gone */ }
  }
  return ns / 1e6;
}

/**
 * Rounds of every method once each, in a random order → per method: median MB/s by wall time and by
 * CPU time, and the median per-round ratio of `ref`'s speed to it (by CPU time, and by wall time).
 */
async function measure(one, kind, names, ref, want) {
  const wall = Object.fromEntries(names.map((n) => [n, []]));
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await one(kind, n); // warm-up: compiled and tiered up outside the timed rounds
  for (let r = 0; r < RUNS; r++) {
    for (const n of [...names].sort(() => Math.random() - 0.5)) {
      const c0 = cpuMs();
      const { ms, digest } = await one(kind, n);
      cpu[n].push(cpuMs() - c0);
      // A row that reads without hashing gives '' (bench/compress-page.js's read table).
      if (digest !== want && digest !== '') throw new Error(`${kind} ${n}: digest ${digest}, expected ${want}`);
      wall[n].push(ms);
    }
  }
  const mbs = (ms) => SIZE / 1e6 / (ms / 1000);
  return names.map((n) => ({
    method: n,
    wallMBs: mbs(median(wall[n])),
    cpuMBs: mbs(median(cpu[n])),
    ratioCpu: median(cpu[n].map((t, i) => t / cpu[ref][i])),
    ratioWall: median(wall[n].map((t, i) => t / wall[ref][i])),
  }));
}

function print(title, rows, refLabel) {
  console.log(`\n${title}`);
  console.log(`  ${'method'.padEnd(36)} ${'MB/s CPU'.padStart(9)} ${'MB/s wall'.padStart(9)}  ${refLabel} (CPU, wall)`);
  for (const r of rows) {
    console.log(`  ${r.method.padEnd(36)} ${r.cpuMBs.toFixed(0).padStart(9)} ${r.wallMBs.toFixed(0).padStart(9)}  ${r.ratioCpu.toFixed(2)}  ${r.ratioWall.toFixed(2)}`);
  }
}

/** A static server for the page: the repository's bench/, dist/ and node_modules/. */
function serveRoot() {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!/^\/(bench|dist|node_modules)\//.test(path)) return res.writeHead(404).end();
    try {
      const body = readFileSync(join(ROOT, path));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function runNode(bytes, path, want) {
  const require = createRequire(import.meta.url);
  const glue = async (build) => {
    const name = build === 'simd' ? 'vod_ugc_uploader_simd_bg.wasm' : 'vod_ugc_uploader_bg.wasm';
    const module = await import(`${pathToFileURL(join(DIST, 'wasm', 'vod_ugc_uploader.js')).href}?${build}`);
    const { memory } = await module.default({ module_or_path: readFileSync(join(DIST, 'wasm', name)) });
    return { Sha1: module.Sha1, md5Hex: module.md5Hex, memory };
  };
  const table = await methods(bytes, { glue, hashWasm: await import('hash-wasm'), SparkMD5: require('spark-md5') });
  const pkg = await import(pathToFileURL(join(DIST, 'index.js')).href);
  table.sha1['hashFile(), from the file'] = async () => pkg.hashFile(await openAsBlob(path));
  const one = async (kind, name) => {
    const t0 = performance.now();
    const digest = await table[kind][name]();
    return { ms: performance.now() - t0, digest };
  };
  return report(`Node ${process.version} (V8)`, one, Object.keys(table.sha1), Object.keys(table.md5), want);
}

async function report(engine, one, sha1Names, md5Names, want, readNames = []) {
  const refSha = 'hashFile(), from the file';
  const tables = opts.tables.split(',');
  if (!tables.includes('sha1')) sha1Names = [];
  if (!tables.includes('md5')) md5Names = [];
  if (!tables.includes('read')) readNames = [];
  const sha1 = sha1Names.length ? await measure(one, 'sha1', sha1Names, refSha, want.sha1) : [];
  // the ratio: the method's time over hashFile()'s, i.e. hashFile()'s speed as a multiple of its
  console.log(`\n${engine}: ${SIZE} bytes, ${RUNS} rounds, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (sha1.length) print(`${engine}: SHA-1`, sha1, `hashFile() ÷ it`);
  const refMd5 = md5Names[0];
  const md5 = md5Names.length ? await measure(one, 'md5', md5Names, refMd5, want.md5) : [];
  if (md5.length) print(`${engine}: MD5 of every 1 MiB part`, md5, `${refMd5} ÷ it`);
  // In a page: where hashFile()'s time goes (its reads alone, per way; the hash worker alone).
  const read = readNames.length ? await measure(one, 'read', readNames, refSha, want.sha1) : [];
  if (read.length) print(`${engine}: reading the file, and the hash worker alone`, read, `hashFile() ÷ it`);
  return { engine, sha1, md5, read };
}

async function main() {
  const path = join(tmpdir(), `vod-compress-${process.pid}.bin`);
  const bytes = randomBytes(SIZE);
  writeFileSync(path, bytes);
  const lastPart = bytes.subarray(Math.floor((SIZE - 1) / (1 << 20)) * (1 << 20));
  const want = { sha1: createHash('sha1').update(bytes).digest('hex'), md5: createHash('md5').update(lastPart).digest('hex') };
  const results = [];
  if (!opts['no-node']) results.push(await runNode(new Uint8Array(bytes), path, want));
  const server = await serveRoot();
  try {
    for (const name of opts.engines.split(',').filter(Boolean)) {
      const why = unavailable(name);
      if (why) { console.log(`\n${name}: skipped (${why})`); continue; }
      const engine = await launchEngine(name);
      try {
        await engine.goto(`http://127.0.0.1:${server.address().port}/bench/compress.html`);
        await engine.waitFor(() => typeof window.compress === 'object', null, { message: 'the page to load' });
        await engine.setInputFiles('#file', [path]);
        const { sha1, md5, read, simd } = await engine.evaluate(() => window.compress.init());
        const one = (kind, name) => engine.evaluate((k, n) => window.compress.one(k, n), kind, name);
        results.push(await report(`${engine.version}${simd ? '' : ' (no wasm SIMD)'}`, one, sha1, md5, want, read));
      } finally {
        await engine.close();
      }
    }
  } finally {
    server.close();
  }
  unlinkSync(path);
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench-results', 'compress-latest.json'), JSON.stringify({ size: SIZE, runs: RUNS, load: loadavg(), results }, null, 2));
}

await main();
