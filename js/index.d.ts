// The package's types: what `upload`, `hashFile`, `pendingUploads` and `ready` take and give (index.js).

/** The step of an upload that failed. */
export type UploadStep = "hash" | "signature" | "init" | "part" | "finish";
/**
 * What the upload is doing: hashing the file, sending its parts, waiting for the server to verify it,
 * or waiting for the browser to be online again (calls in flight were let go and are sent again then).
 */
export type UploadPhase = "hashing" | "uploading" | "finishing" | "waiting";

/** What `getSignature` is asked to sign. */
export interface SignatureRequest {
  /** SHA-1 of the whole file, lowercase hex: the signature's `fs`. */
  fileSha: string;
  /** The file's name: the signature's `f`. */
  fileName: string;
  /** The name's extension, lowercase, without the dot: the signature's `ft`. */
  fileType: string;
  fileSize: number;
}

export interface UploadProgress {
  phase: UploadPhase;
  /** Bytes hashed, or bytes the server acknowledged (parts it held already included). Never goes back. */
  loaded: number;
  total: number;
  /** Smoothed over the last seconds; 0 until measured. */
  bytesPerSecond: number;
  /** Seconds left at the current speed; null until measured. */
  etaSeconds: number | null;
}

/** What `upload` and `hashFile` take: a File, a Blob (`upload` needs `options.fileName` for it), or a file handle. */
export type UploadSource = File | Blob | FileSystemFileHandle;

export interface UploadOptions {
  /**
   * Asks the app's backend for the upload signature: once after hashing, once more if the server
   * refuses it, and again before a call would carry one with less than a minute left. Each signature
   * is checked before its first use: one that is not an upload signature, is for another file
   * (`fs`), has expired (`e`) or carries a bad file name (`f`) fails the upload (step "signature")
   * before any request.
   */
  getSignature: (request: SignatureRequest) => string | Promise<string>;
  /** The file name the upload is signed with: required for a Blob; for a File or a handle, renames it. */
  fileName?: string;
  /** The API endpoint. Default: "https://vod2.qcloud.com/v2/index.php". */
  endpoint?: string;
  /** Part size asked of InitUploadEx: 524288 or 1048576 (default). A resumed upload keeps the server's. */
  partSize?: 524288 | 1048576;
  /**
   * The most parts in flight at once, 1 to 16 (default 4): the upload opens lanes up to this as the
   * link's measured speed lets a part take seconds, not minutes (README, "On slow links").
   */
  concurrency?: number;
  /** Retries per call for network failures, HTTP errors and retryable codes. Default 5. */
  retries?: number;
  /** The first retry's delay in ms, doubled each time, with jitter. Default 500. */
  retryDelay?: number;
  /**
   * The stall timeout, in ms: a call fails (and is retried) when no byte of its body leaves, or no
   * byte of its answer comes once the body is sent, for this long; however long a slow link takes
   * to carry a part, a call that moves does not time out. A getSignature not settled by then fails
   * the upload. 1000 to 3600000; default 30000.
   */
  timeout?: number;
  /**
   * Remember each file's SHA-1 in IndexedDB under its name, size and lastModified (checked again
   * against its first and last MiB), so that uploading it again, after a reload too, skips hashing.
   * Default true.
   */
  hashCache?: boolean;
  /**
   * A bandwidth cap for this upload, in bytes per second: over any two seconds, the parts started stay
   * within two seconds at the cap plus one part. Default: no cap.
   */
  maxBytesPerSecond?: number;
  /**
   * Hold a Screen Wake Lock while parts are in flight, so that a phone's screen does not turn off (and
   * the upload stop) mid-file; let go once no part has been in flight for a second, taken again when
   * the page is shown again. Nothing happens where the Wake Lock API is missing or refuses. Default false.
   */
  keepAwake?: boolean;
  /** Aborts hashing, requests in flight and pending retries; the promise rejects with an AbortError. */
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
}

