// The package used inside a module Web Worker (no `window`): the page posts a File to the worker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';

import { DIST_DIR, launchBrowser, makeTempDir, startServer } from '../support/harness.mjs';
import { FIXTURES, assertUploaded, requireDist, uploadInPage } from './helpers.mjs';

let browser;
let server;

before(async () => {
  requireDist();
  const www = makeTempDir('vod-www-worker-');
  cpSync(join(FIXTURES, 'worker.html'), join(www, 'index.html'));
  cpSync(join(FIXTURES, 'upload-worker.js'), join(www, 'upload-worker.js'));
  cpSync(join(FIXTURES, 'run-upload.js'), join(www, 'run-upload.js'));
  server = await startServer({ www, mounts: { '/dist': DIST_DIR } });
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
