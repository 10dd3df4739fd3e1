// The package's IndexedDB database: the hash cache's store and the pending uploads' store. Every call
// settles, never rejects: any IndexedDB failure (none in this context, private mode, quota) resolves
// to undefined, as both stores only save work.

const DATABASE = 'vod-ugc-uploader';
/** Version 2 added the pending uploads' store. */
const VERSION = 2;
export const HASHES = 'file-hashes';
export const PENDING = 'pending-uploads';

/**
 * Runs `work(store)` in a transaction on `name`; resolves with its request's result, or undefined on
 * any failure.
 * @param {string} name
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest} work
 * @returns {Promise<any>}
 */
export function withStore(name, mode, work) {
  return new Promise((resolve) => {
    try {
      const opening = indexedDB.open(DATABASE, VERSION);
      opening.onupgradeneeded = () => {
        const db = opening.result;
        for (const store of [HASHES, PENDING]) if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      };
      opening.onerror = () => resolve(undefined);
      opening.onsuccess = () => {
        const db = opening.result;
        try {
          const request = work(db.transaction(name, mode).objectStore(name));
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
