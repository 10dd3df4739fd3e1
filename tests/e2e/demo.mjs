// Helpers for driving the demo page (www/) in the end-to-end tests: what a person does (open the
// page, pick files, press buttons) and what they notice (a card's state, its progress bars, the
// result link, the error). Generic helpers (server, browser, files, stats) come from
// support/harness.mjs; only knowledge of the demo page's markup lives here.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DIST_DIR, REPO_ROOT, fetchBytes, startServer } from '../../support/harness.mjs';

export const WWW_DIR = join(REPO_ROOT, 'www');
export const KiB = 1024;
export const MiB = 1024 * 1024;

/** vod-server serving the demo at / and the built package at /dist, with dev signing. */
export function startDemoServer(options = {}) {
  return startServer({ www: WWW_DIR, mounts: { '/dist': DIST_DIR }, ...options });
}

/**
 * Open the demo with the given query parameters (see the top of www/app.js) and wait until its
 * module has run (which also means the package's module graph loaded).
 */
export async function openDemo(page, server, query = {}) {
  await recordStates(page);
  const url = new URL(server.url);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
  await page.goto(url.href);
  await waitForDemoReady(page);
}

/** Wait until the demo's module ran; fail at once if the page says the package did not load. */
export async function waitForDemoReady(page) {
  await page.locator('html[data-ready="true"], #load-error:not([hidden])').first().waitFor({ timeout: 15000 });
  if (await page.locator('#load-error').isVisible()) {
    throw new Error(`the demo page could not load the package from /dist/index.js (is dist/ built? ${DIST_DIR})`);
  }
}

/** Keeps every data-state a card goes through in window.__cardStates[itemId] (survives nothing: per document). */
async function recordStates(page) {
  if (page.__recordingStates) return;
  page.__recordingStates = true;
  await page.addInitScript(() => {
    window.__cardStates = {};
    const note = (el) => {
      const id = el.dataset.itemId;
      if (!id) return;
      const seen = (window.__cardStates[id] ??= []);
      if (seen[seen.length - 1] !== el.dataset.state) seen.push(el.dataset.state);
    };
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'attributes' && r.target.dataset?.testid === 'upload-card') note(r.target);
        for (const node of r.addedNodes ?? []) if (node.dataset?.testid === 'upload-card') note(node);
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
  });
}

/** Pick files through the page's <input type=file>; returns one locator per new card, in order. */
export async function pickFiles(page, paths) {
  const cards = page.getByTestId('upload-card');
  const before = await cards.count();
  await page.getByTestId('file-input').setInputFiles(paths);
  const out = [];
  for (let i = 0; i < paths.length; i++) {
    const card = cards.nth(before + i);
    await card.waitFor();
    const id = await card.getAttribute('data-item-id');
    out.push(page.locator(`[data-testid="upload-card"][data-item-id="${id}"]`));
  }
  return out;
}

/** The states a card has been in, in order (needs openDemo). */
export async function statesSeen(card) {
  const id = await card.getAttribute('data-item-id');
  return card.page().evaluate((key) => window.__cardStates?.[key] ?? [], id);
}

/** What the card shows, in one line, for assertion messages. */
export async function describeCard(card) {
  return card.evaluate((el) => {
    const text = (sel) => el.querySelector(sel)?.textContent?.trim() ?? '';
    const parts = [`state=${el.dataset.state}`, `status="${text('.status-text')}"`];
    if (el.dataset.state === 'error') {
      parts.push(`error="${text('[data-testid="error-message"]')}"`, `code=${text('[data-testid="error-code"]') || 'none'}`,
        `step=${text('.error-step') || 'none'}`);
    }
    return parts.join(' ');
  });
}

/**
 * Wait until the card is in one of `wanted` states. Reaching `error` when it was not wanted fails at
 * once, with the card's error in the message.
 */
