// The package's WebAssembly module (./wasm, built from src/web/): loaded once per page or worker, and
// the one way bytes are fed to its SHA-1.
import init, { sha1Stage } from './wasm/vod_ugc_uploader.js';

/** @type {Promise<void> | null} */
let loading = null;
/** @type {WebAssembly.Memory} */
let memory;

/** Loads and compiles the wasm module once. */
export function load() {
  loading ??= init({ module_or_path: wasmSource(new URL('./wasm/vod_ugc_uploader_bg.wasm', import.meta.url)) })
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
  // The stage's size is the core's (src/web/hash.rs).
  const size = sha1Stage();
  for (let at = 0; at < bytes.byteLength; at += size) {
    const piece = bytes.subarray(at, at + size);
    new Uint8Array(memory.buffer, stage, piece.byteLength).set(piece);
    hasher.updateStaged(piece.byteLength);
  }
}
