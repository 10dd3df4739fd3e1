// Pending uploads: an upload the server has a session for (InitUploadEx answered 0 or 1) is kept in
// IndexedDB under its SHA-1 until it finishes, the server refuses the file for good, or the app
// forgets it, so that a page can resume it after a reload. No signature or other secret is kept;
// the file's bytes are not copied either: a file handle is kept where the upload was given one.
// A recording (record.js) is different: its bytes exist nowhere else, so its chunks are kept (store
// CHUNKS) with an entry under its id, from its first chunk until its upload finished or forget().
import { CHUNKS, PENDING, transact, withStore } from './db.js';

/** The most time between an acknowledged part and the entry saying so. */
const SAVE_EVERY_MS = 500;

/**
 * What is stored for an upload.
 * @typedef {object} Entry
 * @property {string} fileSha
 * @property {string} fileName
 * @property {number} fileSize
 * @property {string} fileType
 * @property {number} lastModified
 * @property {number} startedAt
 * @property {number} updatedAt
 * @property {number} uploadedBytes
 * @property {FileSystemFileHandle | null} handle
 */

/**
 * What is stored for a recording, besides an Entry's fields (`fileSha` once known): its chunks, and
 * how the file is made of them (webm.js: `head`, the recorded bytes `[cut, end)`, `tail`).
 * @typedef {object} Recorded
 * @property {string} id also the name of the lock its recorder holds while recording
 * @property {string} type the File's type
 * @property {number} chunks
 * @property {Uint8Array<ArrayBuffer>} head
 * @property {number} cut
 * @property {number} end
 * @property {Uint8Array<ArrayBuffer>} tail
 */

/** @type {WeakMap<File, string>} each File made of a recording: its recording's id */
const madeOf = new WeakMap();

/** The chunks of recording `id`, in order. */
const chunkRange = (/** @type {string} */ id) => IDBKeyRange.bound([id, 0], [id, Infinity]);

/**
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest} work
 */
const withPending = (mode, work) => withStore(PENDING, mode, work);

/** @param {Entry} entry */
const save = (entry) => withPending('readwrite', (store) => store.put(entry, entry.fileSha));

/**
 * Forgets the pending upload of `fileSha`.
 * @param {string} fileSha
 */
export const forgetPending = (fileSha) => withPending('readwrite', (store) => store.delete(fileSha));

/**
 * Deletes recording `id` and its chunks.
 * @param {string} id
 */
export const forgetRecording = (id) => transact([PENDING, CHUNKS], 'readwrite', (tx) => {
  tx.objectStore(CHUNKS).delete(chunkRange(id));
  tx.objectStore(PENDING).delete(id);
});

/**
 * The pending upload of one file, as the upload goes: `uploading(loaded)` at each uploading report
 * (the first one comes once InitUploadEx opened or found the session), saved within SAVE_EVERY_MS;
 * `settled()` waits for the last save.
 * @param {File} file
 * @param {FileSystemFileHandle | null} handle
 * @param {string} fileSha
 * @param {string} fileType
 */
export function tracker(file, handle, fileSha, fileType) {
  const now = Date.now();
  /** @type {Entry} */
  const entry = {
    fileSha, fileName: file.name, fileSize: file.size, fileType, lastModified: file.lastModified,
    startedAt: now, updatedAt: now, uploadedBytes: 0, handle,
  };
  // A recording's upload is kept in the recording's entry, which learns its SHA-1 at once.
  const recording = madeOf.get(file);
  let recorded = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<unknown>} */
  let saving = recording ? update(recording, { fileSha }) : Promise.resolve();
  const flush = () => {
    timer = undefined;
    entry.updatedAt = Date.now();
    const { uploadedBytes, updatedAt } = entry;
    saving = saving.then(() => (recording ? update(recording, { uploadedBytes, updatedAt }) : save({ ...entry })));
  };
  /** Stops saving; `drop` removes the entry: the upload finished, or (not a recording's) cannot be resumed. */
  const settle = async (/** @type {boolean} */ drop, done = false) => {
    clearTimeout(timer);
    if (timer !== undefined) flush();
    await saving;
    if (recording ? done : drop) await (recording ? forgetRecording(recording) : forgetPending(fileSha));
  };
  return {
    /** @param {number} loaded */
    uploading(loaded) {
      entry.uploadedBytes = loaded;
      if (!recorded && !recording) {
        recorded = true;
        // Started earlier (a resume): keep when it started.
        saving = saving.then(() => withPending('readonly', (store) => store.get(fileSha))).then((old) => {
          if (old?.startedAt) entry.startedAt = old.startedAt;
          // Resumed from a re-picked File: the handle kept before still serves (file() checks it).
          entry.handle ??= old?.handle ?? null;
        });
        flush();
      } else timer ??= setTimeout(flush, SAVE_EVERY_MS);
    },
    settle,
    /** The upload finished: its entry goes (a recording's with the recording). */
    finished: () => settle(true, true),
  };
}

