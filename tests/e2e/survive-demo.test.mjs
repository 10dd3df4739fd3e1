// The demo page after a reload mid-upload (issue 13): it lists the unfinished upload and continues it.
// The file came from <input type=file>, so no handle was kept: "Continue" asks for the file again, and
// the upload resumes from the parts the server holds.

import assert from 'node:assert/strict';

import { forEngines } from '../../support/engines.mjs';
import { sha1File, stats, waitFor, writeRandomFile } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import {
  MiB, assertSameBytes, cardOf, openDemo, pickFiles, readResult, startDemoServer, throttleUploads,
  waitForDemoReady, waitForState, waitForUploadProgress,
} from './demo.mjs';

const PART = 512 * 1024;

// Chromium only: the test reloads the page and answers its file chooser, which only Playwright's page
// does (engine.page).
forEngines(['chromium'], (engine, test) => {
  const setup = serverFor(engine, startDemoServer, { tempDir: 'vod-e2e-survive-demo-' });

  test('after a reload the demo lists the unfinished upload, and Continue with the file re-picked resumes it', { timeout: 120000 }, async () => {
    const { page } = engine;
    const size = 10 * MiB + 321;
    const path = await writeRandomFile(setup.dir, 'unfinished.mp4', size, 606);
    const sha = await sha1File(path);
    await openDemo(engine, setup.server, { partSize: PART, concurrency: 2 });
    assert.equal(await page.getByTestId('pending-item').count(), 0, 'nothing unfinished at first');
    await throttleUploads(engine, 3 * MiB);
    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForUploadProgress(card, 0.3);
    await new Promise((r) => setTimeout(r, 1000));
    // (The reload also lifts the throttle, which lived in the page.)
    await page.reload();
    await waitForDemoReady(engine);

    const item = page.locator(`[data-testid="pending-item"][data-file-sha="${sha}"]`);
    await item.waitFor({ timeout: 10000 });
    assert.ok(await page.locator('#pending').isVisible(), 'the list of unfinished uploads is shown');
    assert.match(await item.textContent(), /unfinished\.mp4/);
    assert.match(await item.getByTestId('pending-note').textContent(), / of 10 MB uploaded/);
    const held = (await stats(setup.server.origin, sha)).partsHeld;
    assert.ok(held > 0, 'the server holds some parts');

    // No handle was kept for a picked File: Continue asks for it again.
    const chooser = page.waitForEvent('filechooser');
    await item.getByTestId('pending-continue').click();
    await (await chooser).setFiles(path);
    const resumedId = await engine.waitFor(() => document.querySelector('[data-testid="upload-card"]')?.dataset.itemId,
      null, { message: 'the resumed upload\'s card' });
    const resumed = cardOf(engine, resumedId);
    await waitForState(resumed, 'done');
    const result = await readResult(resumed);
    assert.equal(result.resumedBytes, held * PART, 'the parts the server held were not sent again');
    await assertSameBytes(result.url, path);
    await waitFor(async () => (await item.count()) === 0, { message: 'the item leaves the list' });

    await page.reload();
    await waitForDemoReady(engine);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await page.getByTestId('pending-item').count(), 0, 'a finished upload is no longer listed');
  });
});
