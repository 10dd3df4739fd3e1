// A hostile API server against the package (issue 25), in every engine: answers far larger than the
// protocol can need, a server's text that would become a huge error message, a `javascript:` url, a
// file name with a right-to-left override, and failures inside the wasm itself. The page and the API
// are reached through a proxy (proxy.mjs) whose rules give the hostile answers; everything else goes
// to a real vod-server. Each test prints the figure it holds (time to the error, wasm memory after).

import assert from 'node:assert/strict';
import { beforeEach } from 'node:test';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { sha1File, writeRandomFile } from '../../support/harness.mjs';
import { signOriginal } from '../../js/sign.js';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { assertSameBytes } from './demo.mjs';
import { startProxy } from './proxy.mjs';

const MB = 1e6;

/** InitUploadEx code 1 listing `n` parts: `{"offset":0,"dataSize":524288}` each (~33 bytes). */
function hugeListParts(n) {
  const head = Buffer.from('{"code":1,"message":"","codeDesc":"","canRetry":0,"dataSize":524288,"listParts":[');
  const entry = Buffer.from('{"offset":0,"dataSize":524288},');
  const body = Buffer.alloc(head.length + n * entry.length + 1);
  head.copy(body);
  body.fill(entry, head.length, head.length + n * entry.length);
  body.write(']}', body.length - 2); // over the last entry's comma
  return body;
}

/** A code-`code` answer with `field` holding `bytes` characters. */
function padded(code, field, bytes, extra = '') {
  return Buffer.from(`{"code":${code},"canRetry":0${extra},"${field}":"${'x'.repeat(bytes)}"}`);
}

// ---- run in the page (sent as source: they see only their arguments) --------------------------

