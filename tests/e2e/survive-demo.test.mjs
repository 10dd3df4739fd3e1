// The demo page after a reload mid-upload (issue 13): it lists the unfinished upload and continues it.
// The file came from <input type=file>, so no handle was kept: "Continue" asks for the file again, and
// the upload resumes from the parts the server holds.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, makeTempDir, newPage, sha1File, stats, waitFor, writeRandomFile } from '../../support/harness.mjs';
import {
  MiB, assertSameBytes, openDemo, pickFiles, readResult, startDemoServer, throttleUploads,
  waitForDemoReady, waitForState, waitForUploadProgress,
} from './demo.mjs';

const PART = 512 * 1024;

let server;
let browser;
let dir;

before(async () => {
  dir = makeTempDir('vod-e2e-survive-demo-');
  [server, browser] = await Promise.all([startDemoServer(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('after a reload the demo lists the unfinished upload, and Continue with the file re-picked resumes it', { timeout: 120000 }, async (t) => {
  const size = 10 * MiB + 321;
  const path = await writeRandomFile(dir, 'unfinished.mp4', size, 606);
  const sha = await sha1File(path);
  const page = await newPage(browser, t);
  await openDemo(page, server, { partSize: PART, concurrency: 2 });
  assert.equal(await page.getByTestId('pending-item').count(), 0, 'nothing unfinished at first');
  await throttleUploads(page, 3 * MiB);
  const [card] = await pickFiles(page, [path]);
  await card.getByTestId('upload').click();
  await waitForUploadProgress(card, 0.3);
  await new Promise((r) => setTimeout(r, 1000));
  await page.reload();
  await waitForDemoReady(page);
  await throttleUploads(page, -1);

  const item = page.locator(`[data-testid="pending-item"][data-file-sha="${sha}"]`);
  await item.waitFor({ timeout: 10000 });
  assert.ok(await page.locator('#pending').isVisible(), 'the list of unfinished uploads is shown');
  assert.match(await item.textContent(), /unfinished\.mp4/);
  assert.match(await item.getByTestId('pending-note').textContent(), / of 10 MB uploaded/);
  const held = (await stats(server.origin, sha)).partsHeld;
  assert.ok(held > 0, 'the server holds some parts');

  // No handle was kept for a picked File: Continue asks for it again.
  const chooser = page.waitForEvent('filechooser');
  await item.getByTestId('pending-continue').click();
  await (await chooser).setFiles(path);
  const resumed = page.getByTestId('upload-card').first();
  await waitForState(resumed, 'done');
  const result = await readResult(resumed);
  assert.equal(result.resumedBytes, held * PART, 'the parts the server held were not sent again');
  await assertSameBytes(result.url, path);
  await waitFor(async () => (await item.count()) === 0, { message: 'the item leaves the list' });

  await page.reload();
  await waitForDemoReady(page);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await page.getByTestId('pending-item').count(), 0, 'a finished upload is no longer listed');
});
