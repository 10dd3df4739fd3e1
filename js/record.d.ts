// The types of the optional entry `vod-ugc-uploader/record` (record.js).
import type { UploadOptions, UploadProgress, UploadResult } from './index.js';

export type { UploadOptions, UploadResult } from './index.js';

/** A report while recording (`loaded` = bytes recorded so far, `total` the same), then the upload's. */
export interface RecordProgress extends Omit<UploadProgress, 'phase'> {
  phase: UploadProgress['phase'] | 'recording';
}

export interface RecordOptions extends Omit<UploadOptions, 'onProgress' | 'hashCache'> {
  /** The recording's format; default: the first of WebM/VP9, WebM, MP4 this browser records. */
  mimeType?: string;
  /** The uploaded file's name; default `recording-<ISO time>.<webm|mp4>` (the time in ISO 8601's basic format, e.g. `recording-20261201T183100Z.webm`: the protocol's file names allow no `:`). */
  fileName?: string;
  /** Aborting stops the recording (or its upload): `result` rejects with an AbortError. */
  signal?: AbortSignal;
  onProgress?: (progress: RecordProgress) => void;
}

export interface Recording {
  /** Stops recording; the upload then starts (no hash pass: the SHA-1 was taken while recording). */
  stop(): void;
  /** The upload's result, once the recording has stopped and been uploaded. */
  result: Promise<UploadResult>;
}

/** Records `stream` until `stop()` or until all its tracks end, then uploads the recording. */
export declare function recordUpload(stream: MediaStream, options: RecordOptions): Recording;
