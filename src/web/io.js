// The JavaScript half of the browser layer. `upload` and `hashFile` (src/web/api.rs) hand this module
// a Job (src/web/job.rs): it reads the file, runs the hash pass through the hash worker, sends the
// requests, waits before retries and keeps the hash cache in IndexedDB, and hands every outcome to the
// Job, whose state machine (src/machine.rs) says what to do next. Each of these browser calls is a
// few lines of JS, and would be kilobytes of wasm bound from Rust one method at a time. wasm-bindgen
// ships this module next to its glue (dist/wasm/snippets/).

/** Hashes (or finds in the cache) and uploads `file`, driving `job`. */
export async function upload(job, file, controller, getSignature, timeoutMs, hashCache, worker) {
  const { signal } = controller;
  try {
    const cached = hashCache ? await cachedSha(job, file) : null;
    if (cached) {
      job.hashed(cached, true);
    } else {
      const sha = await hashPass(job, file, signal, worker);
      if (hashCache) await edge(job, file).then((digest) => cachePut(file, sha, digest), () => {});
      job.hashed(sha, false);
    }
    return await drive(job, file, signal, getSignature, timeoutMs, worker);
  } finally {
    // Whatever is still in flight (reads ahead, the other parts after a failure) stops.
    controller.abort();
  }
}

/** The SHA-1 of `file`, driving `job` for progress and errors. */
export async function hashFile(job, file, controller, worker) {
  try {
    return await hashPass(job, file, controller.signal, worker);
  } finally {
    controller.abort();
  }
}

/**
 * Carries out what `job` asks — ask for the signature, send, read a part and take its MD5, wait —
 * several operations at once, and hands it each outcome, until it has a result: resolves with it,
 * or rejects with its error.
 */
function drive(job, file, signal, getSignature, timeoutMs, worker) {
  const pool = []; // part buffers to read into again
  return new Promise((resolve, reject) => {
    let done = false;
    const step = () => {
      if (done) return;
      try {
        // Nothing new starts once the signal fired (an onProgress called from job.next() may fire it).
        for (let command; !signal.aborted && (command = job.next()); ) start(command);
        if (signal.aborted) job.abort();
        const result = job.outcome();
        if (result === undefined) return;
        resolve(result);
      } catch (error) {
        reject(error);
      }
      done = true;
    };
    // Hands an operation's outcome to the job (an abort, once the signal fired), then goes on.
    const on = (promise, fulfilled, rejected) =>
      promise
        .then((value) => done || (signal.aborted ? job.abort() : fulfilled(value)),
          (why) => done || (signal.aborted ? job.abort() : rejected(why)))
        .then(step, (error) => { done = true; reject(error); });
    const start = ([kind, id, a, b, c, d]) => {
      switch (kind) {
        case 'sign':
          // ["sign", fileSha, fileName, fileType, fileSize]
          return on(askSignature(getSignature, id, a, b, c), (value) => {
            if (typeof value === 'string') job.signed(value);
            else job.signFailed(`it must return a signature string, not ${shown(value)}`);
          }, (why) => job.signFailed(describe(why)));
        case 'send': {
          const body = c === undefined ? null : file.slice(c, d);
          return on(send(a, b, body, signal, timeoutMs), ([status, text]) => job.replied(id, status, text), (why) => job.failed(id, why));
        }
        case 'read':
          return on(readPart(file, a, b, pool, signal, worker), (got) => {
            if (typeof got === 'string') return job.read(id, got);
            job.read(id, job.md5(got));
            pool.push(got.buffer);
          }, (why) => job.readFailed(id, why));
        case 'sleep':
          return on(sleep(a, signal), () => job.woke(id));
      }
    };
    // Not at once: the abort may come from inside the job (an onProgress that aborts).
    signal.addEventListener('abort', () => queueMicrotask(step), { once: true });
    step();
  });
}

/**
 * `upload()`'s options, checked: `[getSignature, onProgress, signal, endpoint, partSize, concurrency,
 * retries, retryDelay, timeout, hashCache]`, undefined where absent (src/web/options.rs applies the
 * defaults). Throws a TypeError for anything the protocol or the package does not allow, before any
 * work starts.
 */