/**
 * Sets `fields` in the entry of recording `id`, if it is still there.
 * @param {string} id
 * @param {Partial<Entry>} fields
 */
const update = (id, fields) => transact([PENDING], 'readwrite', (tx) => {
  const entries = tx.objectStore(PENDING);
  const get = entries.get(id);
  get.onsuccess = () => get.result && entries.put({ ...get.result, ...fields }, id);
});

/**
 * The uploads that were started and neither finished nor refused for good, and the recordings not
 * uploaded yet, oldest first.
 * @returns {Promise<import('./index.js').PendingUpload[]>}
 */
export async function pendingUploads() {
  /** @type {(Entry & Partial<Recorded>)[]} */
  const entries = (await withPending('readonly', (store) => store.getAll())) ?? [];
  const busy = await recordingNow();
  return entries.sort((a, b) => a.startedAt - b.startedAt).map((entry) => {
    const { handle, id, type, chunks, head, cut, end, tail, ...fields } = entry;
    if (!id) return { ...fields, kind: 'file', recording: false, file: () => fileOf(fields, handle), forget: async () => { await forgetPending(fields.fileSha); } };
    return {
      ...fields,
      kind: 'recording',
      recording: busy.has(id),
      // Null while it is recorded, or where its chunks are gone (forgotten, uploaded).
      file: async () => {
        const stored = (await recordingNow()).has(id) ? [] : await storedChunks(id);
        return stored.length && stored.length === chunks ? recordedFile(/** @type {Entry & Recorded} */ (entry), stored) : null;
      },
      forget: async () => { await forgetRecording(id); },
    };
  });
}

/**
 * The ids of the recordings being recorded, by any page of the origin: their recorders hold a Web Lock
 * of that name (where there are no Web Locks, none is known as being recorded).
 */
async function recordingNow() {
  const held = await globalThis.navigator?.locks?.query().then((s) => s.held, () => []);
  return new Set((held ?? []).map((lock) => lock.name));
}

/**
 * The chunks of recording `id` kept in storage, in order (none where storage fails).
 * @param {string} id
 * @returns {Promise<Blob[]>}
 */
export async function storedChunks(id) {
  return (await transact([CHUNKS], 'readonly', (tx) => tx.objectStore(CHUNKS).getAll(chunkRange(id)))) ?? [];
}

/**
 * The File of a recording: its head, the recorded bytes `[cut, end)` of `chunks`, its tail; remembered
 * as made of that recording, so that its upload's end deletes it.
 * @param {Entry & Recorded} entry
 * @param {Blob[]} chunks
 */
export function recordedFile({ id, fileName, type, lastModified, head, cut, end, tail }, chunks) {
  const file = new File([head, new Blob(chunks).slice(cut, end), tail], fileName, { type, lastModified });
  madeOf.set(file, id);
  return file;
}

/**
 * The file again, where a handle was kept, the page may read it, and it still reads the same file.
 * @param {{ fileSize: number, lastModified: number }} entry
 * @param {FileSystemFileHandle | null} handle
 * @returns {Promise<File | null>}
 */
async function fileOf({ fileSize, lastModified }, handle) {
  if (!handle) return null;
  try {
    const h = /** @type {any} */ (handle);
    const mode = { mode: 'read' };
    // Not granted yet: asking needs a user gesture (the call that asks is then made in one).
    if (h.queryPermission && (await h.queryPermission(mode)) !== 'granted' && (await h.requestPermission(mode)) !== 'granted') return null;
    const file = await handle.getFile();
    return file.size === fileSize && file.lastModified === lastModified ? file : null;
  } catch {
    return null;
  }
}
