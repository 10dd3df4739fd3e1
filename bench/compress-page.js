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
    };
    say('ready');
    return { sha1: Object.keys(table.sha1), md5: Object.keys(table.md5), simd: 'ours, wasm SIMD build' in sha1 };
  },

  /** Method `name` of `kind` ('sha1' or 'md5') once: { ms, digest }. */
  async one(kind, name) {
    say(`${kind}: ${name}`);
    const t0 = performance.now();
    const digest = await table[kind][name]();
    return { ms: performance.now() - t0, digest };
  },
};