export function uploadOptions(options) {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('upload(file, options): options must be an object with a getSignature function');
  }
  const { getSignature, endpoint, partSize, hashCache } = options;
  if (typeof getSignature !== 'function') {
    throw new TypeError('options.getSignature must be a function ({ fileSha, fileName, fileType, fileSize }) => signature string or Promise of one');
  }
  if (endpoint !== undefined && !(typeof endpoint === 'string' && endpoint.trim())) {
    throw new TypeError('options.endpoint must be a URL string');
  }
  if (partSize !== undefined && partSize !== 524288 && partSize !== 1048576) {
    throw new TypeError(`options.partSize must be 524288 or 1048576 (the sizes InitUploadEx allows), not ${shown(partSize)}`);
  }
  if (hashCache !== undefined && typeof hashCache !== 'boolean') throw new TypeError('options.hashCache must be a boolean');
  return [
    getSignature,
    ...hashOptions(options),
    endpoint,
    partSize,
    integer(options, 'concurrency', 1, 16),
    integer(options, 'retries', 0, 100),
    integer(options, 'retryDelay', 0, 60000),
    integer(options, 'timeout', 1000, 3600000),
    hashCache,
  ];
}

/** The `onProgress` and `signal` options, which `upload()` and `hashFile()` share, checked: `[onProgress, signal]`. */
export function hashOptions(options) {
  const { onProgress, signal } = options ?? {};
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('options.onProgress must be a function');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
  return [onProgress, signal];
}

/** An integer option in `min..=max`, or undefined where absent. */
function integer(options, key, min, max) {
  const n = options[key];
  if (n === undefined || (Number.isInteger(n) && n >= min && n <= max)) return n;
  throw new TypeError(`options.${key} must be an integer from ${min} to ${max}, not ${shown(n)}`);
}

