// The demo page of vod-ugc-uploader: a queue of files, each uploaded through the package's queue
// (`createQueue` from vod-ugc-uploader/queue: the files share its lanes and its speed cap), exactly as
// an app would use it. Recording from the camera is record.js. Served by `vod-server --www www --mount /dist=dist --dev-signing`, so the
// package is at /dist/index.js (imported by its path: an import map would be an inline script, which a
// strict Content-Security-Policy forbids) and
// POST /dev/signature signs like an app backend would (the secret key never reaches the page).
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
//   ?parallel=N               how many files "Upload all" runs at once (default 2)
// Values are passed to upload() as given, so an invalid one shows the package's own error on the card.
//
// Hooks for tests: data-testid on the input, the cards and their buttons, progress bars and result
// fields; each card carries data-state (queued | hashing | uploading | finishing | paused | done | error),
// data-file-name, and once done data-file-sha; the result's transfer line (data-testid="transfer")
// carries data-resumed-bytes and data-uploaded-bytes.

import { UploadError } from '/dist/index.js';
import { createQueue } from '/dist/queue.js';

import { showPending } from './pending.js';

const params = new URLSearchParams(location.search);

/** Whether the user switched this browser to development (see ?endpoint above): a link cannot. */
function devSwitch() {
  try {
    return localStorage.getItem('vod-demo:dev') === 'on';
  } catch {
    return false; // storage blocked: no switch
  }
}

function numberParam(name) {
  const raw = params.get(name);
  return raw === null || raw.trim() === '' ? undefined : Number(raw);
}

const uploadOptions = Object.fromEntries(
  Object.entries({
    endpoint: (devSwitch() && params.get('endpoint')) || new URL('/v2/index.php', location.href).href,
    partSize: numberParam('partSize'),
    concurrency: numberParam('concurrency'),
    retries: numberParam('retries'),
    retryDelay: numberParam('retryDelay'),
  }).filter(([, value]) => value !== undefined),
);
const parallelFiles = Math.max(1, Math.floor(numberParam('parallel') ?? 2) || 2);
// The queue's lanes: ?concurrency where it is a number the queue takes (else its default; the value is
// still passed to each file's upload, which shows its own error for a bad one).
const lanes = uploadOptions.concurrency;
const queue = createQueue(Number.isInteger(lanes) && lanes >= 1 && lanes <= 16 ? { concurrency: lanes } : {});

// What an app backend does: sign the file's SHA-1 and name. Here the dev server plays that backend.
async function getSignature({ fileSha, fileName }) {
  const response = await fetch('/dev/signature', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fileSha, fileName }),
  });
  if (!response.ok) {
    const body = (await response.text().catch(() => '')).trim().slice(0, 200);
    throw new Error(`the signing backend answered HTTP ${response.status}${body ? `: ${body}` : ''}`);
  }
  const { signature } = await response.json();
  if (typeof signature !== 'string' || signature === '') {
    throw new Error('the signing backend answered without a signature');
  }
  return signature;
}

// ---- formatting ---------------------------------------------------------------------------------

