// The package's IndexedDB database: the hash cache's store, the pending uploads' store (recordings'
// entries too) and the recordings' chunks. Every call settles, never rejects: any IndexedDB failure
// (none in this context, private mode, quota) resolves to undefined, and the caller carries on
// without the store (a recording then stays in memory).

const DATABASE = 'vod-ugc-uploader';
/** Version 2 added the pending uploads' store, 3 the recordings' chunks. */
const VERSION = 3;
export const HASHES = 'file-hashes';
export const PENDING = 'pending-uploads';
/** A recording's chunks as Blobs, keyed `[recording id, index]`. */
export const CHUNKS = 'recording-chunks';

/**
 * Runs `work(store)` in a transaction on `name`; resolves with its request's result, or undefined on
 * any failure.
 * @param {string} name
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest} work
 * @returns {Promise<any>}
 */
export function withStore(name, mode, work) {
  return transact([name], mode, (tx) => work(tx.objectStore(name)));
}

/**
 * Runs `work(transaction)` on the stores `names`; resolves with the result of the request it returns
 * once the transaction has committed (true where it returns none), or undefined on any failure.
 * @param {string[]} names
 * @param {IDBTransactionMode} mode
 * @param {(tx: IDBTransaction) => IDBRequest | void} work
 * @returns {Promise<any>}
 */
export function transact(names, mode, work) {
  return new Promise((resolve) => {
    try {
      const opening = indexedDB.open(DATABASE, VERSION);
      opening.onupgradeneeded = () => {
        const db = opening.result;
        for (const store of [HASHES, PENDING, CHUNKS]) if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      };
      opening.onerror = () => resolve(undefined);
      opening.onsuccess = () => {
        const db = opening.result;
        try {
          const tx = db.transaction(names, mode);
          const request = work(tx);
          tx.oncomplete = () => resolve(request ? request.result : true);
          tx.onerror = tx.onabort = () => resolve(undefined);
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
