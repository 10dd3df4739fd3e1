// The page's side of the hash worker (hash-worker.js): one worker for the page, started on first use;
// in Node a worker thread running the same module, so a server's event loop stays free while it hashes.
// The package reads the file on this thread and hands each window (and each part, for its MD5) to the
// worker; where no worker can run (already in a worker, or a CSP forbids it) these return null and
// the hashing is done on this thread.

/** Windows handed to the worker and not yet hashed: reading stays at most this far ahead. */
const AHEAD = 2;

/**
 * A SHA-1 job in the worker.
 * @typedef {object} HashJob
 * @property {(window: Uint8Array) => Promise<void>} update hands a window (at the start of its buffer) to the worker; the buffer is transferred
 * @property {() => ArrayBuffer | null} spare a window's buffer the worker gave back, to be read into again
 * @property {() => Promise<string>} digest the SHA-1 of every window, lowercase hex
 * @property {() => void} abort
 */
/** @typedef {{ ack?: boolean, chunk?: ArrayBuffer, sha?: string, md5?: string, error?: string }} Reply */

/** @type {Worker | null} */
let worker = null;
let workerUnavailable = false;
/** @type {Promise<void> | undefined} Node's worker thread, starting */
let starting;
let lastJob = 0;
/** @type {Map<number, { receive(reply: Reply): void }>} */
const jobs = new Map();

const idle = () => jobs.size || /** @type {any} */ (worker)?.unref?.();
/** @param {any} message a page's MessageEvent, or Node's message itself */
const receive = (message) => {
  message = message.data ?? message;
  jobs.get(message.id)?.receive(message);
  idle();
};
// The worker could not start or died: the jobs fail, and the hashing is done on this thread instead.
const fail = (/** @type {any} */ event) => {
  event.preventDefault?.();
  workerUnavailable = true;
  worker = null;
  for (const job of jobs.values()) job.receive({ error: 'the hash worker failed to start' });
};

function hashWorker() {
  // In Node the thread keeps the process alive only while it has jobs: each job follows this call.
  /** @type {any} */ (worker)?.ref?.();
  if (!worker && !workerUnavailable) {
    try {
      // Only a page starts one (no worker in a worker); without Worker, this throws too. Written out
      // whole, so that bundlers find the worker's module and ship it as a worker.
      if (typeof window != 'object') throw 0;
      worker = new Worker(new URL('./hash-worker.js', import.meta.url), { type: 'module' });
      worker.onmessage = receive;
      worker.onerror = fail;
    } catch {
      workerUnavailable = true;
    }
  }
  return worker;
}

/**
 * Starts a page's hash worker if it is not running yet, so that it loads its module and wasm while
 * the page gets on (every upload uses it: the hash pass, each part's MD5). In Chromium a 64 MiB
 * `hashFile()` took 220–250 ms with a worker started for it, 145–190 with one started earlier. Node's
 * thread is started by the first pass, which refs it: not here.
 */
export const warmHash = () => typeof window == 'object' && hashWorker();

/**
 * A part's MD5 from the worker, or null where no worker runs. `view` starts at its buffer's start;
 * the buffer is transferred there and comes back.
 * @param {Uint8Array} view
 * @returns {Promise<{ md5: string, buffer: ArrayBuffer | undefined }> | null}
 */
export function md5InWorker(view) {
  const w = hashWorker();
  if (!w) return null;
  const id = ++lastJob;
  return new Promise((resolve, reject) => {
    jobs.set(id, {
      receive({ md5, chunk, error }) {
        jobs.delete(id);
        if (error) reject(new Error(error));
        else resolve({ md5: /** @type {string} */ (md5), buffer: chunk });
      },
    });
    w.postMessage({ id, md5: view.buffer, length: view.byteLength }, [view.buffer]);
  });
}

/**
 * A SHA-1 job in the worker, or null where no worker runs.
 * @returns {Promise<HashJob | null>}
 */
export async function startHash() {
  // Node: a worker thread runs the same module, started by the first pass (a specifier bundlers leave alone).
  const threads = 'node:worker_threads';
  // The module's URL not as `new URL('./…', import.meta.url)`, which bundlers would ship once more.
  const url = import.meta.url;
  if (url.startsWith('file:')) {
    starting ??= import(/* @vite-ignore */ /* webpackIgnore: true */ threads).then(({ Worker: Thread }) => {
      // The module's scope is a page worker's `self`; a thread's is its parentPort.
      // (Sloppy CommonJS: `self=` makes a global; `${url}/..` is this module's folder, once parsed.)
      const start = `self=require('worker_threads').parentPort;import('${url}/../hash-worker.js')`;
      worker = new Thread(start, { eval: true }).on('message', receive).on('error', fail);
    }).catch(fail); // no such module, or threads are forbidden (a permission model): this thread hashes
  }
  await starting;
  const w = hashWorker();
  if (!w) return null;
  const id = ++lastJob;
  let unacked = 0;
  /** @type {Error | null} */
  let failure = null;
  /** @type {((failure: Error | null) => void) | null} resolves update()'s wait for the worker to catch up */
  let room = null;
  /** @type {((sha: string | undefined, failure: Error | null) => void) | null} settles digest() */
  let finish = null;
  /** @type {ArrayBuffer[]} window buffers the worker gave back, to be read into again */
  const spares = [];
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
  /** @param {Error | null} error */
  const rejectOn = (error) => (error ? Promise.reject(error) : undefined);
  return {
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
        finish = (sha, error) => (error ? reject(error) : resolve(/** @type {string} */ (sha)));
      });
    },
    abort() {
      jobs.delete(id);
      w.postMessage({ id, abort: true });
      idle();
    },
  };
}
