// The package used with no bundler: a page served by vod-server imports /dist/index.js directly.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { assertUploaded, fixtureSite, uploadInPage } from './helpers.mjs';

forEngines(ENGINES, (engine, test) => {
  let server;

  before(async () => {
    if (!engine.skipped) server = await fixtureSite([['plain.html', 'index.html'], ['run-upload.js', 'run-upload.js']]);
  });
  after(() => server?.stop());

  test('plain <script type="module"> page uploads a File and the server stores identical bytes', async () => {
    const summary = await uploadInPage(engine, server.url);
    assert.equal(summary.hasWindow, true);
    await assertUploaded(summary, server);
  });
});
