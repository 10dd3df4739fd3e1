// One request to the API, with its own timeout; redirects are not followed.
import { describe } from './errors.js';
import { unreadable } from './read.js';

/** Why a redirect is not an answer: the API answers HTTP 200 only. */
const REDIRECTED = 'the endpoint answered with a redirect (HTTP 3xx), which is not followed: the API answers HTTP 200 only (a proxy or a wrong endpoint URL?)';

/**
 * Sends a request and reads the whole answer: resolves with `[status, text, retryAfter]` (the
 * `Retry-After` header, or null; the core decides what it means). Rejects with null when
 * `signal` aborted it, with "no answer within N s" after `timeoutMs`, with `{ read }` when `body` (a
 * slice of the file) can no longer be read, else with what went wrong, in words (a redirect too: one
 * followed would turn a POST into a GET without its body, and take another server's 200 for the
 * API's answer).
 * @param {string} method
 * @param {string} url
 * @param {Blob | null} body
 * @param {AbortSignal} signal
 * @param {number} timeoutMs
 * @returns {Promise<[number, string, string | null]>}
 */
export async function send(method, url, body, signal, timeoutMs) {
  if (signal.aborted) throw null;
  // One controller per call, aborted by the upload's signal or the timeout; both are let go as soon
  // as the call ends (AbortSignal.timeout would hold each call's timer and signals for timeoutMs).
  const call = new AbortController();
  const abort = () => call.abort();
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; abort(); }, timeoutMs);
  signal.addEventListener('abort', abort);
  // 'manual' gives the redirect itself as an opaque response that can be told apart; 'error' would
  // make it a TypeError like any network failure.
  /** @type {RequestInit} */
  const init = { method, signal: call.signal, redirect: 'manual' };
  if (body) {
    init.body = body;
    init.headers = { 'Content-Type': 'application/octet-stream' };
  }
  try {
    // Where the body's file changes mid-send, WebKit's fetch never settles: stop on the read failing.
    const sending = fetch(url, init);
    const response = await (body ? Promise.race([sending, unreadable(body, call.signal)]) : sending);
    if (response.type === 'opaqueredirect') throw REDIRECTED;
    return [response.status, await response.text(), response.headers.get('Retry-After')];
  } catch (error) {
    if (signal.aborted) throw null;
    if (error === REDIRECTED) throw error;
    if (timedOut) throw `no answer within ${Math.floor(timeoutMs / 1000)} s`;
    // The browser words a body it could not read from the file (changed or gone) as a network
    // failure; sending it again would fail the same way.
    const read = body && (await body.slice(0, 1).arrayBuffer().then(() => null, describe));
    throw read ? { read } : describe(error);
  } finally {
    abort(); // the call is over: its watch on the body stops (and a fetch that never settled is let go)
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}
