// vod-ugc-uploader/record: records a MediaStream and uploads the recording. The file's SHA-1 and its
// parts' MD5s are taken over the chunks as they arrive, so once the recording stops the upload
// starts at once, with no hash pass. The chunks are kept in the origin-private file system where it
// can be written from the page (removed after the upload), else in memory.
import { reporter } from './drive.js';
import { abortError } from './errors.js';
import { upload } from './index.js';
import { internals } from './internal.js';
import { uploadOptions } from './options.js';
import { load, sha1Update } from './wasm.js';
import { PartSize, Sha1, md5Hex } from './wasm/vod_ugc_uploader.js';

/** The formats tried, in order, where the caller names none. */
const TYPES = ['video/webm;codecs=vp9', 'video/webm', 'video/mp4'];
/** MediaRecorder hands over a chunk every this many ms. */
const TIMESLICE_MS = 1000;

/**
 * Records `stream` until `stop()` or until all its tracks end, then uploads the recording.
 * @param {MediaStream} stream
 * @param {import('./record.js').RecordOptions} options
 * @returns {import('./record.js').Recording}
 */
export function recordUpload(stream, options) {
  if (typeof MediaStream !== 'function' || !(stream instanceof MediaStream)) {
    throw new TypeError('recordUpload(stream, options): stream must be a MediaStream (from getUserMedia, getDisplayMedia or captureStream)');
  }
  if (typeof MediaRecorder !== 'function') throw new TypeError('recordUpload: this browser has no MediaRecorder');
  // Without a partSize, the core asks InitUploadEx for its default, the large one.
  const { signal, onProgress, partSize = PartSize.Large } = uploadOptions(options);
  const { mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t)), fileName } = options;
  if (fileName !== undefined && !(typeof fileName === 'string' && fileName.trim())) throw new TypeError('options.fileName must be a non-empty string');
  if (signal?.aborted) throw abortError();
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const type = recorder.mimeType || mimeType || 'video/webm';
  const name = fileName ?? `recording-${isoBasic(new Date())}.${type.includes('mp4') ? 'mp4' : 'webm'}`;
  const report = reporter(onProgress);
  const store = openStore();
  const digests = new Digests(partSize);
  /** @type {Promise<unknown>} each chunk is hashed and stored after the one before */
  let taking = load();
  let recorded = 0;

  recorder.ondataavailable = ({ data }) => {
    taking = taking.then(async () => {
      if (!data.size) return;
      const saving = store.then((s) => s.write(data));
      digests.update(new Uint8Array(await data.arrayBuffer()));
      await saving;
      recorded += data.size;
      report({ phase: /** @type {any} */ ('recording'), loaded: recorded, total: recorded, bytesPerSecond: 0, etaSeconds: null });
    });
  };
  const stopped = new Promise((resolve, reject) => {
    recorder.onstop = resolve;
    recorder.onerror = (event) => reject(/** @type {any} */ (event).error ?? new Error('MediaRecorder failed'));
  });
  const stop = () => {
    if (recorder.state !== 'inactive') recorder.stop();
  };
  const tracks = stream.getTracks();
  for (const track of tracks) {
    track.addEventListener('ended', () => tracks.every((t) => t.readyState === 'ended') && stop());
  }
  signal?.addEventListener('abort', stop, { once: true });
  recorder.start(TIMESLICE_MS);

  const result = (async () => {
    try {
      await stopped;
      await taking;
      if (signal?.aborted) throw abortError();
      const file = new File([await (await store).file()], name, { type });
      const { sha, partMd5 } = digests.finish(file.size);
      /** @type {import('./index.js').UploadOptions} */
      const fileOptions = { ...options, hashCache: false };
      internals.set(fileOptions, { sha, partMd5 });
      return await upload(file, fileOptions);
    } finally {
      digests.free();
      await store.then((s) => s.remove(), () => {});
    }
  })();
  return { stop, result };
}

/**
 * `date` in ISO 8601's basic format to the second, UTC (20261201T183100Z): file names of the protocol
 * allow no ':' (and at most 40 bytes).
 * @param {Date} date
 */
function isoBasic(date) {
  return date.toISOString().replace(/[-:]|\.\d+/g, '');
}

/**
 * The SHA-1 of the bytes so far and the MD5 of each whole part of them.
 */
class Digests {
  /** @param {number} partSize */
  constructor(partSize) {
    this.partSize = partSize;
    /** @type {Sha1 | null} */
    this.sha1 = null;
    this.part = new Uint8Array(partSize);
    this.filled = 0;
    /** @type {string[]} */
    this.md5s = [];
  }

  /** @param {Uint8Array} bytes */
  update(bytes) {
    this.sha1 ??= new Sha1();
    sha1Update(this.sha1, bytes);
    for (let at = 0; at < bytes.byteLength; ) {
      const piece = bytes.subarray(at, at + this.partSize - this.filled);
      this.part.set(piece, this.filled);
      this.filled += piece.byteLength;
      at += piece.byteLength;
      if (this.filled === this.partSize) {
        this.md5s.push(md5Hex(this.part));
        this.filled = 0;
      }
    }
  }

  /**
   * The SHA-1, and the MD5 of a part `[offset, end)` where it is one of the parts at this part size.
   * @param {number} size the file's
   */
  finish(size) {
    if (this.filled) this.md5s.push(md5Hex(this.part.subarray(0, this.filled)));
    const sha = this.sha1?.finish() ?? '';
    this.sha1 = null;
    const { partSize, md5s } = this;
    /** @type {(offset: number, end: number) => string | undefined} */
    const partMd5 = (offset, end) =>
      (offset % partSize === 0 && end === Math.min(offset + partSize, size) ? md5s[offset / partSize] : undefined);
    return { sha, partMd5 };
  }

  free() {
    this.sha1?.free();
    this.sha1 = null;
  }
}

/**
 * Where the chunks are kept.
 * @typedef {object} Store
 * @property {(chunk: Blob) => Promise<void>} write
 * @property {() => Promise<Blob>} file what was written, whole
 * @property {() => Promise<void>} remove
 */

/**
 * A file of the origin-private file system, where the page can write one; else memory.
 * @returns {Promise<Store>}
 */
async function openStore() {
  try {
    const root = await navigator.storage.getDirectory();
    const entry = `vod-recording-${crypto.randomUUID()}`;
    const handle = await root.getFileHandle(entry, { create: true });
    const writable = await handle.createWritable();
    return {
      write: (chunk) => writable.write(chunk),
      file: async () => {
        await writable.close();
        return handle.getFile();
      },
      remove: async () => {
        await writable.close().catch(() => {}); // still open where the recording was aborted
        await root.removeEntry(entry);
      },
    };
  } catch {
    /** @type {Blob[]} */
    const chunks = [];
    return {
      write: async (chunk) => void chunks.push(chunk),
      file: async () => new Blob(chunks),
      remove: async () => void chunks.splice(0),
    };
  }
}
