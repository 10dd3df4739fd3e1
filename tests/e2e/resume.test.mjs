// End to end: interrupted uploads continue where they stopped. Pause then Resume on the same card,
// and a page reload mid-upload followed by picking the same file again, in Chromium, Firefox ESR and
// WebKitGTK. The page's upload bandwidth is limited (in the page: support/probe.mjs) so that
// "mid-upload" lasts long enough to act on.

import assert from 'node:assert/strict';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { sha1File, stats, writeRandomFile } from '../../support/harness.mjs';
import { seen } from '../../support/probe.mjs';
import { serverFor } from '../../support/suite.mjs';
import {
  MiB, assertSameBytes, cardCount, openDemo, pickFiles, readResult, startDemoServer, throttleUploads,
  waitForDemoReady, waitForState, waitForUploadProgress,
} from './demo.mjs';

const PART = 512 * 1024;
const CONCURRENCY = 2;
const QUERY = { partSize: PART, concurrency: CONCURRENCY };
const SLOW = 3 * MiB; // bytes per second while we wait for the moment to interrupt

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startDemoServer, { tempDir: `vod-e2e-resume-${engine.name}-` });

  /** Writes a file, picks it on a throttled demo page and uploads it until `share` is acknowledged. */
  async function uploadPartWay(name, size, seed, share = 0.3) {
    const path = await writeRandomFile(setup.dir, name, size, seed);
    const sha = await sha1File(path);
    await openDemo(engine, setup.server, QUERY);
    await throttleUploads(engine, SLOW);
    const [card] = await pickFiles(engine, [path]);
    await card.click('upload');
    await waitForUploadProgress(card, share);
    return { path, sha, card, totalParts: Math.ceil(size / PART) };
  }

  /** Every UploadPartEx request the page sent (aborted ones included), as offsets, in order. */
  async function partRequests() {
    return (await seen(engine)).requests.map(({ url }) => new URL(url).searchParams)
      .filter((query) => query.get('Action') === 'UploadPartEx').map((query) => Number(query.get('offset')));
  }

  test('pause then resume: only the missing parts are sent', { timeout: 90000 }, async () => {
    const size = 10 * MiB + 4321;
    const { path, sha, card, totalParts } = await uploadPartWay('pause-resume.mp4', size, 404);
    const speed = await card.text('speed');
    const eta = await card.text('eta');
    await card.click('pause');
    await waitForState(card, 'paused', { timeout: 5000 });
    assert.match(speed, /^\d+(\.\d)? MB\/s$/, 'the speed was shown while uploading');
    assert.match(eta, /left$/, 'the time left was shown while uploading');
    assert.match(await card.textContent(), /Paused/);
    assert.ok(await card.isVisible('resume'), 'Resume is offered');

    const atPause = await stats(setup.server.origin, sha);
    assert.equal(atPause.finished, false);
    assert.ok(atPause.partsHeld > 0 && atPause.partsHeld < totalParts, `some parts held at pause (${atPause.partsHeld}/${totalParts})`);

    await throttleUploads(engine, -1);
    await card.click('resume');
    await waitForState(card, 'done');

    const result = await readResult(card);
    assert.equal(result.instant, false);
    assert.ok(result.resumedBytes > 0, `the result reports resumed bytes (${result.resumedBytes})`);
    assert.match(result.transferText, /resumed/i, 'the card says it resumed');
    assert.ok(result.uploadedBytes < size, `less than the whole file was sent after resuming (${result.uploadedBytes})`);

    const final = await stats(setup.server.origin, sha);
    assert.equal(final.finished, true);
    // Every part was stored (and counted) once; only the parts in flight when the page paused may have
    // gone twice.
    assert.ok(
      final.partsReceived >= totalParts && final.partsReceived <= totalParts + CONCURRENCY,
      `parts the server accepted: ${final.partsReceived} for ${totalParts} parts (at most the ${CONCURRENCY} in flight at pause twice)`,
    );
    const sent = await partRequests();
    assert.ok(
      sent.length <= totalParts + CONCURRENCY,
      `parts the page sent: ${sent.length} for ${totalParts} parts (at most the ${CONCURRENCY} in flight at pause twice)`,
    );
    await assertSameBytes(result.url, path);
  });

  test('a page reload mid-upload, then the same file picked again: it resumes', { timeout: 90000 }, async () => {
    const size = 10 * MiB + 999;
    const { path, sha, totalParts } = await uploadPartWay('reload.mp4', size, 505);
    const sentBefore = await partRequests();
    await engine.goto(await engine.evaluate(async () => location.href)); // the page loaded anew
    await waitForDemoReady(engine);
    assert.equal(await cardCount(engine), 0, 'the reloaded page starts empty');

    const atReload = await stats(setup.server.origin, sha);
    assert.ok(atReload.partsHeld > 0 && atReload.partsHeld < totalParts, `some parts held at reload (${atReload.partsHeld}/${totalParts})`);

    const [again] = await pickFiles(engine, [path]);
    await again.click('upload');
    await waitForState(again, 'done');
    const result = await readResult(again);
    assert.equal(result.instant, false);
    assert.ok(result.resumedBytes > 0, `the result reports resumed bytes (${result.resumedBytes})`);

    const final = await stats(setup.server.origin, sha);
    assert.ok(
      final.partsReceived <= totalParts + CONCURRENCY,
      `parts the server accepted: ${final.partsReceived} for ${totalParts} parts`,
    );
    const sent = sentBefore.length + (await partRequests()).length;
    assert.ok(
      sent <= totalParts + CONCURRENCY,
      `parts the page sent, before and after the reload: ${sent} for ${totalParts} parts`,
    );
    await assertSameBytes(result.url, path);
  });

  test('cancel mid-upload removes the card and stops sending', { timeout: 60000 }, async () => {
    const { sha, card } = await uploadPartWay('cancelled.mp4', 8 * MiB + 5, 909, 0.2);
    await card.click('cancel');
    assert.equal(await cardCount(engine), 0, 'the card is gone');
    const sentAtCancel = (await partRequests()).length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal((await partRequests()).length, sentAtCancel, 'no part was sent after Cancel');
    const fileStats = await stats(setup.server.origin, sha);
    assert.equal(fileStats.finished, false);
  });
});
