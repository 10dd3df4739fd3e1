// A TCP proxy that makes loopback behave like a weak uplink, for the network tests and the network
// benchmark. The client's bytes go through one token bucket shared by every connection (one uplink),
// then wait `rttMs / 2`; the answers wait `rttMs / 2` too but are not rate-limited (a phone's
// downlink is rarely what holds an upload back). A connection's socket is read only while little
// of it waits for the bucket: what the proxy has not read stays in the kernel, so the client's
// socket fills and its upload progress follows the link instead of running ahead of it (mostly:
// see `isolated` in support/netns.mjs for the kernel's own buffers).
//
//   startShaper({ target, rate, rttMs, cutEveryMs }) -> { port, url, stats, setRate(n), cut(), freeze(), close() }
//
// `rate` is bytes per second (0: no limit); `cutEveryMs` cuts every open connection that often (a
// flapping link); `freeze()` makes every connection open now go silent for good (no byte passes
// either way, nothing is closed: a dead route), new ones work. `stats` counts the client's bytes
// passed on (`up`), connections, cuts.

import net from 'node:net';

/** The most bytes a connection may have read and not yet passed through the bucket (or 10 ms of a fast link). */
const QUEUE_BYTES = 4096;
/** How often the bucket lets bytes go, ms. */
const TICK_MS = 10;

/**
 * @param {{ target: { host?: string, port: number }, rate?: number, rttMs?: number, cutEveryMs?: number }} options
 */
export async function startShaper({ target, rate = 0, rttMs = 0, cutEveryMs = 0 }) {
  const half = rttMs / 2;
  // Without a limit the proxy only pipes: a connection's bytes go on at each tick, whatever they are.
  const queueBytes = rate > 0 ? Math.max(QUEUE_BYTES, rate * 0.01) : 1 << 20;
  const quantum = rate > 0 ? Math.max(1460, rate * 0.002) : Infinity;
  const stats = { up: 0, down: 0, connections: 0, cuts: 0 };
  /** @type {Set<Link>} */
  const links = new Set();
  /** @type {Link[]} links with bytes waiting for the bucket, served in turn */
  let turn = [];
  let tokens = 0;
  let at = performance.now();

  /** @param {net.Socket} client */
  const accept = (client) => {
    stats.connections += 1;
    const server = net.connect(target.port, target.host ?? '127.0.0.1');
    /** @type {Link} */
    const link = { client, server, queue: [], queued: 0, frozen: false, closed: false };
    links.add(link);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const close = () => {
      if (link.closed) return;
      link.closed = true;
      links.delete(link);
      client.destroy();
      server.destroy();
    };
    link.close = close;
    client.on('data', (chunk) => {
      if (link.frozen) return;
      link.queue.push(chunk);
      link.queued += chunk.length;
      if (!turn.includes(link)) turn.push(link);
      if (link.queued >= queueBytes) client.pause();
    });
    server.on('data', (chunk) => {
      if (link.frozen) return;
      stats.down += chunk.length;
      later(() => link.closed || client.write(chunk));
    });
    // A side that ends is passed on once what it sent before has gone through.
    client.on('end', () => later(() => link.closed || server.end(), link));
    server.on('end', () => later(() => link.closed || client.end()));
    client.on('error', close);
    server.on('error', close);
    client.on('close', () => later(close, link));
    server.on('close', () => later(close));
  };

  /**
   * Runs `fn` after the one-way delay; with `link`, once its queued bytes have gone too.
   * @param {() => void} fn
   * @param {Link} [link]
   */
  const later = (fn, link) => {
    if (link && link.queued > 0) return void (link.after = fn);
    if (half > 0) setTimeout(fn, half);
    else fn();
  };

  const tick = () => {
    const now = performance.now();
    // The bucket holds at most 100 ms of earned bytes: no bursts after a quiet spell, and a tick
    // that comes late on a loaded machine loses nothing.
    tokens = rate > 0 ? Math.min(tokens + ((now - at) / 1000) * rate, rate * 0.1 + 1460) : Infinity;
    at = now;
    while (tokens >= 1 && turn.length) {
      const link = /** @type {Link} */ (turn.shift());
      if (link.closed || link.frozen) continue;
      // One connection's share per turn: about one segment, so the lanes share the link (2 ms of
      // it on a fast link, so that the proxy's own work does not become the limit).
      let n = Math.min(Math.floor(Math.min(tokens, quantum)), link.queued);
      /** @type {Buffer[]} */
      const out = [];
      while (n > 0) {
        const head = link.queue[0];
        const take = Math.min(n, head.length);
        out.push(head.subarray(0, take));
        if (take === head.length) link.queue.shift();
        else link.queue[0] = head.subarray(take);
        n -= take;
        link.queued -= take;
        tokens -= take;
        stats.up += take;
      }
      const bytes = Buffer.concat(out);
      const send = () => link.closed || link.frozen || link.server.write(bytes);
      if (half > 0) setTimeout(send, half);
      else send();
      if (link.queued > 0) turn.push(link);
      else if (link.after) {
        const after = link.after;
        link.after = undefined;
        later(after);
      }
      if (link.queued < queueBytes && !link.closed) link.client.resume();
    }
  };
  const ticker = setInterval(tick, TICK_MS);
  const cutter = cutEveryMs > 0 ? setInterval(() => shaper.cut(), cutEveryMs) : undefined;

  const listener = net.createServer(accept);
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', () => resolve(undefined)));
  const port = /** @type {net.AddressInfo} */ (listener.address()).port;
  const shaper = {
    port,
    url: `http://127.0.0.1:${port}`,
    stats,
    /** @param {number} bytesPerSecond 0 for no limit */
    setRate(bytesPerSecond) {
      rate = bytesPerSecond;
    },
    /** Cuts every open connection (a reset, as a link that drops would give). */
    cut() {
      if (links.size) stats.cuts += 1;
      for (const link of [...links]) {
        link.client.resetAndDestroy();
        link.close?.();
      }
    },
    /** Every connection open now goes silent for good; new ones pass. */
    freeze() {
      for (const link of links) {
        link.frozen = true;
        link.queue = [];
        link.queued = 0;
      }
      turn = turn.filter((link) => !link.frozen);
    },
    close() {
      clearInterval(ticker);
      clearInterval(cutter);
      for (const link of [...links]) link.close?.();
      return new Promise((resolve) => listener.close(() => resolve(undefined)));
    },
  };
  return shaper;
}

/**
 * One proxied connection.
 * @typedef {{ client: net.Socket, server: net.Socket, queue: Buffer[], queued: number, frozen: boolean,
 *   closed: boolean, close?: () => void, after?: () => void }} Link
 */
