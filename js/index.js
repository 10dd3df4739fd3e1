// vod-ugc-uploader: the package entry. The logic lives in Rust (./wasm); this module loads it on first
// use and defines the error class users import.
import init, {
  upload as uploadWasm,
  hashFile as hashFileWasm,
  registerErrorClass,
  registerHashWorker,
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
      registerHashWorker({ startHash: startHashJob, md5: md5InWorker });
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

/** SHA-1 of a whole File, lowercase hex, streamed (hashed in a Web Worker where one can be started). */
export async function hashFile(file, options) {
  await ready();
  return hashFileWasm(file, options ?? {});
}

// The hash worker: one for the page, started on first use. The package reads the file on this thread
// and hands each window (and each part, for its MD5) to the worker (see src/web/io.js); where no
// worker can run (already in a worker, or a CSP forbids it) these return null and the hashing is done
// on this thread.
let worker = null;
let workerUnavailable = false;
let lastJob = 0;
const jobs = new Map();
/** Windows handed to the worker and not yet hashed: reading stays at most this far ahead. */
const AHEAD = 2;

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
  worker.onmessage = ({ data }) => jobs.get(data.id)?.receive(data);
  // The worker could not start or died: the jobs fail, and the wasm hashes on this thread instead.
  worker.onerror = (event) => {
    event.preventDefault?.();
    workerUnavailable = true;
    worker = null;
    for (const job of jobs.values()) job.receive({ error: 'the hash worker failed to start' });
  };
  return worker;
}

/**
 * A part's MD5 from the worker, or null where no worker runs. `view` starts at its buffer's start;
 * the buffer is transferred there and comes back: resolves with `{ md5, buffer }`.
 */
function md5InWorker(view) {
  const w = hashWorker();
  if (!w) return null;
  const id = ++lastJob;
  return new Promise((resolve, reject) => {
    jobs.set(id, {
      receive({ md5, chunk, error }) {
        jobs.delete(id);
        if (error) reject(new Error(error));
        else resolve({ md5, buffer: chunk });
      },
    });
    w.postMessage({ id, md5: view.buffer, length: view.byteLength }, [view.buffer]);
  });
}

function startHashJob() {
  const w = hashWorker();
  if (!w) return null;
  const id = ++lastJob;
  let unacked = 0;
  let failure = null;
  let room = null; // resolves update()'s wait for the worker to catch up
  let finish = null; // settles digest()
  const spares = []; // window buffers the worker gave back, to be read into again
  const settle = () => {
    if (room && (failure || unacked < AHEAD)) {
      room(failure);
      room = null;
    }
  };
  jobs.set(id, {
    receive({ ack, chunk, sha, error }) {
      if (ack) unacked -= 1;
      if (chunk) spares.push(chunk);
      if (error) failure = new Error(error);
      settle();
      if (finish && (sha !== undefined || failure)) {
        jobs.delete(id);
        finish(sha, failure);
      }
    },
  });
  const rejectOn = (error) => (error ? Promise.reject(error) : undefined);
  return {
    /** Hands a window (a Uint8Array at the start of its buffer) to the worker; the buffer is transferred. */
    update(window) {
      if (failure) return Promise.reject(failure);
      w.postMessage({ id, chunk: window.buffer, length: window.byteLength }, [window.buffer]);
      unacked += 1;
      if (unacked < AHEAD) return Promise.resolve();
      return new Promise((resolve) => { room = resolve; }).then(rejectOn);
    },
    spare() {
      return spares.pop() ?? null;
    },
    digest() {
      if (failure) return Promise.reject(failure);
      w.postMessage({ id, end: true });
      return new Promise((resolve, reject) => {
        finish = (sha, error) => (error ? reject(error) : resolve(sha));
      });
    },
    abort() {
      jobs.delete(id);
      w.postMessage({ id, abort: true });
    },
  };
}
