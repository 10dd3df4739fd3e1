// One request to the API, failed for lack of progress rather than for length; redirects are not
// taken as answers. A part goes by XMLHttpRequest in a browser: its upload progress events count a
// body's bytes as they leave, which a fetch cannot (a streamed fetch body needs HTTP/2). The calls
// without a body, and every call where there is no XMLHttpRequest (Node), go by fetch.
import { describe } from './errors.js';
import { unreadable } from './read.js';

/** A failure XMLHttpRequest tells nothing more of. */
const BROKE = 'the connection failed before the answer was complete';
/** Why a redirect is not an answer: the API answers HTTP 200 only. */
const REDIRECTED = 'the endpoint answered with a redirect (HTTP 3xx), which is not followed: the API answers HTTP 200 only (a proxy or a wrong endpoint URL?)';

/**
 * Sends a request and reads the whole answer: resolves with `[status, text, retryAfter]` (the
 * Retry-After header, or null). Fails for lack of progress, not for length: after `stallMs` in
 * which no byte of `body` left ("no byte of the body sent for N s") or, once it is all sent, no
 * byte of the answer came ("no answer within N s"). Calls `onSent(bytes)` as the body's bytes leave
 * (at most a few times a second). An answer longer than `answerCap` bytes is not read further: it
 * resolves with its first `answerCap + 1` characters, which the caller refuses as too large.
 * Rejects with null when `signal` aborted it, with `{ read }` when `body` (a slice of the file) can
 * no longer be read, else with what went wrong, in words (a redirect too: one followed turns a POST
 * into a GET without its body, and another server's 200 is not the API's answer).
 * @param {string} method
 * @param {string} url
 * @param {Blob | null} body
 * @param {AbortSignal} signal
 * @param {number} stallMs
 * @param {(bytes: number) => void} [onSent]
 * @param {number} [answerCap]
 * @returns {Promise<[number, string, string | null]>}
 */
export async function send(method, url, body, signal, stallMs, onSent, answerCap) {
  if (signal.aborted) throw null;
  const call = new AbortController();
  const abort = () => call.abort();
  signal.addEventListener('abort', abort);
  try {
    const sending = body && typeof XMLHttpRequest === 'function'
      ? request(method, url, body, call.signal, stallMs, onSent, answerCap)
      : fetched(method, url, body, call.signal, stallMs, answerCap);
    // Where the body's file changes mid-send, WebKit never settles the call: stop on the read failing.
    return await (body ? Promise.race([sending, unreadable(body, call.signal)]) : sending);
  } catch (error) {
    if (signal.aborted) throw null;
    if (typeof error === 'string' && error !== BROKE) throw error;
    // The browser words a body it could not read from the file (changed or gone) as a network
    // failure; sending it again would fail the same way.
    const read = body && (await body.slice(0, 1).arrayBuffer().then(() => null, describe));
    throw read ? { read } : describe(error);
  } finally {
    abort(); // the call is over: its watch on the body stops (and a request that never settled is let go)
    signal.removeEventListener('abort', abort);
  }
}

/**
 * A part's call as an XMLHttpRequest. Rejects with words (a stall, a redirect, a failure that
 * XMLHttpRequest says nothing more of).
 * @param {string} method
 * @param {string} url
 * @param {Blob} body
 * @param {AbortSignal} signal
 * @param {number} stallMs
 * @param {((bytes: number) => void) | undefined} onSent
 * @param {number | undefined} answerCap
 * @returns {Promise<[number, string, string | null]>}
 */
function request(method, url, body, signal, stallMs, onSent, answerCap) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const seconds = Math.floor(stallMs / 1000);
    let stalled = `no byte of the body sent for ${seconds} s`;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    let over = false;
    /**
     * Settles the call once: its timer and abort listener go, and the request with them.
     * @param {(value: any) => void} settled
     * @param {any} value
     */
    const settle = (settled, value) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
      settled(value);
      xhr.abort();
    };
    /** @param {string} text */
    const answer = (text) => settle(resolve, [xhr.status, text, xhr.status === 200 ? null : xhr.getResponseHeader('Retry-After')]);
    const stop = () => settle(reject, null);
    const moved = () => {
      clearTimeout(timer);
      if (!over) timer = setTimeout(() => settle(reject, stalled), stallMs);
    };
    xhr.open(method, url);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    // Listeners on `upload` make a cross-origin call preflighted: the octet-stream body does already.
    xhr.upload.onprogress = (event) => {
      moved();
      onSent?.(event.loaded);
    };
    xhr.upload.onload = () => {
      onSent?.(body.size);
      stalled = `no answer within ${seconds} s`;
      moved();
    };
    xhr.onreadystatechange = () => {
      if (xhr.readyState < XMLHttpRequest.HEADERS_RECEIVED) return;
      moved();
      // A redirect was followed (XMLHttpRequest cannot refuse one: the call went elsewhere, and its
      // answer is not the API's), or one came without a place to go.
      const redirected = xhr.responseURL && new URL(xhr.responseURL).href !== new URL(url, globalThis.location?.href).href;
      if (redirected || (xhr.status >= 300 && xhr.status < 400)) settle(reject, REDIRECTED);
    };
    xhr.onprogress = (event) => {
      moved();
      if (event.loaded > (answerCap ?? Infinity)) answer(xhr.responseText.slice(0, /** @type {number} */ (answerCap) + 1));
    };
    xhr.onload = () => answer(xhr.responseText);
    xhr.onerror = () => settle(reject, BROKE);
    signal.addEventListener('abort', stop);
    moved();
    xhr.send(body);
  });
}

/**
 * The call as a fetch: a call without a body (whose redirect `redirect: 'manual'` can refuse before
 * it is followed), or any where XMLHttpRequest is missing (Node: a body's progress cannot be seen
 * there, so its stall is timed from the start). Fails after `stallMs` without a byte of the answer.
 * @param {string} method
 * @param {string} url
 * @param {Blob | null} body
 * @param {AbortSignal} signal
 * @param {number} stallMs
 * @param {number | undefined} answerCap
 * @returns {Promise<[number, string, string | null]>}
 */
async function fetched(method, url, body, signal, stallMs, answerCap) {
  const call = new AbortController();
  const abort = () => call.abort();
  let timedOut = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const moved = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { timedOut = true; abort(); }, stallMs);
  };
  signal.addEventListener('abort', abort);
  // 'manual' gives the redirect itself as an opaque response that can be told apart.
  /** @type {RequestInit} */
  const init = { method, signal: call.signal, redirect: 'manual' };
  if (body) {
    init.body = body;
    init.headers = { 'Content-Type': 'application/octet-stream' };
  }
  try {
    moved();
    const response = await fetch(url, init);
    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) throw REDIRECTED;
    // Read as it comes, each piece a sign of life, and no further than the cap.
    const cap = answerCap ?? Infinity;
    const reader = response.body?.getReader();
    let bytes = new Uint8Array(0);
    for (let chunk; reader && bytes.length <= cap && !(chunk = await reader.read()).done;) {
      moved();
      const joined = new Uint8Array(bytes.length + chunk.value.length);
      joined.set(bytes);
      joined.set(chunk.value, bytes.length);
      bytes = joined;
    }
    void reader?.cancel().catch(() => {});
    return [response.status, new TextDecoder().decode(bytes.subarray(0, cap + 1)), response.headers.get('Retry-After')];
  } catch (error) {
    if (timedOut) throw `no answer within ${Math.floor(stallMs / 1000)} s`;
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}