function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return '';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function formatSpeed(bytesPerSecond) {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '';
  const mb = bytesPerSecond / 1e6;
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB/s`;
}

function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 1) return 'under a second';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function percent(loaded, total) {
  if (!(total > 0)) return 0;
  return Math.min(100, Math.floor((loaded / total) * 100));
}

// ---- the queue ----------------------------------------------------------------------------------

const ACTIVE = new Set(['hashing', 'uploading', 'finishing', 'waiting']);
const STATUS = {
  queued: 'Ready to upload',
  hashing: 'Reading file…',
  uploading: 'Uploading…',
  finishing: 'Finishing…',
  waiting: 'Waiting for the network…',
  paused: 'Paused',
  done: 'Uploaded',
  error: 'Failed',
};
const STEP_TITLES = {
  hash: 'The file could not be read',
  signature: 'No upload signature',
  init: 'The server did not start the upload',
  part: 'A part could not be uploaded',
  finish: 'The server could not finish the file',
};

const items = new Map();
const waiting = []; // items queued by "Upload all", started as slots free up
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
    const el = els.template.content.firstElementChild.cloneNode(true);
    const item = {
      id: nextId++,
      file,
      source: handles[i] ?? file,
      el,
      state: 'queued',
      run: 0, // bumped by every start, pause and cancel; callbacks of an older run are ignored
      controller: null,
      error: null,
      startedAt: 0,
      q: (selector) => el.querySelector(selector),
    };
    el.dataset.fileName = file.name;
    el.dataset.itemId = String(item.id);
    item.q('.file-name').textContent = file.name;
    item.q('.file-name').title = file.name;
    item.q('.file-size').textContent = formatBytes(file.size);
    el.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (button) act(item, button.dataset.action);
    });
    items.set(item.id, item);
    els.cards.append(el);
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

async function start(item) {
  if (ACTIVE.has(item.state) || item.state === 'done') return;
  dequeue(item);
  const run = ++item.run;
  const controller = new AbortController();
  item.controller = controller;
  item.error = null;
  item.startedAt = performance.now();
  setBar(item, 'hash', 0, 1);
  setBar(item, 'upload', 0, 1);
  setStats(item, '', '');
  setState(item, 'hashing');

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
    showResult(item, result);
  } catch (error) {
    if (item.run !== run) return; // paused or cancelled: already shown
    if (error?.name === 'AbortError') {
      setState(item, 'paused');
    } else {
      showError(item, error);
    }
  } finally {
    if (item.run === run) item.controller = null;
    pump();
  }
}

function pause(item) {
  if (waiting.includes(item)) {
    dequeue(item);
    render(item);
    return;
  }
  if (!ACTIVE.has(item.state)) return;
  item.run += 1;
  item.controller?.abort();
  item.controller = null;
  setStats(item, '', '');
  setState(item, 'paused');
  pump();
}

function remove(item) {
  item.run += 1;
  item.controller?.abort();
  item.controller = null;
  dequeue(item);
  const video = item.q('video');
  video.removeAttribute('src');
  video.load();
  item.el.remove();
  items.delete(item.id);
  renderQueue();
  pump();
}

function dequeue(item) {
  const index = waiting.indexOf(item);
  if (index >= 0) waiting.splice(index, 1);
}

function startable(item) {
  return item.state === 'queued' || item.state === 'paused' || (item.state === 'error' && item.error?.canRetry === true);
}

function uploadAll() {
  for (const item of items.values()) {
    if (startable(item) && !waiting.includes(item)) waiting.push(item);
  }
  for (const item of waiting) render(item);
  pump();
}

function pump() {
  let active = [...items.values()].filter((item) => ACTIVE.has(item.state)).length;
  while (active < parallelFiles && waiting.length > 0) {
    const item = waiting.shift();
    if (!items.has(item.id) || !startable(item)) continue;
    start(item);
    active += 1;
  }
  renderQueue();
}

// ---- rendering ----------------------------------------------------------------------------------

function setState(item, state) {
  item.state = state;
  render(item);
  renderQueue();
}

function setBar(item, which, loaded, total) {
  const row = item.q(`.progress-${which}`);
  const bar = row.querySelector('progress');
  bar.max = total > 0 ? total : 1;
  bar.value = total > 0 ? Math.min(loaded, total) : 0;
  row.querySelector('.progress-pct').textContent = `${percent(loaded, total)}%`;
}

function setStats(item, speed, eta) {
  item.q('.speed').textContent = speed;
  item.q('.eta').textContent = eta;
}

function onProgress(item, { phase, loaded, total, bytesPerSecond, etaSeconds }) {
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

function render(item) {
  const { el, state } = item;
  el.dataset.state = state;
  const queuedByAll = waiting.includes(item);
  let status = STATUS[state];
  if (state === 'queued' && queuedByAll) status = 'Waiting for a free slot…';
  if (state === 'error' && item.error) status = item.error.step ? `Failed while ${stepVerb(item.error.step)}` : 'Failed';
  item.q('.status-text').textContent = status;

  const show = {
    upload: state === 'queued' && !queuedByAll,
    pause: state === 'hashing' || state === 'uploading' || state === 'waiting' || queuedByAll,
    resume: state === 'paused' && !queuedByAll,
    retry: state === 'error' && item.error?.canRetry === true && !queuedByAll,
    cancel: state !== 'done' && state !== 'error',
    remove: state === 'done' || state === 'error',
  };
  for (const [action, visible] of Object.entries(show)) {
    item.q(`[data-action="${action}"]`).hidden = !visible;
  }
  item.q('.progress').hidden = state === 'queued' || state === 'done' || state === 'error';
}

function stepVerb(step) {
  return { hash: 'reading', signature: 'signing', init: 'starting', part: 'uploading', finish: 'finishing' }[step] ?? step;
}

function renderQueue() {
  const all = [...items.values()];
  els.queue.hidden = all.length === 0;
  const totalSize = all.reduce((sum, item) => sum + item.file.size, 0);
  const done = all.filter((item) => item.state === 'done').length;
  els.count.textContent = all.length
    ? `${done}/${all.length} done · ${formatBytes(totalSize)}`
    : '';
  els.uploadAll.disabled = !all.some((item) => startable(item) && !waiting.includes(item));
}

function showResult(item, result) {
  const seconds = (performance.now() - item.startedAt) / 1000;
  item.el.dataset.fileSha = result.fileSha;
  item.q('[data-testid="file-id"]').textContent = result.fileId;
  const link = item.q('[data-testid="file-link"]');
  link.href = result.url;
  link.textContent = result.url.replace(/^https?:\/\//, '');
  item.q('[data-testid="instant-badge"]').hidden = !result.instant;

  const transfer = item.q('.transfer');
  transfer.dataset.resumedBytes = String(result.resumedBytes);
  transfer.dataset.uploadedBytes = String(result.uploadedBytes);
  const parts = [];
  if (result.instant) {
    parts.push('already on the server — nothing sent');
  } else {
    parts.push(`${formatBytes(result.uploadedBytes)} sent in ${formatDuration(seconds)}`);
    if (result.resumedBytes > 0) parts.push(`resumed ${formatBytes(result.resumedBytes)}`);
  }
  transfer.textContent = parts.join(' · ');

  const video = item.q('video');
  const note = item.q('.video-note');
  note.hidden = true;
  video.addEventListener('error', () => { note.hidden = false; }, { once: true });
  video.src = result.url;

  item.q('.result').hidden = false;
  item.q('.error').hidden = true;
  setState(item, 'done');
  item.q('.status-text').textContent = result.instant ? 'Uploaded instantly' : 'Uploaded';
}

function showError(item, error) {
  const isUploadError = error instanceof UploadError || error?.name === 'UploadError';
  item.error = {
    message: String(error?.message || error || 'Unknown error'),
    code: isUploadError && error.code !== null && error.code !== undefined ? error.code : null,
    step: isUploadError ? error.step ?? null : null,
    canRetry: isUploadError && error.canRetry === true,
  };
  const { message, code, step } = item.error;
  let title = (step && STEP_TITLES[step]) || 'The upload failed';
  if (error instanceof TypeError) title = 'The upload could not start';
  if (item.file.size === 0) title = 'This file is empty';
  item.q('.error-title').textContent = title;
  item.q('[data-testid="error-message"]').textContent = message.charAt(0).toUpperCase() + message.slice(1);
  item.q('[data-testid="error-code"]').textContent = code === null ? '' : String(code);
  item.q('.error-code-wrap').hidden = code === null;
  item.q('.error-step').textContent = step ?? '';
  item.q('.error-step-wrap').hidden = !step;
  item.q('.error-meta').hidden = code === null && !step;
  item.q('.error').hidden = false;
  item.q('.result').hidden = true;
  setState(item, 'error');
}

// ---- input: picker and drag and drop ------------------------------------------------------------

els.input.addEventListener('change', () => {
  addFiles(els.input.files);
  els.input.value = ''; // picking the same file again is a new card (resume, instant)
});
els.uploadAll.addEventListener('click', uploadAll);
els.speedCap.addEventListener('change', () => {
  queue.setMaxBytesPerSecond(els.speedCap.value ? Number(els.speedCap.value) : undefined);
});

let dragDepth = 0;
const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
document.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  document.body.classList.add('dragging');
});
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove('dragging');
});
document.addEventListener('drop', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  const files = [...event.dataTransfer.files];
  // Where the browser gives file handles for dropped items (Chromium), the uploads keep them. The
  // handles must be asked for during the event; they come later.
  const items = [...event.dataTransfer.items].filter((i) => i.kind === 'file');
  if (!items.every((i) => typeof i.getAsFileSystemHandle === 'function')) return addFiles(files);
  Promise.all(items.map((i) => i.getAsFileSystemHandle()))
    .then((handles) => (handles.length === files.length && handles.every((h) => h?.kind === 'file') ? addFiles(files, handles) : addFiles(files)))
    .catch(() => addFiles(files));
});

// Clicking the drop zone opens the file picker that gives handles, where there is one (Chromium).
els.dropzone.addEventListener('click', async (event) => {
  if (typeof window.showOpenFilePicker !== 'function') return;
  event.preventDefault();
  try {
    const handles = await window.showOpenFilePicker({ multiple: true });
    addFiles(await Promise.all(handles.map((h) => h.getFile())), handles);
  } catch (error) {
    if (error?.name !== 'AbortError') els.input.click();
  }
});

// Uploads a reload or a closed tab cut short: listed, each continued with a click.
showPending(document.getElementById('pending'), (file) => {
  const [item] = addFiles([file]);
  start(item);
}, formatBytes);

const settings = [];
if (uploadOptions.partSize) settings.push(`${uploadOptions.partSize / 1024} KiB parts`);
if (uploadOptions.concurrency) settings.push(`${uploadOptions.concurrency} in flight`);
if (uploadOptions.retries !== undefined) settings.push(`${uploadOptions.retries} retries`);
if (!uploadOptions.endpoint.startsWith(`${location.origin}/`)) settings.push(`endpoint ${uploadOptions.endpoint} (development switch)`);
if (settings.length) els.settings.textContent += ` Settings: ${settings.join(', ')}.`;

document.documentElement.dataset.ready = 'true';
