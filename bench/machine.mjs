// What the results say of the machine and the package, and the memory sampled while an upload runs.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { join, relative, sep } from 'node:path';

import { entrySizes } from '../support/sizes.mjs';
import { ROOT } from './common.mjs';

export function machineInfo(browserVersion) {
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

export function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p)); else out.push(p);
  }
  return out.sort();
}

export function packageSize() {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'index.js'))) throw new Error('dist/index.js is missing: run node scripts/build.mjs first');
  const shipped = new Set(walk(dist).map((p) => relative(ROOT, p).split(sep).join('/')));
  const entries = entrySizes(ROOT, shipped).map((e) => ({ ...e, within: e.gz <= e.budget }));
  return { entries, within: entries.every((e) => e.within) };
}

// Memory: the renderer's RSS (all of the page: JS heaps of the page and its workers, wasm memory,
// Blob and fetch buffers), read from /proc. The page's renderer is the largest renderer process
// descended from this node process (the browser is our child; other people's browsers are not).

export function rendererRssBytes(rootPid = process.pid) {
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
export function startSampler(cdp, intervalMs = 250, liveEvery = 8) {
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
