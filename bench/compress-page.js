// bench/compress.mjs's page: the file picked through <input type=file> is read into memory once, then
// the driver times each method once per round (in a random order), repeats rounds and takes medians. hashFile() reads the picked file itself, as an app calls it.
import { methods } from './compress-methods.js';

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
const say = (text) => { document.getElementById('status').textContent = text; };
let table = null;
let pkg = null;
let file = null;

const glue = async (build) => {
  const module = await import(`/dist/wasm/vod_ugc_uploader.js?${build}`);
  const name = build === 'simd' ? 'vod_ugc_uploader_simd_bg.wasm' : 'vod_ugc_uploader_bg.wasm';
  const { memory } = await module.default({ module_or_path: `/dist/wasm/${name}` });
  return { Sha1: module.Sha1, md5Hex: module.md5Hex, memory };
};

/** hash-wasm over 8 MiB Blob.slice windows, one read after the other (bench/page.js's streamed row). */
async function hashWasmStreamed(hashWasm) {
  const hasher = await hashWasm.createSHA1();
  hasher.init();
  for (let at = 0; at < file.size; at += 8 << 20) {
    hasher.update(new Uint8Array(await file.slice(at, at + (8 << 20)).arrayBuffer()));
  }
  return hasher.digest('hex');
}

const WINDOW = 8 << 20; // js/hash-pass.js's

/** A worker from source text; `onmessage` is its first statement's concern. */
const workerOf = (source, options) => new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), options);

// Reads the file in windows, `mode` 'sync' (FileReaderSync) or 'async' (Blob.slice().arrayBuffer(), the
// next read in flight); where `forward`, posts each window back (transferred) and keeps at most 3 unacked
// ({ credit } messages), else only touches it. Ends with { done }.
const READER = `let credit = 3, wake = null;
onmessage = async ({ data }) => {
  if (data.credit) { credit += 1; wake?.(); wake = null; return; }
  const { file, mode, window, forward } = data;
  credit = 3;
  const sync = mode === 'sync' ? new FileReaderSync() : null;
  let touched = 0, next = null;
  const read = (at) => { const piece = file.slice(at, at + window); return sync ? sync.readAsArrayBuffer(piece) : piece.arrayBuffer(); };
  for (let at = 0; at < file.size; at += window) {
    const buffer = await (next ?? read(at));
    next = !sync && at + window < file.size ? read(at + window) : null;
    if (forward) {
      while (credit === 0) await new Promise((r) => { wake = r; });
      credit -= 1;
      postMessage({ chunk: buffer }, [buffer]);
    } else touched ^= new Uint8Array(buffer)[0];
  }
  postMessage({ done: true, touched });
};`;

// The probe's workers live as long as the page: a thread that ended takes its CPU time out of /proc,
// where the driver counts it.
let probeReader = null;
let probeHasher = null;
let job = 0;

/** Reads the file in a worker of its own; without `hash`, reading alone ('' as digest). */
function workerRead(mode, hash) {
  return new Promise((resolve, reject) => {
    const reader = (probeReader ??= workerOf(READER));
    const hasher = hash ? (probeHasher ??= new Worker('/dist/hash-worker.js', { type: 'module' })) : null;
    const id = ++job;
    const finish = (value) => resolve(value);
    reader.onerror = (e) => reject(new Error(e.message ?? 'the reader failed'));
    if (hasher) hasher.onerror = (e) => reject(new Error(e.message ?? 'the hash worker failed'));
    reader.onmessage = ({ data }) => {
      if (data.chunk) return hasher.postMessage({ id, chunk: data.chunk, length: data.chunk.byteLength }, [data.chunk]);
      if (!hasher) return finish('');
      hasher.postMessage({ id, end: true });
    };
    if (hasher) {
      hasher.onmessage = ({ data }) => {
        if (data.error) reject(new Error(data.error));
        else if (data.ack) reader.postMessage({ credit: true });
        else if (data.sha) finish(data.sha);
      };
    }
    reader.postMessage({ file, mode, window: WINDOW, forward: !!hash });
  });
}

