// vod-ugc-uploader/record: records a MediaStream and uploads the recording. Each chunk is kept in
// IndexedDB as it arrives (in memory where it cannot be), and listed by pendingUploads() from the
// first one: a failed upload, a reload or a crash loses nothing, and the recording is deleted once
// its upload finished (or on forget()). A WebM is made playable and seekable as it is recorded
// (webm.js: a new head with its Duration and a SeekHead, Cues after the clusters). The file is hashed
// once the recording stops: its first bytes are the new head, known only then, and SHA-1 is a chain
// (every block's digest depends on all the bytes before it), so no hash taken while recording
// survives the new head (see the README for what the pass costs).
import { CHUNKS, PENDING, transact } from './db.js';
import { reporter } from './drive.js';
import { abortError } from './errors.js';
import { upload } from './index.js';
import { uploadOptions } from './options.js';
import { forgetRecording, recordedFile, storedChunks } from './pending.js';
import { remux } from './webm.js';

/** The formats tried, in order, where the caller names none. */
const TYPES = ['video/webm;codecs=vp9', 'video/webm', 'video/mp4'];
/** MediaRecorder hands over a chunk every this many ms: at most this much is lost in a crash. */
const TIMESLICE_MS = 1000;
const EMPTY = new Uint8Array(0);

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
  const { signal, onProgress } = uploadOptions(options);
  const { mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t)), fileName } = options;
  if (fileName !== undefined && !(typeof fileName === 'string' && fileName.trim())) throw new TypeError('options.fileName must be a non-empty string');
  if (signal?.aborted) throw abortError();
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const type = recorder.mimeType || mimeType || 'video/webm';
  const name = fileName ?? `recording-${isoBasic(new Date())}.${type.includes('mp4') ? 'mp4' : 'webm'}`;
  const report = reporter(onProgress);
  const webm = type.includes('webm') ? remux() : null;
  const id = `vod-recording-${crypto.randomUUID()}`;
  const now = Date.now();
  const dot = name.lastIndexOf('.');
  /** @type {import('./pending.js').Entry & import('./pending.js').Recorded} what is stored of it */
  const entry = {
    id, fileSha: '', fileName: name, fileSize: 0, fileType: dot > 0 ? name.slice(dot + 1).toLowerCase() : '', type,
    lastModified: now, startedAt: now, updatedAt: now, uploadedBytes: 0, handle: null,
    chunks: 0, head: EMPTY, cut: 0, end: 0, tail: EMPTY,
  };
  /** @type {Blob[]} the chunks storage did not take (from the first it refused on) */
  const kept = [];
  /** @type {Promise<unknown>} each chunk is read and stored after the one before */
  let taking = Promise.resolve();
  let recorded = 0;

  recorder.ondataavailable = ({ data }) => {
    taking = taking.then(async () => {
      if (!data.size) return;
      webm?.push(new Uint8Array(await data.arrayBuffer()));
      recorded += data.size;
      const fix = webm?.fix() ?? { head: EMPTY, cut: 0, end: recorded, tail: EMPTY };
      const at = Date.now();
      Object.assign(entry, fix, { chunks: entry.chunks + 1, fileSize: fix.head.length + fix.end - fix.cut + fix.tail.length, lastModified: at, updatedAt: at });
      // The chunk and the entry that says how the file is made of the chunks are written together.
      const stored = !kept.length && await transact([PENDING, CHUNKS], 'readwrite', (tx) => {
        tx.objectStore(CHUNKS).put(data, [id, entry.chunks - 1]);
        tx.objectStore(PENDING).put(entry, id);
      });
      if (!stored) kept.push(data);
      report({ phase: /** @type {any} */ ('recording'), loaded: entry.fileSize, total: entry.fileSize, bytesPerSecond: 0, etaSeconds: null });
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
  // While the recording is written, its lock says so to every page of the origin (pendingUploads:
  // `recording: true`); a crash or a closed tab lets it go.
  const written = stopped.finally(() => taking);
  void navigator.locks?.request(id, () => written.catch(() => {}));
  recorder.start(TIMESLICE_MS);

  const result = (async () => {
    await written;
    // Aborted while recording: the recording is not wanted.
    if (signal?.aborted) {
      await forgetRecording(id);
      throw abortError();
    }
    return upload(recordedFile(entry, [...(await storedChunks(id)).slice(0, entry.chunks - kept.length), ...kept]), options);
  })();
  return { stop, result };
}

/**
 * `date` in ISO 8601's basic format to the second, UTC (20261201T183100Z): file names of the protocol
 * allow no ':' (and at most 40 characters).
 * @param {Date} date
 */
function isoBasic(date) {
  return date.toISOString().replace(/[-:]|\.\d+/g, '');
}
