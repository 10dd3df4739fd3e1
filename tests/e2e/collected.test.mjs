// End to end: the upload survives the garbage collector. Chromium collects a Blob stream whose read
// is still pending when nothing else refers to it, and the read then never settles: an upload that
// left its part reads unreferenced stopped, silently, after a few hundred or a few thousand parts.
// Here the page collects garbage every few milliseconds, so such a read is collected at once. That
// needs gc() in the page: Chromium's --js-flags=--expose-gc; Firefox and WebKit give a page none.

import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { MiB, assertSameBytes, openDemo, pickFiles, readResult, startDemoServer, waitForState } from './demo.mjs';

const NO_GC = 'gc() cannot be exposed to a page in this engine (Chromium: --js-flags=--expose-gc)';

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startDemoServer, { tempDir: 'vod-e2e-gc-' });

  test('with garbage collected every few milliseconds, hashing and every part complete', { timeout: 90000 }, async () => {
    const size = 48 * MiB + 321;
    const path = await writeRandomFile(setup.dir, 'collected.mp4', size, 1313);
    await openDemo(engine, setup.server, { partSize: 512 * 1024, concurrency: 4 });
    await engine.evaluate(async () => { setInterval(() => globalThis.gc(), 5); });

    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForState(card, ['done', 'error'], { timeout: 45000 });

    const result = await readResult(card);
    assert.equal(result.uploadedBytes, size, 'all 97 parts were sent');
    await assertSameBytes(result.url, path);
  });
}, { args: ['--js-flags=--expose-gc'], skip: { firefox: NO_GC, webkit: NO_GC } });
