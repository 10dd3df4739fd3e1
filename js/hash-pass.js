// The hash pass: the file's SHA-1, read window by window with the next read in flight, hashed in the
// hash worker where one runs (reading and hashing then run on two threads at once), else here.
import { abortError, describe, uploadError } from './errors.js';
import { startHash } from './hasher.js';
import { MARK, marks, openReader } from './read.js';
import { sha1Update, wasm } from './wasm.js';

/** Bytes read and hashed per step of the hash pass. */
const WINDOW = 8 << 20;

/** Thrown where the hash worker failed: the pass is done again on this thread. */
class WorkerFailed extends Error {}

/**
 * The file's SHA-1, lowercase hex, with progress reported as the pass goes. Rejects with an
 * `AbortError` once `signal` aborted, else with an `UploadError` (step "hash") that says why the file
 * could not be read.
 * @param {Blob} file
 * @param {AbortSignal} signal
 * @param {(progress: import('./index.js').UploadProgress) => void} report
 * @returns {Promise<string>}
 */
export async function hashPass(file, signal, report) {
  // One meter for the call: a pass done again (the worker failed) goes on from where it was.
  const { Meter, hashError } = wasm();
  const meter = new Meter(file.size);
  let done = 0;
  /** @param {number} bytes */
  const hashed = (bytes) => report(meter.at(done = Math.min(done + bytes, file.size), file.size));
  try {
    const hashing = await startHash();
    if (hashing) {
      try {
        return await pass(file, signal, hashed, hashing);
      } catch (error) {
        if (!(error instanceof WorkerFailed)) {
          hashing.abort();
          throw error;
        }
        console.warn(`vod-ugc-uploader: the hash worker failed (${error.message}); hashing on this thread`);
      }
    }
    return await pass(file, signal, hashed, null);
  } catch (why) {
    if (signal.aborted) throw abortError();
    // A failure of the wasm itself is not a read error: the caller drops the instance.
    if (why instanceof WebAssembly.RuntimeError) throw why;
    throw uploadError(hashError(typeof why === 'string' ? why : describe(why)));
  } finally {
    meter.free();
  }
}

/**
 * One pass over the file's stream in windows, the next window read while this one is hashed: in the
 * worker (`hashing`, whose windows' buffers come back as spares) or, without one, here.
 * @param {Blob} file
 * @param {AbortSignal} signal
 * @param {(bytes: number) => void} hashed reports `bytes` more hashed
 * @param {import('./hasher.js').HashJob | null} hashing
 * @returns {Promise<string>}
 */
async function pass(file, signal, hashed, hashing) {
  const size = file.size;
  /** @param {number} offset */
  const windowAt = (offset) => Math.min(WINDOW, size - offset);
  const reader = openReader(file);
  const hasher = hashing ? null : new (wasm().Sha1)();
  const mark = new Uint8Array(Math.ceil(size / MARK));
  marks.set(file, mark);
  /** @type {ArrayBuffer[]} */
  const spares = [];
  /** @param {Promise<any>} promise */
  const inWorker = (promise) => promise.catch((error) => { throw new WorkerFailed(describe(error)); });
  hashed(0);
  try {
    let offset = 0;
    let window = await reader.next(new ArrayBuffer(WINDOW), windowAt(0));
    for (;;) {
      const expected = windowAt(offset);
      if (signal.aborted) throw null;
      if (window.byteLength !== expected) {
        throw `read ${window.byteLength} bytes at offset ${offset}, not ${expected}: the file changed`;
      }
      for (let at = 0; at < expected; at += MARK) mark[(offset + at) / MARK] = window[at];
      offset += expected;
      const buffer = hashing?.spare() ?? spares.pop() ?? new ArrayBuffer(WINDOW);
      const next = offset < size ? reader.next(buffer, windowAt(offset)) : null;
      next?.catch(() => {}); // awaited below, unless hashing fails first
      if (hashing) {
        await inWorker(hashing.update(window));
      } else {
        sha1Update(/** @type {import('./wasm/vod_ugc_uploader.js').Sha1} */ (hasher), window);
        spares.push(/** @type {ArrayBuffer} */ (window.buffer));
      }
      hashed(expected);
      if (!next) break;
      window = await next;
    }
  } catch (error) {
    reader.cancel();
    hasher?.free();
    throw error;
  }
  return hashing ? inWorker(hashing.digest()) : /** @type {import('./wasm/vod_ugc_uploader.js').Sha1} */ (hasher).finish();
}
