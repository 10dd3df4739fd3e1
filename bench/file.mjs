// The file each size is measured with.

import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

import { MiB, PART_SIZE, PART_SIZES, sizeLabel } from './common.mjs';

// Deterministic pseudo-random bytes (AES-128-CTR keystream, seeded by the size), written to
// disk while node computes the reference digests: SHA-1 of the file, SHA-1 of its first `legacyCap`
// bytes, MD5 of each part at both part sizes the protocol allows (`md5sBySize`: the baseline's dataMd5
// for parts of the size ours' session used, computed here, outside any timed section; `md5s`: the 1 MiB ones),
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
  // Per part size: the MD5s so far, the part being hashed and its bytes so far.
  const parts = PART_SIZES.map((partSize) => ({ partSize, md5s: [], hash: createHash('md5'), fill: 0 }));
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
      for (const part of parts) {
        for (let off = 0; off < n;) {
          const take = Math.min(part.partSize - part.fill, n - off);
          part.hash.update(chunk.subarray(off, off + take));
          part.fill += take;
          off += take;
          if (part.fill === part.partSize) { part.md5s.push(part.hash.digest('hex')); part.hash = createHash('md5'); part.fill = 0; }
        }
      }
      await fh.write(chunk);
      done += n;
    }
  } finally {
    await fh.close();
  }
  for (const part of parts) if (part.fill > 0) part.md5s.push(part.hash.digest('hex'));
  const md5sBySize = Object.fromEntries(parts.map((p) => [p.partSize, p.md5s]));
  return { name, path, size, sha: sha.digest('hex'), otherSha: otherSha.digest('hex'), prefixSha: prefixSha.digest('hex'), prefixBytes: Math.min(size, legacyCap), md5s: md5sBySize[PART_SIZE], md5sBySize };
}