/** A value as a message shows it: as JSON where it has a JSON form. */
function shown(value) {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Bytes read and hashed per step of the hash pass. */
const WINDOW = 8 << 20;

/** Thrown where the hash worker failed: the pass is done again on this thread. */
class WorkerFailed extends Error {}

/**
 * The file's SHA-1, lowercase hex: hashed in the worker where one runs, else here. Rejects with the
 * error the job makes of what went wrong.
 */
async function hashPass(job, file, signal, worker) {
  try {
    const hashing = worker?.startHash();
    if (hashing) {
      try {
        return await pass(job, file, signal, hashing);
      } catch (error) {
        if (!(error instanceof WorkerFailed)) {
          hashing.abort();
          throw error;
        }
        console.warn(`vod-ugc-uploader: the hash worker failed (${error.message}); hashing on this thread`);
      }
    }
    return await pass(job, file, signal, null);
  } catch (why) {
    throw job.hashError(signal.aborted ? null : typeof why === 'string' ? why : describe(why));
  }
}

/**
 * One pass over the file in windows, the next window read while this one is hashed: in the worker
 * (`hashing`, whose windows' buffers come back as spares) or, without one, by the job here. Where
 * Blob streams are byte streams, the file's stream is read into those buffers; elsewhere each window
 * is a slice of the file (see `byteStreams`).
 */
async function pass(job, file, signal, hashing) {
  const size = file.size;
  const windowAt = (offset) => Math.min(WINDOW, size - offset);
  const reader = byteStreams() ? file.stream().getReader({ mode: 'byob' }) : null;
  const spares = [];
  const read = (offset) => reader
    ? fill(reader, hashing?.spare() ?? spares.pop() ?? new ArrayBuffer(WINDOW), windowAt(offset))
    : sliceOf(file, offset, offset + windowAt(offset));
  const inWorker = (promise) => promise.catch((error) => { throw new WorkerFailed(describe(error)); });
  job.hashing(0);
  try {
    let offset = 0;
    let window = await read(0);
    for (;;) {
      const expected = windowAt(offset);
      if (signal.aborted) throw null;
      if (window.byteLength !== expected) {
        throw `expected ${expected} bytes at offset ${offset}, read ${window.byteLength}: the file changed while it was read`;
      }
      offset += expected;
      const next = offset < size ? read(offset) : null;
      next?.catch(() => {}); // awaited below, unless hashing fails first
      if (hashing) {
        await inWorker(hashing.update(window));
      } else {
        job.update(window);
        if (reader) spares.push(window.buffer);
      }
      job.hashing(expected);
      if (!next) break;
      window = await next;
    }
  } catch (error) {
    reader?.cancel().catch(() => {});
    throw error;
  }
  return hashing ? inWorker(hashing.digest()) : job.digest();
}

/**
 * Sends a request and reads the whole answer: resolves with `[status, text]`. Rejects with null when
 * `signal` aborted it, with "no answer within N s" after `timeoutMs`, with `{ read }` when `body` (a
 * slice of the file) can no longer be read, else with what went wrong.
 */
async function send(method, url, body, signal, timeoutMs) {
  if (signal.aborted) throw null;
  // One controller per call, aborted by the upload's signal or the timeout; both are let go as soon
  // as the call ends (AbortSignal.timeout would hold each call's timer and signals for timeoutMs).
  const call = new AbortController();
  const abort = () => call.abort();
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; abort(); }, timeoutMs);
  signal.addEventListener('abort', abort);
  const init = { method, signal: call.signal };
  if (body) {
    init.body = body;
    init.headers = { 'Content-Type': 'application/octet-stream' };
  }
  try {
    const response = await fetch(url, init);
    return [response.status, await response.text()];
  } catch (error) {
    if (signal.aborted) throw null;
    if (timedOut) throw `no answer within ${Math.floor(timeoutMs / 1000)} s`;
    // The browser words a body it could not read from the file (changed or gone) as a network
    // failure; sending it again would fail the same way.
    const read = body && (await body.slice(0, 1).arrayBuffer().then(() => null, describe));
    throw read ? { read } : describe(error);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

/** What was thrown, in words: `Name: message` for an Error. */
function describe(error) {
  if (!(error instanceof Error)) return typeof error === 'string' ? error : shown(error);
  return error.message ? `${error.name}: ${error.message}` : error.name;
}

/**
 * Starts reading bytes `[offset, end)` of `blob` into a buffer from `pool` (an array of ArrayBuffers)
 * and takes their MD5 in the hash worker (`worker.md5`, see js/index.js), which gives the buffer back
 * to the pool. Resolves with the MD5, lowercase hex, or — where no worker runs, or it failed — with
 * the bytes (a Uint8Array at the start of its buffer) for the caller to hash and pool. Rejects with
 * null when `signal` aborted, else with what went wrong (a part shorter than asked: the file changed).
 */
async function readPart(blob, offset, end, pool, signal, worker) {
  const want = end - offset;
  // Into `spare` if it is large enough, where Blob streams are byte streams; else as a slice.
  const read = async (spare) => {
    const bytes = byteStreams()
      ? await fill(blob.slice(offset, end).stream().getReader({ mode: 'byob' }), spare?.byteLength >= want ? spare : new ArrayBuffer(want), want)
      : await sliceOf(blob, offset, end);
    if (bytes.byteLength !== want) {
      throw `asked for ${want} bytes at offset ${offset}, got ${bytes.byteLength}: the file changed`;
    }
    return bytes;
  };
  try {
    // Taken from the pool either way, so that it holds no more buffers than parts in flight.
    let bytes = await read(pool.pop());
    if (signal.aborted) throw null;
    const hashing = worker?.md5(bytes);
    if (hashing) {
      try {
        const { md5, buffer } = await hashing;
        if (buffer) pool.push(buffer);
        return md5;
      } catch {
        // The worker failed, and kept the buffer: read the part again for the caller to hash.
        bytes = await read(null);
      }
    }
    return bytes;
  } catch (error) {
    if (signal.aborted) throw null;
    throw typeof error === 'string' ? error : describe(error);
  }
}

// The hash cache: `name, size, lastModified` → `{ sha, edge }`, so that uploading the same file again
// (after a page reload, say) skips the hash pass. `edge` is the SHA-1 of the file's first and last MiB,
// read again before an entry is trusted: a file whose size, date or edges changed is hashed anew. (And
// a stale hash can never store a wrong file: the server checks the SHA-1 of what it assembled.) Every
// call settles, never rejects: any IndexedDB failure is a miss, as the cache only saves time.
const DATABASE = 'vod-ugc-uploader';
const STORE = 'file-hashes';

const key = (file) => `${file.name}\0${file.size}\0${file.lastModified}`;

/** Runs `work(store)` in a transaction; resolves with its request's result, or undefined on any failure. */
function withStore(mode, work) {
  return new Promise((resolve) => {
    try {
      const opening = indexedDB.open(DATABASE, 1);
      opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
      opening.onerror = () => resolve(undefined);
      opening.onsuccess = () => {
        const db = opening.result;
        try {
          const request = work(db.transaction(STORE, mode).objectStore(STORE));
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => resolve(undefined);
        } catch {
          resolve(undefined);
        }
        db.close();
      };
    } catch {
      resolve(undefined);
    }
  });
}

/** The entry for `file`, `{ sha, edge }`, or null. */
async function cacheGet(file) {
  const entry = await withStore('readonly', (store) => store.get(key(file)));
  return typeof entry?.sha === 'string' && typeof entry.edge === 'string' ? entry : null;
}

/** Bytes at each end of the file that are hashed again to check a cache entry. */
const EDGE = 1 << 20;

/** SHA-1 of the file's first and last `EDGE` bytes. */
async function edge(job, file) {
  const n = Math.min(EDGE, file.size);
  const [head, tail] = await Promise.all([file.slice(0, n).arrayBuffer(), file.slice(file.size - n).arrayBuffer()]);
  return job.edge(new Uint8Array(head), new Uint8Array(tail));
}

/** The cached SHA-1 of `file`, if there is one and its edges still match; else null. */
async function cachedSha(job, file) {
  const entry = await cacheGet(file);
  if (!entry) return null;
  const digest = await edge(job, file).catch(() => null);
  return digest === entry.edge ? entry.sha : null;
}

function cachePut(file, sha, edge) {
  return withStore('readwrite', (store) => store.put({ sha, edge }, key(file)));
}

export function cacheDelete(file) {
  return withStore('readwrite', (store) => store.delete(key(file)));
}

/** Resolves after `ms`, or as soon as `signal` aborts (the caller checks which). */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/**
 * An AbortController for one call that follows the caller's `signal` (if any), so the call can also
 * cancel its own stragglers when it ends; the listener goes when the controller aborts.
 */
export function linkedController(signal) {
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(), { once: true, signal: controller.signal });
  return controller;
}

