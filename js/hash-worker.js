// The hash worker: the page's thread reads the file and transfers it here window by window; this
// thread only hashes, so reading and hashing overlap. Messages in: {id, chunk, length}, {id, end},
// {id, abort} for a file's SHA-1, {id, md5: buffer, length} for a part's MD5; out: {id, ack, chunk}
// after each window and {id, md5, chunk} (the buffer goes back, to be read into again), {id, sha}
// or {id, error}.
import init, { Sha1, md5Hex } from './wasm/vod_ugc_uploader.js';

/** Bytes copied into wasm memory and hashed at a time: Sha1's stage (src/web/hasher.rs). */
const STAGE = 256 * 1024;
let wasm;
const ready = init({ module_or_path: new URL('./wasm/vod_ugc_uploader_bg.wasm', import.meta.url) }).then((exports) => {
  wasm = exports;
});
const hashers = new Map();

self.onmessage = async ({ data: { id, chunk, length, end, abort, md5 } }) => {
  try {
    await ready;
    if (md5) {
      self.postMessage({ id, md5: md5Hex(new Uint8Array(md5, 0, length)), chunk: md5 }, [md5]);
      return;
    }
    if (abort) {
      hashers.get(id)?.free();
      hashers.delete(id);
      return;
    }
    let hasher = hashers.get(id);
    if (!hasher) hashers.set(id, (hasher = new Sha1()));
    if (chunk) {
      // Piece by piece through the hasher's stage in wasm memory: each piece is hashed while it is
      // still in the CPU's cache, and no window-sized buffer is allocated in wasm memory.
      const stage = hasher.stage();
      for (let at = 0; at < length; at += STAGE) {
        const n = Math.min(STAGE, length - at);
        new Uint8Array(wasm.memory.buffer, stage, n).set(new Uint8Array(chunk, at, n));
        hasher.updateStaged(n);
      }
      self.postMessage({ id, ack: true, chunk }, [chunk]);
    }
    if (end) {
      hashers.delete(id);
      self.postMessage({ id, sha: hasher.finish() });
    }
  } catch (e) {
    hashers.delete(id);
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};
