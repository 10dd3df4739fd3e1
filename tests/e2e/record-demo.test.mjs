// The demo on a phone-sized screen (390×844) with Chromium's fake camera (issue 23): a recording cut
// short by a reload (no stop) is listed under "Unfinished uploads" with one button, fully on screen,
// and one tap uploads it; leaving the page while it records asks first (beforeunload). Screenshots of
// the list and of the uploaded recording are kept in test-results/.

import assert from 'node:assert/strict';

import { forEngines, resultPath } from '../../support/engines.mjs';
import { fetchBytes } from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openDemo, press, startDemoServer, waitForDemoReady, waitForState, cardOf } from './demo.mjs';
import { inspectWebm } from './record.mjs';

const PHONE = { width: 390, height: 844 };

// Chromium only: the test answers the page's beforeunload prompt, which only Playwright's page does.
forEngines(['chromium'], (engine, test) => {
  const setup = serverFor(engine, startDemoServer);

  test('at phone width a recording cut short by a reload is listed with one button, and one tap uploads it', { timeout: 120000 }, async () => {
    const { page } = engine;
    await engine.setViewport(PHONE.width, PHONE.height);
    await openDemo(engine, setup.server);
    await press(engine, 'record');
    await engine.waitFor(() => /Recording… \d/.test(document.querySelector('[data-testid="record-status"]').textContent),
      null, { timeout: 15000, message: 'the first chunk recorded' });
    await new Promise((r) => setTimeout(r, 2500));

    // Leaving while it records asks first; the test answers "leave".
    const prompts = [];
    const answer = (dialog) => { prompts.push(dialog.type()); void dialog.accept(); };
    page.on('dialog', answer);
    await page.reload();
    page.off('dialog', answer);
    assert.deepEqual(prompts, ['beforeunload'], 'the page asked before it was left mid-recording');
    await waitForDemoReady(engine);

    const item = page.locator('[data-testid="pending-item"][data-recording="false"]');
    await item.waitFor({ timeout: 10000 });
    const note = await item.getByTestId('pending-note').textContent();
    assert.match(note, /^Recording of \d+(\.\d)? kB, not uploaded yet/, note);
    const button = item.getByTestId('pending-continue');
    assert.equal(await button.textContent(), 'Upload');
    const box = await button.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width && box.y + box.height <= PHONE.height,
      `the button is on screen: ${JSON.stringify(box)}`);
    await engine.screenshot(`${resultPath('record-demo-390x844-unfinished')}.png`);

    await button.tap().catch(() => button.click()); // (tap needs a touch screen; the page has none here)
    const id = await engine.waitFor(() => document.querySelector('[data-testid="upload-card"]')?.dataset.itemId,
      null, { timeout: 10000, message: 'a card for the recording' });
    const card = cardOf(engine, id);
    await waitForState(card, 'done');
    const url = await card.on((el) => el.querySelector('[data-testid="file-link"]').href);
    const webm = inspectWebm(await fetchBytes(url));
    assert.ok(webm.duration > 1500 && webm.cues.length >= 1, `the stored recording has its duration and Cues: ${JSON.stringify(webm)}`);
    assert.equal(await page.locator('[data-testid="pending-item"]').count(), 0, 'nothing left unfinished');
    await engine.screenshot(`${resultPath('record-demo-390x844-uploaded')}.png`);
    const left = await engine.evaluate(async () => (await import('/dist/index.js')).pendingUploads().then((l) => l.length));
    assert.equal(left, 0);
  });
}, { args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