/** Calls the app's `onProgress`; an exception in it is reported on the console, not fatal. */
export function report(onProgress, phase, loaded, total, bytesPerSecond, etaSeconds) {
  try {
    onProgress({ phase, loaded, total, bytesPerSecond, etaSeconds: etaSeconds ?? null });
  } catch (error) {
    console.warn('vod-ugc-uploader: onProgress threw', error);
  }
}

/** The app's `getSignature` for this file, as a promise (also of what it threw). */
async function askSignature(getSignature, fileSha, fileName, fileType, fileSize) {
  return getSignature({ fileSha, fileName, fileType, fileSize });
}

/**
 * The readers with a read in flight. Chromium collects a `Blob` stream whose read is still pending
 * when nothing else refers to it, and that read then never settles (seen as an upload that stopped
 * after a few thousand parts); here they stay reachable until their read is done.
 */
const reading = new Set();

/**
 * Reads the next `want` bytes of a BYOB `reader` into the start of `buffer` (which the stream takes
 * and gives back): resolves with a view of what was read, shorter only where the file ended.
 */
async function fill(reader, buffer, want) {
  reading.add(reader);
  try {
    let filled = 0;
    while (filled < want) {
      const { value, done } = await reader.read(new Uint8Array(buffer, filled, want - filled));
      if (!value) throw new Error("the file's stream gave no bytes");
      buffer = value.buffer;
      if (done) break;
      filled += value.byteLength;
    }
    return new Uint8Array(buffer, 0, filled);
  } finally {
    reading.delete(reader);
  }
}

let byteStreamsSeen;

/**
 * Whether a Blob's stream is a byte stream, which a BYOB reader reads into buffers of ours (Chromium,
 * Firefox). WebKit's (Safari's engine) is not: getReader({ mode: 'byob' }) throws there (WebKitGTK
 * 2.50), and the file is read as `Blob.slice().arrayBuffer()` windows instead. Asked once.
 */
function byteStreams() {
  if (byteStreamsSeen === undefined) {
    try {
      new Blob().stream().getReader({ mode: 'byob' }).releaseLock();
      byteStreamsSeen = true;
    } catch {
      byteStreamsSeen = false;
    }
  }
  return byteStreamsSeen;
}

/** Bytes `[start, end)` of `blob`, read as a slice: a Uint8Array over a buffer of their own. */
async function sliceOf(blob, start, end) {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}
