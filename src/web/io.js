// The browser calls that take a few lines of JS but kilobytes of wasm when bound from Rust one
// method at a time: a fetch with a timeout, and IndexedDB for the hash cache. wasm-bindgen ships this
// module next to its glue (dist/wasm/snippets/); src/web/fetch.rs and src/web/cache.rs import it.

/**
 * Sends a request and reads the whole answer: resolves with `[status, text]`. Rejects with null when
 * `signal` aborted it, with "no answer within N s" after `timeoutMs`, with `{ read }` when `body` (a
 * slice of the file) can no longer be read, else with what went wrong.
 */
export async function send(method, url, body, signal, timeoutMs) {
  let signals = signal;
  let timeout = null;
  // AbortSignal.timeout and .any: Chrome 116, Firefox 124, Safari 17.4; older browsers go without.
  if (typeof AbortSignal.timeout === 'function' && typeof AbortSignal.any === 'function') {
    timeout = AbortSignal.timeout(timeoutMs);
    signals = AbortSignal.any([signal, timeout]);
  }
  const init = { method, signal: signals };
  if (body) {
    init.body = body;
    init.headers = { 'Content-Type': 'application/octet-stream' };
  }
  try {
    const response = await fetch(url, init);
    return [response.status, await response.text()];
  } catch (error) {
    if (signal.aborted) throw null;
    if (timeout?.aborted) throw `no answer within ${Math.floor(timeoutMs / 1000)} s`;
    // The browser words a body it could not read from the file (changed or gone) as a network
    // failure; sending it again would fail the same way.
    const read = body && (await body.slice(0, 1).arrayBuffer().then(() => null, describe));
    throw read ? { read } : describe(error);
  }
}

/** What went wrong, in words: `Name: message` for an Error. */
const describe = (error) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/**
 * Starts reading bytes `[offset, end)` of `blob` into a buffer from `pool` (an array of ArrayBuffers)
 * and takes their MD5 in the hash worker (`worker.md5`, see js/index.js), which gives the buffer back
 * to the pool. Resolves with the MD5, lowercase hex, or — where no worker runs, or it failed — with
 * the bytes (a Uint8Array at the start of its buffer) for the caller to hash and pool. Rejects with
 * null when `signal` aborted, else with what went wrong (a part shorter than asked: the file changed).
 */
export async function readPart(blob, offset, end, pool, signal, worker) {
  const want = end - offset;
  const read = async (buffer) => {
    const reader = blob.slice(offset, end).stream().getReader({ mode: 'byob' });
    const bytes = await fill(reader, buffer, want);
    if (bytes.byteLength !== want) {
      throw `asked for ${want} bytes at offset ${offset}, got ${bytes.byteLength}: the file changed`;
    }
    return bytes;
  };
  try {
    const spare = pool.pop();
    let bytes = await read(spare?.byteLength >= want ? spare : new ArrayBuffer(want));
    if (signal.aborted) throw null;
    const hashing = worker?.md5(bytes);
    if (hashing) {
      try {
        const { md5, buffer } = await hashing;
        if (buffer) pool.push(buffer);
        return md5;
      } catch {
        // The worker failed, and kept the buffer: read the part again for the caller to hash.
        bytes = await read(new ArrayBuffer(want));
      }
    }
    return bytes;
  } catch (error) {
    if (signal.aborted) throw null;
    throw typeof error === 'string' ? error : describe(error);
  }
}

// The hash cache: `name, size, lastModified` → `{ sha, edge }` (see src/web/cache.rs). Every call
// settles, never rejects: any IndexedDB failure is a miss, as the cache only saves time.
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
export async function cacheGet(file) {
  const entry = await withStore('readonly', (store) => store.get(key(file)));
  return typeof entry?.sha === 'string' && typeof entry.edge === 'string' ? entry : null;
}

export function cachePut(file, sha, edge) {
  return withStore('readwrite', (store) => store.put({ sha, edge }, key(file)));
}

export function cacheDelete(file) {
  return withStore('readwrite', (store) => store.delete(key(file)));
}

/** Resolves after `ms`, or as soon as `signal` aborts (the caller checks which). */
export function sleep(ms, signal) {
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
export async function askSignature(getSignature, fileSha, fileName, fileType, fileSize) {
  return getSignature({ fileSha, fileName, fileType, fileSize });
}

/**
 * Reads the next `want` bytes of a BYOB `reader` into the start of `buffer` (which the stream takes
 * and gives back): resolves with a view of what was read, shorter only where the file ended.
 */
export async function fill(reader, buffer, want) {
  let filled = 0;
  while (filled < want) {
    const { value, done } = await reader.read(new Uint8Array(buffer, filled, want - filled));
    if (!value) throw new Error("the file's stream gave no bytes");
    buffer = value.buffer;
    if (done) break;
    filled += value.byteLength;
  }
  return new Uint8Array(buffer, 0, filled);
}
