// The package used inside a module Web Worker (no `window`): the page posts a File to the worker.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { assertUploaded, fixtureSite, uploadInPage } from './helpers.mjs';

forEngines(ENGINES, (engine, test) => {
  let server;

  before(async () => {
    if (!engine.skipped) server = await fixtureSite([['worker.html', 'index.html'], ['upload-worker.js', 'upload-worker.js'], ['run-upload.js', 'run-upload.js']]);
  });
  after(() => server?.stop());

  test('a module Web Worker imports the package and uploads a File posted to it', async () => {
    const summary = await uploadInPage(engine, server.url);
    await assertUploaded(summary, server);
    assert.equal(summary.hasWindow, false, 'the upload did not run in a worker');
  });
});
