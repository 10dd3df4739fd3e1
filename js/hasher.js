// The page's side of the hash worker (hash-worker.js): one worker for the page, started on first use.
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
let lastJob = 0;
/** @type {Map<number, { receive(reply: Reply): void }>} */
const jobs = new Map();

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
  // The worker could not start or died: the jobs fail, and the hashing is done on this thread instead.
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
 * @returns {HashJob | null}
 */
export function startHash() {
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
    },
  };
}
