// The `keepAwake` option: a Screen Wake Lock while parts are in flight, so that a phone does not
// sleep (and stop the upload) mid-file. One lock for every upload of the page, taken as a part starts
// and let go once no part has been in flight for IDLE_MS; the browser lets it go when the page is
// hidden, and it is taken again when the page is shown while parts are in flight. Where there is no
// Wake Lock API (or no document: a worker), or it refuses, nothing happens.

/** How long no part may be in flight before the lock is let go (more than the gap between two parts). */
const IDLE_MS = 1000;

let busy = 0;
/** @type {Promise<WakeLockSentinel | null> | null | undefined} */
let lock = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;

const hold = () => {
  clearTimeout(timer);
  if (!lock && busy && globalThis.document?.visibilityState === 'visible') {
    lock = navigator.wakeLock?.request('screen').catch(() => (lock = null));
  }
};

const letGo = () => {
  const held = lock;
  lock = null;
  void held?.then((sentinel) => sentinel?.release());
};

globalThis.document?.addEventListener('visibilitychange', () => {
  lock = null;
  hold();
});

/**
 * `gate` (or none) with the wake lock held from a part's start to its reply.
 * @param {import('./throttle.js').Gate | undefined} gate
 * @returns {import('./throttle.js').Gate}
 */
export const awake = (gate) => async (bytes, signal) => {
  const release = gate ? await gate(bytes, signal) : () => {};
  busy += 1;
  hold();
  return () => {
    release();
    busy -= 1;
    if (!busy) timer = setTimeout(letGo, IDLE_MS);
  };
};
