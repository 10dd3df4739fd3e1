// The demo page's queue controls, as a person uses them: the speed cap slows an upload down, and the
// Record button records the (fake) camera and uploads the recording. Real vod-server, headless Chromium.

import assert from 'node:assert/strict';

import { forEngines } from '../../support/engines.mjs';
import { fetchBytes, writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { assertSameBytes, openDemo, pickFiles, readResult, startDemoServer, waitForState } from './demo.mjs';

// Chromium only: it is the engine here with a fake camera (--use-fake-device-for-media-stream) that a
// page may use without asking (--use-fake-ui-for-media-stream); the test drives the page's controls
// through Playwright's page (engine.page).
forEngines(['chromium'], (engine, test) => {
  const setup = serverFor(engine, startDemoServer, { tempDir: 'vod-e2e-demo-queue-' });

  test('the speed cap: at 250 kB/s a 1,500,000-byte file takes at least 4 s, and arrives whole', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'capped.mp4', 1_500_000, 71);
    await openDemo(engine, setup.server, { partSize: 524288 });
    const [card] = await pickFiles(engine, [path]);
    await engine.page.getByTestId('speed-cap').selectOption('250000');
    const t0 = Date.now();
    await card.click('upload');
    await waitForState(card, 'done');
    const seconds = (Date.now() - t0) / 1000;
    // The first part goes at once; each of the other two waits until the cap has paid for the one
    // before (2.1 s each).
    assert.ok(seconds >= 4, `took ${seconds.toFixed(2)} s`);
    const result = await readResult(card);
    await assertSameBytes(result.url, path);
  });

  test('Record: the fake camera is recorded, uploaded when stopped, and the stored file is linked', { timeout: 60000 }, async () => {
    const { page } = engine;
    await openDemo(engine, setup.server);
    await page.getByTestId('record').click();
    const status = page.getByTestId('record-status');
    await page.locator('[data-testid="record-status"][data-state="recording"]').waitFor();
    await page.waitForTimeout(2500);
    assert.match(await status.textContent(), /Recording… \d+\.\d MB/);
    await page.getByTestId('record-stop').click();
    await page.locator('[data-testid="record-status"][data-state="done"], [data-testid="record-status"][data-state="error"]').waitFor({ timeout: 30000 });
    assert.equal(await status.getAttribute('data-state'), 'done', await status.textContent());
    const url = await page.getByTestId('record-link').getAttribute('href');
    const stored = await fetchBytes(url);
    assert.ok(stored.length > 1000, `the recording has ${stored.length} bytes`);
    assert.equal(stored.subarray(0, 4).toString('hex'), '1a45dfa3', 'a WebM (EBML) file');
    assert.equal(await page.getByTestId('record').isVisible(), true, 'the Record button is back');
  });
}, { args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
