// The errors an upload rejects with, and failures put in words for messages.
import { drop } from './wasm.js';

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
  // A file name or a server's text in the message, shown as it is: its bidirectional controls, which
  // would reorder the text around them, written as \u{…}.
  message = message.replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
  const error = new UploadError(message, { code, canRetry, resumable, step, cause: typeof cause === 'string' ? new Error(cause) : cause });
  if (refused) hashRefused.add(error);
  return error;
}

/**
 * What a call rejects with when `error` was thrown inside the package's work at `step`: an
 * `UploadError` or `AbortError` as it is; anything else came out of the wasm (a trap, or an exception
 * thrown through it), so `from`, the instance the call used, is dropped (the next call gets a fresh
 * one), and the call fails with an `UploadError` that says so.
 * @param {unknown} error
 * @param {import('./index.js').UploadStep} step
 * @param {import('./wasm.js').Glue | null} from
 * @returns {Error}
 */
export function failure(error, step, from) {
  if (error instanceof UploadError || (error instanceof Error && error.name === 'AbortError')) return error;
  drop(from);
  const message = `the ${step} step failed inside the uploader's WebAssembly (${describe(error).slice(0, 300)}); the next call gets a fresh instance`;
  return new UploadError(message, { step, canRetry: true, cause: error });
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
