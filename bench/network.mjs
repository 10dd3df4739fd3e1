// The network benchmark (`npm run bench -- --network`, or `node bench/run.mjs --network`): the shaping
// proxy (support/shaper.mjs) between headless Chromium and the servers, in a network namespace of its
// own where one can be made (support/netns.mjs), over a matrix of links. For each link, one upload
// of a file sized to it by each of: ours (upload() on its defaults, hash pass included), plain fetch
// POSTs of the same 1 MiB parts four at a time (another file's session, opened beforehand), and
// tus-js-client's defaults against @tus/server (its file store) through the same kind of proxy. Per
// upload: goodput as a fraction of the link's rate, the longest stand-still of progress, and, on the
// flapping link, bytes sent again per cut (what passed the proxy, against the same upload on the
// steady link of the same rate). Writes bench-results/network-latest.json; asserts nothing of timings.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { isolated } from '../support/netns.mjs';
import { startShaper } from '../support/shaper.mjs';
import { devSignature, launchBrowser, makeTempDir, startServer, writeRandomFile } from '../support/harness.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1 << 20;
const PART = MiB;

/** The links (`id` for --links): bytes per second (0: loopback, no limit), round trip, the file's size, cuts. */
export const LINKS = [
  { id: '16k', name: '16 KB/s, 300 ms', rate: 16_000, rttMs: 300, size: MiB },
  { id: '128k', name: '128 KB/s, 150 ms', rate: 128_000, rttMs: 150, size: 4 * MiB },
  { id: '1m', name: '1 MB/s, 80 ms', rate: 1_000_000, rttMs: 80, size: 16 * MiB },
  { id: '10m', name: '10 MB/s, 40 ms', rate: 10_000_000, rttMs: 40, size: 64 * MiB },
  { id: 'loopback', name: 'loopback', rate: 0, rttMs: 0, size: 64 * MiB },
  { id: 'flap', name: '128 KB/s, 150 ms, cut every 20 s', rate: 128_000, rttMs: 150, size: 4 * MiB, cutEveryMs: 20_000, steady: '128 KB/s, 150 ms' },
];
const METHODS = ['ours', 'plain', 'tus'];

/**
 * The longest time progress stood still in `trace` (`[ms, loaded]`, from the start) up to `endMs`,
 * and where it began (`[ms, loaded]`: at the start, mid-upload, or at the end).
 */
export function standStill(trace, endMs) {
  let longest = 0;
  let at = null;
  const gap = (from, to) => to - from[0] > longest && ((longest = to - from[0]), (at = from));
  for (let i = 1; i < trace.length; i++) gap(trace[i - 1], trace[i][0]);
  if (trace.length && endMs != null) gap(trace.at(-1), endMs);
  return { longest, at };
}

/** @tus/server with its file store, on a port of its own. */
async function startTus(dir) {
  const { Server } = await import('@tus/server');
  const { FileStore } = await import('@tus/file-store');
  const tus = new Server({ path: '/files', datastore: new FileStore({ directory: dir }) });
  const http = createServer((req, res) => tus.handle(req, res));
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  return { port: http.address().port, close: () => new Promise((r) => { http.closeAllConnections(); http.close(r); }) };
}

/**
 * @param {{ links?: string[] }} options `links`: the ids of the links to run, default every one
 */
