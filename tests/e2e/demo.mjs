// Helpers for driving the demo page (www/) in the end-to-end tests, in any engine (support/engines.mjs):
// what a person does (open the page, pick files, press buttons) and what they notice (a card's state,
// its progress bars, the result link, the error). Generic helpers (server, browser, files, stats) come from
// support/harness.mjs; only knowledge of the demo page's markup lives here.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DIST_DIR, REPO_ROOT, fetchBytes, startServer } from '../../support/harness.mjs';
import { throttle, watch } from '../../support/probe.mjs';

export const WWW_DIR = join(REPO_ROOT, 'www');
export const KiB = 1024;
export const MiB = 1024 * 1024;

/** vod-server serving the demo at / and the built package at /dist, with dev signing. */
export function startDemoServer(options = {}) {
  return startServer({ www: WWW_DIR, mounts: { '/dist': DIST_DIR }, ...options });
}

/**
 * Open the demo with the given query parameters (see the top of www/app.js), wait until its module has
 * run (which also means the package's module graph loaded), and start watching it (support/probe.mjs)
 * and recording the states its cards go through.
 */
export async function openDemo(engine, server, query = {}) {
  const url = new URL(server.url);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
  await engine.goto(url.href);
  await waitForDemoReady(engine);
}

/** Wait until the demo's module ran (fail at once if the page says the package did not load); watch it. */
export async function waitForDemoReady(engine) {
  const ready = await engine.waitFor(() => (document.documentElement.dataset.ready === 'true' && 'ready')
    || (!document.getElementById('load-error').hidden && 'load-error'), null, { timeout: 15000, message: 'the demo to get ready' });
  if (ready !== 'ready') {
    throw new Error(`the demo page could not load the package from /dist/index.js (is dist/ built? ${DIST_DIR})`);
  }
  await watch(engine);
  await recordStates(engine);
}

/** Keeps every data-state a card goes through in window.__cardStates[itemId] (per document). */
function recordStates(engine) {
  return engine.evaluate(async () => {
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

/** How many cards the page shows. */
export function cardCount(engine) {
  return engine.evaluate(async () => document.querySelectorAll('[data-testid="upload-card"]').length);
}

/** Throws unless the element is there to press: visible and enabled, as a person would need it. */
function pressable(element, what) {
  if (!element?.checkVisibility() || element.disabled) throw new Error(`${what} is not there to press (missing, hidden or disabled)`);
  return element;
}

/** Presses the page's button with this data-testid (visible and enabled). */
export function press(engine, testid) {
  return engine.evaluate(`async (t) => (${pressable})(document.querySelector('[data-testid="' + t + '"]'), t).click()`, testid);
}

/**
 * One card of the demo, by its data-item-id: what a person reads on it and the buttons they press.
 * A button is pressed only when it is visible and enabled, as a person could.
 */
export function cardOf(engine, id) {
  /** `fn(card, ...args)` in the page, with the card's element. */
  const on = (fn, ...args) => engine.evaluate(`async (id, ...args) => {
    const el = document.querySelector('[data-testid="upload-card"][data-item-id="' + id + '"]');
    if (!el) throw new Error('no card ' + id + ' on the page');
    return (${fn})(el, ...args);
  }`, id, ...args);
  return {
    engine,
    id,
    on,
    attr: (name) => on((el, n) => el.getAttribute(n), name),
    text: (testid) => on((el, t) => el.querySelector(`[data-testid="${t}"]`).textContent, testid),
    textContent: () => on((el) => el.textContent),
    isVisible: (testid) => on((el, t) => el.querySelector(`[data-testid="${t}"]`).checkVisibility(), testid),
    isHidden: (selector) => on((el, s) => !el.querySelector(s).checkVisibility(), selector),
    click: (testid) => on(`(el, t) => (${pressable})(el.querySelector('[data-testid="' + t + '"]'), t).click()`, testid),
  };
}

/** Pick files through the page's <input type=file>; returns one card per file, in order. */
export async function pickFiles(engine, paths) {
  const before = await cardCount(engine);
  await engine.setInputFiles('[data-testid="file-input"]', paths);
  const ids = await engine.waitFor(([from, n]) => {
    const cards = [...document.querySelectorAll('[data-testid="upload-card"]')].slice(from);
    return cards.length >= n && cards.slice(0, n).map((card) => card.dataset.itemId);
  }, [before, paths.length], { message: `${paths.length} new card(s)` });
  return ids.map((id) => cardOf(engine, id));
}

/** The states a card has been in, in order. */
export function statesSeen(card) {
  return card.engine.evaluate(async (key) => window.__cardStates?.[key] ?? [], card.id);
}

/** What the card shows, in one line, for assertion messages. */
export function describeCard(card) {
  return card.on((el) => {
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
  let state;
  try {
    state = await card.engine.waitFor(([id, states]) => {
      const el = document.querySelector(`[data-testid="upload-card"][data-item-id="${id}"]`);
      return (states.includes(el.dataset.state) || el.dataset.state === 'error') && el.dataset.state;
    }, [card.id, wantedList], { timeout, message: `the card to reach ${wantedList.join('|')}` });
  } catch (err) {
    throw new Error(`card did not reach ${wantedList.join('|')} within ${timeout} ms (${await describeCard(card)})`, { cause: err });
  }
  if (!wantedList.includes(state)) {
    throw new Error(`card reached ${state} instead of ${wantedList.join('|')}: ${await describeCard(card)}`);
  }
  return state;
}

/** value/max of one of the card's progress bars ('hash' | 'upload'). */
export function progressOf(card, which) {
  return card.on((el, w) => {
    const p = el.querySelector(`[data-testid="${w}-progress"]`);
    return p.max > 0 ? p.value / p.max : 0;
  }, which);
}

/** Wait until the card's upload bar passes `fraction` (0..1) while it is uploading. */
export async function waitForUploadProgress(card, fraction, { timeout = 60000 } = {}) {
  const state = await card.engine.waitFor(([id, f]) => {
    const el = document.querySelector(`[data-testid="upload-card"][data-item-id="${id}"]`);
    const p = el.querySelector('[data-testid="upload-progress"]');
    const now = el.dataset.state;
    return now !== 'uploading' && now !== 'hashing' ? now : p.value / p.max > f && now;
  }, [card.id, fraction], { timeout, interval: 20, message: `the upload past ${fraction * 100}%` });
  assert.equal(state, 'uploading', `expected the card to be uploading past ${fraction * 100}% (${await describeCard(card)})`);
}

/** What the result part of a done card shows. */
export function readResult(card) {
  return card.on((el) => {
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
export function readError(card) {
  return card.on((el) => {
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
 * Limit the page's upload bandwidth (bytes per second; -1 lifts the limit), so that "mid-upload"
 * lasts long enough to act on without touching the server (support/probe.mjs: in the page, the same
 * in every engine).
 */
export const throttleUploads = throttle;

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
