// vod-ugc-uploader: the package entry. The logic lives in Rust (./wasm); this module loads it on first
// use and defines the error class users import.
import init, { upload as uploadWasm, hashFile as hashFileWasm, registerErrorClass, sha1Throughput, wasmMemoryBytes } from './wasm/vod_ugc_uploader.js';

/** A failed upload: `step` says where, `code` is the server's code (or null), `canRetry` whether trying again later may work. */
export class UploadError extends Error {
  constructor(message, { code = null, canRetry = false, step, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UploadError';
    this.code = code;
    this.canRetry = canRetry;
    this.step = step;
  }
}

let loading = null;

/** Loads and compiles the wasm module once; `upload` and `hashFile` call it for you. */
export function ready() {
  loading ??= init({ module_or_path: new URL('./wasm/vod_ugc_uploader_bg.wasm', import.meta.url) })
    .then(() => registerErrorClass(UploadError))
    .catch((error) => {
      loading = null;
      throw new Error(`vod-ugc-uploader: could not load its WebAssembly module (${error && error.message || error}); a Content-Security-Policy needs 'wasm-unsafe-eval' in script-src`, { cause: error });
    });
  return loading;
}

/** Uploads a File: hash, signature, InitUploadEx, UploadPartEx × N, FinishUploadEx. */
export async function upload(file, options) {
  await ready();
  return uploadWasm(file, options);
}

/** SHA-1 of a whole File, lowercase hex, streamed. */
export async function hashFile(file, options) {
  await ready();
  return hashFileWasm(file, options ?? {});
}

/** Diagnostics for benchmarks: this build's SHA-1 speed on in-memory data (MB/s), and its wasm memory size in bytes. */
export async function diagnostics({ megabytes = 256 } = {}) {
  await ready();
  return { sha1MBps: sha1Throughput(megabytes), wasmMemoryBytes: wasmMemoryBytes() };
}
