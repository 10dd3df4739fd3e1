// The demo page's list of unfinished uploads and recordings (pendingUploads() from the package): what a
// reload, a closed or discarded tab, or a failed upload left, each continued with one tap. A recording
// is kept in the browser until it is uploaded, so its button uploads it at once. For a file, where the
// upload was given a file handle (a file chosen with the file picker or dropped, in Chromium) the tap
// gets the file back at once; otherwise it asks for the same file again (its hash is cached, so it goes
// on at once). The list is read again when the page is shown again (back from the back-forward cache,
// unfrozen, or its tab brought back: another tab may have changed it) and when this page says it
// changed (the event `pending-changed`, from record.js). And while anything uploads or records, closing
// the tab asks first (`beforeunload`).
// Hooks for tests: data-testid="pending-item" (with data-file-sha, data-recording), "pending-continue",
// "pending-forget", "pending-note".

import { pendingUploads } from '/dist/index.js';

/** What counts as work under way: a card or the recorder in one of these states. */
const BUSY = ['hashing', 'uploading', 'finishing', 'recording'].map((s) => `[data-state="${s}"]`).join(',');

/**
 * Lists the pending uploads in `section` (its `ul`), continuing one with `resume(file)`; keeps the list
 * up to date (see the top of this file).
 * @param {HTMLElement} section
 * @param {(file: File) => void} resume
 * @param {(bytes: number) => string} formatBytes
 */
export function showPending(section, resume, formatBytes) {
  const list = section.querySelector('ul');
  let reading = Promise.resolve();
  const refresh = () => {
    reading = reading.then(() => render(section, list, resume, formatBytes));
    return reading;
  };
  addEventListener('pageshow', (event) => event.persisted && refresh());
  document.addEventListener('resume', refresh);
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && refresh());
  document.addEventListener('pending-changed', refresh);
  addEventListener('beforeunload', (event) => {
    if (!document.querySelector(BUSY)) return;
    event.preventDefault();
    event.returnValue = ''; // (older browsers ask only when it is set)
  });
  // The browser closed this tab in the background to save memory, and loaded it again now.
  if (document.wasDiscarded) section.querySelector('.pending-lede').textContent = 'This tab was closed in the background to save memory. Nothing is lost: continue below.';
  return refresh();
}

/**
 * @param {HTMLElement} section
 * @param {HTMLUListElement} list
 * @param {(file: File) => void} resume
 * @param {(bytes: number) => string} formatBytes
 */
async function render(section, list, resume, formatBytes) {
  const entries = await pendingUploads().catch(() => []);
  list.replaceChildren();
  for (const entry of entries) {
    // Being uploaded (or recorded) in this page: its card (or the recorder) shows it.
    if (inPage(entry.fileName)) continue;
    const row = document.createElement('li');
    row.className = 'pending-item';
    row.dataset.testid = 'pending-item';
    row.dataset.fileSha = entry.fileSha;
    row.dataset.recording = String(entry.recording);
    const name = document.createElement('span');
    name.className = 'pending-name';
    name.textContent = entry.fileName;
    const sub = document.createElement('span');
    sub.className = 'pending-sub';
    sub.dataset.testid = 'pending-note';
    const when = new Date(entry.updatedAt).toLocaleString();
    const isRecording = entry.kind === 'recording';
    sub.textContent = entry.recording ? `Being recorded in another tab · ${formatBytes(entry.fileSize)} so far`
      : isRecording && !entry.uploadedBytes ? `Recording of ${formatBytes(entry.fileSize)}, not uploaded yet · ${when}`
        : `${formatBytes(entry.uploadedBytes)} of ${formatBytes(entry.fileSize)} uploaded · ${when}`;
    const go = button(isRecording ? 'Upload' : 'Continue', 'pending-continue', 'btn-primary');
    go.hidden = entry.recording;
    const forget = button(isRecording ? 'Delete' : 'Forget', 'pending-forget', 'btn-ghost');
    // A hidden input for the re-pick, where no handle was kept.
    const input = Object.assign(document.createElement('input'), { type: 'file', hidden: true });
    row.append(name, sub, go, forget, input);
    list.append(row);

    const done = () => {
      row.remove();
      section.hidden = list.childElementCount === 0;
    };
    go.addEventListener('click', async () => {
      if (go.dataset.repick) return input.click();
      go.disabled = true;
      const file = await entry.file();
      go.disabled = false;
      if (file) {
        done();
        return resume(file);
      }
      go.dataset.repick = '1';
      go.textContent = `Choose ${entry.fileName}…`;
      sub.textContent = 'This browser kept no access to the file: choose it again to continue.';
      input.click();
    });
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      if (!file) return;
      if (file.size !== entry.fileSize) {
        sub.textContent = `That file is ${formatBytes(file.size)}, not ${formatBytes(entry.fileSize)}: choose ${entry.fileName}.`;
        return;
      }
      done();
      resume(file);
    });
    forget.addEventListener('click', async () => {
      if (isRecording && !confirm(`Delete ${entry.fileName}? It was never uploaded.`)) return;
      await entry.forget();
      done();
    });
  }
  section.hidden = list.childElementCount === 0;
}

/**
 * Whether a file of this name is being uploaded (a card not done) or recorded in this page.
 * @param {string} fileName
 */
function inPage(fileName) {
  const cards = document.querySelectorAll('[data-testid="upload-card"]');
  const recorder = document.getElementById('record-status');
  return [...cards].some((card) => card.dataset.fileName === fileName && card.dataset.state !== 'done' && card.dataset.state !== 'error')
    || (recorder?.dataset.fileName === fileName && /^(recording|uploading)$/.test(recorder.dataset.state ?? ''));
}

/**
 * @param {string} text
 * @param {string} testid
 * @param {string} kind
 */
function button(text, testid, kind) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `btn btn-sm ${kind}`;
  b.dataset.testid = testid;
  b.textContent = text;
  return b;
}
