// The browser calls that take a few lines of JS but kilobytes of wasm when bound from Rust one
// method at a time: a fetch with a timeout, and IndexedDB for the hash cache. wasm-bindgen ships this
// module next to its glue (dist/wasm/snippets/); src/web/fetch.rs and src/web/cache.rs import it.

/**
 * Sends a request and reads the whole answer: resolves with `[status, text]`. Rejects with null when
 * `signal` aborted it, with "no answer within N s" after `timeoutMs`, else with what went wrong.
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
    throw error instanceof Error ? `${error.name}: ${error.message}` : String(error);
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
