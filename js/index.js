// vod-ugc-uploader: the package entry. The upload's logic — the protocol as a state machine, and the
// digests — is the WebAssembly module built from the Rust core (./wasm); the modules here are the
// edge that drives it: they check the arguments, open the source, read the file, run the hash worker,
// send the requests, keep the hash cache and the pending uploads, and call the app back.
import { cachedSha, forget, remember } from './cache.js';
import { drive, reporter } from './drive.js';
import { UploadError, abortError, failure, hashRefused } from './errors.js';
import { hashPass } from './hash-pass.js';
import { warmHash } from './hasher.js';
import { internals } from './internal.js';
import { hashOptions, uploadOptions } from './options.js';
import { tracker } from './pending.js';
import { openSource } from './source.js';
import { load, wasm } from './wasm.js';

export { UploadError };
export { pendingUploads } from './pending.js';

/**
 * Loads and compiles the wasm module once, and starts the hash worker; `upload` and `hashFile` call it
 * for you. Called early (when the file input appears), it takes that start-up off the first upload.
 */
export function ready() {
  warmHash();
  return load();
}

/**
 * Uploads a File, a named Blob or a file handle's file: hash, signature, InitUploadEx, UploadPartEx × N,
 * FinishUploadEx. Kept as a pending upload from InitUploadEx on, until it is over.
 * @param {File | Blob | FileSystemFileHandle} source
 * @param {import('./index.js').UploadOptions} options
 * @returns {Promise<import('./index.js').UploadResult>}
 */
export async function upload(source, options) {
  await ready();
  const { getSignature, onProgress, signal, endpoint, partSize, concurrency, retries, retryDelay, timeout, hashCache, fileName, maxBytesPerSecond, keepAwake } = uploadOptions(options);
  // The queue's hooks (internal.js).
  const inside = internals.get(/** @type {object} */ (options));
  // The cap's code and keepAwake's are loaded by the uploads that use them: a page that sets neither
  // downloads neither.
  const capped = maxBytesPerSecond ? await import('./throttle.js').then((t) => t.gateWith(inside?.gate, new t.Throttle(maxBytesPerSecond))) : inside?.gate;
  const gate = keepAwake ? (await import('./awake.js')).awake(capped) : capped;
  const { file, handle } = await openSource(source, fileName, 'upload');
  const controller = linkedController(signal);
  const report = reporter(onProgress);
  let job;
  /** The instance `job` was made by. */
  let instance = null;
  /** @type {ReturnType<typeof tracker> | undefined} */
  let pending;
  try {
    // An empty file is not hashed: the machine refuses it at once.
    const hash = () => fileSha(file, hashCache, controller.signal, report);
    const sha = file.size === 0 ? '' : await (inside?.hashTurn ? inside.hashTurn(hash) : hash());
    // The hash pass may have dropped a failed instance: the upload gets the current one.
    await load();
    instance = wasm();
    job = new instance.Upload(file.name, file.size, sha, endpoint, partSize, concurrency, retries, retryDelay);
    pending = sha ? tracker(file, handle, sha, job.fileType) : undefined;
    /** @param {import('./index.js').UploadProgress} progress */
    const tracked = (progress) => {
      // The first uploading report comes once InitUploadEx opened (or found) the session.
      if (progress.phase === 'uploading') pending?.uploading(progress.loaded);
      report(progress);
    };
    const result = await drive(job, { file, signal: controller.signal, getSignature, report: tracked, timeoutMs: timeout, gate });
    await pending?.finished();
    return result;
  } catch (thrown) {
    // What the hash pass or the job's making threw from inside the wasm fails the upload at 'hash'.
    const error = failure(thrown, 'hash', instance ?? wasm());
    // The core's verdicts: the hash sent is wrong (never trust it again); the file was refused for
    // good (resuming cannot work). An abort keeps the pending upload.
    if (hashRefused.has(error)) void forget(file);
    await pending?.settle(error instanceof UploadError && !error.resumable);
    throw error;
  } finally {
    // Whatever is still in flight (reads ahead, the other parts after a failure) stops.
    controller.abort();
    // A dropped instance is not called again.
    if (instance && instance === wasm()) job?.free();
  }
}

/**
 * SHA-1 of a whole File, Blob or file handle's file, lowercase hex, streamed (hashed in a worker
 * where one can be started).
 * @param {File | Blob | FileSystemFileHandle} source
 * @param {import('./index.js').HashOptions} [options]
 * @returns {Promise<string>}
 */
export async function hashFile(source, options) {
  await ready();
  const { onProgress, signal } = hashOptions(options ?? {});
  const { file } = await openSource(source, undefined, 'hashFile');
  const controller = linkedController(signal);
  const instance = wasm();
  try {
    return await hashPass(file, controller.signal, reporter(onProgress));
  } catch (error) {
    throw failure(error, 'hash', instance);
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
  const known = hashCache ? await cachedSha(file) : null;
  if (known) {
    const meter = new (wasm().Meter)(file.size);
    report(meter.at(file.size, file.size));
    meter.free();
    return known;
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