/** Bytes of wasm memory of the package's current instance (the glue module it loaded last). */
async function wasmMemory() {
  await api.ready();
  for (let n = 8; n >= 0; n--) {
    const url = n ? `/dist/wasm/vod_ugc_uploader.js?instance=${n}` : '/dist/wasm/vod_ugc_uploader.js';
    // Only an instance the package started: importing another URL would make a module of its own.
    if (n && !performance.getEntriesByType('resource').some((e) => e.name.endsWith(url))) continue;
    const glue = await import(url);
    return (await glue.default()).memory.buffer.byteLength;
  }
}

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startApiServer, { tempDir: 'vod-e2e-hostile-answers-', proxy: startProxy });
  /** The URLs the page asked of the proxy (its own files too). */
  let urls = [];
  beforeEach(() => {
    setup.proxy?.reset();
    urls = [];
  });

  /** The API page through the proxy with `paths` picked; `rule(action, req)` answers calls. */
  async function openPage(paths, rule) {
    setup.proxy.rule = (action, req) => {
      urls.push(req.url);
      return rule?.(action, req);
    };
    await openApiPage(engine, setup.proxy, paths);
    await engine.evaluate(async (source) => {
      window.wasmMemory = (0, eval)(`(${source})`);
    }, wasmMemory.toString());
  }

  /** Runs upload(picked(i), options(extra)) in the page: its outcome, how long it took, and the wasm memory after. */
  function run(i = 0, extra = {}) {
    return engine.evaluate(async (index, more) => {
      const started = performance.now();
      const out = await outcome(api.upload(picked(index), options({ hashCache: false, retries: 1, retryDelay: 0, ...more })));
      const ms = Math.round(performance.now() - started);
      return { ...out, ms, memory: await wasmMemory() };
    }, i, extra);
  }

  test('an InitUploadEx answer listing 10,000,000 parts fails at init, and a normal upload in the same page succeeds', { timeout: 240000 }, async (t) => {
    const huge = hugeListParts(10_000_000);
    const small = await writeRandomFile(setup.dir, 'small.mp4', 700_000, 2501);
    const normal = await writeRandomFile(setup.dir, 'normal.mp4', 1_300_000, 2502);
    let hostile = true;
    await openPage([small, normal], (action) => (hostile && action === 'InitUploadEx' ? { body: huge } : undefined));
    const failed = await run(0);
    assert.equal(failed.result, undefined);
    assert.equal(failed.error?.name, 'UploadError', JSON.stringify(failed.error));
    assert.equal(failed.error.isUploadError, true);
    assert.equal(failed.error.step, 'init');
    assert.equal(failed.error.canRetry, false, 'a malformed answer');
    assert.match(failed.error.message, /^InitUploadEx \(init step\): the server's answer is not a protocol answer \(longer than any answer of this call can need for this file; not read\); it began: "\{"code":1,/);
    assert.ok(failed.error.message.length < 600, `${failed.error.message.length} characters`);
    assert.deepEqual(setup.proxy.seen, ['InitUploadEx'], 'nothing sent after it');

    hostile = false;
    const ok = await run(1);
    assert.equal(ok.error, undefined, JSON.stringify(ok.error));
    await assertSameBytes(ok.result.url, normal);
    assert.ok(failed.memory < 8 * MB, `wasm memory after the answer: ${failed.memory} bytes`);
    t.diagnostic(`${engine.name}: ${(huge.length / MB).toFixed(0)} MB answer -> UploadError in ${failed.ms} ms; wasm memory after ${(failed.memory / MB).toFixed(2)} MB; the next upload took ${ok.ms} ms`);
  });

  test('50 MB answers: a success answer and a refusal\'s message never enter wasm memory, and the error stays short', { timeout: 180000 }, async (t) => {
    // A file each: a part answered stays stored.
    const files = await Promise.all([1, 2, 3].map((i) => writeRandomFile(setup.dir, `fifty-${i}.mp4`, 600_000, 2503 + 10 * i)));
    let answer = null;
    await openPage(files, (action) => (answer?.[action] ? { body: answer[action] } : undefined));
    const before = await engine.evaluate(() => wasmMemory());

    answer = { FinishUploadEx: padded(0, 'verify_content', 50 * MB, ',"fileId":"16092504232103571364","url":"http://v.test/f0.mp4"') };
    const finish = await run(0);
    assert.equal(finish.error?.name, 'UploadError', JSON.stringify(finish.error));
    assert.equal(finish.error.step, 'finish');
    assert.match(finish.error.message, /^FinishUploadEx \(finish step\): the server's answer is not a protocol answer \(longer than any answer of this call can need/);
    assert.ok(finish.error.message.length < 600, `${finish.error.message.length} characters`);

    answer = { UploadPartEx: padded(-10003, 'message', 50 * MB) };
    const part = await run(1);
    assert.equal(part.error?.step, 'part', JSON.stringify(part.error));
    assert.ok(part.error.message.length < 600, `a 50 MB message became ${part.error.message.length} characters`);

    // Under the cap, the server's message goes into the error cut to 300 characters, marked with "…".
    answer = { UploadPartEx: padded(-10003, 'message', 60_000) };
    const cut = await run(2);
    assert.equal(cut.error?.code, -10003, JSON.stringify(cut.error));
    assert.match(cut.error.message, /^UploadPartEx \(part step\) was refused with code -10003: x{300}…$/);

    const grew = Math.max(finish.memory, part.memory, cut.memory) - before;
    assert.ok(grew < 1 * MB, `wasm memory grew by ${grew} bytes (from ${before})`);
    t.diagnostic(`${engine.name}: 50 MB success answer -> UploadError in ${finish.ms} ms, 50 MB message -> ${part.error.message.length}-character error in ${part.ms} ms; wasm memory ${(before / MB).toFixed(2)} MB before, ${(Math.max(finish.memory, part.memory, cut.memory) / MB).toFixed(2)} MB after`);
  });

  test('a url that is not http: or https: is a malformed answer, from FinishUploadEx and from an instant InitUploadEx', { timeout: 90000 }, async () => {
    const file = await writeRandomFile(setup.dir, 'javascript.mp4', 600_000, 2504);
    let answer = null;
    await openPage([file], (action) => (answer?.[action] ? { body: answer[action] } : undefined));
    const id = '"fileId":"16092504232103571364"';
    answer = { FinishUploadEx: `{"code":0,${id},"url":"javascript:alert(document.domain)","verify_content":"dmM="}` };
    const finish = await run(0);
    assert.equal(finish.result, undefined, 'no result carries the url');
    assert.equal(finish.error?.step, 'finish', JSON.stringify(finish.error));
    assert.match(finish.error.message, /\(a url that is not an http: or https: URL\)/);

    answer = { InitUploadEx: `{"code":2,${id},"url":" JavaScript:alert(1)"}` };
    const instant = await run(0);
    assert.equal(instant.error?.step, 'init', JSON.stringify(instant.error));
    assert.match(instant.error.message, /\(a url that is not an http: or https: URL\)/);

    answer = { InitUploadEx: `{"code":2,"fileId":"<img src=x onerror=alert(1)>","url":"https://v.test/f0.mp4"}` };
    const fileId = await run(0);
    assert.match(fileId.error?.message ?? '', /\(a fileId that is not a decimal id\)/);
  });

  test('a file name with a right-to-left override is refused before any request, and the error shows it escaped', { timeout: 60000 }, async () => {
    const file = await writeRandomFile(setup.dir, 'movie\u202E4pm.exe', 1000, 2505);
    await openPage([file]);
    // A careless backend that signs whatever name it is given (the dev signer and
    // vod-ugc-uploader/sign refuse this name): the client must still refuse it before any request.
    const t = Math.floor(Date.now() / 1000);
    const fields = { s: setup.server.secretId, t, e: t + 3600, r: 7, f: 'movie\u202E4pm.exe', fs: await sha1File(file), ft: 'exe', uid: 'u' };
    const signature = signOriginal(new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString(), setup.server.secretKey);
    const got = await engine.evaluate(async (signature) => {
      const requests = [];
      const getSignature = (request) => { requests.push(request); return signature; };
      const out = await outcome(api.upload(picked(), options({ getSignature })));
      return { ...out, name: picked().name, asked: requests.length };
    }, signature);
    assert.equal(got.name, 'movie\u202E4pm.exe', 'the browser kept the name as it is on disk');
    assert.equal(got.error?.name, 'UploadError', JSON.stringify(got.error));
    assert.equal(got.error.step, 'signature');
    assert.equal(got.error.message, 'signature: bad file name ("movie\\u{202e}4pm.exe" contains a bidirectional control character)');
    assert.equal(got.asked, 1, 'the signature was asked for once, and refused as it came');
    assert.deepEqual(setup.proxy.seen, [], 'no API call');
  });

  test('an exception thrown through the wasm fails the upload with an UploadError at its step; the next upload gets a fresh instance', { timeout: 90000 }, async (t) => {
    const one = await writeRandomFile(setup.dir, 'thrown.mp4', 700_000, 2506);
    const two = await writeRandomFile(setup.dir, 'after.mp4', 800_000, 2507);
    await openPage([one, two]);
    const got = await engine.evaluate(async () => {
      const sign = signer();
      // The clock throws once, at the first call after the signature came: the wasm's, as it takes
      // the signature (it reads the time through Date.now), so the exception unwinds through it.
      const getSignature = async (request) => {
        const signature = await sign(request);
        const now = Date.now;
        Date.now = () => {
          Date.now = now;
          throw new Error('a clock that throws');
        };
        return signature;
      };
      const started = performance.now();
      const failed = await outcome(api.upload(picked(0), options({ getSignature, hashCache: false })));
      const ms = Math.round(performance.now() - started);
      const ok = await outcome(api.upload(picked(1), options({ hashCache: false })));
      const hashed = await outcome(api.hashFile(picked(1)));
      return { failed, ms, ok, hashed };
    });
    assert.equal(got.failed.error?.isUploadError, true, JSON.stringify(got.failed.error));
    assert.equal(got.failed.error.step, 'signature');
    assert.equal(got.failed.error.message, "the signature step failed inside the uploader's WebAssembly (Error: a clock that throws); the next call gets a fresh instance");
    assert.equal(got.ok.error, undefined, JSON.stringify(got.ok.error));
    await assertSameBytes(got.ok.result.url, two);
    assert.equal(got.hashed.result, got.ok.result.fileSha);
    assert.ok(urls.some((u) => u.startsWith('/dist/wasm/vod_ugc_uploader.js?instance=1')), `a fresh glue module was loaded: ${urls.filter((u) => u.includes('wasm'))}`);
    assert.deepEqual(setup.proxy.seen.filter((a) => a === 'InitUploadEx').length, 1, 'the failed upload sent nothing');
    t.diagnostic(`${engine.name}: UploadError ${got.ms} ms after the call (hash pass included)`);
  });

  test('a trap (the wasm out of memory) fails the upload with an UploadError; the next upload gets a fresh instance', {
    timeout: 120000,
    skip: engine.name === 'chromium' ? false : 'grows the instance\'s memory to its 4 GiB limit: checked in Chromium only',
  }, async (t) => {
    const one = await writeRandomFile(setup.dir, 'trapped.mp4', 1_100_000, 2508);
    const two = await writeRandomFile(setup.dir, 'recovered.mp4', 900_000, 2509);
    await openPage([one, two]);
    const got = await engine.evaluate(async () => {
      window.Worker = undefined; // the digests on this thread, in the instance below
      await api.ready();
      const glue = await import('/dist/wasm/vod_ugc_uploader.js');
      const { memory } = await glue.default();
      // Take every page the instance may still have: its next allocation that needs one traps.
      for (let pages = 16384; pages >= 1; ) {
        try {
          memory.grow(pages);
        } catch {
          pages >>= 1;
        }
      }
      const full = memory.buffer.byteLength;
      const started = performance.now();
      const failed = await outcome(api.upload(picked(0), options({ hashCache: false })));
      const ms = Math.round(performance.now() - started);
      const ok = await outcome(api.upload(picked(1), options({ hashCache: false })));
      return { failed, ms, ok, full };
    });
    assert.equal(got.failed.error?.isUploadError, true, JSON.stringify(got.failed.error));
    assert.ok(['hash', 'part'].includes(got.failed.error.step), got.failed.error.step);
    assert.match(got.failed.error.message, /failed inside the uploader's WebAssembly \(RuntimeError: .*\); the next call gets a fresh instance$/);
    assert.equal(got.ok.error, undefined, JSON.stringify(got.ok.error));
    await assertSameBytes(got.ok.result.url, two);
    t.diagnostic(`${engine.name}: memory grown to ${(got.full / 2 ** 30).toFixed(2)} GiB; UploadError (step ${got.failed.error.step}: ${got.failed.error.message}) in ${got.ms} ms; the next upload succeeded`);
  });
});
