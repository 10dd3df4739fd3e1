// The package's types. The option, progress and result types are generated from the Rust sources
// (src/web/types.rs) into ./wasm/vod_ugc_uploader.d.ts; this file re-exports them.
import type { UploadOptions, UploadResult, UploadStep, HashOptions } from './wasm/vod_ugc_uploader.js';

export type {
  UploadOptions,
  UploadProgress,
  UploadResult,
  UploadStep,
  UploadPhase,
  SignatureRequest,
  HashOptions,
} from './wasm/vod_ugc_uploader.js';

/** Uploads a File: hash, signature, InitUploadEx, UploadPartEx × N, FinishUploadEx. */
export declare function upload(file: File, options: UploadOptions): Promise<UploadResult>;

/** SHA-1 of a whole File, lowercase hex, streamed. */
export declare function hashFile(file: File, options?: HashOptions): Promise<string>;

/** Loads the WebAssembly module ahead of the first call (optional). */
export declare function ready(): Promise<void>;

export interface UploadErrorDetails {
  code?: number | null;
  canRetry?: boolean;
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
  readonly step: UploadStep;
}

