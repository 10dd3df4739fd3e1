// One file's card: made from the page's template, drawn from the item's state (status line, buttons,
// progress bars), and filled with the upload's result or its error. The state itself is app.js's.

import { UploadError } from '/dist/index.js';

import { formatBytes, formatDuration, percent } from './format.js';

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

/**
 * A card for `file`, its clicks on a button handed to `act(action)`.
 * @param {HTMLTemplateElement} template @param {File} file @param {(action: string) => void} act
 */
export function makeCard(template, file, act) {
  const el = template.content.firstElementChild.cloneNode(true);
  el.dataset.fileName = file.name;
  const name = el.querySelector('.file-name');
  name.textContent = file.name;
  name.title = file.name;
  el.querySelector('.file-size').textContent = formatBytes(file.size);
  el.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (button) act(button.dataset.action);
  });
  return el;
}

export function setBar(item, which, loaded, total) {
  const row = item.q(`.progress-${which}`);
  const bar = row.querySelector('progress');
  bar.max = total > 0 ? total : 1;
  bar.value = total > 0 ? Math.min(loaded, total) : 0;
  row.querySelector('.progress-pct').textContent = `${percent(loaded, total)}%`;
}

export function setStats(item, speed, eta) {
  item.q('.speed').textContent = speed;
  item.q('.eta').textContent = eta;
}

/** Draws the card from the item: its state, and whether it waits for its turn in the queue. */
export function render(item) {
  const { el, state, waitingTurn } = item;
  el.dataset.state = state;
  let status = STATUS[state];
  if (state === 'queued' && waitingTurn) status = 'Waiting for a free slot…';
  if (state === 'error' && item.error) status = item.error.step ? `Failed while ${stepVerb(item.error.step)}` : 'Failed';
  if (state === 'done' && item.instant) status = 'Uploaded instantly';
  item.q('.status-text').textContent = status;

  const show = {
    upload: state === 'queued' && !waitingTurn,
    pause: state === 'hashing' || state === 'uploading' || state === 'waiting' || waitingTurn,
    resume: state === 'paused' && !waitingTurn,
    retry: state === 'error' && item.error?.canRetry === true && !waitingTurn,
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

/** Fills the card's result: the file's id and link, what was sent, the video. */
export function fillResult(item, result) {
  const seconds = (performance.now() - item.startedAt) / 1000;
  item.instant = result.instant;
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
}

/** Fills the card's error (title, message, code, step) and keeps what Retry needs in `item.error`. */
export function fillError(item, error) {
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
}
