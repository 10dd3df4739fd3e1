// The in-page half of the benchmark (bench/run.mjs drives it through page.evaluate). Every method
// reads the same File: the one bench/run.mjs picked through the <input type=file> with setInputFiles,
// i.e. a real file on disk. Each function measures one thing once and returns plain JSON; run.mjs
// repeats, takes the best, and checks that all methods agree on the SHA-1.

const statusEl = document.getElementById('status');
const say = (text) => { statusEl.textContent = text; };

const MiB = 1 << 20;

function pickedFile() {
  const f = document.getElementById('file').files[0];
  if (!f) throw new Error('no file picked in #file');
  return f;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Long main-thread tasks (> 50 ms) while `fn` runs: the issue wants none during hashing.
async function withLongTasks(fn) {
  const durations = [];
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) durations.push(e.duration); });
    observer.observe({ type: 'longtask' });
  } catch { observer = null; }
  const value = await fn();
  // Entries are delivered asynchronously: let the last task finish, then take what is queued.
  await new Promise((r) => setTimeout(r, 0));
  if (observer) {
    for (const e of observer.takeRecords()) durations.push(e.duration);
    observer.disconnect();
  }
  return { value, longTasks: observer ? durations.length : null, longTaskMaxMs: observer ? Math.max(0, ...durations) : null };
}

let pkg = null;
let glue = null; // the package's wasm-bindgen module: the same instance its entry module loaded
let wasm = null; // that instance's exports (its memory)
let hashWasm = null;

// Every UploadPartEx fetch (the baseline's) is timed from the call to its response
// headers, so the report can say how busy the lanes were: sum of POST times / (concurrency x wall time).
const pageFetch = window.fetch.bind(window);
let partTrace = null;
window.fetch = function tracedFetch(input, init) {
  const url = typeof input === 'string' ? input : String(input?.url ?? input);
  if (!partTrace || !url.includes('Action=UploadPartEx')) return pageFetch(input, init);
  const rec = { t0: performance.now(), t1: null };
  partTrace.push(rec);
  const p = pageFetch(input, init);
  p.then(() => { rec.t1 = performance.now(); }, () => { rec.t1 = performance.now(); });
  return p;
};

// The package sends with XMLHttpRequest (js/send.js): its UploadPartEx calls are timed alike, from
// send() to the answer's headers.
const xhrOpen = XMLHttpRequest.prototype.open;
const xhrSend = XMLHttpRequest.prototype.send;
// The size of the first part ours sent (its session's part size), for the baseline to post the same parts.
let firstPartSize = null;
XMLHttpRequest.prototype.open = function open(method, url, ...rest) {
  this.benchPart = String(url).includes('Action=UploadPartEx');
  const query = new URL(String(url), location.href).searchParams;
  if (this.benchPart && query.get('offset') === '0') firstPartSize ??= Number(query.get('dataSize'));
  return xhrOpen.call(this, method, url, ...rest);
};
XMLHttpRequest.prototype.send = function send(body) {
  if (partTrace && this.benchPart) {
    const rec = { t0: performance.now(), t1: null };
    partTrace.push(rec);
    const end = () => { rec.t1 ??= performance.now(); };
    this.addEventListener('readystatechange', () => { if (this.readyState >= 2) end(); });
    this.addEventListener('loadend', end);
  }
  return xhrSend.call(this, body);
};

async function traced(concurrency, fn) {
  partTrace = [];
  try {
    const value = await fn();
    const recs = partTrace.filter((r) => r.t1 != null);
    if (recs.length === 0) return { value, posts: 0 };
    const start = Math.min(...recs.map((r) => r.t0));
    const end = Math.max(...recs.map((r) => r.t1));
    const busy = recs.reduce((a, r) => a + (r.t1 - r.t0), 0);
    return { value, posts: recs.length, postMeanMs: busy / recs.length, laneBusy: busy / (concurrency * (end - start)) };
  } finally {
    partTrace = null;
  }
}

