// Reading the file: every read of its bytes goes through `openReader`, so that another way of reading
// can slot in where a browser has no BYOB reader on a Blob's stream. Also `readPart`, the `read`
// command: a part's bytes and their MD5.
import { describe } from './errors.js';
import { md5InWorker } from './hasher.js';

/**
 * Reads a Blob from its start, in order.
 * @typedef {object} Reader
 * @property {(buffer: ArrayBuffer, want: number) => Promise<Uint8Array<ArrayBuffer>>} next reads the next `want`
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

/** Bytes between the marks of a file. */
export const MARK = 1 << 16;

/**
 * Per file (the hash pass's), its byte at every MARK-th offset as that pass read it: a part read
 * later that differs there was changed on disk since. Chromium and WebKit refuse to read a file
 * changed since it was picked; Firefox reads the new bytes, which a part would be sent with (and
 * their MD5), and only the server's SHA-1 check at FinishUploadEx would tell — after the whole file.
 * 64 KB for 4 GiB.
 * @type {WeakMap<Blob, Uint8Array>}
 */
export const marks = new WeakMap();

/**
 * Whether a Blob's stream is a byte stream, which a BYOB reader reads into buffers of ours (Chromium,
 * Firefox). WebKit's (Safari's engine) is not: `getReader({ mode: 'byob' })` throws there (WebKitGTK
 * 2.50). Asked once.
 */
export function blobStreamsAreBytes() {
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
 * Reads bytes `[offset, end)` of `blob` into a buffer from `pool` (an array of ArrayBuffers) and
 * takes their MD5 in the hash worker. Resolves with `[md5, bytes]`: the bytes read (a Uint8Array at
 * the start of its buffer), which are the part's body when it is sent (a part is read once), and
 * their MD5, lowercase hex — or null where no worker runs or it failed, for the caller to hash them. Rejects with null when `signal` aborted, else with what went wrong, in words
 * (a part shorter than asked, or a read refused: the file changed).
 * @param {Blob} blob
 * @param {number} offset
 * @param {number} end
 * @param {ArrayBuffer[]} pool
 * @param {AbortSignal} signal
 * @returns {Promise<[string | null, Uint8Array<ArrayBuffer>]>}
 */
export async function readPart(blob, offset, end, pool, signal) {
  const want = end - offset;
  /** @param {ArrayBuffer} buffer */
  const read = async (buffer) => {
    const bytes = await openReader(blob.slice(offset, end)).next(buffer, want);
    // Fewer bytes than asked, or (where the hash pass marked the file) others than it read.
    const mark = marks.get(blob);
    let at = -offset & (MARK - 1);
    while (mark && at < want && bytes[at] === mark[(offset + at) / MARK]) at += MARK;
    if (bytes.byteLength !== want || (mark && at < want)) {
      throw `the part at offset ${offset} is not as hashed: the file changed`;
    }
    return bytes;
  };
  try {
    const spare = pool.pop();
    const bytes = await read(spare && spare.byteLength >= want ? spare : new ArrayBuffer(want));
    if (signal.aborted) throw null;
    const hashing = md5InWorker(bytes);
    try {
      if (hashing) {
        // The worker takes the buffer and gives it back.
        const { md5, buffer } = await hashing;
        return [md5, new Uint8Array(/** @type {ArrayBuffer} */ (buffer), 0, want)];
      }
    } catch {
      // The worker failed, and kept the buffer: read the part again for the caller to hash.
      return [null, await read(new ArrayBuffer(want))];
    }
    return [null, bytes];
  } catch (error) {
    if (signal.aborted) throw null;
    throw typeof error === 'string' ? error : describe(error);
  }
}