export async function waitForState(card, wanted, { timeout = 60000 } = {}) {
  const wantedList = [].concat(wanted);
  const handle = await card.elementHandle();
  try {
    await card.page().waitForFunction(
      ([el, states]) => states.includes(el.dataset.state) || el.dataset.state === 'error',
      [handle, wantedList],
      { timeout, polling: 50 },
    );
  } catch (err) {
    throw new Error(`card did not reach ${wantedList.join('|')} within ${timeout} ms (${await describeCard(card)})`, { cause: err });
  } finally {
    await handle.dispose();
  }
  const state = await card.getAttribute('data-state');
  if (!wantedList.includes(state)) {
    throw new Error(`card reached ${state} instead of ${wantedList.join('|')}: ${await describeCard(card)}`);
  }
  return state;
}

/** value/max of one of the card's progress bars ('hash' | 'upload'). */
export function progressOf(card, which) {
  return card.getByTestId(`${which}-progress`).evaluate((p) => (p.max > 0 ? p.value / p.max : 0));
}

/** Wait until the card's upload bar passes `fraction` (0..1) while it is uploading. */
export async function waitForUploadProgress(card, fraction, { timeout = 60000 } = {}) {
  const handle = await card.getByTestId('upload-progress').elementHandle();
  try {
    await card.page().waitForFunction(
      ([p, f]) => {
        const state = p.closest('[data-testid="upload-card"]').dataset.state;
        return state !== 'uploading' && state !== 'hashing' ? state : p.value / p.max > f;
      },
      [handle, fraction],
      { timeout, polling: 20 },
    );
  } finally {
    await handle.dispose();
  }
  const state = await card.getAttribute('data-state');
  assert.equal(state, 'uploading', `expected the card to be uploading past ${fraction * 100}% (${await describeCard(card)})`);
}

/** What the result part of a done card shows. */
export async function readResult(card) {
  return card.evaluate((el) => {
    const q = (id) => el.querySelector(`[data-testid="${id}"]`);
    const transfer = q('transfer');
    return {
      state: el.dataset.state,
      fileSha: el.dataset.fileSha ?? null,
      fileId: q('file-id').textContent.trim(),
      url: q('file-link').href,
      linkVisible: q('file-link').checkVisibility(),
      videoSrc: q('video').currentSrc || q('video').src,
      videoVisible: q('video').checkVisibility(),
      instant: q('instant-badge').checkVisibility(),
      resumedBytes: Number(transfer.dataset.resumedBytes),
      uploadedBytes: Number(transfer.dataset.uploadedBytes),
      transferText: transfer.textContent.trim(),
    };
  });
}

/** What the error part of a failed card shows. */
export async function readError(card) {
  return card.evaluate((el) => {
    const q = (id) => el.querySelector(`[data-testid="${id}"]`);
    return {
      state: el.dataset.state,
      visible: el.querySelector('.error').checkVisibility(),
      title: el.querySelector('.error-title').textContent.trim(),
      message: q('error-message').textContent.trim(),
      code: q('error-code').textContent.trim(),
      codeVisible: q('error-code').checkVisibility(),
      step: el.querySelector('.error-step').textContent.trim(),
      retryVisible: q('retry').checkVisibility(),
    };
  });
}

/**
 * Limit the page's upload bandwidth (bytes per second; -1 lifts the limit) with Chromium's network
 * emulation, so that "mid-upload" lasts long enough to act on without touching the server.
 */
export async function throttleUploads(page, bytesPerSecond) {
  page.__cdp ??= await page.context().newCDPSession(page);
  await page.__cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

/** Download `url` and check it is byte-for-byte the file at `path`. */
export async function assertSameBytes(url, path) {
  const stored = await fetchBytes(url);
  const original = readFileSync(path);
  const sha = (b) => createHash('sha1').update(b).digest('hex');
  assert.ok(
    stored.equals(original),
    `the stored file differs from the original: ${stored.length} bytes (sha1 ${sha(stored)}) vs ${original.length} bytes (sha1 ${sha(original)})`,
  );
}

/** GET /dev/stats (the global counters). */
export async function globalStats(origin) {
  const res = await fetch(`${origin}/dev/stats`);
  assert.equal(res.status, 200, `GET /dev/stats answered HTTP ${res.status}`);
  return res.json();
}
