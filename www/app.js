// The demo page of vod-ugc-uploader: a queue of files, each uploaded through the package's queue
// (`createQueue` from vod-ugc-uploader/queue: the files share its lanes and its speed cap), exactly as
// an app would use it. "Upload all" adds every file to that queue at once: the queue decides which
// file goes when (one hashed at a time, parts in file order), a file not yet given its turn says so.
// Served by `vod-server --www www --mount /dist=dist --dev-signing`, so the package is at
// /dist/index.js (imported by its path: an import map would be an inline script, which a strict
// Content-Security-Policy forbids) and POST /dev/signature signs like an app backend would (sign.js).
//
// The page's modules: this one (the files, their states and the queue), card.js (one card drawn),
// input.js (drop and the handle picker), settings.js (the query string), sign.js, format.js,
// pending.js (unfinished uploads) and record.js (recording from the camera).
//
// Optional query parameters (for trying settings by hand and for the end-to-end tests):
//   ?partSize=524288|1048576  the part size asked of the server (default: the package's)
//   ?concurrency=N            parts in flight, across the files (default: the queue's)
//   ?retries=N                retries per call for retryable failures (default: the package's)
//   ?retryDelay=MS            the first retry's delay (default: the package's)
//   ?endpoint=URL             the VOD endpoint, taken only where this browser was switched to
//                             development: localStorage['vod-demo:dev'] = 'on', set by hand in the
//                             console (else /v2/index.php on this origin: a link cannot send the
//                             user's files elsewhere)
// Values are passed to upload() as given, so an invalid one shows the package's own error on the card.
//
// Hooks for tests: data-testid on the input, the cards and their buttons, progress bars and result
// fields; each card carries data-state (queued | hashing | uploading | finishing | paused | done | error),
// data-file-name, and once done data-file-sha; the result's transfer line (data-testid="transfer")
// carries data-resumed-bytes and data-uploaded-bytes.

import { createQueue } from '/dist/queue.js';

import { fillError, fillResult, makeCard, render, setBar, setStats } from './card.js';
import { formatBytes, formatDuration, formatSpeed } from './format.js';
import { takeFiles } from './input.js';
import { showPending } from './pending.js';
import { queueOptions, showSettings, uploadOptions } from './settings.js';
import { getSignature } from './sign.js';

const queue = createQueue(queueOptions());
const ACTIVE = new Set(['hashing', 'uploading', 'finishing', 'waiting']);

const items = new Map();
let nextId = 1;

const els = {
  input: document.getElementById('file-input'),
  dropzone: document.getElementById('dropzone'),
  queue: document.getElementById('queue'),
  cards: document.getElementById('cards'),
  count: document.getElementById('queue-count'),
  uploadAll: document.getElementById('upload-all'),
  template: document.getElementById('card-template'),
  settings: document.getElementById('settings-line'),
  speedCap: document.getElementById('speed-cap'),
};

// `handles[i]`, where there is one, is the file handle `fileList[i]` came from: the upload is given
// the handle, so that after a reload it continues with one click (the list of unfinished uploads).
function addFiles(fileList, handles = []) {
  const added = [];
  for (const [i, file] of [...fileList].entries()) {
    const item = {
      id: nextId++,
      file,
      source: handles[i] ?? file,
      el: null,
      state: 'queued',
      waitingTurn: false, // added to the queue by "Upload all", no report from it yet
      run: 0, // bumped by every start, pause and cancel; callbacks of an older run are ignored
      controller: null,
      error: null,
      instant: false,
      startedAt: 0,
      q: (selector) => item.el.querySelector(selector),
    };
    item.el = makeCard(els.template, file, (action) => act(item, action));
    item.el.dataset.itemId = String(item.id);
    items.set(item.id, item);
    els.cards.append(item.el);
    render(item);
    added.push(item);
  }
  renderQueue();
  return added;
}

function act(item, action) {
  switch (action) {
    case 'upload':
    case 'resume':
    case 'retry':
      start(item);
      break;
    case 'pause':
      pause(item);
      break;
    case 'cancel':
    case 'remove':
      remove(item);
      break;
  }
}

// The card as its upload begins (at once, or on the queue's first report for a file that waited).
function begin(item) {
  item.waitingTurn = false;
  item.error = null;
  item.startedAt = performance.now();
  setBar(item, 'hash', 0, 1);
  setBar(item, 'upload', 0, 1);
  setStats(item, '', '');
  setState(item, 'hashing');
}

