// The package used with no bundler: a page served by vod-server imports /dist/index.js directly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser } from '../../support/harness.mjs';
import { assertUploaded, fixtureSite, uploadInPage } from './helpers.mjs';

let browser;
let server;

before(async () => {
  server = await fixtureSite([['plain.html', 'index.html'], ['run-upload.js', 'run-upload.js']]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('plain <script type="module"> page uploads a File and the server stores identical bytes', async (t) => {
  const { summary } = await uploadInPage(browser, t, server.url);
  assert.equal(summary.hasWindow, true);
  await assertUploaded(summary, server);
});
