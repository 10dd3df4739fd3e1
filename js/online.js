// Waiting out offline: while the platform says it is offline (navigator.onLine false, the `offline`
// event), calls in flight are let go and sent again once it is back online, no new call starts, and
// the upload's machine sees neither (no retry is spent). Where the platform has no notion of being
// online (Node), it is always online.

/** Whether the platform says it is offline. */
export function offline() {
  return globalThis.navigator?.onLine === false;
}

/**
 * Resolves once the platform is online (at once if it is), or `signal` aborted (the caller checks which).
 * @param {AbortSignal} signal
 * @returns {Promise<void>}
 */
function online(signal) {
  return new Promise((resolve) => {
    if (!offline() || signal.aborted) return resolve();
    const done = () => {
      globalThis.removeEventListener('online', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    globalThis.addEventListener('online', done);
    signal.addEventListener('abort', done);
  });
}

/**
 * Resolves once online (or `signal` aborted), calling `waiting()` first if it is offline now.
 * @param {AbortSignal} signal
 * @param {() => void} waiting
 */
export function whenOnline(signal, waiting) {
  if (offline()) waiting();
  return online(signal);
}

/**
 * Runs `call(signal)` once online, with a signal that also aborts when the platform goes offline; a
 * call let go that way (or failing while offline) is made again once online. `waiting()` is called
 * each time it waits. Rejects with null once `signal` aborted, else as `call` does.
 * @template T
 * @param {(signal: AbortSignal) => Promise<T>} call
 * @param {AbortSignal} signal the upload's
 * @param {() => void} waiting
 * @returns {Promise<T>}
 */
export async function whileOnline(call, signal, waiting) {
  for (;;) {
    await whenOnline(signal, waiting);
    if (signal.aborted) throw null;
    const linked = new AbortController();
    const abort = () => linked.abort();
    signal.addEventListener('abort', abort);
    globalThis.addEventListener?.('offline', abort);
    try {
      return await call(linked.signal);
    } catch (why) {
      if (signal.aborted) throw null;
      if (!offline()) throw why;
    } finally {
      signal.removeEventListener('abort', abort);
      globalThis.removeEventListener?.('offline', abort);
    }
  }
}
