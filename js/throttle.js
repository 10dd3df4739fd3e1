// The bandwidth cap and the gate before a part's send. A part may start when the bucket is not in
// debt; starting it takes its bytes (the bucket may go below zero), and the bucket fills at the cap
// up to zero, never above: so the bytes started in any window of T seconds stay within T × cap plus
// the last part started. The cap can change at any time (`setRate`); waiting parts go in order.

/**
 * Waits until a part of `bytes` may be sent; resolves with the function that frees what the part
 * holds (called when its reply or failure comes). Rejects with null once `signal` aborted.
 * @typedef {(bytes: number, signal: AbortSignal) => Promise<() => void>} Gate
 */

/** A token bucket of bytes per second; no cap where the rate is undefined. */
export class Throttle {
  /** @param {number | undefined} bytesPerSecond */
  constructor(bytesPerSecond) {
    /** @type {number | undefined} */
    this.rate = bytesPerSecond;
    /** bytes the next part may take, at most 0: below 0 is debt */
    this.tokens = 0;
    this.at = performance.now();
    /** @type {{ bytes: number, go: () => void }[]} */
    this.waiting = [];
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  /** @param {number | undefined} bytesPerSecond the new cap, or undefined for none */
  setRate(bytesPerSecond) {
    this.fill();
    this.rate = bytesPerSecond;
    this.pump();
  }

  /**
   * Resolves when `bytes` may be sent (at once without a cap); rejects with null once `signal` aborted.
   * @param {number} bytes
   * @param {AbortSignal} signal
   * @returns {Promise<void>}
   */
  take(bytes, signal) {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(null);
      const gone = () => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        reject(null);
      };
      const waiter = { bytes, go: () => { signal.removeEventListener('abort', gone); resolve(); } };
      signal.addEventListener('abort', gone, { once: true });
      this.waiting.push(waiter);
      this.pump();
    });
  }

  /** Adds what the cap earned since the last look, up to zero. */
  fill() {
    const now = performance.now();
    this.tokens = this.rate ? Math.min(0, this.tokens + ((now - this.at) / 1000) * this.rate) : 0;
    this.at = now;
  }

  /** Lets the waiting parts go while the bucket is not in debt, then sleeps until it is out of it. */
  pump() {
    clearTimeout(this.timer);
    this.fill();
    while (this.waiting.length && this.tokens >= 0) {
      const waiter = /** @type {{ bytes: number, go: () => void }} */ (this.waiting.shift());
      if (this.rate) this.tokens -= waiter.bytes;
      waiter.go();
    }
    if (this.waiting.length && this.rate) {
      this.timer = setTimeout(() => this.pump(), Math.ceil((-this.tokens / this.rate) * 1000));
    }
  }
}

/**
 * A gate that waits for `first` (if any), then for `throttle`: the lane `first` gave is freed if the
 * throttle's wait is aborted.
 * @param {Gate | undefined} first
 * @param {Throttle | null} throttle
 * @returns {Gate | undefined}
 */
export function gateWith(first, throttle) {
  if (!throttle) return first;
  return async (bytes, signal) => {
    const release = first ? await first(bytes, signal) : () => {};
    try {
      await throttle.take(bytes, signal);
    } catch (error) {
      release();
      throw error;
    }
    return release;
  };
}
