// The keepAwake option (issue 23): a Screen Wake Lock while parts are in flight, let go once the
// upload is idle or done, and nothing where the page has no Wake Lock API. The page's
// navigator.wakeLock is wrapped so that the test sees each request, whether the browser granted it,
// and each release; the locks are the browser's own.

import assert from 'node:assert/strict';

import { forEngines } from '../../support/engines.mjs';
import { writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';

forEngines(['chromium', 'firefox'], (engine, test) => {
  const setup = serverFor(engine, startApiServer, { tempDir: 'vod-e2e-awake-' });

  /** Uploads the picked file with `extra` options, at 1 MB/s, watching the wake lock (`wrap`: false leaves the API as it is, null takes it away). */
  const uploadWatched = (extra, wrap = true) => engine.evaluate(async (extra, wrap) => {
    const log = [];
    const held = new Set();
    if (wrap === null) {
      Object.defineProperty(navigator, 'wakeLock', { value: undefined, configurable: true });
    } else if (wrap && navigator.wakeLock) {
      const real = navigator.wakeLock;
      Object.defineProperty(navigator, 'wakeLock', {
        configurable: true,
        value: {
          async request(type) {
            log.push('request');
            try {
              const sentinel = await real.request(type);
              log.push('granted');
              held.add(sentinel);
              sentinel.addEventListener('release', () => { held.delete(sentinel); log.push('released'); });
              return sentinel;
            } catch (error) {
              log.push(`refused: ${error.name}`);
              throw error;
            }
          },
        },
      });
    }
    let heldMidway = null;
    const midway = setTimeout(() => { heldMidway = held.size; }, 1200);
    const got = await outcome(api.upload(picked(), options({ maxBytesPerSecond: 1_000_000, ...extra })));
    clearTimeout(midway);
    const heldAtEnd = held.size;
    await new Promise((r) => setTimeout(r, 1600));
    return { got, log, heldMidway, heldAtEnd, heldLater: held.size, hasApi: Boolean(navigator.wakeLock) };
  }, extra, wrap);

  test('with keepAwake the screen is kept awake while parts are in flight, and let go a second after the upload', { timeout: 60000 }, async (t) => {
    const path = await writeRandomFile(setup.dir, 'awake.mp4', 2_600_000, 231);
    await openApiPage(engine, setup.server, [path]);
    const out = await uploadWatched({ keepAwake: true });
    t.diagnostic(`wake lock: ${out.log.join(', ') || 'no API'}; held midway ${out.heldMidway}, at the end ${out.heldAtEnd}, a second later ${out.heldLater}`);
    assert.equal(out.got.error, undefined, JSON.stringify(out.got.error));
    if (!out.hasApi) return; // (an engine without the API: the upload is all there is to see)
    assert.equal(out.log[0], 'request', `a lock is asked for as parts start: ${out.log}`);
    if (out.log.includes('granted')) {
      assert.equal(out.heldMidway, 1, `held while parts are in flight: ${out.log}`);
      assert.equal(out.log.filter((e) => e === 'request').length, 1, `one lock for the whole upload: ${out.log}`);
      assert.equal(out.heldLater, 0, `let go once the upload is over: ${out.log}`);
    } else {
      assert.match(out.log.join(), /refused/, `the browser refused it, and the upload went on: ${out.log}`);
    }
  });

  test('without keepAwake no lock is asked for; and where there is no Wake Lock API keepAwake does nothing', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'asleep.mp4', 1_100_000, 232);
    await openApiPage(engine, setup.server, [path]);
    const off = await uploadWatched({});
    assert.equal(off.got.error, undefined, JSON.stringify(off.got.error));
    assert.deepEqual(off.log, [], 'nothing asked');

    await openApiPage(engine, setup.server, [await writeRandomFile(setup.dir, 'no-api.mp4', 1_100_000, 233)]);
    const missing = await uploadWatched({ keepAwake: true }, null);
    assert.equal(missing.hasApi, false);
    assert.equal(missing.got.error, undefined, JSON.stringify(missing.got.error));
  });
});