window.bench = {
  /** Loads the package and hash-wasm, and warms both up (the wasm is compiled outside any timed section). */
  async init() {
    try {
      pkg = await import('/dist/index.js');
    } catch (err) {
      throw new Error(`could not import /dist/index.js (is dist/ built? node scripts/build.mjs): ${err.message}`);
    }
    hashWasm = await import('/node_modules/hash-wasm/dist/index.esm.js');
    if (typeof window.sha1?.create !== 'function') throw new Error('js-sha1 UMD build did not load (window.sha1)');
    if (typeof window.SparkMD5?.ArrayBuffer !== 'function') throw new Error('spark-md5 UMD build did not load (window.SparkMD5)');
    await pkg.ready?.();
    glue = await import('/dist/wasm/vod_ugc_uploader.js');
    wasm = await glue.default(); // already loaded by pkg.ready(): the same exports
    await this.ceiling({ megabytes: 1 });
    await hashWasm.createSHA1();
    say('ready');
    return { wasmMemoryBytes: wasm.memory.buffer.byteLength, exports: Object.keys(pkg).sort() };
  },

  fileInfo() {
    const f = pickedFile();
    return { name: f.name, size: f.size };
  },

  /** Ours: the package's hashFile (streamed; in a Web Worker if the package does that). */
  async ours() {
    const f = pickedFile();
    say(`ours: hashFile ${f.name}`);
    let events = 0;
    let lastLoaded = 0;
    const t0 = performance.now();
    const { value: sha, longTasks, longTaskMaxMs } = await withLongTasks(() =>
      pkg.hashFile(f, { onProgress: (p) => { events++; lastLoaded = p?.loaded ?? lastLoaded; } }));
    const ms = performance.now() - t0;
    return { sha, ms, bytes: f.size, progressEvents: events, lastLoaded, longTasks, longTaskMaxMs };
  },

  /** hash-wasm's createSHA1, fed `windowMiB` windows read with Blob.slice().arrayBuffer(), one after the other. */
  async hashWasmSha1({ windowMiB = 8 } = {}) {
    const f = pickedFile();
    say(`hash-wasm: SHA-1 of ${f.name}`);
    const hasher = await hashWasm.createSHA1();
    const step = windowMiB * MiB;
    const t0 = performance.now();
    const { value: sha, longTasks, longTaskMaxMs } = await withLongTasks(async () => {
      hasher.init();
      for (let off = 0; off < f.size; off += step) {
        const buf = await f.slice(off, Math.min(f.size, off + step)).arrayBuffer();
        hasher.update(new Uint8Array(buf));
      }
      return hasher.digest('hex');
    });
    const ms = performance.now() - t0;
    return { sha, ms, bytes: f.size, longTasks, longTaskMaxMs };
  },

  /**
   * The older uploaders' way: js-sha1 over the file plus spark-md5 of every 1 MiB part, reading one part
   * at a time, on the main thread. Capped at the first `capBytes` bytes (it runs at ~30 MB/s).
   */
  async legacy({ capBytes }) {
    const f = pickedFile();
    const end = Math.min(f.size, capBytes);
    say(`js-sha1 + spark-md5: first ${end} bytes of ${f.name}`);
    const t0 = performance.now();
    const { value, longTasks, longTaskMaxMs } = await withLongTasks(async () => {
      const sha = window.sha1.create();
      const md5s = [];
      for (let off = 0; off < end; off += MiB) {
        const buf = await f.slice(off, Math.min(end, off + MiB)).arrayBuffer();
        sha.update(buf);
        md5s.push(window.SparkMD5.ArrayBuffer.hash(buf));
      }
      return { sha: sha.hex(), md5s };
    });
    const ms = performance.now() - t0;
    return { sha: value.sha, md5s: value.md5s, ms, bytes: end, longTasks, longTaskMaxMs };
  },

  /**
   * Diagnostic: reading alone, no hashing: `windowMiB` windows with Blob.slice().arrayBuffer(), one after
   * the other ('slice'), or the File's ReadableStream ('stream'). The ceiling any streamed hash meets.
   */
  async readOnly({ how = 'slice', windowMiB = 8 } = {}) {
    const f = pickedFile();
    say(`read only (${how}): ${f.name}`);
    let bytes = 0;
    let xor = 0;
    const t0 = performance.now();
    if (how === 'stream') {
      const reader = f.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        xor ^= value[0];
      }
    } else {
      const step = windowMiB * MiB;
      for (let off = 0; off < f.size; off += step) {
        const buf = await f.slice(off, Math.min(f.size, off + step)).arrayBuffer();
        bytes += buf.byteLength;
        xor ^= new Uint8Array(buf)[0];
      }
    }
    const ms = performance.now() - t0;
    if (bytes !== f.size) throw new Error(`read ${bytes} bytes of ${f.size}`);
    return { ms, bytes, xor };
  },

  /** WebCrypto one-shot: the whole file in memory, then crypto.subtle.digest. */
  async webCrypto() {
    const f = pickedFile();
    say(`WebCrypto: SHA-1 of ${f.name} in one piece`);
    const t0 = performance.now();
    let buf = await f.arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-1', buf);
    const ms = performance.now() - t0;
    buf = null;
    return { sha: hex(digest), ms, bytes: f.size };
  },

  /**
   * The wasm build's SHA-1 compute ceiling: the package's own `Sha1` (what its hash worker runs)
   * hashing bytes already in wasm memory, its 256 KiB stage over and over, with no read and no copy.
   */
  async ceiling({ megabytes = 512 } = {}) {
    say(`ceiling: ${megabytes} MB of in-memory SHA-1`);
    const STAGE = 256 << 10;
    const hasher = new glue.Sha1();
    const stage = hasher.stage(); // may grow wasm memory: take its buffer after
    new Uint8Array(wasm.memory.buffer, stage, STAGE).fill(0x5a);
    const total = megabytes * 1e6;
    const t0 = performance.now();
    for (let done = 0; done < total; done += STAGE) hasher.updateStaged(Math.min(STAGE, total - done));
    const sha = hasher.finish();
    const seconds = Math.max(1e-3, (performance.now() - t0) / 1000);
    // The same in memory for hash-wasm (16 MB, over and over) and WebCrypto (the platform's native
    // SHA-1, one-shot on 64 MB in memory, best of two): the ceilings the others' compressions give.
    const block = new Uint8Array(16e6).fill(0x5a);
    const hw = await hashWasm.createSHA1();
    hw.init();
    const t1 = performance.now();
    for (let done = 0; done < total; done += block.length) hw.update(block.subarray(0, Math.min(block.length, total - done)));
    const hwSha = hw.digest('hex');
    const hwSeconds = Math.max(1e-3, (performance.now() - t1) / 1000);
    const big = new Uint8Array(Math.min(total, 64e6)).fill(0x5a);
    let wcMs = Infinity;
    for (let i = 0; i < 2; i++) {
      const t2 = performance.now();
      await crypto.subtle.digest('SHA-1', big);
      wcMs = Math.min(wcMs, performance.now() - t2);
    }
    return {
      sha1MBps: sha.length === 40 ? total / 1e6 / seconds : 0,
      hashWasmMBps: hwSha.length === 40 ? total / 1e6 / hwSeconds : 0,
      webCryptoMBps: big.length / 1e6 / Math.max(1e-3, wcMs / 1000),
    };
  },

  /** wasm memory of the package's instance in this page. */
  async wasmMemory() {
    return wasm.memory.buffer.byteLength;
  },

  /** Ours, end to end: upload(file) against vod-server with its dev signing endpoint. */
  async uploadOurs({ endpoint, concurrency }) {
    const f = pickedFile();
    say(`upload: ${f.name}, concurrency ${concurrency}`);
    const marks = {};
    const getSignature = async ({ fileSha, fileName }) => {
      marks.signature ??= performance.now();
      const res = await fetch('/dev/signature', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileSha, fileName }),
      });
      if (!res.ok) throw new Error(`/dev/signature answered HTTP ${res.status}`);
      return (await res.json()).signature;
    };
    firstPartSize = null;
    const t0 = performance.now();
    const { value: result, posts, postMeanMs, laneBusy } = await traced(concurrency, () => pkg.upload(f, {
      endpoint,
      concurrency,
      getSignature,
      onProgress: (p) => { marks[p.phase] ??= performance.now(); },
    }));
    const t1 = performance.now();
    if (marks.uploading == null || marks.finishing == null) {
      throw new Error(`upload progress never reported both 'uploading' and 'finishing' (got ${Object.keys(marks).join(', ')})`);
    }
    return {
      ms: t1 - t0,
      hashMs: (marks.signature ?? marks.uploading) - t0,
      uploadMs: marks.finishing - marks.uploading,
      finishMs: t1 - marks.finishing,
      bytes: f.size,
      partSize: firstPartSize,
      fileSha: result.fileSha,
      instant: result.instant,
      uploadedBytes: result.uploadedBytes,
      resumedBytes: result.resumedBytes,
      posts,
      postMeanMs,
      laneBusy,
    };
  },

  /** Opens the baseline's session (InitUploadEx for the other file's SHA-1): outside the timed section. */
  async plainInit({ endpoint, sha, size, partSize, signature }) {
    const q = new URLSearchParams({ Action: 'InitUploadEx', fileSha: sha, fileSize: String(size), dataSize: String(partSize), signature });
    const res = await fetch(`${endpoint}?${q}`);
    const body = await res.json();
    if (res.status !== 200 || body.code !== 0) throw new Error(`baseline InitUploadEx: HTTP ${res.status}, ${JSON.stringify(body)}`);
    return body;
  },

  /**
   * The baseline part pass: plain fetch POSTs of this file's parts, `concurrency` at a time, to
   * UploadPartEx of the session plainInit opened. MD5s and signature were computed before. `bodies`:
   * 'blob' (file.slice), 'bytes' (the part read into an ArrayBuffer, sent as a Uint8Array) or 'copy'
   * (read, MD5'd with hash-wasm here, and sent as a Blob of the bytes: what upload() does per part).
   */
  async plainParts({ endpoint, sha, signature, md5s, partSize, concurrency, bodies = 'blob' }) {
    const f = pickedFile();
    say(`plain fetch: ${md5s.length} parts of ${f.name}, concurrency ${concurrency}`);
    const urls = md5s.map((md5, i) => {
      const offset = i * partSize;
      const len = Math.min(partSize, f.size - offset);
      const q = new URLSearchParams({ Action: 'UploadPartEx', fileSha: sha, offset: String(offset), dataSize: String(len), dataMd5: md5, signature });
      return { url: `${endpoint}?${q}`, offset, len };
    });
    let next = 0;
    const md5 = await hashWasm.createMD5();
    const lane = async () => {
      while (next < urls.length) {
        const i = next++;
        const { url, offset, len } = urls[i];
        const slice = f.slice(offset, offset + len);
        let body = slice;
        if (bodies !== 'blob') {
          const bytes = new Uint8Array(await slice.arrayBuffer());
          if (bodies === 'copy' && md5.init().update(bytes).digest('hex') !== md5s[i]) throw new Error(`part ${i}: another MD5`);
          body = bodies === 'copy' ? new Blob([bytes]) : bytes;
        }
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream' },
          body,
        });
        const answer = await res.json();
        if (res.status !== 200 || answer.code !== 0) {
          throw new Error(`baseline UploadPartEx offset ${offset}: HTTP ${res.status}, ${JSON.stringify(answer)}`);
        }
      }
    };
    const t0 = performance.now();
    const { posts, postMeanMs, laneBusy } = await traced(concurrency, () => Promise.all(Array.from({ length: concurrency }, lane)));
    const ms = performance.now() - t0;
    return { ms, bytes: urls.reduce((a, u) => a + u.len, 0), parts: urls.length, posts, postMeanMs, laneBusy };
  },
};

window.benchLoaded = true;
say('page loaded');
