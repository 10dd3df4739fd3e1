// What the benchmark's modules share: the repository root, sizes, the part size, the figures' helpers.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MiB = 1 << 20;
export const PART_SIZE = MiB; // the legacy baseline's part size (bench/hashes.mjs); the 1 MiB part MD5s
// The part sizes InitUploadEx allows: the part-pass baseline posts parts of the size ours' session used
// (512 KiB in a fresh page, where nothing is known of the link yet).
export const PART_SIZES = [MiB / 2, MiB];
export const DEFAULT_CONCURRENCY = 4; // the uploader's default: measured first

export function sizeLabel(n) {
  if (n % (1024 * MiB) === 0) return `${n / (1024 * MiB)} GiB`;
  if (n % MiB === 0) return `${n / MiB} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

export const mbps = (bytes, ms) => (ms > 0 ? bytes / 1e6 / (ms / 1000) : null);
export const fmt = (v) => (v == null ? 'n/a' : v.toFixed(1));

export function best(runs, key = 'ms') {
  return runs.reduce((b, r) => (b == null || r[key] < b[key] ? r : b), null);
}

export function log(msg) {
  process.stdout.write(`bench: ${msg}\n`);
}
