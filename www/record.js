// The demo's recorder: the camera (and microphone, where there is one) recorded with `recordUpload`
// from vod-ugc-uploader/record, which keeps the recording in the browser as it is made (a reload or a
// crash loses nothing: pending.js lists it) and uploads it once stopped, keeping the screen awake
// while parts are in flight (`keepAwake`). Hooks for tests: data-testid="record", "record-stop",
// "record-status" (data-state: recording | uploading | done | error; data-file-name) and
// "record-link" (the stored file).

import { recordUpload } from '/dist/record.js';

import { getSignature } from './sign.js';

const els = {
  record: document.getElementById('record'),
  stop: document.getElementById('record-stop'),
  status: document.getElementById('record-status'),
  preview: document.getElementById('record-preview'),
  link: document.getElementById('record-link'),
};

function show(state, text) {
  els.status.dataset.state = state;
  els.status.textContent = text;
}

const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

els.record.addEventListener('click', async () => {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
      .catch(() => navigator.mediaDevices.getUserMedia({ video: true }));
  } catch (error) {
    show('error', `No camera: ${error?.message ?? error}`);
    return;
  }
  els.record.hidden = true;
  els.stop.hidden = false;
  els.link.hidden = true;
  els.preview.srcObject = stream;
  els.preview.hidden = false;
  void els.preview.play().catch(() => {});
  show('recording', 'Recording…');
  const fileName = `recording-${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}.webm`;
  els.status.dataset.fileName = fileName;
  const { stop, result } = recordUpload(stream, {
    endpoint: new URL('/v2/index.php', location.href).href,
    getSignature,
    fileName,
    keepAwake: true,
    onProgress: ({ phase, loaded, total }) => {
      if (phase === 'recording') show('recording', `Recording… ${megabytes(loaded)}`);
      else if (phase === 'hashing') show('uploading', 'Preparing the upload…');
      else show('uploading', `Uploading… ${Math.floor((loaded / total) * 100)}%`);
    },
  });
  els.stop.onclick = () => {
    stop();
    for (const track of stream.getTracks()) track.stop();
  };
  try {
    const { url, uploadedBytes } = await result;
    show('done', `Uploaded ${megabytes(uploadedBytes)}`);
    els.link.href = url;
    els.link.textContent = url.replace(/^https?:\/\//, '');
    els.link.hidden = false;
  } catch (error) {
    show('error', error?.name === 'AbortError' ? 'Stopped.'
      : `Upload failed: ${error?.message ?? error}. The recording is kept in this browser: upload it from Unfinished uploads.`);
    document.dispatchEvent(new Event('pending-changed'));
  } finally {
    for (const track of stream.getTracks()) track.stop();
    els.preview.srcObject = null;
    els.preview.hidden = true;
    els.stop.hidden = true;
    els.record.hidden = false;
  }
});
