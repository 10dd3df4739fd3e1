// The package in Node (≥ 20), as a JS backend or a script uses it: a Blob from fs.openAsBlob(path),
// uploaded to vod-server with the built package's own upload(), and the stored bytes compared.
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';

import { DIST_DIR, devSignature, makeTempDir, sha1File, startServer, writeRandomFile } from '../../support/harness.mjs';
import { requireDist } from './helpers.mjs';
import { assertSameBytes } from '../e2e/demo.mjs';

let server;
let api;

before(async () => {
  requireDist();
  server = await startServer();
  api = await import(pathToFileURL(join(DIST_DIR, 'index.js')).href);
});
after(async () => {
  await server?.stop();
});

test('in Node, a Blob from fs.openAsBlob uploads and the server stores identical bytes', { timeout: 60000 }, async () => {
  const path = await writeRandomFile(makeTempDir('vod-node-'), 'from-node.mp4', 2_600_000, 41);
  const blob = await openAsBlob(path);
  const requests = [];
  const progress = [];
  const result = await api.upload(blob, {
    fileName: 'from-node.mp4',
    endpoint: server.endpoint,
    partSize: 524288,
    getSignature: (request) => { requests.push(request); return devSignature(server.origin, request); },
    onProgress: (p) => progress.push(p.phase),
  });
  assert.equal(result.fileSha, await sha1File(path));
  assert.equal(await api.hashFile(blob), result.fileSha, 'hashFile takes the Blob too');
  assert.deepEqual(requests.map((r) => r.fileName), ['from-node.mp4']);
  assert.ok(progress.includes('hashing') && progress.includes('uploading'), progress.join());
  assert.deepEqual(await api.pendingUploads(), [], 'no IndexedDB in Node: nothing is kept, nothing fails');
  await assertSameBytes(result.url, path);
});

test('in Node, a Blob without fileName is a TypeError', async () => {
  const blob = new Blob(['abc']);
  await assert.rejects(api.upload(blob, { getSignature: () => 'x', endpoint: server.endpoint }), TypeError);
});
