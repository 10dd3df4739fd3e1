// End to end: the upload survives the garbage collector. Chromium collects a Blob stream whose read
// is still pending when nothing else refers to it, and the read then never settles: an upload that
// left its part reads unreferenced stopped, silently, after a few hundred or a few thousand parts.
// Here the page collects garbage every few milliseconds, so such a read is collected at once.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, makeTempDir, newPage, writeRandomFile } from '../../support/harness.mjs';
import { MiB, assertSameBytes, openDemo, pickFiles, readResult, startDemoServer, waitForState } from './demo.mjs';

let browser;
let server;
let dir;

before(async () => {
  dir = makeTempDir('vod-e2e-gc-');
  browser = await launchBrowser({ args: ['--js-flags=--expose-gc'] });
  server = await startDemoServer();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('with garbage collected every few milliseconds, hashing and every part complete', { timeout: 90000 }, async (t) => {
  const size = 48 * MiB + 321;
  const path = await writeRandomFile(dir, 'collected.mp4', size, 1313);
  const page = await newPage(browser, t);
  await page.addInitScript(() => setInterval(() => globalThis.gc(), 5));
  await openDemo(page, server, { partSize: 512 * 1024, concurrency: 4 });

  const [card] = await pickFiles(page, [path]);
  await card.getByTestId('upload').click();
  await waitForState(card, ['done', 'error'], { timeout: 45000 });

  const result = await readResult(card);
  assert.equal(result.uploadedBytes, size, 'all 97 parts were sent');
  await assertSameBytes(result.url, path);
});
