// A counting proxy in front of vod-server, for the tests of the queue and the bandwidth cap: it
// forwards every request as it is and notes, for each UploadPartEx call, when its request arrived,
// when its answer was sent, and its body's size; and how many such calls were in flight at once
// (from the request's arrival to the end of its answer). vod-server itself exposes no timings.

import { request as httpRequest, createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * Starts the proxy on 127.0.0.1 (a free port) in front of `target` (an origin such as
 * http://127.0.0.1:1234). Returns { url, parts, maxInFlight(), reset(), close() }; `parts` holds
 * { start, end, bytes } (ms, performance.now() of this process) of each UploadPartEx call answered.
 */
export async function startCountingProxy(target) {
  let inFlight = 0;
  let maxInFlight = 0;
  const parts = [];
  const server = createServer((req, res) => {
    const isPart = /[?&]Action=UploadPartEx(&|$)/.test(req.url);
    const start = performance.now();
    let bytes = 0;
    if (isPart) maxInFlight = Math.max(maxInFlight, ++inFlight);
    req.on('data', (chunk) => { bytes += chunk.length; });
    const upstream = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
    res.on('close', () => {
      if (!isPart) return;
      inFlight -= 1;
      parts.push({ start, end: performance.now(), bytes });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    parts,
    maxInFlight: () => maxInFlight,
    /** Forgets what was counted so far (calls in flight stay counted). */
    reset() {
      maxInFlight = inFlight;
      parts.length = 0;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
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
