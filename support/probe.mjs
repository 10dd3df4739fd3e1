// What the browser tests watch and steer in a page, the same way in every engine (support/engines.mjs):
// WebDriver, which drives WebKit, has no request interception, network emulation or console events,
// so these work inside the page instead, on the page's own `fetch`, `XMLHttpRequest`, `Worker` and
// `console` (the package looks each up when it uses it). Installed once the page has loaded, before the test acts.
//
//   watch(engine)              installs the probe in the page just loaded (again after each goto)
//   seen(engine)               -> { requests, failed, workers, warnings }: what the page did since:
//                                 requests [{ method, url }] as they leave the page (after any throttle),
//                                 failed [{ method, url, error }] that got no answer, workers
//                                 [{ url, messages }] it started and how many messages each sent back,
//                                 warnings: what it printed with console.warn and console.error
//   throttle(engine, bytesPerSecond)  request bodies leave the page at most this fast together
//                                 (a shared link: each waits its turn for size / rate); -1 lifts it
//   signatureTtl(engine, seconds)  the page's POST /dev/signature asks for signatures that live this
//                                 long (negative: already expired), as a backend with a wrong clock

/** Runs in the page: wraps fetch, Worker and console.warn/error, keeping what they saw in window.__probe. */
async function install() {
  if (window.__probe) return;
  const probe = { requests: [], failed: [], workers: [], warnings: [], bytesPerSecond: -1, linkFreeAt: 0, ttl: null };
  window.__probe = probe;

  const pageFetch = window.fetch;
  const aborted = (signal) => new DOMException(signal.reason?.message ?? 'The operation was aborted.', 'AbortError');
  window.fetch = async function fetch(input, init = {}) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url, location.href).href;
    const method = (init.method ?? input.method ?? 'GET').toUpperCase();
    const signal = init.signal ?? null;
    if (probe.ttl !== null && new URL(url).pathname === '/dev/signature' && typeof init.body === 'string') {
      init = { ...init, body: JSON.stringify({ ...JSON.parse(init.body), ttl: probe.ttl }) };
    }
    const size = init.body?.size ?? init.body?.byteLength ?? 0;
    if (probe.bytesPerSecond > 0 && size > 0) {
      const now = performance.now();
      const start = Math.max(now, probe.linkFreeAt);
      probe.linkFreeAt = start + (size / probe.bytesPerSecond) * 1000;
      await new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(aborted(signal));
        const timer = setTimeout(resolve, probe.linkFreeAt - now);
        signal?.addEventListener('abort', () => { clearTimeout(timer); reject(aborted(signal)); }, { once: true });
      });
    }
    probe.requests.push({ method, url });
    try {
      return await pageFetch.call(this, input, init);
    } catch (error) {
      probe.failed.push({ method, url, error: String(error?.message ?? error) });
      throw error;
    }
  };

  // The package sends parts by XMLHttpRequest (js/send.js): watched and throttled alike.
  const PageRequest = window.XMLHttpRequest;
  window.XMLHttpRequest = class XMLHttpRequest extends PageRequest {
    open(method, url, ...rest) {
      this.probe = { method: String(method).toUpperCase(), url: new URL(url, location.href).href };
      return super.open(method, url, ...rest);
    }
    send(body) {
      const call = this.probe;
      const size = body?.size ?? body?.byteLength ?? 0;
      const go = () => {
        if (this.probeAborted) return;
        probe.requests.push(call);
        this.addEventListener('error', () => probe.failed.push({ ...call, error: 'XMLHttpRequest error' }));
        super.send(body);
      };
      if (!(probe.bytesPerSecond > 0 && size > 0)) return go();
      const now = performance.now();
      const start = Math.max(now, probe.linkFreeAt);
      probe.linkFreeAt = start + (size / probe.bytesPerSecond) * 1000;
      this.probeTimer = setTimeout(go, probe.linkFreeAt - now);
    }
    abort() {
      this.probeAborted = true;
      clearTimeout(this.probeTimer);
      return super.abort();
    }
  };

  const PageWorker = window.Worker;
  window.Worker = class Worker extends PageWorker {
    constructor(url, options) {
      super(url, options);
      const seen = { url: new URL(url, location.href).href, messages: 0 };
      probe.workers.push(seen);
      this.addEventListener('message', () => { seen.messages += 1; });
    }
  };

  for (const level of ['warn', 'error']) {
    const print = console[level];
    console[level] = (...args) => {
      probe.warnings.push(`[console.${level}] ${args.map(String).join(' ')}`);
      print.apply(console, args);
    };
  }
}

/** Installs the probe in the page just loaded. */
export function watch(engine) {
  return engine.evaluate(install);
}

/** What the page did since watch(): requests, failed requests, workers, console warnings. */
export function seen(engine) {
  return engine.evaluate(async () => {
    const { requests, failed, workers, warnings } = window.__probe;
    return { requests, failed, workers, warnings };
  });
}

/** Lets request bodies leave the page at `bytesPerSecond` together; -1 lifts the limit. */
export function throttle(engine, bytesPerSecond) {
  return engine.evaluate(async (rate) => {
    window.__probe.bytesPerSecond = rate;
    window.__probe.linkFreeAt = 0;
  }, bytesPerSecond);
}

/** The page's signing requests ask for signatures that live `seconds` (negative: expired). */
export function signatureTtl(engine, seconds) {
  return engine.evaluate(async (ttl) => { window.__probe.ttl = ttl; }, seconds);
}
