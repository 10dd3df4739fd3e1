// The benchmark's flags (node:util parseArgs) into its options; the usage line.

import { parseArgs } from 'node:util';

import { ENGINES } from '../support/engines.mjs';
import { MiB } from './common.mjs';

export const USAGE = 'usage: node bench/run.mjs [--sizes 256M,1G] [--quick] [--runs 2] [--concurrency 1,2,4,6] [--legacy-cap 256M] '
  + '[--webcrypto-max 512M] [--ceiling-mb 512] [--upload-budget 210] [--bytes-cap 32M] [--latency-ms 0] [--engines chromium,firefox,webkit]\n'
  + '       node bench/run.mjs --network [--links 16k,128k,1m,10m,loopback,flap]   (bench/network.mjs: the shaped links)';

function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?)?\s*$/i.exec(text);
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)} (examples: 64M, 256M, 1G, 1048576)`);
  const unit = (m[2] ?? '').charAt(0).toLowerCase();
  const mult = { '': 1, k: 1024, m: MiB, g: 1024 * MiB }[unit];
  const n = Math.round(Number(m[1]) * mult);
  if (n < 1) throw new Error(`size must be at least 1 byte: ${text}`);
  return n;
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

export function parseOptions(argv) {
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
