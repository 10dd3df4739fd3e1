// vod-ugc-uploader: the package entry. The upload's logic — the protocol as a state machine, and the
// digests — is the WebAssembly module built from the Rust core (./wasm); the modules here are the
// edge that drives it: they check the arguments, open the source, read the file, run the hash worker,
// send the requests, keep the hash cache and the pending uploads, and call the app back.
import { cachedSha, forget, remember } from './cache.js';
import { drive, reporter } from './drive.js';
import { UploadError, abortError } from './errors.js';
import { hashPass } from './hash-pass.js';
import { internals } from './internal.js';
import { hashOptions, uploadOptions } from './options.js';
import { tracker } from './pending.js';
import { openSource } from './source.js';
import { load } from './wasm.js';
import { HashMeter, Upload } from './wasm/vod_ugc_uploader.js';

export { UploadError };
export { pendingUploads } from './pending.js';

/** FinishUploadEx's code when the assembled file's SHA-1 is not `fileSha`. */
const SHA_MISMATCH = -10006;
/** The code of a refused signature: the file itself was not refused. */
const SIGNATURE_REFUSED = -10002;

/** Loads and compiles the wasm module once; `upload` and `hashFile` call it for you. */
export function ready() {
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
  await load();
  const { getSignature, onProgress, signal, endpoint, partSize, concurrency, retries, retryDelay, timeout, hashCache, fileName, maxBytesPerSecond } = uploadOptions(options);
  // The queue's and the recorder's hooks (internal.js), and this call's bandwidth cap.
  const inside = internals.get(/** @type {object} */ (options));
  // The cap's code is loaded by an upload that has one: a page that sets none does not download it.
  const gate = maxBytesPerSecond ? await import('./throttle.js').then((t) => t.gateWith(inside?.gate, new t.Throttle(maxBytesPerSecond))) : inside?.gate;
  const { file, handle } = await openSource(source, fileName, 'upload');
  const controller = linkedController(signal);
  const report = reporter(onProgress);
  let job;
  /** @type {ReturnType<typeof tracker> | undefined} */
  let pending;
  try {
    // An empty file is not hashed: the machine refuses it at once.
    const hash = () => fileSha(file, hashCache, controller.signal, report);
    const sha = file.size === 0 ? '' : inside?.sha ?? await (inside?.hashTurn ? inside.hashTurn(hash) : hash());
    job = new Upload(file.name, file.size, sha, endpoint, partSize, concurrency, retries, retryDelay);
    pending = sha ? tracker(file, handle, sha, fileType(file.name)) : undefined;
    /** @param {import('./index.js').UploadProgress} progress */
    const tracked = (progress) => {
      // The first uploading report comes once InitUploadEx opened (or found) the session.
      if (progress.phase === 'uploading') pending?.uploading(progress.loaded);
      report(progress);
    };
    const result = await drive(job, { file, signal: controller.signal, getSignature, report: tracked, timeoutMs: timeout, gate, partMd5: inside?.partMd5 });
    await pending?.settle(true);
    return result;
  } catch (error) {
    // The server assembled bytes whose SHA-1 is not the one sent: never trust that hash again.
    const mismatch = error instanceof UploadError && error.step === 'finish' && error.code === SHA_MISMATCH;
    if (mismatch) void forget(file);
    await pending?.settle(refusedForGood(error));
    throw error;
  } finally {
    // Whatever is still in flight (reads ahead, the other parts after a failure) stops.
    controller.abort();
    job?.free();
  }
}

/**
 * Whether the server refused the file itself, so that resuming it cannot work: a code with
 * `canRetry` false, other than a refused signature (a new signature may work).
 * @param {unknown} error
 */
function refusedForGood(error) {
  return error instanceof UploadError && error.code !== null && !error.canRetry && error.code !== SIGNATURE_REFUSED;
}

/**
 * The protocol's file type of a name: its extension, lowercase, without the dot (as the core's).
 * @param {string} name
 */
function fileType(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : '';
}

/**
 * SHA-1 of a whole File, Blob or file handle's file, lowercase hex, streamed (hashed in a worker
 * where one can be started).
 * @param {File | Blob | FileSystemFileHandle} source
 * @param {import('./index.js').HashOptions} [options]
 * @returns {Promise<string>}
 */
export async function hashFile(source, options) {
  await load();
  const { onProgress, signal } = hashOptions(options ?? {});
  const { file } = await openSource(source, undefined, 'hashFile');
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
  const known = hashCache ? await cachedSha(file) : null;
  if (known) {
    const meter = new HashMeter(file.size);
    report(meter.advance(file.size));
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
