// The demo page's list of unfinished uploads: on load, the uploads that a reload or a closed tab cut
// short (pendingUploads() from the package), each with one button that continues it. Where the upload
// was given a file handle (a file chosen with the file picker or dropped, in Chromium) the click gets the
// file back at once; otherwise the button asks for the same file again (its hash is cached, so it goes
// on at once). Hooks for tests: data-testid="pending-item" (with data-file-sha), "pending-continue",
// "pending-forget", "pending-note".

import { pendingUploads } from '/dist/index.js';

/**
 * Lists the pending uploads in `section` (its `ul`), continuing one with `resume(file)`.
 * @param {HTMLElement} section
 * @param {(file: File) => void} resume
 * @param {(bytes: number) => string} formatBytes
 */
export async function showPending(section, resume, formatBytes) {
  const list = section.querySelector('ul');
  const entries = await pendingUploads().catch(() => []);
  for (const entry of entries) {
    const row = document.createElement('li');
    row.className = 'pending-item';
    row.dataset.testid = 'pending-item';
    row.dataset.fileSha = entry.fileSha;
    const name = document.createElement('span');
    name.className = 'pending-name';
    name.textContent = entry.fileName;
    const sub = document.createElement('span');
    sub.className = 'pending-sub';
    sub.dataset.testid = 'pending-note';
    sub.textContent = `${formatBytes(entry.uploadedBytes)} of ${formatBytes(entry.fileSize)} uploaded · ${new Date(entry.updatedAt).toLocaleString()}`;
    const go = button('Continue', 'pending-continue', 'btn-primary');
    const forget = button('Forget', 'pending-forget', 'btn-ghost');
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
      await entry.forget();
      done();
    });
  }
  section.hidden = list.childElementCount === 0;
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
