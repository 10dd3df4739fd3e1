// The package's API against a vod-server that injects faults (retryable codes, HTTP 500 and 503,
// dropped connections) on a quarter of the API calls: the upload completes and stores the exact bytes.
// faults.test.mjs does the same through the demo page; this one calls `upload` directly, with short
// retry delays.

import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { assertSameBytes, globalStats } from './demo.mjs';

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startApiServer, {
    tempDir: `vod-e2e-api-faults-${engine.name}-`,
    server: { faults: { rate: 0.25, seed: 7, kinds: ['retry-code', 'http500', 'http503', 'drop'] } },
  });

  test('upload survives injected faults and stores the exact bytes', { timeout: 90000 }, async (t) => {
    const path = await writeRandomFile(setup.dir, 'faults.mp4', 3_000_000, 5);
    await openApiPage(engine, setup.server, [path]);
    const { result, error } = await engine.evaluate(() => outcome(api.upload(picked(), options({ retries: 10, retryDelay: 20 }))));
    assert.equal(error, undefined, `completes despite faults: ${JSON.stringify(error)}`);
    await assertSameBytes(result.url, path);
    const global = await globalStats(setup.server.origin);
    assert.ok(global.faultsInjected > 0, `the server did inject faults (stats: ${JSON.stringify(global)})`);
    t.diagnostic(`faults injected: ${global.faultsInjected}; calls: ${JSON.stringify(global.calls)}`);
  });
});