/** Adds the item's file to the queue; `waitTurn`: the card keeps its state until the queue reports. */
async function start(item, waitTurn = false) {
  if (ACTIVE.has(item.state) || item.state === 'done' || item.waitingTurn) return;
  const run = ++item.run;
  const controller = new AbortController();
  item.controller = controller;
  if (waitTurn) {
    item.waitingTurn = true;
    item.startedAt = performance.now();
    render(item);
    renderQueue();
  } else {
    begin(item);
  }

  try {
    const result = await queue.add(item.source, {
      ...uploadOptions,
      getSignature,
      keepAwake: true, // a phone's screen stays on while parts are in flight
      signal: controller.signal,
      onProgress: (progress) => {
        if (item.run === run) onProgress(item, progress);
      },
    });
    if (item.run !== run) return;
    item.waitingTurn = false;
    fillResult(item, result);
    setState(item, 'done');
  } catch (error) {
    if (item.run !== run) return; // paused or cancelled: already shown
    item.waitingTurn = false;
    if (error?.name === 'AbortError') {
      setState(item, 'paused');
    } else {
      fillError(item, error);
      setState(item, 'error');
    }
  } finally {
    if (item.run === run) item.controller = null;
  }
}

// A file that still waits for its turn goes back to what it was; one under way is paused.
function pause(item) {
  if (!ACTIVE.has(item.state) && !item.waitingTurn) return;
  item.run += 1;
  item.controller?.abort();
  item.controller = null;
  if (item.waitingTurn) {
    item.waitingTurn = false;
    render(item);
    renderQueue();
    return;
  }
  setStats(item, '', '');
  setState(item, 'paused');
}

function remove(item) {
  item.run += 1;
  item.controller?.abort();
  item.controller = null;
  const video = item.q('video');
  video.removeAttribute('src');
  video.load();
  item.el.remove();
  items.delete(item.id);
  renderQueue();
}

function startable(item) {
  return !item.waitingTurn &&
    (item.state === 'queued' || item.state === 'paused' || (item.state === 'error' && item.error?.canRetry === true));
}

// Every file that can go is added to the queue, in the cards' order: the queue runs them.
function uploadAll() {
  for (const item of items.values()) {
    if (startable(item)) start(item, true);
  }
}

function setState(item, state) {
  item.state = state;
  render(item);
  renderQueue();
}

function onProgress(item, { phase, loaded, total, bytesPerSecond, etaSeconds }) {
  if (item.waitingTurn) begin(item);
  if (phase === 'hashing') {
    if (item.state !== 'hashing') setState(item, 'hashing');
    setBar(item, 'hash', loaded, total);
  } else if (phase === 'uploading') {
    if (item.state !== 'uploading') setState(item, 'uploading');
    setBar(item, 'hash', 1, 1);
    setBar(item, 'upload', loaded, total);
  } else if (phase === 'waiting') {
    setState(item, 'waiting');
    setStats(item, '', '');
    return;
  } else if (phase === 'finishing') {
    if (item.state !== 'finishing') setState(item, 'finishing');
    setBar(item, 'hash', 1, 1);
    setBar(item, 'upload', 1, 1);
    setStats(item, '', '');
    return;
  }
  const speed = formatSpeed(bytesPerSecond);
  const left = formatDuration(etaSeconds);
  setStats(item, speed, left ? `${left} left` : '');
}

function renderQueue() {
  const all = [...items.values()];
  els.queue.hidden = all.length === 0;
  const totalSize = all.reduce((sum, item) => sum + item.file.size, 0);
  const done = all.filter((item) => item.state === 'done').length;
  els.count.textContent = all.length
    ? `${done}/${all.length} done · ${formatBytes(totalSize)}`
    : '';
  els.uploadAll.disabled = !all.some(startable);
}

els.input.addEventListener('change', () => {
  addFiles(els.input.files);
  els.input.value = ''; // picking the same file again is a new card (resume, instant)
});
takeFiles(els.dropzone, els.input, addFiles);
els.uploadAll.addEventListener('click', uploadAll);
els.speedCap.addEventListener('change', () => {
  queue.setMaxBytesPerSecond(els.speedCap.value ? Number(els.speedCap.value) : undefined);
});

// Uploads a reload or a closed tab cut short: listed, each continued with a click.
showPending(document.getElementById('pending'), (file) => {
  const [item] = addFiles([file]);
  start(item);
}, formatBytes);

showSettings(els.settings);

document.documentElement.dataset.ready = 'true';
