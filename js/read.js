// Reading the file: every read of its bytes goes through `openReader`, so that another way of reading
// can slot in where a browser has no BYOB reader on a Blob's stream. Also `readPart`, the `read`
// command: a part's bytes and their MD5.
import { describe } from './errors.js';
import { md5InWorker } from './hasher.js';

/**
 * Reads a Blob from its start, in order.
 * @typedef {object} Reader
 * @property {(buffer: ArrayBuffer, want: number) => Promise<Uint8Array>} next reads the next `want`
 *   bytes into the start of `buffer` (which the read takes): resolves with a view of what was read,
 *   shorter only where the blob ended
 * @property {() => void} cancel stops reading
 */

/**
 * The readers with a read in flight. Chromium collects a `Blob` stream whose read is still pending
 * when nothing else refers to it, and that read then never settles (seen as an upload that stopped
 * after a few thousand parts); here they stay reachable until their read is done.
 * @type {Set<ReadableStreamBYOBReader>}
 */
const reading = new Set();

/** @type {boolean | undefined} */
let byteStreams;

/**
 * Whether a Blob's stream is a byte stream, which a BYOB reader reads into buffers of ours (Chromium,
 * Firefox). WebKit's (Safari's engine) is not: `getReader({ mode: 'byob' })` throws there (WebKitGTK
 * 2.50). Asked once.
 */
function blobStreamsAreBytes() {
  if (byteStreams === undefined) {
    try {
      new Blob().stream().getReader({ mode: 'byob' }).releaseLock();
      byteStreams = true;
    } catch {
      byteStreams = false;
    }
  }
  return byteStreams;
}

/**
 * A reader of `blob`: BYOB reads of its stream into the caller's buffers where Blob streams are byte
 * streams; elsewhere each read is a `Blob.slice().arrayBuffer()` of its own (the caller's buffer is
 * not used), which the callers' read-ahead keeps one read in flight as well.
 * @param {Blob} blob
 * @returns {Reader}
 */
export function openReader(blob) {
  if (!blobStreamsAreBytes()) return sliceReader(blob);
  const reader = blob.stream().getReader({ mode: 'byob' });
  return {
    next: (buffer, want) => fill(reader, buffer, want),
    cancel: () => void reader.cancel().catch(() => {}),
  };
}

/**
 * A reader of `blob` that reads each range as a slice.
 * @param {Blob} blob
 * @returns {Reader}
 */
function sliceReader(blob) {
  let at = 0;
  return {
    next: async (_buffer, want) => {
      const start = at;
      at += want;
      return new Uint8Array(await blob.slice(start, start + want).arrayBuffer());
    },
    cancel: () => {},
  };
}

/**
 * Reads the next `want` bytes of a BYOB `reader` into the start of `buffer` (which the stream takes
 * and gives back): resolves with a view of what was read, shorter only where the file ended.
 * @param {ReadableStreamBYOBReader} reader
 * @param {ArrayBuffer} buffer
 * @param {number} want
 */
async function fill(reader, buffer, want) {
  reading.add(reader);
  try {
    let filled = 0;
    while (filled < want) {
      const { value, done } = await reader.read(new Uint8Array(buffer, filled, want - filled));
      if (!value) throw new Error("the file's stream gave no bytes");
      buffer = /** @type {ArrayBuffer} */ (value.buffer);
      if (done) break;
      filled += value.byteLength;
    }
    return new Uint8Array(buffer, 0, filled);
  } finally {
    reading.delete(reader);
  }
}

/**
 * Rejects once `blob` can no longer be read (its file changed or went away), checked by reading its
 * first byte every `everyMs` until `signal` aborts. WebKit's `fetch` never settles when the file of a
 * `File` body changes on disk while it is sent (WebKitGTK 2.50: an upload stood still for minutes);
 * `send` races its fetch with this, where other engines reject the fetch themselves.
 * @param {Blob} blob
 * @param {AbortSignal} signal
 * @param {number} [everyMs]
 * @returns {Promise<never>}
 */
export function unreadable(blob, signal, everyMs = 2000) {
  return new Promise((_, reject) => {
    const check = () => blob.slice(0, 1).arrayBuffer().then(
      () => { if (!signal.aborted) timer = setTimeout(check, everyMs); },
      (error) => { if (!signal.aborted) reject(error); },
    );
    let timer = setTimeout(check, everyMs);
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
}

/**
 * Reads bytes `[offset, end)` of `blob` into a buffer from `pool` (an array of ArrayBuffers) and
 * takes their MD5 in the hash worker, which gives the buffer back to the pool. Resolves with the MD5,
 * lowercase hex, or — where no worker runs, or it failed — with the bytes (a Uint8Array at the start
 * of its buffer) for the caller to hash and pool. Rejects with null when `signal` aborted, else with
 * what went wrong, in words (a part shorter than asked: the file changed).
 * @param {Blob} blob
 * @param {number} offset
 * @param {number} end
 * @param {ArrayBuffer[]} pool
 * @param {AbortSignal} signal
 * @returns {Promise<string | Uint8Array>}
 */
export async function readPart(blob, offset, end, pool, signal) {
  const want = end - offset;
  /** @param {ArrayBuffer} buffer */
  const read = async (buffer) => {
    const bytes = await openReader(blob.slice(offset, end)).next(buffer, want);
    if (bytes.byteLength !== want) {
      throw `asked for ${want} bytes at offset ${offset}, got ${bytes.byteLength}: the file changed`;
    }
    return bytes;
  };
  try {
    const spare = pool.pop();
    let bytes = await read(spare && spare.byteLength >= want ? spare : new ArrayBuffer(want));
    if (signal.aborted) throw null;
    const hashing = md5InWorker(bytes);
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
