#!/usr/bin/env node
// What the recorder's hash pass costs (README, "One hash pass"): a recording is hashed once it stops,
// as a File made of its chunks read back from IndexedDB. In one headless Chromium page served by a
// debug vod-server, for a file of --mib MiB (default 256): hashFile() of a recording-shaped File (the
// chunks written to IndexedDB as the recorder writes them, 500 KB each, about a second of a phone
// camera at 4 Mbit/s, then read back and joined as recordedFile() joins them), and hashFile() of the
// same bytes picked from disk through <input type=file>, best of --runs (default 2); prints MB/s and
// seconds per GiB of each. Nothing is asserted but that both give the SHA-1 of the bytes.
//
// Usage: VOD_SERVER_BIN=target/debug/vod-server node bench/record-hash.mjs [--mib 256] [--runs 2]

import { parseArgs } from 'node:util';

import { launchEngine } from '../support/engines.mjs';
import { makeTempDir, sha1File, writeRandomFile } from '../support/harness.mjs';
import { openApiPage, startApiServer } from '../tests/e2e/api.mjs';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, runs: { type: 'string', default: '2' } } });
const mib = Number(values.mib);
const runs = Number(values.runs);
const CHUNK = 500_000;

const dir = makeTempDir('vod-bench-record-');
const path = await writeRandomFile(dir, 'recording.webm', mib * 1024 * 1024, 77);
const sha = await sha1File(path);
const server = await startApiServer();
const engine = await launchEngine('chromium');
try {
  await openApiPage(engine, server, [path]);
  const out = await engine.evaluate(async (chunkSize, runs) => {
    const file = picked();
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('bench-record-hash', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('chunks');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const done = (tx) => new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
    // Written as the recorder writes: one chunk (a Blob of its bytes) per transaction.
    for (let at = 0, i = 0; at < file.size; at += chunkSize, i++) {
      const chunk = new Blob([await file.slice(at, at + chunkSize).arrayBuffer()]);
      const tx = db.transaction('chunks', 'readwrite');
      tx.objectStore('chunks').put(chunk, i);
      await done(tx);
    }
    const tx = db.transaction('chunks');
    const read = tx.objectStore('chunks').getAll();
    await done(tx);
    const recording = new File([new Uint8Array(0), new Blob(read.result).slice(0), new Uint8Array(0)], 'recording.webm');
    const time = async (source) => {
      let best = Infinity;
      let digest;
      for (let r = 0; r < runs; r++) {
        const start = performance.now();
        digest = await api.hashFile(source);
        best = Math.min(best, performance.now() - start);
      }
      return { ms: best, digest };
    };
    const fromStore = await time(recording);
    const fromDisk = await time(file);
    db.close();
    indexedDB.deleteDatabase('bench-record-hash');
    return { chunks: read.result.length, fromStore, fromDisk };
  }, CHUNK, runs);
  const gib = (mib * 1024 * 1024) / 2 ** 30;
  for (const [what, { ms, digest }] of [[`recording (${out.chunks} chunks from IndexedDB)`, out.fromStore], ['the same bytes picked from disk', out.fromDisk]]) {
    if (digest !== sha) throw new Error(`${what}: SHA-1 ${digest}, not ${sha}`);
    console.log(`${what}: ${((mib * 1024 * 1024) / 1e6 / (ms / 1000)).toFixed(0)} MB/s, ${(ms / 1000 / gib).toFixed(2)} s per GiB`);
  }
  console.log(`${engine.version}, ${mib} MiB, best of ${runs}; ratio recording/disk ${(out.fromStore.ms / out.fromDisk.ms).toFixed(2)}`);
} finally {
  await engine.close();
  await server.stop();
}
