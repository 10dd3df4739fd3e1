// vod-ugc-uploader/sign: the app backend's half of an upload, for Node (>= 20). The browser asks the
// backend for a signature (the `getSignature` option); the backend signs what the browser will upload
// with the secret key, which never leaves the server. After the upload, the browser reports the
// result's `verifyContent`, which the backend checks before it trusts the fileId.
//
// The formats are the protocol's (docs/protocol.md, "The signature" and FinishUploadEx):
//   signature      = Base64( HMAC-SHA1(secretKey, original) ++ original ), original a query string
//   verify_content = Base64( hex(HMAC-SHA1(verifyKey, plain)) ++ plain ), plain = ExpTime=<unix>&FileId=<id>
// and vod-server's events (server/README.md, "Events"): X-Vod-Signature = sha256=hex(HMAC-SHA256(eventKey, body)).
// Node's own crypto does the work: this module has no dependency and is not part of any browser bundle
// (package.json exports it under the `node` condition only).
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/** The longest a signature may be valid, `e - t`, in seconds: 90 days. */
export const MAX_LIFETIME = 7_776_000;
/** The longest file name, in characters (Unicode scalar values). */
export const MAX_NAME_CHARS = 40;

const FORBIDDEN = /[\\/:*?"<>|]/;
// Control characters, and the bidirectional controls that make a name read as another
// ("movie\u202E4pm.exe" shows as "movieexe.mp4").
const INVISIBLE = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/**
 * Signs one file's upload. Returns the signature string the browser's `getSignature` resolves with.
 * Throws a TypeError (and signs nothing) for an argument the server would refuse.
 * @param {import('./sign.js').SignOptions} options
 * @returns {string}
 */
export function signUpload(options) {
  const o = options ?? /** @type {any} */ ({});
  const secretId = text(o.secretId, 'secretId');
  const secretKey = text(o.secretKey, 'secretKey');
  const uid = text(o.uid, 'uid');
  if (typeof o.fileSha !== 'string' || !/^[0-9a-fA-F]{40}$/.test(o.fileSha)) fail('fileSha must be the SHA-1 of the file, 40 hex digits');
  const fileName = checkName(o.fileName);
  const fileType = o.fileType ?? extension(fileName);
  if (typeof fileType !== 'string' || !/^[0-9A-Za-z]{1,16}$/.test(fileType)) fail(`fileType must be 1 to 16 ASCII letters or digits (the extension without the dot), not ${JSON.stringify(fileType)}`);
  const now = o.now ?? Math.floor(Date.now() / 1000);
  wholeNumber(now, 'now', 0, Number.MAX_SAFE_INTEGER);
  const lifetime = o.lifetime ?? 3600;
  wholeNumber(lifetime, 'lifetime', 1, MAX_LIFETIME);
  const random = o.random ?? randomInt(0, 2 ** 32 - 1);
  wholeNumber(random, 'random', 0, 9_999_999_999);

  const fields = new URLSearchParams();
  fields.append('s', secretId);
  fields.append('t', String(now));
  fields.append('e', String(now + lifetime));
  fields.append('r', String(random));
  fields.append('f', fileName);
  fields.append('fs', o.fileSha.toLowerCase());
  fields.append('ft', fileType.toLowerCase());
  fields.append('uid', uid);
  for (const [field, flag] of /** @type {const} */ ([['tc', 'transcode'], ['ss', 'screenshot'], ['wm', 'watermark']])) {
    const value = o[flag];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') fail(`${flag} must be true or false`);
    fields.append(field, value ? '1' : '0');
  }
  if (o.classId !== undefined) fields.append('cid', String(wholeNumber(o.classId, 'classId', 0, Number.MAX_SAFE_INTEGER)));
  const tags = o.tags ?? [];
  if (!Array.isArray(tags) || tags.length > 10) fail('tags must be an array of at most 10 strings');
  tags.forEach((tag, i) => {
    if (typeof tag !== 'string' || !tag || Buffer.byteLength(tag) > 128 || INVISIBLE.test(tag)) fail(`tags[${i}] must be a non-empty string of at most 128 bytes without control characters`);
    fields.append(`tag.${i}`, tag);
  });
  return signOriginal(fields.toString(), secretKey);
}

/**
 * Signs an `original` query string as it is: `Base64(HMAC-SHA1(secretKey, original) ++ original)`.
 * For fields this module does not know; `signUpload` builds and checks the string for you.
 * @param {string} original
 * @param {string} secretKey
 * @returns {string}
 */
export function signOriginal(original, secretKey) {
  const mac = createHmac('sha1', text(secretKey, 'secretKey')).update(original, 'utf8').digest();
  return Buffer.concat([mac, Buffer.from(original, 'utf8')]).toString('base64');
}

/**
 * Checks a `verifyContent` a browser reported (the upload result's field, the server's
 * `verify_content`): the MAC with the verify key, in constant time, then the expiry. Returns the
 * fileId it vouches for and when that proof expires; throws an Error saying why it is not to be trusted.
 * @param {string} verifyContent
 * @param {{ verifyKey: string, now?: number }} options `now` in Unix seconds (default: the clock)
 * @returns {{ fileId: string, expTime: number }}
 */
export function verifyContent(verifyContent, { verifyKey, now = Math.floor(Date.now() / 1000) }) {
  const key = text(verifyKey, 'verifyKey');
  if (typeof verifyContent !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(verifyContent.trim())) throw new Error('verifyContent is not Base64');
  const raw = Buffer.from(verifyContent.trim(), 'base64');
  if (raw.length <= 40) throw new Error('verifyContent is too short');
  const given = raw.subarray(0, 40);
  const plain = raw.subarray(40);
  const expected = Buffer.from(createHmac('sha1', key).update(plain).digest('hex'), 'latin1');
  if (!timingSafeEqual(given, expected)) throw new Error('verifyContent does not match the verify key');
  const fields = new URLSearchParams(plain.toString('utf8'));
  const expTime = Number(fields.get('ExpTime'));
  const fileId = fields.get('FileId');
  if (!Number.isSafeInteger(expTime) || !fileId) throw new Error('verifyContent lacks ExpTime or FileId');
  if (now >= expTime) throw new Error(`verifyContent expired at ${expTime}`);
  return { fileId, expTime };
}

/** The header vod-server's events carry their MAC in (lowercase, as Node's `req.headers` has it). */
export const EVENT_SIGNATURE_HEADER = 'x-vod-signature';

/**
 * Checks an event vod-server POSTed (an upload-complete event, or seed 000's notifyUrl callback): the
 * `X-Vod-Signature` header, `sha256=` and the hex of HMAC-SHA256(eventKey, body), over the body's
 * exact bytes, in constant time. Returns the parsed event; throws an Error saying why it is not to be
 * trusted. De-duplicate by its `eventId`: an event may come more than once.
 * @param {string | Uint8Array} body the body exactly as received (not JSON parsed and serialized again)
 * @param {string | string[] | undefined | null} signature the header's value
 * @param {{ eventKey: string }} options
 * @returns {any}
 */
export function verifyEvent(body, signature, { eventKey }) {
  const key = text(eventKey, 'eventKey');
  /** @type {Buffer} */
  let bytes;
  if (typeof body === 'string') bytes = Buffer.from(body, 'utf8');
  else if (body instanceof Uint8Array) bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else fail('the event body must be the raw body: a string or bytes');
  const given = /^sha256=([0-9a-f]{64})$/.exec(String(signature ?? '').trim());
  if (!given) throw new Error('the event has no X-Vod-Signature of the form sha256=<64 hex digits>');
  const expected = createHmac('sha256', key).update(bytes).digest();
  if (!timingSafeEqual(Buffer.from(given[1], 'hex'), expected)) throw new Error("the event's MAC does not match the event key");
  return JSON.parse(bytes.toString('utf8'));
}

/**
 * A file name the signature can carry: 1 to 40 characters, none of `\ / : * ? " < > |`, no control
 * or bidirectional-control character, not `.` or `..`.
 * @param {unknown} name
 */
function checkName(name) {
  if (typeof name !== 'string' || !name) fail('fileName must be a non-empty string');
  const chars = [...name].length;
  if (chars > MAX_NAME_CHARS) fail(`fileName is ${chars} characters, more than ${MAX_NAME_CHARS}`);
  if (!name.isWellFormed()) fail('fileName has a lone surrogate (not valid Unicode)');
  if (FORBIDDEN.test(name) || INVISIBLE.test(name)) fail(`fileName ${JSON.stringify(name)} has a character a file name cannot have (\\ / : * ? " < > |, a control or a bidirectional control)`);
  if (name === '.' || name === '..') fail('fileName is a path component');
  return name;
}

/** @param {string} name */
function extension(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1) : '';
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {string}
 */
function text(value, what) {
  if (typeof value !== 'string' || !value) fail(`${what} must be a non-empty string`);
  return /** @type {string} */ (value);
}

/**
 * @param {unknown} value
 * @param {string} what
 * @param {number} min
 * @param {number} max
 */
function wholeNumber(value, what, min, max) {
  if (!Number.isSafeInteger(value) || /** @type {number} */ (value) < min || /** @type {number} */ (value) > max) fail(`${what} must be a whole number from ${min} to ${max}, not ${String(value)}`);
  return /** @type {number} */ (value);
}

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  throw new TypeError(`vod-ugc-uploader/sign: ${message}`);
}
