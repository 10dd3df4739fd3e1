#!/usr/bin/env node
// The queue benchmark: many small files, uploaded one `upload()` at a time against through one
// `createQueue()` (vod-ugc-uploader/queue), in headless Chromium against a vod-server on loopback.
// Each way uploads files of its own (the server would answer a file it holds with an instant upload),
// twice (--runs), the best kept; prints files per second and writes bench-results/queue-latest.json.
//
// Usage: node bench/queue.mjs [--files 60] [--size 200000] [--concurrency 4] [--runs 2] [--latency-ms 0]
//   (dist/ and a vod-server binary must exist: node scripts/build.mjs; cargo build [--release] -p vod-server;
//   VOD_SERVER_BIN picks the binary)

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { DIST_DIR, launchBrowser, makeTempDir, startServer, writeRandomFile } from '../support/harness.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '60' },
    size: { type: 'string', default: '200000' },
    concurrency: { type: 'string', default: '4' },
    runs: { type: 'string', default: '2' },
    'latency-ms': { type: 'string', default: '0' },
  },
});
const [files, size, concurrency, runs, latencyMs] = ['files', 'size', 'concurrency', 'runs', 'latency-ms'].map((k) => Number(values[k]));

const faults = latencyMs > 0 ? { rate: 1, kinds: ['slow'], slowMs: latencyMs } : undefined;
const server = await startServer({ www: join(ROOT, 'bench'), mounts: { '/dist': DIST_DIR }, faults });
const browser = await launchBrowser();
try {
  const dir = makeTempDir('vod-bench-queue-');
  // Files for every run of both ways, each distinct.
  const ways = [['one upload() at a time', 'oneAtATime'], [`one queue, concurrency ${concurrency}`, 'throughQueue']];
  const paths = [];
  for (let i = 0; i < files * runs * ways.length; i++) paths.push(await writeRandomFile(dir, `f${i}.mp4`, size, 1000 + i));
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.url}queue.html`);
  await page.locator('body[data-ready="1"]').waitFor({ state: 'attached', timeout: 15000 });
  await page.setInputFiles('#files', paths);
  const rows = [];
  let next = 0;
  for (const [label, fn] of ways) {
    let best = Infinity;
    for (let run = 0; run < runs; run++, next += files) {
      best = Math.min(best, await page.evaluate(([fn, from, to, c]) => window[fn](from, to, c), [fn, next, next + files, concurrency]));
    }
    rows.push({ way: label, seconds: best, filesPerSecond: files / best, megabytesPerSecond: (files * size) / best / 1e6 });
  }
  console.log(`${files} files of ${size} bytes, best of ${runs}, latency ${latencyMs} ms, load ${os.loadavg().map((n) => n.toFixed(1)).join(' ')}`);
  for (const r of rows) {
    console.log(`${r.way.padEnd(28)} ${r.seconds.toFixed(2).padStart(7)} s  ${r.filesPerSecond.toFixed(1).padStart(6)} files/s  ${r.megabytesPerSecond.toFixed(1).padStart(6)} MB/s`);
  }
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench-results', 'queue-latest.json'), `${JSON.stringify({ files, size, concurrency, runs, latencyMs, rows }, null, 2)}\n`);
} finally {
  await browser.close();
  await server.stop();
}