export async function network({ links: only } = {}) {
  const inside = await isolated();
  const bin = process.env.VOD_SERVER_BIN ?? join(ROOT, 'target', 'release', 'vod-server');
  process.env.VOD_SERVER_BIN = bin;
  const work = makeTempDir('vod-bench-net-');
  const server = await startServer({ www: join(ROOT, 'bench'), mounts: { '/dist': join(ROOT, 'dist'), '/node_modules': join(ROOT, 'node_modules') }, dataDir: join(work, 'data') });
  const tusDir = join(work, 'tus');
  mkdirSync(tusDir, { recursive: true });
  const tus = await startTus(tusDir);
  const browser = await launchBrowser();
  const unknown = only?.filter((id) => !LINKS.some((l) => l.id === id)) ?? [];
  if (unknown.length) throw new Error(`unknown link(s) ${unknown.join(', ')}: --links takes ${LINKS.map((l) => l.id).join(', ')}`);
  const links = LINKS.filter((l) => !only || only.includes(l.id));
  const results = {
    date: new Date().toISOString(),
    machine: { cpu: /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown', cores: os.cpus().length, loadAvgAtStart: os.loadavg().map((x) => +x.toFixed(2)) },
    namespace: inside,
    rows: [],
  };
  const log = (msg) => process.stdout.write(`bench network: ${msg}\n`);
  log(inside ? 'in a network namespace of its own (MTU 1500, 16 KiB socket buffers)' : 'on the machine\'s loopback (no namespace): browser progress may run ahead of the link');
  try {
    for (const link of links) {
      const path = await writeRandomFile(work, `net-${link.size}.mp4`, link.size, link.size % 9973);
      const bytes = readFileSync(path);
      const sha = createHash('sha1').update(bytes).digest('hex');
      const other = Buffer.from(bytes);
      other[0] ^= 0xff;
      const otherSha = createHash('sha1').update(other).digest('hex');
      const md5s = [];
      for (let at = 0; at < bytes.length; at += PART) md5s.push(createHash('md5').update(bytes.subarray(at, at + PART)).digest('hex'));
      const row = { link: link.name, rate: link.rate, rttMs: link.rttMs, bytes: link.size, cutEveryMs: link.cutEveryMs ?? 0 };
      for (const method of METHODS) {
        // A fresh server data folder and page each time: nothing cached, nothing held.
        await server.stop();
        rmSync(server.dataDir, { recursive: true, force: true });
        mkdirSync(server.dataDir, { recursive: true });
        await server.restart();
        const target = method === 'tus' ? { port: tus.port } : { port: server.port };
        const shaper = await startShaper({ target, rate: link.rate, rttMs: link.rttMs, cutEveryMs: link.cutEveryMs });
        const context = await browser.newContext();
        const page = await context.newPage();
        try {
          await page.goto(`${server.origin}/network.html`);
          await page.waitForFunction(() => window.benchLoaded === true, null, { timeout: 30000 });
          await page.setInputFiles('#file', path);
          log(`${link.name}: ${method}, ${link.size / MiB} MiB`);
          // An upload that cannot finish (plain POSTs whose parts take longer than the cuts come) is
          // given up after three times the link's own time and a minute.
          const limitMs = (link.rate ? (3 * link.size) / link.rate : 60) * 1000 + 60_000;
          let limit;
          const late = new Promise((_, reject) => { limit = setTimeout(() => reject(new Error(`not finished after ${Math.round(limitMs / 1000)} s`)), limitMs); });
          const run = (fn, arg) => Promise.race([page.evaluate(fn, arg), late]).finally(() => clearTimeout(limit));
          let out;
          if (method === 'ours') {
            out = await run((a) => window.bench.ours(a), { endpoint: `${shaper.url}/v2/index.php` });
            if (out.fileSha !== sha) throw new Error(`ours: SHA-1 ${out.fileSha}, expected ${sha}`);
          } else if (method === 'plain') {
            const signature = await devSignature(server.origin, { fileSha: otherSha, fileName: 'net.mp4' });
            const base = { endpoint: `${server.origin}/v2/index.php`, sha: otherSha, signature, partSize: PART };
            await page.evaluate((a) => window.bench.plainInit(a), { ...base, size: link.size });
            out = await run((a) => window.bench.plain(a), { ...base, endpoint: `${shaper.url}/v2/index.php`, md5s });
          } else {
            out = await run((a) => window.bench.tus(a), { endpoint: `${shaper.url}/files` });
          }
          const goodput = link.size / (out.ms / 1000);
          row[method] = {
            ms: Math.round(out.ms),
            goodput: Math.round(goodput),
            ofLink: link.rate ? goodput / link.rate : null,
            standStillMs: Math.round(standStill(out.trace, out.endMs).longest),
            // Where the longest stand-still began: [ms from the start, bytes loaded then].
            standStillAt: standStill(out.trace, out.endMs).at?.map(Math.round) ?? null,
            up: shaper.stats.up,
            cuts: shaper.stats.cuts,
            backwards: out.backwards ?? 0,
            // ours: when its uploading and finishing phases began, ms from the call.
            phases: out.phases ? { uploadingAt: Math.round(out.phases.uploadingAt), finishingAt: Math.round(out.phases.finishingAt) } : undefined,
            failures: out.failures ?? null,
          };
          log(`${link.name}: ${method}: ${(out.ms / 1000).toFixed(1)} s, ${row[method].ofLink?.toFixed(3) ?? `${(goodput / 1e6).toFixed(1)} MB/s`} of the link, longest stand-still ${(row[method].standStillMs / 1000).toFixed(1)} s${shaper.stats.cuts ? `, ${shaper.stats.cuts} cuts` : ''}`);
        } catch (error) {
          row[method] = { error: String(error.message ?? error).split('\n')[0] };
          log(`${link.name}: ${method}: FAILED: ${row[method].error}`);
        } finally {
          await context.close().catch(() => {});
          await shaper.close();
        }
      }
      results.rows.push(row);
    }
  } finally {
    await browser.close().catch(() => {});
    await server.stop().catch(() => {});
    await tus.close();
  }
  // Bytes sent again per cut: what passed the proxy on the flapping link, less what the same upload
  // took on the steady link of the same rate.
  for (const row of results.rows) {
    const link = LINKS.find((l) => l.name === row.link);
    const steady = results.rows.find((r) => r.link === link?.steady);
    if (!steady) continue;
    for (const method of METHODS) {
      const m = row[method];
      if (m?.cuts && steady[method]?.up) m.resentPerCut = Math.round((m.up - steady[method].up) / m.cuts);
    }
  }
  results.machine.loadAvgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  const table = formatNetwork(results);
  console.log(`\n${table}`);
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench-results', 'network-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(ROOT, 'bench-results', 'network-latest.txt'), `${table}\n`);
  return results;
}

