// A proxy in front of vod-server, for the tests that watch or rewrite what reaches the server
// (queue.test.mjs: the queue and the bandwidth cap; hostile.test.mjs: answers a server must never
// give). It forwards every request to vod-server, except those a test's rule answers itself, and
// notes the action of each /v2 call that came in; for each UploadPartEx call, when its request
// arrived, when its answer was sent, and its body's size; and how many such calls were in flight at
// once (from the request's arrival to the end of its answer). vod-server itself exposes no timings.

import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Request headers not forwarded as they came: the proxy's own, and what names the page's origin. */
const HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'origin', 'referer']);
/** Answer headers not passed on: fetch has decoded and measured the body itself. */
const ANSWER_HOP = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'connection']);

/**
 * Starts the proxy on 127.0.0.1 (a free port) in front of `target` (an origin such as
 * http://127.0.0.1:1234). Returns
 *   { url, seen, parts, maxInFlight(), rule, answered, reset(), close() }:
 * `seen` lists the actions that came in; `parts` holds { start, end, bytes } (ms, performance.now()
 * of this process) of each UploadPartEx call answered; `proxy.rule(action, request)` may answer a
 * call itself with `{ status, headers, body }` (or wait, then return nothing to forward it), and
 * `proxy.answered(action, status, text)` is told each forwarded answer. Redirects are passed on,
 * not followed.
 */
export async function startProxy(target) {
  let inFlight = 0;
  let maxInFlight = 0;
  const proxy = {
    url: '',
    seen: [],
    parts: [],
    rule: null,
    answered: null,
    maxInFlight: () => maxInFlight,
    /** Forgets what was seen and counted so far (calls in flight stay counted) and drops the rules. */
    reset() {
      maxInFlight = inFlight;
      proxy.parts.length = 0;
      proxy.seen.length = 0;
      proxy.rule = null;
      proxy.answered = null;
    },
    close: null,
  };
  const http = createServer(async (req, res) => {
    const action = new URL(req.url, 'http://proxy').searchParams.get('Action');
    const part = action === 'UploadPartEx' ? { start: performance.now(), end: 0, bytes: 0 } : null;
    if (part) {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      res.on('close', () => {
        inFlight -= 1;
        part.end = performance.now();
        proxy.parts.push(part);
      });
    }
    try {
      const chunks = [];
      for await (const chunk of req) {
        chunks.push(chunk);
        if (part) part.bytes += chunk.length;
      }
      if (action) proxy.seen.push(action);
      const own = await proxy.rule?.(action, req);
      if (own) {
        res.writeHead(own.status ?? 200, own.headers ?? { 'content-type': 'application/json' });
        return res.end(own.body ?? '');
      }
      const headers = Object.entries(req.headers).filter(([name]) => !HOP.has(name));
      if (req.headers.origin) headers.push(['origin', target]);
      const answer = await fetch(target + req.url, {
        method: req.method,
        headers,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks),
        redirect: 'manual',
      });
      const text = Buffer.from(await answer.arrayBuffer());
      proxy.answered?.(action, answer.status, text.toString());
      res.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([name]) => !ANSWER_HOP.has(name))));
      res.end(text);
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${error}`);
    }
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${http.address().port}/`;
  proxy.close = () => new Promise((resolve) => { http.closeAllConnections(); http.close(resolve); });
  return proxy;
}

/**
 * The most bytes of `parts` whose requests arrived within any window of `windowMs`.
 * @param {{ start: number, bytes: number }[]} parts
 */
export function mostBytesInWindow(parts, windowMs) {
  const sorted = [...parts].sort((a, b) => a.start - b.start);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let sum = 0;
    for (let j = i; j < sorted.length && sorted[j].start - sorted[i].start <= windowMs; j++) sum += sorted[j].bytes;
    most = Math.max(most, sum);
  }
  return most;
}
