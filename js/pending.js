// Pending uploads: an upload the server has a session for (InitUploadEx answered 0 or 1) is kept in
// IndexedDB under its SHA-1 until it finishes, the server refuses the file for good, or the app
// forgets it, so that a page can resume it after a reload. No signature or other secret is kept;
// the file's bytes are not copied either: a file handle is kept where the upload was given one.
import { PENDING, withStore } from './db.js';

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
  let recorded = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<unknown>} */
  let saving = Promise.resolve();
  const flush = () => {
    timer = undefined;
    entry.updatedAt = Date.now();
    saving = saving.then(() => save({ ...entry }));
  };
  return {
    /** @param {number} loaded */
    uploading(loaded) {
      entry.uploadedBytes = loaded;
      if (!recorded) {
        recorded = true;
        // Started earlier (a resume): keep when it started.
        saving = withPending('readonly', (store) => store.get(fileSha)).then((old) => {
          if (old?.startedAt) entry.startedAt = old.startedAt;
          // Resumed from a re-picked File: the handle kept before still serves (file() checks it).
          entry.handle ??= old?.handle ?? null;
        });
        flush();
      } else timer ??= setTimeout(flush, SAVE_EVERY_MS);
    },
    /** Stops saving; `drop` removes the entry (the upload finished, or cannot be resumed). */
    async settle(/** @type {boolean} */ drop) {
      clearTimeout(timer);
      if (timer !== undefined) flush();
      await saving;
      if (drop) await forgetPending(fileSha);
    },
  };
}

/**
 * The uploads that were started and neither finished nor refused for good, oldest first.
 * @returns {Promise<import('./index.js').PendingUpload[]>}
 */
export async function pendingUploads() {
  /** @type {Entry[]} */
  const entries = (await withPending('readonly', (store) => store.getAll())) ?? [];
  return entries.sort((a, b) => a.startedAt - b.startedAt).map(({ handle, ...fields }) => ({
    ...fields,
    file: () => fileOf(fields, handle),
    forget: async () => { await forgetPending(fields.fileSha); },
  }));
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
