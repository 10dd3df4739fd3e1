// How files come in besides the picker: dropped on the page, or picked through the file picker that
// gives handles (Chromium). `add(files, handles)` makes their cards; where there are handles, the
// uploads keep them, so that after a reload an upload continues with one click.

/** @param {HTMLElement} dropzone @param {HTMLInputElement} input @param {(files: File[], handles?: FileSystemFileHandle[]) => unknown} add */
export function takeFiles(dropzone, input, add) {
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
    // The handles must be asked for during the event; they come later.
    const entries = [...event.dataTransfer.items].filter((i) => i.kind === 'file');
    if (!entries.every((i) => typeof i.getAsFileSystemHandle === 'function')) return add(files);
    Promise.all(entries.map((i) => i.getAsFileSystemHandle()))
      .then((handles) => (handles.length === files.length && handles.every((h) => h?.kind === 'file') ? add(files, handles) : add(files)))
      .catch(() => add(files));
  });

  // Clicking the drop zone opens the file picker that gives handles, where there is one.
  dropzone.addEventListener('click', async (event) => {
    if (typeof window.showOpenFilePicker !== 'function') return;
    event.preventDefault();
    try {
      const handles = await window.showOpenFilePicker({ multiple: true });
      add(await Promise.all(handles.map((h) => h.getFile())), handles);
    } catch (error) {
      if (error?.name !== 'AbortError') input.click();
    }
  });
}
