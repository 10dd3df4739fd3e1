// One request to the API, failed for lack of progress rather than for length; redirects are not
// taken as answers. A part goes by XMLHttpRequest in a browser: its upload progress events count a
// body's bytes as they leave, which a fetch cannot (a streamed fetch body needs HTTP/2). The calls
// without a body, and every call where there is no XMLHttpRequest (Node), go by fetch.
import { describe } from './errors.js';

/** Why a redirect is not an answer: the API answers HTTP 200 only. */
const REDIRECTED = 'the endpoint answered with a redirect (HTTP 3xx), which is not followed: the API answers HTTP 200 only (a proxy or a wrong endpoint URL?)';

/**
 * Sends a request and reads the whole answer: resolves with `[status, text, retryAfter]` (the
 * Retry-After header, or null). Fails for lack of progress, not for length: after `stallMs` in
 * which no byte of `body` left ("no byte of the body sent for N s") or, once it is all sent, no
 * byte of the answer came ("no answer within N s"; where a body's progress cannot be seen, from
 * the start). Calls `onSent(bytes)` as the body's bytes leave. An answer longer than `answerCap`
 * bytes is not read further: it resolves with its first `answerCap + 1` bytes, which the caller
 * refuses as too large. Rejects with null when `signal` aborted it, else with what went wrong, in
 * words (a redirect too: one followed turns a POST into a GET without its body, and another
 * server's 200 is not the API's answer). `body` is a slice of the file only where the engine fails
 * a call whose file changed (drive.js): WebKit's would never settle, and gets bytes in memory.
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
  const seconds = Math.floor(stallMs / 1000);
  const length = body?.size ?? 0;
  const watched = body && typeof XMLHttpRequest === 'function';
  let stalled = watched ? `no byte of the body sent for ${seconds} s` : `no answer within ${seconds} s`;
  /** @type {string | undefined} */
  let why;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /**
   * A sign of life: `bytes` of the body left (all of it: now the answer is waited for), or a byte of
   * the answer came.
   * @param {number} [bytes]
   */
  const moved = (bytes) => {
    clearTimeout(timer);
    timer = setTimeout(() => { why = stalled; abort(); }, stallMs);
    if (bytes === undefined || !body) return;
    onSent?.(bytes);
    if (bytes >= length) stalled = `no answer within ${seconds} s`;
  };
  try {
    moved();
    const cap = answerCap ?? Infinity;
    return await (watched ? request(method, url, body, length, call.signal, moved, cap) : fetched(method, url, body, call.signal, moved, cap));
  } catch (error) {
    if (signal.aborted) throw null;
    if (why) throw why;
    throw describe(error);
  } finally {
    abort(); // the call is over: a request that never settled is let go
    clearTimeout(timer); // after: letting the request go is one more sign of life
    signal.removeEventListener('abort', abort);
  }
}

/**
 * A part's call as an XMLHttpRequest. Rejects with words (a redirect, a failure that
 * XMLHttpRequest says nothing more of), or null once `signal` aborted it.
 * @param {string} method
 * @param {string} url
 * @param {Blob} body
 * @param {number} length its size
 * @param {AbortSignal} signal
 * @param {(bytes?: number) => void} moved
 * @param {number} cap
 * @returns {Promise<[number, string, string | null]>}
 */
function request(method, url, body, length, signal, moved, cap) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    /**
     * Settles the call; the request is let go.
     * @param {(value: any) => void} settled
     * @param {any} value
     */
    const settle = (settled, value) => {
      settled(value);
      xhr.abort();
    };
    /** @param {string} text */
    const answer = (text) => settle(resolve, [xhr.status, text, xhr.status === 200 ? null : xhr.getResponseHeader('Retry-After')]);
    signal.addEventListener('abort', () => settle(reject, null));
    xhr.open(method, url);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    // Listeners on `upload` make a cross-origin call preflighted: the octet-stream body does already.
    xhr.upload.onprogress = (event) => moved(event.loaded);
    xhr.upload.onload = () => moved(length);
    xhr.onreadystatechange = () => {
      if (xhr.readyState < XMLHttpRequest.HEADERS_RECEIVED) return;
      moved();
      // A redirect was followed (XMLHttpRequest cannot refuse one: the call went elsewhere, and its
      // answer is not the API's), or one came without a place to go.
      const redirected = xhr.responseURL && xhr.responseURL !== new URL(url, location.href).href;
      if (redirected || (xhr.status >= 300 && xhr.status < 400)) settle(reject, REDIRECTED);
    };
    xhr.onprogress = (event) => {
      moved();
      if (event.loaded > cap) answer(xhr.responseText.slice(0, cap + 1));
    };
    xhr.onload = () => answer(xhr.responseText);
    xhr.onerror = () => reject('the connection failed'); // XMLHttpRequest tells nothing more
    xhr.send(body);
  });
}

/**
 * The call as a fetch: a call without a body (whose redirect `redirect: 'manual'` refuses before
 * it is followed), or any where XMLHttpRequest is missing (Node).
 * @param {string} method
 * @param {string} url
 * @param {Blob | null} body
 * @param {AbortSignal} signal
 * @param {() => void} moved
 * @param {number} cap
 * @returns {Promise<[number, string, string | null]>}
 */
async function fetched(method, url, body, signal, moved, cap) {
  // 'manual' gives the redirect itself as an opaque response that can be told apart.
  /** @type {RequestInit} */
  const init = { method, signal, redirect: 'manual' };
  if (body) {
    init.body = body;
    init.headers = { 'Content-Type': 'application/octet-stream' };
  }
  const response = await fetch(url, init);
  if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) throw REDIRECTED;
  // Read as it comes, each piece a sign of life, and no further than the cap.
  const reader = response.body?.getReader();
  /** @type {Uint8Array<ArrayBuffer>[]} */
  const pieces = [];
  let length = 0;
  for (let piece; reader && length <= cap && !(piece = await reader.read()).done;) {
    moved();
    pieces.push(piece.value);
    length += piece.value.length;
  }
  void reader?.cancel().catch(() => {});
  // A finite end: WebKit's Blob.slice takes Infinity for 0.
  return [response.status, await new Blob(pieces).slice(0, Math.min(length, cap + 1)).text(), response.headers.get('Retry-After')];
}
