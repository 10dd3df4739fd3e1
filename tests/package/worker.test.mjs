// The package used inside a module Web Worker (no `window`): the page posts a File to the worker.
import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { serverFor } from '../../support/suite.mjs';
import { assertUploaded, fixtureSite, uploadInPage } from './helpers.mjs';

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, () => fixtureSite([['worker.html', 'index.html'], ['upload-worker.js', 'upload-worker.js'], ['run-upload.js', 'run-upload.js']]));

  test('a module Web Worker imports the package and uploads a File posted to it', async () => {
    const summary = await uploadInPage(engine, setup.server.url);
    await assertUploaded(summary, setup.server);
    assert.equal(summary.hasWindow, false, 'the upload did not run in a worker');
  });
});
