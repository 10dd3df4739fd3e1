#!/usr/bin/env node
// Builds the release package into dist/ (git-ignored):
//
//   dist/index.js, queue.js, record.js    the browser edge's entries: js/index.js (the package entry),
//                                         js/queue.js and js/record.js (the optional entries
//                                         vod-ugc-uploader/queue and /record), bundled together
//                                         (rolldown) so that what they share is one chunk they import;
//                                         the wasm glue left as an import
//   dist/hash-worker.js                   js/hash-worker.js bundled with what it imports
//   dist/*.d.ts                           the package's types, copied from js/
//   dist/sign.js                          js/sign.js as it is: vod-ugc-uploader/sign, for Node backends
//                                         only (no browser entry imports it; not in the browser sizes)
//   dist/wasm/vod_ugc_uploader.js         wasm-bindgen's `--target web` glue (+ .d.ts)
//   dist/wasm/vod_ugc_uploader_bg.wasm    the release wasm, its panics made to trap at once
//                                         (scripts/trap-panics.mjs), optimised by wasm-opt (npm `binaryen`)
//   dist/wasm/vod_ugc_uploader_simd_bg.wasm  the same crate built with wasm SIMD (`simd128`: the SHA-1's
//                                         own compression, src/hash/simd.rs), made the same way, which
//                                         js/wasm.js loads instead where the engine validates SIMD; same
//                                         exports, so the one glue serves both (checked here). A page
//                                         loads one.
//
// Every shipped .js is minified (oxc, through rolldown) next to a source map that carries the
// original text; then it prints every shipped file's size raw and gzipped, the wasm+JS total against
// the size budget, each entry with all a page that imports it loads, and the size and file count of the tarball `npm pack` would make.
//
// Usage: node scripts/build.mjs [--no-opt]      (run `bash scripts/setup.sh` first; npm run build does)
// Environment: SIZE_BUDGET_STRICT=1 makes an entry over its gzipped budget (support/sizes.mjs) an error.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { rolldown } from 'rolldown';
import { minifySync } from 'rolldown/utils';

import { MAIN_BUDGET, OPTIONAL_BUDGET } from '../support/sizes.mjs';
import { trapPanics } from './trap-panics.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const WASM_OUT = join(DIST, 'wasm');
const CRATE = 'vod-ugc-uploader';
const OUT_NAME = 'vod_ugc_uploader';
const TARGET = 'wasm32-unknown-unknown';
// The browser edge's entry modules (js/), each bundled into dist/ with what it imports.
const ENTRIES = ['index.js', 'queue.js', 'record.js'];
// The hash worker's module, which the main entry starts (js/hasher.js).
const WORKER = 'hash-worker.js';
// Copied as they are: the package's types.
const TYPES = ['index.d.ts', 'queue.d.ts', 'record.d.ts', 'sign.d.ts'];
// Copied as they are: the Node-only entry (node:crypto, no bundling needed).
const NODE_ONLY = ['sign.js'];
// The wasm-bindgen glue, which the entries import and which stays its own module (one instance per
// page, shared with anything else that imports it).
const GLUE = /\/wasm\/vod_ugc_uploader\.js$/;

// What rustc 1.95 enables by default for wasm32-unknown-unknown; wasm-opt must accept all of it.
const WASM_FEATURES = [
  '--enable-bulk-memory',
  '--enable-bulk-memory-opt',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-reference-types',
  '--enable-multivalue',
  '--enable-call-indirect-overlong',
];

const args = new Set(process.argv.slice(2));
const optimise = !args.has('--no-opt');

function step(name) {
  console.log(`build: ${name}`);
}

