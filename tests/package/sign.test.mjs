// vod-ugc-uploader/sign as a Node backend uses it: resolved through the installed tarball's exports,
// it signs what the browser asks for, vod-server accepts the signature for a real upload, and the
// result's verifyContent checks out with the verify key (and a forged or expired one does not).
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';

import { DIST_DIR, makeTempDir, startServer, writeRandomFile } from '../../support/harness.mjs';
import { makeApp, packTarball } from './helpers.mjs';

// The protocol's test vector (docs/protocol.md, "The signature").
const VECTOR_KEY = 'bLcPnl88WU30VY57ipRhSePfPdOfSruK';
const VECTOR_ORIGINAL = 's=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&f=tencent_test.mp4&t=1437995644&e=1437995704&r=2081660421';
const VECTOR_SIGNATURE = 'IEmbRAPy5IgIAFnt7XPAToaY3RRzPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZmPXRlbmNlbnRfdGVzdC5tcDQmdD0xNDM3OTk1NjQ0JmU9MTQzNzk5NTcwNCZyPTIwODE2NjA0MjE=';
const SHA = 'b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9';

let server;
let sign;
let api;

before(async () => {
  server = await startServer();
  const app = makeApp(packTarball().tarball);
  // Resolved as a backend's own code would: through the package's exports, under Node's conditions.
  const resolved = createRequire(join(app, 'backend.js')).resolve('vod-ugc-uploader/sign');
  assert.match(resolved, /node_modules[\\/]vod-ugc-uploader[\\/]dist[\\/]sign\.js$/);
  sign = await import(pathToFileURL(resolved).href);
  api = await import(pathToFileURL(join(DIST_DIR, 'index.js')).href);
});
after(async () => {
  await server?.stop();
});

test('the protocol test vector signs identically', () => {
  assert.equal(sign.signOriginal(VECTOR_ORIGINAL, VECTOR_KEY), VECTOR_SIGNATURE);
});

test('a signature carries the MAC of its fields, every optional field included', () => {
  const signature = sign.signUpload({
    secretId: 'AKIDx', secretKey: 'k', fileSha: SHA.toUpperCase(), fileName: '会议记录 第一季 第三集.webm', fileSize: 5, uid: 'u1',
    lifetime: 600, now: 1_800_000_000, random: 42, transcode: true, screenshot: false, watermark: true, classId: 7, tags: ['a b', '标签'],
  });
  const raw = Buffer.from(signature, 'base64');
  const original = raw.subarray(20).toString('utf8');
  assert.equal(sign.signOriginal(original, 'k'), signature);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(original)), {
    s: 'AKIDx', t: '1800000000', e: '1800000600', r: '42', f: '会议记录 第一季 第三集.webm', fs: SHA, ft: 'webm', uid: 'u1',
    tc: '1', ss: '0', wm: '1', cid: '7', 'tag.0': 'a b', 'tag.1': '标签',
  });
});

