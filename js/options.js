// The arguments of `upload()` and `hashFile()`, checked before any work starts: a TypeError names
// what is wrong. Defaults of the browser edge are set here; the protocol options left out take the
// core's defaults in the wasm (Options::default: endpoint, part size, concurrency, retries, retry delay).
import { shown } from './errors.js';
import { PartSize } from './wasm/vod_ugc_uploader.js';

/**
 * A call that moves no byte of its body, or gets no byte of its answer once the body is sent, for
 * this many ms fails (and is retried): a stall, not a length, so a slow link finishes.
 */
const DEFAULT_TIMEOUT_MS = 30000;

/**
 * `upload()`'s options, checked, with the edge's defaults.
 * @typedef {object} Checked
 * @property {(request: import('./index.js').SignatureRequest) => string | Promise<string>} getSignature
 * @property {(progress: import('./index.js').UploadProgress) => void} [onProgress]
 * @property {AbortSignal} [signal]
 * @property {string | undefined} endpoint
 * @property {number | undefined} partSize
 * @property {number | undefined} concurrency
 * @property {number | undefined} retries
 * @property {number | undefined} retryDelay
 * @property {number} timeout
 * @property {boolean} hashCache
 * @property {number | undefined} maxBytesPerSecond
 * @property {boolean} keepAwake
 * @property {string | undefined} fileName names a Blob (checked with the source, js/source.js)
 */

/**
 * `upload()`'s options, checked: throws a TypeError for anything the protocol or the package does
 * not allow.
 * @param {unknown} options
 * @returns {Checked}
 */
export function uploadOptions(options) {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('upload(source, options): options must be an object with a getSignature function');
  }
  const o = /** @type {Record<string, unknown>} */ (options);
  const { getSignature, endpoint, partSize, hashCache } = o;
  if (typeof getSignature !== 'function') {
    throw new TypeError('options.getSignature must be a function ({ fileSha, fileName, fileType, fileSize }) => signature string or Promise of one');
  }
  if (endpoint !== undefined && !(typeof endpoint === 'string' && endpoint.trim())) {
    throw new TypeError('options.endpoint must be a URL string');
  }
  if (partSize !== undefined && partSize !== PartSize.Small && partSize !== PartSize.Large) {
    throw new TypeError(`options.partSize must be ${PartSize.Small} or ${PartSize.Large} (the sizes InitUploadEx allows), not ${shown(partSize)}`);
  }
  if (hashCache !== undefined && typeof hashCache !== 'boolean') throw new TypeError('options.hashCache must be a boolean');
  if (o.keepAwake !== undefined && typeof o.keepAwake !== 'boolean') throw new TypeError('options.keepAwake must be a boolean');
  return {
    getSignature: /** @type {Checked['getSignature']} */ (getSignature),
    ...hashOptions(o),
    endpoint,
    partSize,
    concurrency: integer(o, 'concurrency', 1, 16),
    retries: integer(o, 'retries', 0, 100),
    retryDelay: integer(o, 'retryDelay', 0, 60000),
    timeout: integer(o, 'timeout', 1000, 3600000) ?? DEFAULT_TIMEOUT_MS,
    hashCache: hashCache ?? true,
    maxBytesPerSecond: byteRate(o.maxBytesPerSecond, 'options.maxBytesPerSecond'),
    fileName: /** @type {string | undefined} */ (o.fileName),
    keepAwake: o.keepAwake === true,
  };
}

/**
 * The `onProgress` and `signal` options, which `upload()` and `hashFile()` share, checked.
 * @param {any} options
 * @returns {import('./index.js').HashOptions}
 */
export function hashOptions(options) {
  const { onProgress, signal } = options ?? {};
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('options.onProgress must be a function');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
  return { onProgress, signal };
}

/**
 * An integer option in `min..=max`, or undefined where absent.
 * @param {Record<string, unknown>} options
 * @param {string} key
 * @param {number} min
 * @param {number} max
 * @returns {number | undefined}
 */
function integer(options, key, min, max) {
  const n = options[key];
  if (n === undefined || (Number.isInteger(n) && /** @type {number} */ (n) >= min && /** @type {number} */ (n) <= max)) return /** @type {number | undefined} */ (n);
  throw new TypeError(`options.${key} must be an integer from ${min} to ${max}, not ${shown(n)}`);
}

/**
 * A bandwidth cap: a finite number of bytes per second above 0, or undefined for none.
 * @param {unknown} n
 * @param {string} what the option, for the message
 * @returns {number | undefined}
 */
export function byteRate(n, what) {
  if (n === undefined || (typeof n === 'number' && Number.isFinite(n) && n > 0)) return n;
  throw new TypeError(`${what} must be a number of bytes per second above 0, or undefined for no cap, not ${shown(n)}`);
}