function run(cmd, cmdArgs, opts = {}) {
  const res = spawnSync(cmd, cmdArgs, { cwd: ROOT, stdio: opts.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (res.error) throw new Error(`${cmd} could not start: ${res.error.message}`);
  if (res.status !== 0) {
    throw new Error(`${cmd} ${cmdArgs.join(' ')} exited with ${res.status ?? res.signal}`);
  }
  return res.stdout;
}

function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out.sort();
}

function kb(n) {
  return `${(n / 1024).toFixed(1)} KB`;
}

/** Minifies `file` in place (an ES module) and writes `file.map` beside it, with the original text. */
function minify(file) {
  const source = readFileSync(file, 'utf8');
  const out = minifySync(basename(file), source, { module: true, compress: true, mangle: true, sourcemap: true });
  if (out.errors.length) throw new Error(`minifying ${relative(ROOT, file)}: ${out.errors.map((e) => e.message).join('; ')}`);
  const map = { ...out.map, sources: [basename(file)], sourcesContent: [source] };
  writeFileSync(`${file}.map`, JSON.stringify(map));
  writeFileSync(file, `${out.code}\n//# sourceMappingURL=${basename(file)}.map\n`);
}

/**
 * The SIMD build of the crate (its own target folder: other RUSTFLAGS would rebuild the plain one's
 * dependencies every time), through wasm-bindgen into a scratch folder, whose wasm goes to `out`;
 * its glue must be the plain build's, byte for byte, since the package ships one glue for both.
 */
/**
 * What wasm-bindgen reads for the release wasm `raw`: when optimising, a copy whose panics trap at
 * once (scripts/trap-panics.mjs), so the formatting nobody sees leaves the wasm.
 * @param {string} raw
 */
function panicsTrapped(raw) {
  if (!optimise) return raw;
  const out = raw.replace(/\.wasm$/, '.trap-panics.wasm');
  const replaced = trapPanics(raw, out);
  step(`panics trap at once in ${relative(ROOT, raw)}: ${replaced.length} function(s) replaced by unreachable`);
  if (!replaced.length) console.log('build: WARNING: no panic function found by name (is the name section gone?)');
  return out;
}

function buildSimd(targetDir, out) {
  const simdTarget = join(targetDir, 'simd');
  step(`cargo build (the same, RUSTFLAGS=-C target-feature=+simd128, --target-dir ${relative(ROOT, simdTarget)})`);
  const res = spawnSync('cargo', ['build', '--release', '--lib', '--target', TARGET, '-p', CRATE, '--no-default-features', '--features', 'web', '--target-dir', simdTarget], {
    cwd: ROOT, stdio: 'inherit', env: { ...process.env, RUSTFLAGS: '-C target-feature=+simd128' },
  });
  if (res.status !== 0) throw new Error(`cargo build (simd) exited with ${res.status ?? res.signal}`);
  const scratch = join(simdTarget, 'bindgen');
  rmSync(scratch, { recursive: true, force: true });
  run('wasm-bindgen', ['--target', 'web', '--out-dir', scratch, '--out-name', OUT_NAME, panicsTrapped(join(simdTarget, TARGET, 'release', `${OUT_NAME}.wasm`))]);
  const glue = `${OUT_NAME}.js`;
  if (readFileSync(join(scratch, glue), 'utf8') !== readFileSync(join(WASM_OUT, glue), 'utf8')) {
    throw new Error('the SIMD build\'s wasm-bindgen glue differs from the plain build\'s');
  }
  cpSync(join(scratch, `${OUT_NAME}_bg.wasm`), out);
}

async function main() {
  const t0 = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(WASM_OUT, { recursive: true });

  step(`cargo build --release --lib --target ${TARGET} -p ${CRATE} --no-default-features --features web`);
  run('cargo', ['build', '--release', '--lib', '--target', TARGET, '-p', CRATE, '--no-default-features', '--features', 'web']);
  const targetDir = resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
  const wasmIn = join(targetDir, TARGET, 'release', `${OUT_NAME}.wasm`);
  if (!existsSync(wasmIn)) throw new Error(`cargo did not produce ${relative(ROOT, wasmIn)}`);

  step('wasm-bindgen --target web -> dist/wasm/');
  run('wasm-bindgen', ['--target', 'web', '--out-dir', WASM_OUT, '--out-name', OUT_NAME, panicsTrapped(wasmIn)]);

  const wasmOut = join(WASM_OUT, `${OUT_NAME}_bg.wasm`);
  const simdOut = join(WASM_OUT, `${OUT_NAME}_simd_bg.wasm`);
  buildSimd(targetDir, simdOut);
  if (optimise) {
    const wasmOpt = join(ROOT, 'node_modules', 'binaryen', 'bin', 'wasm-opt');
    if (!existsSync(wasmOpt)) throw new Error(`${relative(ROOT, wasmOpt)} missing: run \`bash scripts/setup.sh\` (npm ci)`);
    const before = statSync(wasmOut).size;
    // Functions with one caller are inlined only up to 30 bytes (binaryen's default inlines any size):
    // the larger ones inlined are copies whose gzipped size outweighs a call (0.5 KB gzipped).
    // The producers and target_features sections are for tools, not browsers.
    const flags = ['-O3', '--one-caller-inline-max-function-size=30', '--strip-producers', '--strip-target-features'];
    step(`wasm-opt ${flags.join(' ')} (npm binaryen)`);
    run(process.execPath, [wasmOpt, ...flags, ...WASM_FEATURES, wasmOut, '-o', wasmOut]);
    console.log(`build:   ${kb(before)} -> ${kb(statSync(wasmOut).size)}`);
    const simdBefore = statSync(simdOut).size;
    run(process.execPath, [wasmOpt, ...flags, ...WASM_FEATURES, '--enable-simd', simdOut, '-o', simdOut]);
    console.log(`build:   ${kb(simdBefore)} -> ${kb(statSync(simdOut).size)} (simd)`);
  } else {
    step('wasm-opt skipped (--no-opt)');
  }

  const jsDir = join(ROOT, 'js');
  step(`bundle js/ -> dist/ (${[...ENTRIES, WORKER].join(', ')}; ${TYPES.join(', ')} copied)`);
  // The package's entries are bundled together, so that what they share is one module (one queue
  // of hash-worker jobs, one wasm instance) in a chunk of its own that each imports; 'strict' keeps
  // each entry's exports exactly its own. The hash worker is a bundle of its own.
  /** @type {Map<string, string[]>} each shipped entry -> the dist files it imports, itself first */
  const closures = new Map();
  for (const input of [ENTRIES, [WORKER]]) {
    const bundle = await rolldown({
      input: Object.fromEntries(input.map((e) => [e.replace(/\.js$/, ''), join(jsDir, e)])),
      external: [GLUE],
      platform: 'browser',
      preserveEntrySignatures: 'strict',
    });
    const { output } = await bundle.write({ dir: DIST, format: 'es', minify: optimise, sourcemap: true, chunkFileNames: 'shared-[hash].js' });
    await bundle.close();
    const chunks = new Map(output.filter((o) => o.type === 'chunk').map((c) => [c.fileName, c]));
    const closure = (name, seen = new Set()) => {
      if (seen.has(name)) return seen;
      seen.add(name);
      for (const dep of chunks.get(name)?.imports ?? []) closure(dep, seen);
      return seen;
    };
    for (const c of chunks.values()) if (c.isEntry) closures.set(c.fileName, [...closure(c.fileName)]);
  }
  for (const f of [...TYPES, ...NODE_ONLY]) cpSync(join(jsDir, f), join(DIST, f));

  if (optimise) {
    const scripts = walk(WASM_OUT).filter((p) => p.endsWith('.js'));
    step(`minify ${scripts.length} .js file(s) of the wasm glue (oxc), with source maps`);
    scripts.forEach(minify);
  }

  // Sanity: what package.json promises must exist.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const promised = new Set();
  const collect = (v) => {
    if (typeof v === 'string') promised.add(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(pkg.exports);
  for (const field of ['main', 'module', 'types']) if (pkg[field]) promised.add(pkg[field]);
  const missing = [...promised].filter((p) => p.startsWith('./dist/') && !existsSync(join(ROOT, p)));
  if (missing.length) console.log(`build: WARNING: package.json points at missing files: ${missing.join(', ')}`);
  if (existsSync(join(DIST, 'worker.js')) && !(pkg.exports && pkg.exports['./worker'])) {
    console.log('build: WARNING: dist/worker.js exists but package.json has no "./worker" export');
  }

  // Size table.
  const rows = walk(DIST).map((p) => {
    const buf = readFileSync(p);
    return { file: relative(ROOT, p), raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
  });
  const shipped = rows.filter((r) => /\.(js|mjs|wasm)$/.test(r.file) && !NODE_ONLY.some((f) => r.file === `dist/${f}`));
  const total = shipped.reduce((a, r) => ({ raw: a.raw + r.raw, gz: a.gz + r.gz }), { raw: 0, gz: 0 });
  const w = Math.max(...rows.map((r) => r.file.length), 28);
  console.log('');
  console.log(`${'file'.padEnd(w)}  ${'raw'.padStart(10)}  ${'gzip'.padStart(10)}`);
  for (const r of rows) console.log(`${r.file.padEnd(w)}  ${kb(r.raw).padStart(10)}  ${kb(r.gz).padStart(10)}`);
  // What counts is what a page downloads: each entry with all it loads, against its budget.
  console.log(`${'wasm + JS, every browser file'.padEnd(w)}  ${kb(total.raw).padStart(10)}  ${kb(total.gz).padStart(10)}`);
  // Each entry with everything a page that imports it loads: the chunks it imports, the hash worker,
  // the glue and the wasm.
  const byFile = new Map(rows.map((r) => [r.file, r]));
  // A page loads one of the two wasm builds (js/wasm.js): the larger counts.
  const wasms = ['dist/wasm/vod_ugc_uploader_bg.wasm', 'dist/wasm/vod_ugc_uploader_simd_bg.wasm'];
  const largerWasm = wasms.reduce((a, b) => (byFile.get(b).gz > byFile.get(a).gz ? b : a));
  const loaded = ['dist/wasm/vod_ugc_uploader.js', largerWasm, ...closures.get(WORKER).map((f) => `dist/${f}`)];
  const over = [];
  for (const entry of ENTRIES) {
    const files = new Set([...closures.get(entry).map((f) => `dist/${f}`), ...loaded]);
    const sum = [...files].reduce((a, f) => ({ raw: a.raw + byFile.get(f).raw, gz: a.gz + byFile.get(f).gz }), { raw: 0, gz: 0 });
    const budget = entry === 'index.js' ? MAIN_BUDGET : OPTIONAL_BUDGET;
    const verdict = sum.gz <= budget ? 'within' : 'OVER';
    if (verdict === 'OVER') over.push(`${entry} is ${kb(sum.gz)} gzipped, over its ${kb(budget)} budget`);
    console.log(`${`entry ${entry}, all it loads`.padEnd(w)}  ${kb(sum.raw).padStart(10)}  ${kb(sum.gz).padStart(10)}  (${verdict} its ${kb(budget)} budget)`);
  }

  // What `npm pack` would ship.
  const packJson = run('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], { capture: true });
  const [pack] = JSON.parse(packJson);
  console.log(`tarball ${pack.filename}: ${kb(pack.size)} packed, ${kb(pack.unpackedSize)} unpacked, ${pack.entryCount} files`);
  console.log(`build: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  if (over.length && process.env.SIZE_BUDGET_STRICT === '1') throw new Error(over.join('; '));
}

try {
  await main();
} catch (err) {
  console.error(`build: FAILED: ${err.message}`);
  process.exit(1);
}
