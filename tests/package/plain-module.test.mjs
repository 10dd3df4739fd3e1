// The package used with no bundler: a page served by vod-server imports /dist/index.js directly.
import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { serverFor } from '../../support/suite.mjs';
import { assertUploaded, fixtureSite, uploadInPage } from './helpers.mjs';

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, () => fixtureSite([['plain.html', 'index.html'], ['run-upload.js', 'run-upload.js']]));

  test('plain <script type="module"> page uploads a File and the server stores identical bytes', async () => {
    const summary = await uploadInPage(engine, setup.server.url);
    assert.equal(summary.hasWindow, true);
    await assertUploaded(summary, setup.server);
  });
});