export interface UploadResult {
  fileId: string;
  /** Where the stored file can be fetched. */
  url: string;
  fileSha: string;
  /** The server had the file already: nothing was uploaded. */
  instant: boolean;
  /** Bytes the server held from an earlier attempt, not sent again. */
  resumedBytes: number;
  /** Bytes sent and acknowledged by this call. */
  uploadedBytes: number;
  /** The server's proof of the fileId for the app backend to check, or null if it sent none. */
  verifyContent: string | null;
}

export interface HashOptions {
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
}

/**
 * Uploads a File, a Blob (given `options.fileName`) or a file handle's file: hash, signature,
 * InitUploadEx, UploadPartEx × N, FinishUploadEx. From InitUploadEx on it is a pending upload until it
 * finishes or the server refuses the file for good.
 */
export declare function upload(source: UploadSource, options: UploadOptions): Promise<UploadResult>;

/** SHA-1 of a whole File, Blob or file handle's file, lowercase hex, streamed. */
export declare function hashFile(source: UploadSource, options?: HashOptions): Promise<string>;

/**
 * An upload that was started in this origin and neither finished nor was refused for good; or a
 * recording (`recordUpload`) that was not uploaded yet.
 */
export interface PendingUpload {
  /** The file's SHA-1; "" for a recording whose upload has not started. */
  fileSha: string;
  fileName: string;
  /** The file's size (a recording's: of what was recorded so far). */
  fileSize: number;
  fileType: string;
  /** The file's lastModified (a Blob's: when its upload started), ms since the epoch. */
  lastModified: number;
  /** When it was first started, ms since the epoch. */
  startedAt: number;
  /** When its entry was last updated, ms since the epoch. */
  updatedAt: number;
  /** The bytes the server had acknowledged when the entry was last updated. */
  uploadedBytes: number;
  /**
   * "recording": made by `recordUpload`, its bytes kept in this browser until it is uploaded (its
   * `forget()` deletes the only copy); "file": a file the user chose, not copied.
   */
  kind: 'file' | 'recording';
  /** A recording that a page of this origin is still recording (its `file()` is null meanwhile). */
  recording: boolean;
  /**
   * The file again: a recording's as it was stored (after a crash, what was recorded up to its last
   * whole chunk); otherwise where the upload was given a file handle that still reads the same file
   * (same size and lastModified) and that the page may read (asking for permission needs a user
   * gesture). Otherwise null: ask the user for the file again (its hash is cached, so resuming is quick).
   */
  file(): Promise<File | null>;
  /** Removes the entry, and a recording's stored bytes (the server keeps the parts it holds until its session expires). */
  forget(): Promise<void>;
}

/**
 * The uploads started in this origin (this or an earlier page) that neither finished nor were refused
 * for good, and the recordings (`recordUpload`) not uploaded yet, oldest first. Resume one with
 * `upload(await entry.file(), options)`, or with its handle or a re-picked File: only the parts the
 * server lacks are sent, and the file is not hashed again.
 */
export declare function pendingUploads(): Promise<PendingUpload[]>;

/**
 * Loads the WebAssembly module and starts the hash worker ahead of the first call (optional: every call
 * does it; called when the file input appears, it takes that start-up, tens of milliseconds, off the
 * first upload).
 */
export declare function ready(): Promise<void>;

export interface UploadErrorDetails {
  code?: number | null;
  canRetry?: boolean;
  /** Default true. */
  resumable?: boolean;
  step: UploadStep;
  cause?: unknown;
}

/** A failed upload. Aborts reject with a DOMException named "AbortError" instead; invalid arguments with a TypeError. */
export declare class UploadError extends Error {
  constructor(message: string, details: UploadErrorDetails);
  readonly name: 'UploadError';
  /** The server's code (e.g. -10002), or null when the failure was not an answer of the API. */
  readonly code: number | null;
  /** Whether trying the upload again later may succeed. */
  readonly canRetry: boolean;
  /**
   * Whether a later upload of the same file can take up where this one stopped (it stays in
   * `pendingUploads()`); false where the server refused the file itself for good.
   */
  readonly resumable: boolean;
  readonly step: UploadStep;
}
