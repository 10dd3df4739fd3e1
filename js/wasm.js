// The package's WebAssembly module (./wasm, built from src/web/): one instance at a time per page or
// worker, which every module that uses its classes reaches through `wasm()`; and the one way bytes are
// fed to its SHA-1. A call into the instance that throws may have left it broken for good (a trap, or
// an exception thrown through it, stops it midway: its memory, its borrows and its stack pointer stay
// as they were), so the call's instance is dropped (`drop`) and the next `load()` starts a fresh
// one. wasm-bindgen's glue keeps one instance per module, so a fresh instance comes with a fresh copy
// of the glue module (its URL with a query of its own).
import * as first from './wasm/vod_ugc_uploader.js';

/** @typedef {typeof first} Glue */

/** @type {Glue | null} the current instance's glue; null once it was dropped, until `load` */
let glue = first;
/** A wasm module of one function, `() -> v128` (i32.const 0, i8x16.splat): valid only with SIMD. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);
/** @type {Promise<void> | null} */
let loading = null;
/** @type {WebAssembly.Memory} */
let memory;
/** Instances started after the first one. */
let restarts = 0;

/** Loads and compiles the wasm module once; after an instance was dropped, starts a fresh one. */
export function load() {
  loading ??= start().catch((error) => {
    loading = null;
    throw new Error(`vod-ugc-uploader: could not load its WebAssembly module (${error && error.message || error}); a Content-Security-Policy needs 'wasm-unsafe-eval' in script-src`, { cause: error });
  });
  return loading;
}

async function start() {
  const url = new URL('./wasm/vod_ugc_uploader.js', import.meta.url);
  /** @type {Glue} */
  const module = glue ?? await import(/* @vite-ignore */ /* webpackIgnore: true */ `${url.href}?instance=${++restarts}`);
  // The SIMD build where the engine has wasm SIMD (a faster SHA-1), else the plain one; a page loads
  // one of them. Each URL is written out whole, so that bundlers find and ship both.
  const wasmUrl = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE)
    ? new URL('./wasm/vod_ugc_uploader_simd_bg.wasm', import.meta.url)
    : new URL('./wasm/vod_ugc_uploader_bg.wasm', import.meta.url);
  const exports = await module.default({ module_or_path: wasmSource(wasmUrl) });
  memory = exports.memory;
  glue = module;
}

/**
 * The current instance's classes and functions: after `load()`, which starts one where the last was
 * dropped (null until then).
 * @returns {Glue}
 */
export function wasm() {
  return /** @type {Glue} */ (glue);
}

/**
 * Drops `from`, an instance a call into threw (`errors.js`'s `failure`), unless it was dropped already:
 * the next `load()` starts a fresh one.
 * @param {Glue | null} from
 */
export function drop(from) {
  if (from && from === glue) {
    glue = null;
    loading = null;
  }
}

/**
 * Where the module comes from: its URL, which the glue fetches; or, where the package is loaded from
 * files (Node, whose fetch reads no file: URL), the file's bytes.
 * @param {URL} url
 * @returns {URL | Promise<Uint8Array>}
 */
function wasmSource(url) {
  if (url.protocol !== 'file:') return url;
  // A specifier bundlers leave alone: only Node gets here.
  const fs = 'node:fs/promises';
  return import(/* @vite-ignore */ /* webpackIgnore: true */ fs).then((m) => m.readFile(url));
}

/**
 * Hashes `bytes` with `hasher`, piece by piece through its stage in wasm memory: each piece is hashed
 * while it is still in the CPU's cache, and nothing of the bytes' size is allocated in wasm memory.
 * @param {import('./wasm/vod_ugc_uploader.js').Sha1} hasher of the current instance
 * @param {Uint8Array} bytes
 */
export function sha1Update(hasher, bytes) {
  // A hasher of a dropped instance would write into the fresh one's memory.
  if (!(hasher instanceof wasm().Sha1)) throw new Error('stale hasher');
  const stage = hasher.stage();
  // The stage's size is the core's (src/web/hash.rs).
  const size = wasm().sha1Stage();
  for (let at = 0; at < bytes.byteLength; at += size) {
    const piece = bytes.subarray(at, at + size);
    new Uint8Array(memory.buffer, stage, piece.byteLength).set(piece);
    hasher.updateStaged(piece.byteLength);
  }
}
