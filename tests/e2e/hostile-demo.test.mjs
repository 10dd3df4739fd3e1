// The demo page against a crafted link and under a strict Content-Security-Policy (issue 25), in
// every engine: a foreign `?endpoint=` gets nothing (unless this browser was switched to development
// by hand), and the page starts, uploads and shows its "did not load" banner under the README's CSP.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before } from 'node:test';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { sha1File, stats, writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { assertSameBytes, openDemo, pickFiles, readResult, startDemoServer, waitForDemoReady, waitForState } from './demo.mjs';
import { startProxy } from './proxy.mjs';

/** The README's policy ("Browser support and CSP"), word for word. */
const CSP = "script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' https://vod2.qcloud.com";

/** A server of someone else's: counts what reaches it, answers 404. */
async function startForeign() {
  const foreign = { requests: [], url: '', close: null };
  const http = createServer((req, res) => {
    foreign.requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(404, { 'access-control-allow-origin': '*' }).end();
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  foreign.url = `http://127.0.0.1:${http.address().port}/v2/index.php`;
  foreign.close = () => new Promise((resolve) => { http.closeAllConnections(); http.close(resolve); });
  return foreign;
}

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startDemoServer, { tempDir: 'vod-e2e-hostile-demo-', proxy: startProxy });
  let foreign;
  before(async () => {
    if (!engine.skipped) foreign = await startForeign();
  });
  after(() => foreign?.close());

  test('the demo opened with a foreign ?endpoint= uploads to its own origin and sends nothing there', { timeout: 120000 }, async (t) => {
    const path = await writeRandomFile(setup.dir, `crafted-${engine.name}.mp4`, 700_000, 2601);
    await openDemo(engine, setup.server, { endpoint: foreign.url, partSize: 524288 });
    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForState(card, 'done');
    const result = await readResult(card);
    assert.equal(new URL(result.url).origin, setup.server.origin, 'stored by the page\'s own server');
    await assertSameBytes(result.url, path);
    assert.equal((await stats(setup.server.origin, await sha1File(path))).partsReceived, 2);
    assert.deepEqual(foreign.requests, [], 'the foreign server was sent nothing');

    // Switched to development by hand (a link cannot), the same link does go there: the check above
    // would have seen it.
    const other = await writeRandomFile(setup.dir, `switched-${engine.name}.mp4`, 600_000, 2602);
    await engine.evaluate(async () => localStorage.setItem('vod-demo:dev', 'on'));
    await openDemo(engine, setup.server, { endpoint: foreign.url, partSize: 524288, retries: 0 });
    const [switched] = await pickFiles(engine, [other]);
    await switched.click('upload');
    await waitForState(switched, 'error', { timeout: 60000 }).catch(() => {});
    await engine.evaluate(async () => localStorage.removeItem('vod-demo:dev'));
    assert.ok(foreign.requests.some((r) => r.includes('Action=InitUploadEx')), `with the switch on, the endpoint is taken: ${foreign.requests}`);
    t.diagnostic(`${engine.name}: foreign endpoint got 0 requests without the switch, ${foreign.requests.length} with it`);
  });

  test('the demo starts and uploads under the README\'s Content-Security-Policy, and shows its banner when the package does not load', { timeout: 120000 }, async () => {
    // Every file of the page comes with the policy, as a server following the README would send it
    // (and uncached, so that the package can go missing below).
    let missing = null;
    setup.proxy.rule = async (action, req) => {
      if (action || req.method !== 'GET') return undefined;
      if (missing && req.url.startsWith(missing)) return { status: 404, headers: { 'content-type': 'text/plain', 'content-security-policy': CSP }, body: 'not built' };
      const answer = await fetch(setup.server.origin + req.url);
      const headers = Object.fromEntries([...answer.headers].filter(([name]) => !['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)));
      return { status: answer.status, headers: { ...headers, 'content-security-policy': CSP, 'cache-control': 'no-store' }, body: Buffer.from(await answer.arrayBuffer()) };
    };
    const path = await writeRandomFile(setup.dir, `csp-${engine.name}.mp4`, 1_100_000, 2603);
    await openDemo(engine, setup.proxy, { partSize: 524288 });
    // The policy is in force: an inline script added now does not run.
    const inline = await engine.evaluate(async () => {
      const violations = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true';
      document.head.append(script);
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { ran: window.__inlineRan === true, violations };
    });
    assert.equal(inline.ran, false, 'an inline script ran: the policy is not in force');
    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForState(card, 'done');
    await assertSameBytes((await readResult(card)).url, path);

    // The package missing: the page says so.
    missing = '/dist/';
    await engine.goto(setup.proxy.url);
    const banner = await engine.waitFor(() => document.getElementById('load-error').checkVisibility() && 'shown', null,
      { timeout: 15000, message: 'the "did not load" banner' });
    assert.equal(banner, 'shown');
    missing = null;
    await engine.goto(setup.proxy.url);
    await waitForDemoReady(engine);
    assert.equal(await engine.evaluate(async () => document.getElementById('load-error').checkVisibility()), false, 'no banner once it loads');
  });
});
