// The types of the optional entry `vod-ugc-uploader/record` (record.js).
import type { UploadOptions, UploadProgress, UploadResult } from './index.js';

export type { UploadOptions, UploadResult } from './index.js';

/** A report at each chunk recorded (`loaded` = the size of the file so far, `total` the same), then the upload's (its hash pass included). */
export interface RecordProgress extends Omit<UploadProgress, 'phase'> {
  phase: UploadProgress['phase'] | 'recording';
}

export interface RecordOptions extends Omit<UploadOptions, 'onProgress' | 'hashCache'> {
  /** The recording's format; default: the first of WebM/VP9, WebM, MP4 this browser records. */
  mimeType?: string;
  /** The uploaded file's name; default `recording-<ISO time>.<webm|mp4>` (the time in ISO 8601's basic format, e.g. `recording-20261201T183100Z.webm`: the protocol's file names allow no `:`). */
  fileName?: string;
  /**
   * Aborting stops the recording (or its upload): `result` rejects with an AbortError. Aborted while
   * recording, the recording is deleted; aborted while uploading, it is kept (see `pendingUploads`).
   */
  signal?: AbortSignal;
  onProgress?: (progress: RecordProgress) => void;
}

export interface Recording {
  /**
   * Stops recording; the upload then starts (a WebM after a hash pass over it, as its head was
   * rewritten with its duration and seek index; another format at once, hashed while recording).
   */
  stop(): void;
  /**
   * The upload's result, once the recording has stopped and been uploaded. Where it rejects (other than
   * for an abort while recording), the recording is kept: `pendingUploads()` lists it, its `file()`
   * gives it back and `upload(file, options)` resumes it.
   */
  result: Promise<UploadResult>;
}

/**
 * Records `stream` until `stop()` or until all its tracks end, then uploads the recording. From its
 * first chunk (a second) it is stored and listed by `pendingUploads()` (`recording: true` meanwhile),
 * until its upload finished or `forget()`.
 */
export declare function recordUpload(stream: MediaStream, options: RecordOptions): Recording;
