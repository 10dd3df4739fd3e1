// vod-ugc-uploader: the package entry. The logic lives in Rust (./wasm); this module loads it on first
// use and defines the error class users import.
import init, {
  upload as uploadWasm,
  hashFile as hashFileWasm,
  registerErrorClass,
  registerHasher,
  sha1Throughput,
  wasmMemoryBytes,
} from './wasm/vod_ugc_uploader.js';

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
    .then(() => {
      registerErrorClass(UploadError);
      registerHasher(hashOffThread);
    })
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

/** SHA-1 of a whole File, lowercase hex, streamed (in a Web Worker where one can be started). */
export async function hashFile(file, options) {
  await ready();
  return hashOffThread(file, options ?? {});
}

// The hash worker: one for the page, started on first use. Where none can run (already in a worker,
// or a CSP forbids it) hashing happens on the calling thread.
let worker = null;
let workerUnavailable = false;
let lastJob = 0;
const jobs = new Map();

function errorFrom({ name, message, code, canRetry, step }) {
  if (name === 'AbortError') return new DOMException(message, 'AbortError');
  if (name === 'TypeError') return new TypeError(message);
  return new UploadError(message, { code, canRetry, step });
}

function hashWorker() {
  if (worker || workerUnavailable) return worker;
  if (typeof Worker !== 'function' || typeof window === 'undefined') {
    workerUnavailable = true;
    return null;
  }
  try {
    worker = new Worker(new URL('./hash-worker.js', import.meta.url), { type: 'module' });
  } catch {
    workerUnavailable = true;
    return null;
  }
  worker.onmessage = ({ data }) => {
    const job = jobs.get(data.id);
    if (!job) return;
    if (data.progress) {
      job.onProgress?.(data.progress);
      return;
    }
    jobs.delete(data.id);
    if (data.error) job.reject(errorFrom(data.error));
    else job.resolve(data.sha);
  };
  // The worker could not start (or died): hash the pending files here instead.
  worker.onerror = (event) => {
    event.preventDefault?.();
    workerUnavailable = true;
    worker = null;
    const pending = [...jobs.values()];
    jobs.clear();
    for (const job of pending) job.onThisThread();
  };
  return worker;
}

function hashOffThread(file, { signal, onProgress } = {}) {
  const w = hashWorker();
  if (!w) return hashFileWasm(file, { signal, onProgress });
  return new Promise((resolve, reject) => {
    const id = ++lastJob;
    const onThisThread = () => hashFileWasm(file, { signal, onProgress }).then(resolve, reject);
    jobs.set(id, { resolve, reject, onProgress, onThisThread });
    signal?.addEventListener('abort', () => w.postMessage({ id, abort: true }), { once: true });
    w.postMessage({ id, file });
  });
}

/** Diagnostics for benchmarks: this build's SHA-1 speed on in-memory data (MB/s), and its wasm memory size in bytes. */
export async function diagnostics({ megabytes = 256 } = {}) {
  await ready();
  return { sha1MBps: sha1Throughput(megabytes), wasmMemoryBytes: wasmMemoryBytes() };
}
