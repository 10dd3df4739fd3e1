// The file each size is measured with.

import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

import { MiB, PART_SIZE, sizeLabel } from './common.mjs';

// Deterministic pseudo-random bytes (AES-128-CTR keystream, seeded by the size), written to
// disk while node computes the reference digests: SHA-1 of the file, SHA-1 of its first `legacyCap`
// bytes, MD5 of each 1 MiB part (the baseline's dataMd5, computed here, outside any timed section),
// and SHA-1 of the "other" file: the same bytes with one byte changed, which gets its own upload
// session for the plain fetch baseline (it is never written: only its SHA-1 is needed).

export async function writeBenchFile(dir, size, legacyCap) {
  const name = `bench-${sizeLabel(size).replace(' ', '')}.mp4`;
  const path = join(dir, name);
  const key = createHash('sha256').update(`vod-bench-${size}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(8 * MiB);
  const sha = createHash('sha1');
  const otherSha = createHash('sha1');
  const prefixSha = createHash('sha1');
  const flipAt = Math.floor(size / 2);
  const md5s = [];
  let partHash = createHash('md5');
  let partFill = 0;
  const fh = await open(path, 'w');
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(zeros.length, size - done);
      const chunk = cipher.update(zeros.subarray(0, n));
      sha.update(chunk);
      if (done < legacyCap) prefixSha.update(chunk.subarray(0, Math.min(n, legacyCap - done)));
      if (flipAt >= done && flipAt < done + n) {
        const other = Buffer.from(chunk);
        other[flipAt - done] ^= 0xff;
        otherSha.update(other);
      } else {
        otherSha.update(chunk);
      }
      for (let off = 0; off < n;) {
        const take = Math.min(PART_SIZE - partFill, n - off);
        partHash.update(chunk.subarray(off, off + take));
        partFill += take;
        off += take;
        if (partFill === PART_SIZE) { md5s.push(partHash.digest('hex')); partHash = createHash('md5'); partFill = 0; }
      }
      await fh.write(chunk);
      done += n;
    }
  } finally {
    await fh.close();
  }
  if (partFill > 0) md5s.push(partHash.digest('hex'));
  return { name, path, size, sha: sha.digest('hex'), otherSha: otherSha.digest('hex'), prefixSha: prefixSha.digest('hex'), prefixBytes: Math.min(size, legacyCap), md5s };
}
