// The package used inside a module Web Worker (no `window`): the page posts a File to the worker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser } from '../../support/harness.mjs';
import { assertUploaded, fixtureSite, uploadInPage } from './helpers.mjs';

let browser;
let server;

before(async () => {
  server = await fixtureSite([['worker.html', 'index.html'], ['upload-worker.js', 'upload-worker.js'], ['run-upload.js', 'run-upload.js']]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a module Web Worker imports the package and uploads a File posted to it', async (t) => {
  const { summary } = await uploadInPage(browser, t, server.url);
  await assertUploaded(summary, server);
  assert.equal(summary.hasWindow, false, 'the upload did not run in a worker');
});
