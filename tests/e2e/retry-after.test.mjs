// What the upload does with a server that asks it to wait, or refuses its authorisation (issue 25
// item 5), in headless Chromium against the real vod-server behind the tests' proxy (proxy.mjs),
// which answers the calls a test rewrites: a 503 with Retry-After, a rate limit (code 4400), a 401.

import assert from 'node:assert/strict';
import { beforeEach } from 'node:test';
import { performance } from 'node:perf_hooks';

import { forEngines } from '../../support/engines.mjs';
import { sha1File, writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { assertSameBytes } from './demo.mjs';
import { startProxy } from './proxy.mjs';

// Chromium only: the rules are the core's, the same in every engine; what is engine-specific (a
// header read from fetch's response) is the same code path as the status and the body.
forEngines(['chromium'], (engine, test) => {
  const setup = serverFor(engine, startApiServer, { tempDir: 'vod-e2e-retry-after-', proxy: startProxy });
  beforeEach(() => setup.proxy?.reset());

  /** How many times the proxy saw `action`. */
  function count(action) {
    return setup.proxy.seen.filter((a) => a === action).length;
  }

  test('a 503 with Retry-After is waited out that long before the part is sent again', { timeout: 60000 }, async (t) => {
    const path = await writeRandomFile(setup.dir, 'wait.mp4', 2 * 524288, 31);
    let answeredAt = 0;
    let againAt = 0;
    setup.proxy.rule = (action) => {
      if (action !== 'UploadPartEx') return undefined;
      if (!answeredAt) {
        answeredAt = performance.now();
        return { status: 503, headers: { 'retry-after': '2', 'content-type': 'text/plain' }, body: 'busy' };
      }
      againAt ||= performance.now();
      return undefined;
    };
    await openApiPage(engine, setup.proxy, [path]);
    // No backoff of its own (retryDelay 0): any wait is the one the server asked for.
    const { result, error } = await engine.evaluate(() =>
      outcome(api.upload(picked(), options({ concurrency: 1, retryDelay: 0, hashCache: false }))));
    assert.equal(error, undefined, JSON.stringify(error));
    assert.equal(result.fileSha, await sha1File(path));
    await assertSameBytes(result.url, path);
    const waited = againAt - answeredAt;
    t.diagnostic(`the part was sent again ${Math.round(waited)} ms after the 503`);
    // A lower bound only: the wait is the behaviour under test; a loaded machine only adds to it.
    assert.ok(waited >= 1900, `sent again after ${Math.round(waited)} ms, not after the 2 s asked`);
  });

  test('a rate limit (4400) is waited out without spending the retries', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'limited.mp4', 524288 + 1000, 32);
    let limited = 0;
    setup.proxy.rule = (action) => {
      if (action !== 'UploadPartEx' || limited >= 3) return undefined;
      limited += 1;
      return { body: '{"code":4400,"message":"too many calls","codeDesc":"RequestLimitExceeded","canRetry":1}' };
    };
    await openApiPage(engine, setup.proxy, [path]);
    const { result, error } = await engine.evaluate(() =>
      outcome(api.upload(picked(), options({ concurrency: 1, retries: 0, retryDelay: 1, hashCache: false }))));
    assert.equal(error, undefined, `no retry allowed, and still the upload goes on: ${JSON.stringify(error)}`);
    assert.equal(limited, 3);
    assert.equal(count('UploadPartEx'), 2 + 3);
    await assertSameBytes(result.url, path);
  });

  test('a 401 fails at once, not retried, and says so', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'denied.mp4', 1000, 33);
    setup.proxy.rule = (action) => (action === 'InitUploadEx' ? { status: 401, headers: { 'retry-after': '1' }, body: 'who are you' } : undefined);
    await openApiPage(engine, setup.proxy, [path]);
    const { error } = await engine.evaluate(() => outcome(api.upload(picked(), options({ retryDelay: 1, hashCache: false }))));
    assert.equal(error?.name, 'UploadError');
    assert.equal(error.step, 'init');
    assert.equal(error.canRetry, false);
    assert.equal(error.message, 'InitUploadEx (init step) failed: HTTP 401 instead of 200; the body began: "who are you"');
    assert.equal(count('InitUploadEx'), 1, 'sent once');
  });
});
