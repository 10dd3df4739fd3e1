// The errors an upload rejects with, and failures put in words for messages.

/**
 * A failed upload: `step` says where, `code` is the server's code (or null), `canRetry` whether trying
 * again later may work, `resumable` whether a later upload of the file takes up where this one stopped.
 */
export class UploadError extends Error {
  /**
   * @param {string} message
   * @param {import('./index.js').UploadErrorDetails} [details]
   */
  constructor(message, { code = null, canRetry = false, resumable = true, step, cause } = /** @type {any} */ ({})) {
    super(message, cause === undefined ? undefined : { cause });
    /** @type {'UploadError'} */
    this.name = 'UploadError';
    this.code = code;
    this.canRetry = canRetry;
    this.resumable = resumable;
    this.step = step;
  }
}

/**
 * A failure as the wasm describes it (src/web/error.rs): `resumable` and `hashRefused` are the core's
 * verdicts, `cause` is what came back, or the failure in words.
 * @typedef {{ message: string, code: number | null, canRetry: boolean, resumable: boolean, hashRefused: boolean,
 *   step: import('./index.js').UploadStep, cause: object | string | undefined, aborted: boolean }} Failure
 */

/** The errors whose upload the server assembled into other bytes than the hash sent: that hash is wrong. */
export const hashRefused = new WeakSet();

/** What an aborted call rejects with. */
export function abortError() {
  return new DOMException('The upload was aborted.', 'AbortError');
}

/**
 * The error a failed upload rejects with: an `UploadError`, or an `AbortError` for an abort.
 * @param {Failure} failure
 * @returns {Error}
 */
export function uploadError({ message, code, canRetry, resumable, hashRefused: refused, step, cause, aborted }) {
  if (aborted) return abortError();
  const error = new UploadError(message, { code, canRetry, resumable, step, cause: typeof cause === 'string' ? new Error(cause) : cause });
  if (refused) hashRefused.add(error);
  return error;
}

/**
 * What was thrown, in words: `Name: message` for an Error.
 * @param {unknown} error
 */
export function describe(error) {
  if (!(error instanceof Error)) return typeof error === 'string' ? error : shown(error);
  return error.message ? `${error.name}: ${error.message}` : error.name;
}

/**
 * A value as a message shows it: as JSON where it has a JSON form.
 * @param {unknown} value
 */
export function shown(value) {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
