// The types of the optional entry `vod-ugc-uploader/queue` (queue.js).
import type { UploadOptions, UploadResult } from './index.js';

export type { UploadOptions, UploadResult } from './index.js';

/** The queue's progress, over all its files. */
export interface QueueProgress {
  /** Files settled: uploaded, failed or cancelled. */
  filesDone: number;
  /** Files added. */
  filesTotal: number;
  /** Bytes the server acknowledged, over the files not failed or cancelled. */
  loaded: number;
  /** Bytes of the files not failed or cancelled. */
  total: number;
  /** Over the last seconds; 0 until measured. */
  bytesPerSecond: number;
  /** Seconds left at that speed; null until measured. */
  etaSeconds: number | null;
}

export interface QueueOptions extends Partial<Omit<UploadOptions, 'onProgress' | 'concurrency' | 'signal'>> {
  /** UploadPartEx calls in flight at once, across all the queue's files (InitUploadEx and FinishUploadEx not counted). 1 to 64, default 4. */
  concurrency?: number;
  /** A bandwidth cap for all the queue's files together, in bytes per second. Default: no cap. */
  maxBytesPerSecond?: number;
  /** The queue's progress, after each file's report and when a file settles. */
  onProgress?: (progress: QueueProgress) => void;
}

export interface UploadQueue {
  /**
   * Adds a file: its upload takes `options` over the queue's (its own `onProgress` and `signal` too;
   * `maxBytesPerSecond` here caps this file within the queue's cap).
   */
  add(file: File, options?: Partial<UploadOptions>): Promise<UploadResult>;
  /** No part starts until `resume()`; the parts in flight finish. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Cancels that file's upload, or every file's: their `add()` promises reject with an AbortError. */
  cancel(file?: File): void;
  /** Changes the queue's cap at once, for the parts not started yet; undefined lifts it. */
  setMaxBytesPerSecond(bytesPerSecond: number | undefined): void;
}

/** A queue whose files share one budget of parts in flight and one bandwidth cap. */
export declare function createQueue(options?: QueueOptions): UploadQueue;
