// The package's WebAssembly module (./wasm, built from src/web/): loaded once per page or worker, and
// the one way bytes are fed to its SHA-1.
import init from './wasm/vod_ugc_uploader.js';

/** Bytes copied into wasm memory and hashed at a time: `Sha1`'s stage (src/web/hash.rs). */
const STAGE = 256 * 1024;

/** A wasm module of one function, `() -> v128` (i32.const 0, i8x16.splat): valid only with SIMD. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);

/** @type {Promise<void> | null} */
let loading = null;
/** @type {WebAssembly.Memory} */
let memory;

/** Loads and compiles the wasm module once. */
export function load() {
  // The SIMD build where the engine has wasm SIMD (a faster SHA-1), else the plain one; a page loads
  // one of them. Each URL is written out whole, so that bundlers find and ship both.
  const url = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE)
    ? new URL('./wasm/vod_ugc_uploader_simd_bg.wasm', import.meta.url)
    : new URL('./wasm/vod_ugc_uploader_bg.wasm', import.meta.url);
  loading ??= init({ module_or_path: wasmSource(url) })
    .then((exports) => {
      memory = exports.memory;
    })
    .catch((error) => {
      loading = null;
      throw new Error(`vod-ugc-uploader: could not load its WebAssembly module (${error && error.message || error}); a Content-Security-Policy needs 'wasm-unsafe-eval' in script-src`, { cause: error });
    });
  return loading;
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
 * @param {import('./wasm/vod_ugc_uploader.js').Sha1} hasher
 * @param {Uint8Array} bytes
 */
export function sha1Update(hasher, bytes) {
  const stage = hasher.stage();
  for (let at = 0; at < bytes.byteLength; at += STAGE) {
    const piece = bytes.subarray(at, at + STAGE);
    new Uint8Array(memory.buffer, stage, piece.byteLength).set(piece);
    hasher.updateStaged(piece.byteLength);
  }
}
