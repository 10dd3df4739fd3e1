// vod-ugc-uploader/queue: many files through one queue. The files share one budget of parts in
// flight (`concurrency` counts UploadPartEx calls across files) and one bandwidth cap; one file is
// hashed at a time while the earlier ones upload; a file that fails does not stop the others. Each
// file is an `upload()` of the main entry, given the queue's gate and hash turn (internal.js).
import { abortError } from './errors.js';
import { upload } from './index.js';
import { internals } from './internal.js';
import { byteRate, hashOptions } from './options.js';
import { Throttle, gateWith } from './throttle.js';
import { load, wasm } from './wasm.js';

/**
 * A queue of uploads.
 * @param {import('./queue.js').QueueOptions} [options]
 * @returns {import('./queue.js').UploadQueue}
 */
export function createQueue(options = {}) {
  if (typeof options !== 'object' || options === null) throw new TypeError('createQueue(options): options must be an object');
  const { concurrency = 4, maxBytesPerSecond, onProgress, ...defaults } = options;
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64)) {
    throw new TypeError(`options.concurrency must be an integer from 1 to 64, not ${String(concurrency)}`);
  }
  const throttle = new Throttle(byteRate(maxBytesPerSecond, 'options.maxBytesPerSecond'));
  hashOptions({ onProgress });
  const lanes = new Lanes(concurrency);
  const files = new Lanes(concurrency + 1);
  /** @type {Set<Entry>} the files not settled yet */
  const pending = new Set();
  /** @type {{ glue: import('./wasm.js').Glue, meter: import('./wasm/vod_ugc_uploader.js').Meter } | null} */
  let speed = null;
  let wasmReady = false;
  load().then(() => { wasmReady = true; }, () => {});
  /**
   * The queue's speed by the core's meter, kept in the current wasm instance (a failed upload may
   * have dropped the one it was in: the next instance gets a meter of its own).
   * @param {number} done
   * @param {number} total
   */
  const measure = (done, total) => {
    const glue = wasmReady ? wasm() : null;
    try {
      if (glue && speed?.glue !== glue) speed = { glue, meter: new glue.Meter(0) };
      return speed?.meter.at(done, total);
    } catch {
      speed = null;
    }
  };
  let added = 0;
  let settled = 0;
  let doneBytes = 0;
  let doneTotal = 0;
  /** @type {Promise<unknown>} the last file's hash pass: the next one waits for it */
  let hashing = Promise.resolve();

  const report = () => {
    let loaded = doneBytes;
    let total = doneTotal;
    for (const entry of pending) {
      loaded += entry.sent;
      total += entry.size;
    }
    const { bytesPerSecond, etaSeconds } = measure(loaded, total) ?? { bytesPerSecond: 0, etaSeconds: null };
    try {
      onProgress?.({ filesDone: settled, filesTotal: added, loaded, total, bytesPerSecond, etaSeconds });
    } catch (error) {
      console.warn('vod-ugc-uploader: the queue\'s onProgress threw', error);
    }
  };

  return {
    add(source, callOptions = {}) {
      const rank = added++;
      const controller = new AbortController();
      const { signal } = hashOptions(callOptions);
      if (signal?.aborted) controller.abort();
      signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true, signal: controller.signal });
      /** @type {Entry} */
      const entry = { source, controller, size: source instanceof Blob ? source.size : 0, sent: 0, free: () => {} };
      pending.add(entry);
      const callProgress = callOptions.onProgress;
      /** @type {import('./index.js').UploadOptions} */
      const fileOptions = {
        concurrency: Math.min(concurrency, 16),
        .../** @type {any} */ (defaults),
        ...callOptions,
        signal: controller.signal,
        onProgress(progress) {
          if (progress.phase !== 'hashing') entry.sent = progress.loaded;
          callProgress?.(progress);
          report();
        },
      };
      internals.set(fileOptions, {
        gate: gateWith((bytes, s) => lanes.take(rank, s), throttle),
        // A file takes its place among the files under way before its hash pass, after the hash
        // pass of the file before it: so one file is hashed at a time, and no more files than
        // lanes + 1 read ahead at once.
        async hashTurn(hash) {
          try {
            entry.free = await files.take(rank, controller.signal);
          } catch {
            throw abortError();
          }
          const turn = hashing.then(hash);
          hashing = turn.catch(() => {});
          return turn;
        },
      });
      const result = upload(/** @type {File} */ (source), fileOptions);
      report();
      return result.then((value) => {
        doneBytes += entry.size;
        doneTotal += entry.size;
        return value;
      }).finally(() => {
        pending.delete(entry);
        entry.free();
        settled += 1;
        controller.abort();
        report();
      });
    },
    pause() {
      lanes.pause(true);
    },
    resume() {
      lanes.pause(false);
    },
    cancel(source) {
      for (const entry of pending) {
        if (source === undefined || entry.source === source) entry.controller.abort(abortError());
      }
    },
    setMaxBytesPerSecond(n) {
      throttle.setRate(byteRate(n, 'setMaxBytesPerSecond(n): n'));
    },
    get paused() {
      return lanes.paused;
    },
  };
}

/**
 * A file in the queue.
 * @typedef {object} Entry
 * @property {unknown} source
 * @property {AbortController} controller
 * @property {number} size
 * @property {number} sent bytes the server acknowledged
 * @property {() => void} free gives up its place among the files under way
 */

/**
 * The queue's lanes: at most `size` parts in flight across its files. A freed lane goes to the
 * earliest-added file that waits for one, so files finish in the order they were added; none is
 * given while paused.
 */
class Lanes {
  /** @param {number} size */
  constructor(size) {
    this.free = size;
    this.paused = false;
    /** @type {{ rank: number, go: () => void }[]} waiting parts, by rank */
    this.waiting = [];
  }

  /** @param {boolean} paused */
  pause(paused) {
    this.paused = paused;
    this.grant();
  }

  /**
   * Resolves with the function that frees the lane once one is free for a part of file `rank`;
   * rejects with null once `signal` aborted.
   * @param {number} rank
   * @param {AbortSignal} signal
   * @returns {Promise<() => void>}
   */
  take(rank, signal) {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(null);
      let freed = false;
      const release = () => {
        if (freed) return;
        freed = true;
        this.free += 1;
        this.grant();
      };
      const gone = () => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        reject(null);
      };
      const waiter = { rank, go: () => { signal.removeEventListener('abort', gone); resolve(release); } };
      signal.addEventListener('abort', gone, { once: true });
      const at = this.waiting.findIndex((w) => w.rank > rank);
      this.waiting.splice(at < 0 ? this.waiting.length : at, 0, waiter);
      this.grant();
    });
  }

  grant() {
    while (!this.paused && this.free > 0 && this.waiting.length) {
      this.free -= 1;
      /** @type {{ go: () => void }} */ (this.waiting.shift()).go();
    }
  }
}
