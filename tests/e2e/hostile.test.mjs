// Answers and app callbacks that would make the client lie or hang (issue 15, client items), in
// headless Chromium against the real vod-server. The page and the API are reached through a proxy
// (proxy.mjs), which forwards every request to vod-server except those a test rewrites: a redirect,
// an answer a server must never give, a part held back until another upload has finished.

import assert from 'node:assert/strict';
import { beforeEach } from 'node:test';

import { forEngines } from '../../support/engines.mjs';
import { sha1File, stats, writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { assertSameBytes } from './demo.mjs';
import { startProxy } from './proxy.mjs';

// Chromium only: these tests were written for it (the answers they check come from the package, the
// same in every engine, so they are not repeated in Firefox and WebKit).
forEngines(['chromium'], (engine, test) => {
  const setup = serverFor(engine, startApiServer, { tempDir: 'vod-e2e-hostile-', proxy: startProxy });
  beforeEach(() => setup.proxy?.reset());

  /** The API page through the proxy, with `paths` picked. */
  function openPage(paths) {
    return openApiPage(engine, setup.proxy, paths);
  }

  /** How many times the proxy saw `action`. */
  function count(action) {
    return setup.proxy.seen.filter((a) => a === action).length;
  }

  test('uploads of one file at once all end with its fileId, also the one whose part came after the finish', { timeout: 90000 }, async () => {
    // The first part sent is held back until the other upload's FinishUploadEx has answered code 0: it
    // then reaches a finished session and gets −10005, and its upload asks InitUploadEx again.
    const path = await writeRandomFile(setup.dir, 'twice.mp4', 4 * 524288, 1);
    let release;
    const finished = new Promise((resolve) => { release = resolve; });
    let held = false;
    setup.proxy.rule = async (action) => {
      if (action !== 'UploadPartEx' || held) return;
      held = true;
      await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 30000))]);
    };
    setup.proxy.answered = (action, status, text) => {
      if (action === 'FinishUploadEx' && JSON.parse(text).code === 0) release();
    };
    await openPage([path]);
    const outcomes = await engine.evaluate(() => {
      const run = () => outcome(api.upload(picked(), options({ concurrency: 1, hashCache: false })));
      return Promise.all([run(), run()]);
    });
    for (const { error } of outcomes) assert.equal(error, undefined, `each upload resolves: ${JSON.stringify(error)}`);
    const [a, b] = outcomes.map((o) => o.result);
    assert.equal(a.fileId, b.fileId, 'one file, one fileId');
    assert.deepEqual([a.instant, b.instant].sort(), [false, true], 'the late one sent nothing that was acknowledged: it found the file');
    assert.equal(a.uploadedBytes + b.uploadedBytes, 4 * 524288);
    assert.ok(typeof a.verifyContent === 'string' && typeof b.verifyContent === 'string', 'both confirmed by FinishUploadEx');
    assert.equal(count('InitUploadEx'), 3, 'one each, and once more for the late one');
    await assertSameBytes(a.url, path);
  });

  test('three uploads of one file started together resolve with the same fileId', { timeout: 90000 }, async (t) => {
    const path = await writeRandomFile(setup.dir, 'thrice.mp4', 3 * 1048576 + 1000, 2);
    await openPage([path]);
    const outcomes = await engine.evaluate(() => {
      const run = () => outcome(api.upload(picked(), options({ concurrency: 2, hashCache: false })));
      return Promise.all([run(), run(), run()]);
    });
    for (const { error } of outcomes) assert.equal(error, undefined, `each upload resolves: ${JSON.stringify(error)}`);
    const ids = new Set(outcomes.map((o) => o.result.fileId));
    assert.equal(ids.size, 1, `one fileId: ${[...ids]}`);
    await assertSameBytes(outcomes[0].result.url, path);
    t.diagnostic(`calls: ${['InitUploadEx', 'UploadPartEx', 'FinishUploadEx'].map((a) => `${a} ${count(a)}`).join(', ')}`);
  });

  test('a redirect is not followed: the part is not taken as stored, and the error says why', { timeout: 60000 }, async () => {
    // Followed, the 302 would turn the POST into a GET without its body, to a place that answers code 0.
    let fakeAcks = 0;
    setup.proxy.rule = (action, req) => {
      if (action === 'UploadPartEx') return { status: 302, headers: { location: '/fake-ack' } };
      if (req.url === '/fake-ack') {
        fakeAcks += 1;
        return { body: '{"code":0,"message":"","codeDesc":"","canRetry":0}' };
      }
    };
    const path = await writeRandomFile(setup.dir, 'redirect.mp4', 700_000, 3);
    await openPage([path]);
    const { result, error } = await engine.evaluate(() => outcome(api.upload(picked(), options({ retries: 1, retryDelay: 0 }))));
    assert.equal(result, undefined, 'no success for parts that never arrived');
    assert.equal(error.name, 'UploadError');
    assert.equal(error.step, 'part');
    assert.match(error.message, /UploadPartEx \(part step\) failed after 2 attempts: .*redirect \(HTTP 3xx\), which is not followed/);
    // A part goes by XMLHttpRequest (its upload progress), which cannot refuse to follow a redirect:
    // the target is asked (a GET without the body), and its code 0 is not taken for an ack.
    assert.ok(fakeAcks <= 4, `the redirect target was asked once per attempt of each of the two parts at most (${fakeAcks})`);
    assert.equal(count('FinishUploadEx'), 0);
    assert.equal((await stats(setup.server.origin, await sha1File(path))).partsReceived, 0);
  });

  test('a getSignature that never settles fails the upload at the timeout', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'hang.mp4', 1000, 4);
    await openPage([path]);
    const { error, ms } = await engine.evaluate(async () => {
      const started = performance.now();
      const out = await outcome(api.upload(picked(), options({ getSignature: () => new Promise(() => {}), timeout: 1000 })));
      return { ...out, ms: performance.now() - started };
    });
    assert.equal(error?.name, 'UploadError');
    assert.equal(error.step, 'signature');
    assert.equal(error.message, 'getSignature failed: it gave no signature within 1 s (the timeout option)');
    assert.ok(ms >= 1000 && ms < 10000, `failed after the 1 s timeout, not before nor much later (${ms} ms)`);
    assert.equal(count('InitUploadEx'), 0);
  });

  test('a 10 MiB signature fails at once, before any request', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'huge-signature.mp4', 1000, 5);
    await openPage([path]);
    const { error } = await engine.evaluate(() => outcome(api.upload(picked(), options({ getSignature: () => 'A'.repeat(10 << 20) }))));
    assert.equal(error?.name, 'UploadError');
    assert.equal(error.step, 'signature');
    assert.equal(error.canRetry, false);
    assert.equal(error.message, 'getSignature failed: it returned 10485760 bytes, and a signature is at most 4096');
    assert.deepEqual(setup.proxy.seen, [], 'no API call');
  });

  test('a resumed part size no session can have fails at InitUploadEx, quoting the answer', { timeout: 60000 }, async () => {
    const answer = '{"code":1,"message":"","codeDesc":"","canRetry":0,"dataSize":1,"listParts":[]}';
    setup.proxy.rule = (action) => (action === 'InitUploadEx' ? { body: answer } : undefined);
    const path = await writeRandomFile(setup.dir, 'tiny-parts.mp4', 4096, 6);
    await openPage([path]);
    const { error } = await engine.evaluate(() => outcome(api.upload(picked(), options())));
    assert.equal(error?.name, 'UploadError');
    assert.equal(error.step, 'init');
    assert.ok(error.message.includes('code 1 with dataSize 1, outside the 524288–1048576 bytes'), error.message);
    assert.ok(error.message.includes(answer), `the answer is quoted: ${error.message}`);
    assert.deepEqual(setup.proxy.seen, ['InitUploadEx']);
  });

  test('after code 2, a refused FinishUploadEx fails and says so; one out of reach keeps the code 2', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'instant.mp4', 600_000, 7);
    await openPage([path]);
    const run = () => engine.evaluate(() => outcome(api.upload(picked(), options({ retries: 1, retryDelay: 0 }))));
    const first = await run();
    assert.equal(first.error, undefined, JSON.stringify(first.error));

    setup.proxy.rule = (action) => (action === 'FinishUploadEx' ? { body: '{"code":-10003,"message":"1 of 2 parts missing","canRetry":0}' } : undefined);
    const refused = await run();
    assert.equal(refused.error?.name, 'UploadError');
    assert.equal(refused.error.step, 'finish');
    assert.equal(refused.error.code, -10003);
    assert.equal(
      refused.error.message,
      `FinishUploadEx (finish step) was refused with code -10003: 1 of 2 parts missing (after InitUploadEx had answered code 2: file ${first.result.fileId} already stored)`,
    );

    setup.proxy.rule = (action) => (action === 'FinishUploadEx' ? { status: 503, headers: { 'content-type': 'text/html' }, body: '<h1>busy</h1>' } : undefined);
    const unreached = await run();
    assert.equal(unreached.error, undefined, JSON.stringify(unreached.error));
    assert.equal(unreached.result.instant, true);
    assert.equal(unreached.result.fileId, first.result.fileId);
    assert.equal(unreached.result.verifyContent, null, 'no proof without an answer');
  });
});
