// The hash cache: `name, size, lastModified` → `{ sha, edge }`, so that uploading the same file again
// (after a page reload, say) skips the hash pass. `edge` is the SHA-1 of the file's first and last MiB,
// read again before an entry is trusted: a file whose size, date or edges changed is hashed anew. (And
// a stale hash can never store a wrong file: the server checks the SHA-1 of what it assembled.) Every
// call settles, never rejects: any IndexedDB failure is a miss, as the cache only saves time.
import { HASHES, withStore } from './db.js';
import { sha1Update, wasm } from './wasm.js';

/** Bytes at each end of the file that are hashed again to check a cache entry. */
const EDGE = 1 << 20;

/** @param {File} file */
const key = (file) => `${file.name}\0${file.size}\0${file.lastModified}`;

/**
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest} work
 */
const withHashes = (mode, work) => withStore(HASHES, mode, work);

/**
 * SHA-1 of the file's first and last `EDGE` bytes.
 * @param {File} file
 */
async function edge(file) {
  const n = Math.min(EDGE, file.size);
  const [head, tail] = await Promise.all([file.slice(0, n).arrayBuffer(), file.slice(file.size - n).arrayBuffer()]);
  const hasher = new (wasm().Sha1)();
  sha1Update(hasher, new Uint8Array(head));
  sha1Update(hasher, new Uint8Array(tail));
  return hasher.finish();
}

/**
 * The cached SHA-1 of `file`, if there is one and its edges still match; else null.
 * @param {File} file
 * @returns {Promise<string | null>}
 */
export async function cachedSha(file) {
  const entry = await withHashes('readonly', (store) => store.get(key(file)));
  if (typeof entry?.sha !== 'string' || typeof entry.edge !== 'string') return null;
  const digest = await edge(file).catch(() => null);
  return digest === entry.edge ? entry.sha : null;
}

/**
 * Remembers `sha` as the SHA-1 of `file`, as it is now.
 * @param {File} file
 * @param {string} sha
 */
export async function remember(file, sha) {
  const digest = await edge(file).catch(() => null);
  if (digest) await withHashes('readwrite', (store) => store.put({ sha, edge: digest }, key(file)));
}

/**
 * Forgets the SHA-1 of `file` (the server found it is not the SHA-1 of the file's bytes).
 * @param {File} file
 */
export function forget(file) {
  return withHashes('readwrite', (store) => store.delete(key(file)));
}
