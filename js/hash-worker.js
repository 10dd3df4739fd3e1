// The hash worker: the page's thread reads the file and transfers it here window by window; this
// thread only hashes, so reading and hashing overlap. Messages in: {id, chunk, length}, {id, end},
// {id, abort} for a file's SHA-1, {id, md5: buffer, length} for a part's MD5; out: {id, ack, chunk}
// after each window and {id, md5, chunk} (the buffer goes back, to be read into again), {id, sha}
// or {id, error}.
import init, { Sha1, md5Hex } from './wasm/vod_ugc_uploader.js';

const ready = init({ module_or_path: new URL('./wasm/vod_ugc_uploader_bg.wasm', import.meta.url) });
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
      hasher.update(new Uint8Array(chunk, 0, length));
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
