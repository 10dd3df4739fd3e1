// The package ships two builds of its wasm (scripts/build.mjs): a plain one and one with wasm SIMD,
// whose SHA-1 has a compression of its own (src/hash/simd.rs); js/wasm.js loads one per engine. Both
// are checked here, in Node (V8 has SIMD), whatever the engine of the day would pick: the known
// answers, every length around the padding's boundaries, and one random file under many chunkings,
// each against node:crypto.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';

import { DIST_DIR } from '../../support/harness.mjs';
import { requireDist } from './helpers.mjs';

const BUILDS = ['vod_ugc_uploader_bg.wasm', 'vod_ugc_uploader_simd_bg.wasm'];
const nodeSha1 = (bytes) => createHash('sha1').update(bytes).digest('hex');

/** The glue, instantiated on its own (a query makes it a module of its own) with `wasm`. */
async function build(wasm) {
  requireDist();
  const glue = await import(`${pathToFileURL(join(DIST_DIR, 'wasm', 'vod_ugc_uploader.js')).href}?${wasm}`);
  const { memory } = await glue.default({ module_or_path: readFileSync(join(DIST_DIR, 'wasm', wasm)) });
  /** SHA-1 of `bytes` fed in pieces of `chunk` bytes through the stage, as js/wasm.js feeds it. */
  return (bytes, chunk = bytes.length || 1) => {
    const hasher = new glue.Sha1();
    const stage = hasher.stage();
    for (let at = 0; at < bytes.length; at += chunk) {
      const piece = bytes.subarray(at, at + chunk);
      new Uint8Array(memory.buffer, stage, piece.length).set(piece);
      hasher.updateStaged(piece.length);
    }
    return hasher.finish();
  };
}

for (const wasm of BUILDS) {
  test(`${wasm}: SHA-1 known answers and every length up to three blocks`, async () => {
    const sha1 = await build(wasm);
    const text = (s) => new TextEncoder().encode(s);
    assert.equal(sha1(text('')), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
    assert.equal(sha1(text('abc')), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    assert.equal(sha1(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')), '84983e441c3bd26ebaae4aa1f95129e5e54670f1');
    assert.equal(sha1(new Uint8Array(1_000_000).fill(97), 4096), '34aa973cd4c4daa4f61eeb2bdbad27316534016f');
    const bytes = randomBytes(200);
    for (let len = 0; len <= bytes.length; len++) {
      assert.equal(sha1(bytes.subarray(0, len)), nodeSha1(bytes.subarray(0, len)), `length ${len}`);
    }
  });

  test(`${wasm}: SHA-1 of random bytes is the same under any chunking`, async () => {
    const sha1 = await build(wasm);
    const bytes = randomBytes(3 * (256 << 10) + 12_345);
    const want = nodeSha1(bytes);
    for (const chunk of [1, 63, 64, 65, 1000, 4096, 65_537, 256 << 10]) {
      assert.equal(sha1(bytes, chunk), want, `pieces of ${chunk} bytes`);
    }
  });
}
