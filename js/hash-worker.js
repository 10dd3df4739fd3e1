// The hash pass in a dedicated worker, so that hashing a large file never blocks the page. The
// package's entry module starts it; messages: {id, file} and {id, abort: true} in, {id, progress},
// {id, sha} and {id, error} out.
import init, { hashFile } from './wasm/vod_ugc_uploader.js';

const ready = init({ module_or_path: new URL('./wasm/vod_ugc_uploader_bg.wasm', import.meta.url) });
const jobs = new Map();

self.onmessage = async ({ data }) => {
  if (data.abort) {
    jobs.get(data.id)?.abort();
    return;
  }
  const controller = new AbortController();
  jobs.set(data.id, controller);
  try {
    await ready;
    const onProgress = (progress) => self.postMessage({ id: data.id, progress });
    const sha = await hashFile(data.file, { signal: controller.signal, onProgress });
    self.postMessage({ id: data.id, sha });
  } catch (e) {
    const error = { name: e?.name ?? 'Error', message: String(e?.message ?? e), code: e?.code ?? null, canRetry: Boolean(e?.canRetry), step: e?.step ?? 'hash' };
    self.postMessage({ id: data.id, error });
  } finally {
    jobs.delete(data.id);
  }
};