/** The hash worker fed from memory: 8 MiB windows copied from `bytes` and transferred, 2 unacked at most. */
function hashWorkerAlone(bytes) {
  return new Promise((resolve, reject) => {
    const hasher = (probeHasher ??= new Worker('/dist/hash-worker.js', { type: 'module' }));
    const id = ++job;
    const spares = [];
    let at = 0;
    let unacked = 0;
    const post = () => {
      while (unacked < 2 && at < bytes.length) {
        const piece = bytes.subarray(at, at + WINDOW);
        const window = new Uint8Array(spares.pop() ?? new ArrayBuffer(WINDOW), 0, piece.length);
        window.set(piece);
        hasher.postMessage({ id, chunk: window.buffer, length: piece.length }, [window.buffer]);
        at += piece.length;
        unacked += 1;
      }
      if (at >= bytes.length && unacked === 0) hasher.postMessage({ id, end: true });
    };
    hasher.onmessage = ({ data }) => {
      if (data.error) return reject(new Error(data.error));
      if (data.sha) return resolve(data.sha);
      if (data.ack) { unacked -= 1; spares.push(data.chunk); post(); }
    };
    post();
  });
}

/** Reads on this page: 8 MiB slices, the next in flight ('slices'), or BYOB reads of the stream. */
async function pageRead(mode) {
  let touched = 0;
  if (mode === 'byob') {
    const reader = file.stream().getReader({ mode: 'byob' });
    let buffer = new ArrayBuffer(WINDOW);
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (done) break;
      touched ^= value[0];
      buffer = value.buffer;
    }
    return '';
  }
  let next = file.slice(0, WINDOW).arrayBuffer();
  for (let at = 0; at < file.size; at += WINDOW) {
    const buffer = await next;
    if (at + WINDOW < file.size) next = file.slice(at + WINDOW, at + 2 * WINDOW).arrayBuffer();
    touched ^= new Uint8Array(buffer)[0];
  }
  return '';
}

const byob = (() => {
  try {
    new Blob().stream().getReader({ mode: 'byob' }).releaseLock();
    return true;
  } catch {
    return false;
  }
})();

window.compress = {
  async init() {
    file = document.getElementById('file').files[0];
    if (!file) throw new Error('no file picked');
    const hashWasm = await import('/node_modules/hash-wasm/dist/index.esm.js');
    pkg = await import('/dist/index.js');
    const bytes = new Uint8Array(await file.arrayBuffer());
    const { sha1, md5 } = await methods(bytes, { glue, hashWasm, SparkMD5: window.SparkMD5 });
    table = {
      sha1: { ...sha1, 'hashFile(), from the file': () => pkg.hashFile(file), 'hash-wasm streamed, from the file': () => hashWasmStreamed(hashWasm),
        'WebCrypto one-shot, from the file': async () => hex(await crypto.subtle.digest('SHA-1', await file.arrayBuffer())),
      },
      md5,
      // Where the hash pass's time goes: reading alone, per way, and hashing alone in the hash worker.
      read: {
        'hashFile(), from the file': () => pkg.hashFile(file),
        'the hash worker alone, windows from memory': () => hashWorkerAlone(bytes),
        'read + hash worker, reads in a worker (FileReaderSync)': () => workerRead('sync', true),
        'read alone: 8 MiB slices, page': () => pageRead('slices'),
        ...(byob && { 'read alone: BYOB stream reads, page': () => pageRead('byob') }),
        'read alone: 8 MiB slices, worker': () => workerRead('async', false),
        'read alone: FileReaderSync 8 MiB, worker': () => workerRead('sync', false),
      },
    };
    say('ready');
    return { sha1: Object.keys(table.sha1), md5: Object.keys(table.md5), read: Object.keys(table.read), simd: 'ours, wasm SIMD build' in sha1 };
  },

  /** Method `name` of `kind` ('sha1' or 'md5') once: { ms, digest }. */
  async one(kind, name) {
    say(`${kind}: ${name}`);
    const t0 = performance.now();
    const digest = await table[kind][name]();
    return { ms: performance.now() - t0, digest };
  },
};
