// The hash worker: the page's thread reads the file and transfers it here window by window; this
// thread only hashes, so reading and hashing overlap. Messages in: {id, chunk, length}, {id, end},
// {id, abort} for a file's SHA-1, {id, md5: buffer, length} for a part's MD5; out: {id, ack, chunk}
// after each window and {id, md5, chunk} (the buffer goes back, to be read into again), {id, sha}
// or {id, error}.
import { drop, load, sha1Update, wasm } from './wasm.js';

/**
 * The worker's global scope, as far as this file uses it.
 * @typedef {{ onmessage: ((event: MessageEvent<Message>) => void) | null,
 *   postMessage(message: unknown, transfer?: Transferable[]): void }} Scope
 * @typedef {{ id: number, chunk?: ArrayBuffer, length?: number, end?: boolean, abort?: boolean, md5?: ArrayBuffer }} Message
 */
const scope = /** @type {Scope} */ (/** @type {unknown} */ (self));
load().catch(() => {}); // early: the first message awaits it
/** @type {Map<number, import('./wasm/vod_ugc_uploader.js').Sha1>} */
const hashers = new Map();

scope.onmessage = async ({ data: { id, chunk, length = 0, end, abort, md5 } }) => {
  try {
    await load();
    if (md5) {
      scope.postMessage({ id, md5: wasm().md5Hex(new Uint8Array(md5, 0, length)), chunk: md5 }, [md5]);
      return;
    }
    if (abort) {
      hashers.get(id)?.free();
      hashers.delete(id);
      return;
    }
    let hasher = hashers.get(id);
    if (!hasher) hashers.set(id, (hasher = new (wasm().Sha1)()));
    if (chunk) {
      sha1Update(hasher, new Uint8Array(chunk, 0, length));
      scope.postMessage({ id, ack: true, chunk }, [chunk]);
    }
    if (end) {
      hashers.delete(id);
      scope.postMessage({ id, sha: hasher.finish() });
    }
  } catch (e) {
    // The instance may be broken for good: the next message gets a fresh one.
    drop(wasm());
    hashers.delete(id);
    scope.postMessage({ id, error: String(/** @type {any} */ (e)?.message ?? e) });
  }
};
