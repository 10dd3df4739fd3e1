// The package used with no bundler: a page served by vod-server imports /dist/index.js directly.
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
  const www = makeTempDir('vod-www-plain-');
  cpSync(join(FIXTURES, 'plain.html'), join(www, 'index.html'));
  cpSync(join(FIXTURES, 'run-upload.js'), join(www, 'run-upload.js'));
  server = await startServer({ www, mounts: { '/dist': DIST_DIR } });
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
