// vod-ugc-uploader: the package entry. The upload's logic — the protocol as a state machine, and the
// digests — is the WebAssembly module built from the Rust core (./wasm); the modules here are the
// browser edge that drives it: they check the arguments, read the file, run the hash worker, send the
// requests, keep the hash cache, and call the app back.
import { cachedSha, forget, remember } from './cache.js';
import { drive, reporter } from './drive.js';
import { UploadError, abortError } from './errors.js';
import { hashPass } from './hash-pass.js';
import { internals } from './internal.js';
import { checkFile, hashOptions, uploadOptions } from './options.js';
import { Throttle, gateWith } from './throttle.js';
import { load } from './wasm.js';
import { HashMeter, Upload } from './wasm/vod_ugc_uploader.js';

export { UploadError };

/** FinishUploadEx's code when the assembled file's SHA-1 is not `fileSha`. */
const SHA_MISMATCH = -10006;

/** Loads and compiles the wasm module once; `upload` and `hashFile` call it for you. */
export function ready() {
  return load();
}

/**
 * Uploads a File: hash, signature, InitUploadEx, UploadPartEx × N, FinishUploadEx.
 * @param {File} file
 * @param {import('./index.js').UploadOptions} options
 * @returns {Promise<import('./index.js').UploadResult>}
 */
export async function upload(file, options) {
  await load();
  checkFile(file, 'upload');
  const { getSignature, onProgress, signal, endpoint, partSize, concurrency, retries, retryDelay, timeout, hashCache, maxBytesPerSecond } = uploadOptions(options);
  // The queue's and the recorder's hooks (internal.js), and this call's bandwidth cap.
  const inside = internals.get(/** @type {object} */ (options));
  const gate = gateWith(inside?.gate, maxBytesPerSecond ? new Throttle(maxBytesPerSecond) : null);
  const controller = linkedController(signal);
  const report = reporter(onProgress);
  let job;
  try {
    // An empty file is not hashed: the machine refuses it at once.
    const hash = () => fileSha(file, hashCache, controller.signal, report);
    const sha = file.size === 0 ? '' : inside?.sha ?? await (inside?.hashTurn ? inside.hashTurn(hash) : hash());
    job = new Upload(file.name, file.size, sha, endpoint, partSize, concurrency, retries, retryDelay);
    return await drive(job, { file, signal: controller.signal, getSignature, report, timeoutMs: timeout, gate, partMd5: inside?.partMd5 });
  } catch (error) {
    // The server assembled bytes whose SHA-1 is not the one sent: never trust that hash again.
    if (error instanceof UploadError && error.step === 'finish' && error.code === SHA_MISMATCH) void forget(file);
    throw error;
  } finally {
    // Whatever is still in flight (reads ahead, the other parts after a failure) stops.
    controller.abort();
    job?.free();
  }
}

/**
 * SHA-1 of a whole File, lowercase hex, streamed (hashed in a Web Worker where one can be started).
 * @param {File} file
 * @param {import('./index.js').HashOptions} [options]
 * @returns {Promise<string>}
 */
export async function hashFile(file, options) {
  await load();
  checkFile(file, 'hashFile');
  const { onProgress, signal } = hashOptions(options ?? {});
  const controller = linkedController(signal);
  try {
    return await hashPass(file, controller.signal, reporter(onProgress));
  } finally {
    controller.abort();
  }
}

/**
 * The file's SHA-1: from the hash cache where it has the file, else from a hash pass (remembered).
 * @param {File} file
 * @param {boolean} hashCache
 * @param {AbortSignal} signal
 * @param {(progress: import('./index.js').UploadProgress) => void} report
 */
async function fileSha(file, hashCache, signal, report) {
  const cached = hashCache ? await cachedSha(file) : null;
  if (cached) {
    const meter = new HashMeter(file.size);
    report(meter.advance(file.size));
    meter.free();
    return cached;
  }
  const sha = await hashPass(file, signal, report);
  if (hashCache) await remember(file, sha);
  return sha;
}

/**
 * An AbortController for one call that follows the caller's `signal` (if any), so the call can also
 * cancel its own stragglers when it ends; the listener goes when the controller aborts. Throws an
 * `AbortError` if `signal` already fired.
 * @param {AbortSignal | undefined} signal
 */
function linkedController(signal) {
  if (signal?.aborted) throw abortError();
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(), { once: true, signal: controller.signal });
  return controller;
}
