// The in-memory hashing comparison (bench/compress.mjs), shared by its page (any engine) and its Node
// run: each method hashes the same bytes already in memory, once, and returns its digest; the driver
// times them interleaved and takes medians. `deps` are what the host loads its own way:
//   glue(build)   a fresh instance of the package's wasm-bindgen glue, initialised with the named
//                 wasm build ('plain' or 'simd'): { Sha1, md5Hex, memory }
//   hashWasm      the hash-wasm module; SparkMD5 the spark-md5 module (or null)

const STAGE = 256 << 10; // as js/wasm.js feeds the package's Sha1
const PART = 1 << 20; // the MD5s are per 1 MiB part, as the uploader takes them

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

/** `{ name: () => Promise<string> }` over `bytes` (a Uint8Array), SHA-1s and MD5s apart. */
export async function methods(bytes, deps) {
  const builds = {};
  for (const build of ['simd', 'plain']) {
    try {
      builds[build] = await deps.glue(build);
    } catch (error) {
      if (build === 'plain') throw error; // an engine without wasm SIMD: no SIMD row
    }
  }
  const ours = ({ Sha1, memory }) => async () => {
    const hasher = new Sha1();
    const stage = hasher.stage();
    for (let at = 0; at < bytes.length; at += STAGE) {
      const piece = bytes.subarray(at, at + STAGE);
      new Uint8Array(memory.buffer, stage, piece.length).set(piece);
      hasher.updateStaged(piece.length);
    }
    return hasher.finish();
  };
  const oursMd5 = ({ md5Hex }) => async () => {
    let last = '';
    for (let at = 0; at < bytes.length; at += PART) last = md5Hex(bytes.subarray(at, at + PART));
    return last;
  };
  const hwSha1 = await deps.hashWasm.createSHA1();
  const hwMd5 = await deps.hashWasm.createMD5();
  const hw = (hasher, part) => async () => {
    if (!part) return hasher.init().update(bytes).digest('hex');
    let last = '';
    for (let at = 0; at < bytes.length; at += part) last = hasher.init().update(bytes.subarray(at, at + part)).digest('hex');
    return last;
  };
  const sha1 = {
    ...(builds.simd && { 'ours, wasm SIMD build': ours(builds.simd) }),
    'ours, plain build': ours(builds.plain),
    'hash-wasm': hw(hwSha1, 0),
    'WebCrypto one-shot': async () => hex(await crypto.subtle.digest('SHA-1', bytes)),
  };
  const md5 = {
    ...(builds.simd && { 'ours, wasm SIMD build': oursMd5(builds.simd) }),
    'ours, plain build': oursMd5(builds.plain),
    'hash-wasm': hw(hwMd5, PART),
    ...(deps.SparkMD5 && {
      'spark-md5': async () => {
        let last = '';
        for (let at = 0; at < bytes.length; at += PART) last = deps.SparkMD5.ArrayBuffer.hash(bytes.slice(at, at + PART).buffer);
        return last;
      },
    }),
  };
  return { sha1, md5 };
}
