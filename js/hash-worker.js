// The hash worker: the page's thread reads the file and transfers it here window by window; this
// thread only hashes, so reading and hashing overlap. Messages in: {id, chunk}, {id, end},
// {id, abort}; out: {id, ack} after each window, {id, sha} or {id, error} at the end.
import init, { Sha1 } from './wasm/vod_ugc_uploader.js';

const ready = init({ module_or_path: new URL('./wasm/vod_ugc_uploader_bg.wasm', import.meta.url) });
const hashers = new Map();

self.onmessage = async ({ data: { id, chunk, end, abort } }) => {
  try {
    await ready;
    if (abort) {
      hashers.get(id)?.free();
      hashers.delete(id);
      return;
    }
    let hasher = hashers.get(id);
    if (!hasher) hashers.set(id, (hasher = new Sha1()));
    if (chunk) {
      hasher.update(new Uint8Array(chunk));
      self.postMessage({ id, ack: true });
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
