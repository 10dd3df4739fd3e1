// vod-ugc-uploader/sign: signing uploads and checking their results on an app backend (Node >= 20).

/** What `signUpload` signs: the browser's `getSignature` request, and the backend's own choices. */
export interface SignOptions {
  /** The SecretId that names the key. */
  secretId: string;
  /** The secret key: stays on the server. */
  secretKey: string;
  /** The SHA-1 of the whole file, 40 hex digits (the request's `fileSha`). */
  fileSha: string;
  /** The file name: 1 to 40 characters, none of `\ / : * ? " < > |`, no control or bidirectional control. */
  fileName: string;
  /** The extension without the dot; default: `fileName`'s. */
  fileType?: string;
  /** Accepted so that a request can be spread in as it is; a signature carries no size. */
  fileSize?: number;
  /** The app's user id (an md5 of it is recommended): the server keeps each uid's sessions apart. */
  uid: string;
  /** How long the signature is valid, in seconds: 1 to 7776000 (90 days); default 3600. */
  lifetime?: number;
  /** Ask the service to transcode (`tc`), take screenshots (`ss`), watermark (`wm`). */
  transcode?: boolean;
  screenshot?: boolean;
  watermark?: boolean;
  /** The class the file is filed under (`cid`). */
  classId?: number;
  /** At most 10 tags (`tag.0` … `tag.9`), each at most 128 bytes. */
  tags?: string[];
  /** Signing time, Unix seconds; default: the clock. */
  now?: number;
  /** The random field `r`; default: a random number. */
  random?: number;
}

/** The longest lifetime a signature may have, in seconds (90 days). */
export const MAX_LIFETIME: number;
/** The longest file name, in characters. */
export const MAX_NAME_CHARS: number;

/** A signature for one file's upload; throws a TypeError for what the server would refuse. */
export function signUpload(options: SignOptions): string;

/** Signs a prepared `original` query string as it is. */
export function signOriginal(original: string, secretKey: string): string;

/**
 * Checks an upload result's `verifyContent` with the verify key (constant-time MAC, then expiry):
 * the fileId it vouches for, or an Error saying why it is not to be trusted.
 */
export function verifyContent(verifyContent: string, options: { verifyKey: string; now?: number }): { fileId: string; expTime: number };

/** The header vod-server's events carry their MAC in: `x-vod-signature`. */
export const EVENT_SIGNATURE_HEADER: string;

/**
 * Checks an event vod-server POSTed (upload-complete, or seed 000's callback): `X-Vod-Signature` =
 * `sha256=` + hex(HMAC-SHA256(eventKey, body)) over the exact body, in constant time. Returns the parsed
 * event, or throws an Error saying why it is not to be trusted. An event may come twice: de-duplicate
 * by `eventId`.
 */
export function verifyEvent(body: string | Uint8Array, signature: string | string[] | undefined | null, options: { eventKey: string }): any;