/** The results as a Markdown table: one row per link, ours | plain fetch | tus-js-client. */
export function formatNetwork({ rows, date, machine }) {
  const cell = (m, link) => {
    if (!m) return 'n/a';
    if (m.error) return `failed: ${m.error.slice(0, 60)}`;
    const speed = m.ofLink != null ? m.ofLink.toFixed(2) : `${(m.goodput / 1e6).toFixed(0)} MB/s`;
    const cut = m.resentPerCut != null ? `, ${Math.round(m.resentPerCut / 1024)} KiB/cut` : '';
    return `${speed}, ${(m.standStillMs / 1000).toFixed(1)} s${cut}${link.rate ? '' : ''}`;
  };
  const lines = [
    `Network benchmark, ${date}: ${machine.cores} cores (${machine.cpu}), load ${machine.loadAvgAtStart.join(' ')} at the start`,
    '',
    '| link | file | ours | plain fetch | tus-js-client |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) lines.push(`| ${row.link} | ${row.bytes / MiB} MiB | ${METHODS.map((m) => cell(row[m], row)).join(' | ')} |`);
  lines.push('', 'Each cell: goodput as a fraction of the link\'s rate (MB/s on loopback), the longest stand-still of progress, and on the flapping link bytes sent again per cut.');
  return lines.join('\n');
}

// Run on its own: node bench/network.mjs [link id ...]
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  network({ links: names.length ? names : undefined }).catch((error) => {
    console.error(`bench network: FAILED: ${error.stack ?? error}`);
    process.exit(1);
  });
}
