// The in-page half of the network benchmark (bench/network.mjs drives it): one upload of the picked
// file per call, through the shaping proxy, by ours (upload() on its defaults), plain fetch POSTs of
// the same parts, or tus-js-client. Each returns its time and a trace of its progress, `[ms, loaded]`
// from the call's start, for the stand-still figure.

const pkg = await import('/dist/index.js');

function pickedFile() {
  const f = document.getElementById('file').files[0];
  if (!f) throw new Error('no file picked in #file');
  return f;
}

/** A progress trace that keeps `[ms since t0, loaded]` each time `loaded` moves. */
function tracer() {
  const t0 = performance.now();
  const trace = [[0, 0]];
  return {
    t0,
    trace,
    /** @param {number} loaded */
    at(loaded) {
      if (loaded > trace.at(-1)[1]) trace.push([performance.now() - t0, loaded]);
    },
  };
}

window.bench = {
  /** upload() on its defaults; the trace is its uploading phase. */
  async ours({ endpoint }) {
    const f = pickedFile();
    const getSignature = async ({ fileSha, fileName }) => {
      const res = await fetch('/dev/signature', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileSha, fileName }) });
      return (await res.json()).signature;
    };
    const t0 = performance.now();
    let upload = null;
    let finishing = null;
    // When the uploading phase began (hash pass, signature and InitUploadEx before) and the
    // finishing one (FinishUploadEx after), ms from the call.
    let uploadingAt = null;
    let finishingAt = null;
    let back = 0;
    let last = 0;
    const result = await pkg.upload(f, {
      endpoint,
      getSignature,
      onProgress(p) {
        if (p.phase === 'uploading') {
          upload ??= ((uploadingAt = performance.now() - t0), tracer());
          if (p.loaded < last) back += 1;
          last = p.loaded;
          upload.at(p.loaded);
        }
        if (p.phase === 'finishing') (finishing ??= performance.now() - (upload?.t0 ?? t0)), (finishingAt ??= performance.now() - t0);
      },
    });
    return { ms: performance.now() - t0, trace: upload?.trace ?? [], endMs: finishing, phases: { uploadingAt, finishingAt }, backwards: back, uploadedBytes: result.uploadedBytes, fileSha: result.fileSha };
  },

  /** InitUploadEx of another file's session, for `plain`. */
  async plainInit({ endpoint, sha, size, partSize, signature }) {
    const q = new URLSearchParams({ Action: 'InitUploadEx', fileSha: sha, fileSize: String(size), dataSize: String(partSize), signature });
    const body = await (await fetch(`${endpoint}?${q}`)).json();
    if (body.code !== 0) throw new Error(`plain InitUploadEx: ${JSON.stringify(body)}`);
  },

  /** Plain fetch POSTs of the parts, four at a time, each sent again (after 1 s) until it is stored. */
  async plain({ endpoint, sha, signature, md5s, partSize, concurrency = 4 }) {
    const f = pickedFile();
    const t = tracer();
    let done = 0;
    let next = 0;
    let failures = 0;
    const lane = async () => {
      while (next < md5s.length) {
        const i = next++;
        const offset = i * partSize;
        const len = Math.min(partSize, f.size - offset);
        const q = new URLSearchParams({ Action: 'UploadPartEx', fileSha: sha, offset: String(offset), dataSize: String(len), dataMd5: md5s[i], signature });
        for (;;) {
          try {
            const res = await fetch(`${endpoint}?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: f.slice(offset, offset + len) });
            const body = await res.json();
            if (body.code === 0) break;
            if (!body.canRetry) throw new Error(`plain UploadPartEx at ${offset}: ${JSON.stringify(body)}`);
          } catch (error) {
            if (String(error).includes('plain UploadPartEx')) throw error;
          }
          failures += 1;
          await new Promise((r) => setTimeout(r, 1000));
        }
        done += len;
        t.at(done);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    const ms = performance.now() - t.t0;
    return { ms, trace: t.trace, endMs: ms, failures };
  },

  /** tus-js-client's defaults (one PATCH of the whole file, resumed from the server's offset after a failure). */
  async tus({ endpoint }) {
    const f = pickedFile();
    const t = tracer();
    let failures = 0;
    await new Promise((resolve, reject) => {
      const upload = new window.tus.Upload(f, {
        endpoint,
        metadata: { filename: f.name },
        // More tries than its default four: a flapping link cuts it every 20 s.
        retryDelays: [0, 1000, 3000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000],
        onShouldRetry: () => { failures += 1; return true; },
        onProgress: (sent) => t.at(sent),
        onError: reject,
        onSuccess: resolve,
      });
      upload.start();
    });
    const ms = performance.now() - t.t0;
    return { ms, trace: t.trace, endMs: ms, failures };
  },
};
window.benchLoaded = true;