test('what the server would refuse is a TypeError, and nothing is signed', () => {
  const base = { secretId: 'AKIDx', secretKey: 'k', fileSha: SHA, fileName: 'a.mp4', uid: 'u' };
  const refused = {
    'a name of 41 characters': { fileName: `${'名'.repeat(37)}.mp4` },
    'a right-to-left override': { fileName: 'movie\u202E4pm.exe' },
    'a forbidden character': { fileName: 'a/b.mp4' },
    'a lifetime over 90 days': { lifetime: sign.MAX_LIFETIME + 1 },
    'a fractional time': { now: 1_800_000_000.5 },
    'a sha that is not hex': { fileSha: 'z'.repeat(40) },
    'eleven tags': { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
    'no uid': { uid: '' },
  };
  for (const [what, change] of Object.entries(refused)) {
    assert.throws(() => sign.signUpload({ ...base, ...change }), TypeError, what);
  }
  assert.doesNotThrow(() => sign.signUpload({ ...base, fileName: `${'名'.repeat(36)}.mp4`, lifetime: sign.MAX_LIFETIME }), '40 characters is allowed');
});

test('vod-server accepts what signUpload signs, and verifyContent vouches for the fileId it stored', { timeout: 60000 }, async () => {
  const path = await writeRandomFile(makeTempDir('vod-sign-'), 'signed.mp4', 1_300_000, 7);
  const asked = [];
  const result = await api.upload(await openAsBlob(path), {
    fileName: 'signed.mp4',
    endpoint: server.endpoint,
    // What a backend route does with the browser's request: spread it in, add its own fields.
    getSignature: (request) => {
      asked.push(request);
      return sign.signUpload({ ...request, secretId: server.secretId, secretKey: server.secretKey, uid: 'user-17', lifetime: 900 });
    },
  });
  assert.equal(asked.length, 1);
  assert.match(result.fileId, /^\d{19,20}$/);
  // The verify key is the secret key unless the server is told otherwise.
  const checked = sign.verifyContent(result.verifyContent, { verifyKey: server.secretKey });
  assert.equal(checked.fileId, result.fileId);
  assert.ok(checked.expTime > Date.now() / 1000);

  assert.throws(() => sign.verifyContent(result.verifyContent, { verifyKey: 'another key' }), /does not match/);
  assert.throws(() => sign.verifyContent(result.verifyContent, { verifyKey: server.secretKey, now: checked.expTime }), /expired/);
  const raw = Buffer.from(result.verifyContent, 'base64').toString('latin1');
  const forged = Buffer.from(raw.replace(`FileId=${result.fileId}`, 'FileId=1234567890123456789'), 'latin1').toString('base64');
  assert.throws(() => sign.verifyContent(forged, { verifyKey: server.secretKey }), /does not match/);
});

test('a signature by a key the server does not know is refused (-10002), before any part is sent', { timeout: 60000 }, async () => {
  const path = await writeRandomFile(makeTempDir('vod-sign-'), 'other-key.mp4', 700_000, 8);
  const upload = api.upload(await openAsBlob(path), {
    fileName: 'other-key.mp4',
    endpoint: server.endpoint,
    retries: 0,
    getSignature: (request) => sign.signUpload({ ...request, secretId: server.secretId, secretKey: 'not the key', uid: 'u' }),
  });
  await assert.rejects(upload, (error) => error.name === 'UploadError' && error.code === -10002 && error.step === 'init');
});

test("verifyEvent checks vod-server's upload-complete event, MAC'd with the event key", { timeout: 60000 }, async () => {
  const eventKey = 'the-event-key-of-this-server';
  const got = [];
  // A receiver as a backend writes one: the raw body, checked before anything is trusted.
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ body: Buffer.concat(chunks), signature: req.headers[sign.EVENT_SIGNATURE_HEADER] });
      res.writeHead(204).end();
    });
  });
  await new Promise((done) => receiver.listen(0, '127.0.0.1', done));
  const hook = `http://127.0.0.1:${receiver.address().port}/hook`;
  const notifying = await startServer({ args: ['--notify-url', hook, '--event-key', eventKey] });
  try {
    const path = await writeRandomFile(makeTempDir('vod-sign-'), 'evented.mp4', 600_000, 9);
    const result = await api.upload(await openAsBlob(path), {
      fileName: 'evented.mp4',
      endpoint: notifying.endpoint,
      getSignature: (request) => sign.signUpload({ ...request, secretId: notifying.secretId, secretKey: notifying.secretKey, uid: 'user-9', classId: 4, tags: ['beach'], watermark: true }),
    });
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 1, 'the event arrived');
    const event = sign.verifyEvent(got[0].body, got[0].signature, { eventKey });
    assert.equal(event.type, 'upload.complete');
    assert.equal(event.fileId, result.fileId);
    assert.equal(event.url, result.url);
    assert.deepEqual([event.uid, event.classId, event.tags, event.isWatermark, event.fileName], ['user-9', 4, ['beach'], 1, 'evented.mp4']);
    assert.match(event.eventId, /^\d+-\d+$/);
    assert.throws(() => sign.verifyEvent(got[0].body, got[0].signature, { eventKey: 'another key' }), /does not match/);
    const changed = Buffer.from(got[0].body);
    changed[changed.indexOf('user-9')] ^= 1;
    assert.throws(() => sign.verifyEvent(changed, got[0].signature, { eventKey }), /does not match/);
    assert.throws(() => sign.verifyEvent(got[0].body, undefined, { eventKey }), /X-Vod-Signature/);
    // Re-serialized JSON is other bytes: only the body as received checks out.
    assert.throws(() => sign.verifyEvent(JSON.stringify(JSON.parse(got[0].body.toString()), null, 1), got[0].signature, { eventKey }), /does not match/);
  } finally {
    await notifying.stop();
    receiver.close();
  }
});
