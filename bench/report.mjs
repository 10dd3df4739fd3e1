// Turns bench/run.mjs's results object into the printed table and a small SVG bar chart.

const MiB = 1 << 20;

const num = (v, digits = 1) => (v == null || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
const mib = (bytes) => (bytes == null ? 'n/a' : (bytes / MiB).toFixed(1));
const pct = (v) => (v == null || !Number.isFinite(v) ? 'n/a' : `${Math.round(v * 100)}%`);
const verdict = (v, target) => (v == null || !Number.isFinite(v) ? '' : v >= target ? 'ok' : 'MISS');

function sizeLabel(n) {
  if (n % (1024 * MiB) === 0) return `${n / (1024 * MiB)} GiB`;
  if (n % MiB === 0) return `${n / MiB} MiB`;
  return `${n} B`;
}

function grid(rows) {
  const widths = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, String(c).length); });
  return rows.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd());
}

export function formatTable(res) {
  const m = res.machine;
  const out = [];
  const sizes = res.sizes.filter((s) => s.hash?.ours);
  out.push(`vod-ugc-uploader benchmark, ${res.date}`);
  out.push(`machine: ${m.cpu}, ${m.cores} cores, ${(m.ramBytes / 1024 / MiB).toFixed(1)} GiB RAM; ${m.chromium ? `Chromium ${m.chromium}` : 'Chromium ?'}; node ${m.node}; ${m.os}`);
  out.push(`load average (1/5/15 min) at start ${m.loadAvgAtStart.join(' ')}, at end ${(m.loadAvgAtEnd ?? []).join(' ')}; git ${m.git ?? '?'}`);
  out.push(`every figure: best of ${res.options.runs} sequential runs, in one page per file size, on a real file picked with <input type=file>`);
  if (res.options.latencyMs) out.push(`the server answered every protocol call ${res.options.latencyMs} ms late (--latency-ms): a network's round trip`);
  out.push('');

  if (sizes.length) {
    const legacyCapped = sizes.some((s) => s.hash.legacy?.capped);
    const head = ['hashing, MB/s (1 MB = 10^6 bytes)', ...sizes.map((s) => s.label)];
    const row = (name, f) => [name, ...sizes.map(f)];
    const rows = [
      head,
      row('ours: hashFile()', (s) => num(s.hash.ours.MBps)),
      row('hash-wasm createSHA1, 8 MiB Blob.slice windows', (s) => num(s.hash.hashWasm.MBps)),
      row(`js-sha1 + spark-md5 per 1 MiB part${legacyCapped ? ` (*)` : ''}`, (s) => num(s.hash.legacy.MBps)),
      row(`WebCrypto one-shot (file <= ${sizeLabel(res.options.webCryptoMax)} in memory)`, (s) => num(s.hash.webCrypto.MBps)),
      row(`wasm SHA-1 ceiling: Sha1 on ${res.options.ceilingMb} MB in memory`, (s) => num(s.hash.ceiling.MBps)),
      row(`hash-wasm SHA-1 on ${res.options.ceilingMb} MB in memory`, (s) => num(s.hash.hashWasmMemory?.MBps)),
      row('WebCrypto SHA-1 on 64 MB in memory (native: the platform\'s ceiling)', (s) => num(s.hash.webCryptoMemory?.MBps)),
      row('read only, no hash: 8 MiB Blob.slice windows', (s) => num(s.hash.readSlice?.MBps)),
      row('read only, no hash: File.stream()', (s) => num(s.hash.readStream?.MBps)),
      row('ours / ceiling    (target >= 0.85)', (s) => `${num(s.ratios.oursVsCeiling, 2)} ${verdict(s.ratios.oursVsCeiling, 0.85)}`),
      row('ours / hash-wasm streamed (target >= 2.0)', (s) => `${num(s.ratios.oursVsHashWasm, 2)} ${verdict(s.ratios.oursVsHashWasm, 2)}`),
      row('ours / WebCrypto one-shot from the file (target >= 0.9)', (s) => (s.ratios.oursVsWebCrypto == null ? 'n/a' : `${num(s.ratios.oursVsWebCrypto, 2)} ${verdict(s.ratios.oursVsWebCrypto, 0.9)}`)),
      row('ours / WebCrypto in memory (the platform\'s ceiling)', (s) => num(s.ratios.oursVsWebCryptoMemory, 2)),
      row('our compression / hash-wasm\'s, in memory', (s) => num(s.ratios.compressionVsHashWasm, 2)),
      row('longest main-thread task during hashFile, ms', (s) => num(s.hash.ours.longTaskMaxMsAllRuns, 0)),
    ];
    out.push(...grid(rows));
    if (legacyCapped) out.push(`(*) first ${sizeLabel(res.options.legacyCap)} of the file only (it is slow); MB/s over those bytes`);
    out.push('');

    const up = [['part pass, MB/s', 'concurrency', 'runs', 'ours upload phase', 'plain fetch', 'ratio (>= 0.95)', 'plain, Uint8Array bodies (*)',
      'plain, read + MD5 + Blob (**)', 'ours / it', 'ours end to end', 'hash + upload + finish, s', 'POST ms ours/plain', 'lanes busy ours/plain']];
    for (const s of sizes) {
      for (const u of s.upload) {
        if (u.skipped) {
          up.push([s.label, String(u.concurrency), '0', 'skipped (budget)', '', '', '', '', '', '', '', '', '']);
          continue;
        }
        up.push([
          s.label,
          String(u.concurrency),
          String(u.runs),
          num(u.oursUploadMBps),
          num(u.plainMBps),
          `${num(u.ratio, 2)} ${verdict(u.ratio, 0.95)}`,
          u.plainBytesBodies ? num(u.plainBytesBodies.MBps) : 'n/a',
          u.plainCopyBodies ? num(u.plainCopyBodies.MBps) : 'n/a',
          u.plainCopyBodies ? num(u.oursUploadMBps / u.plainCopyBodies.MBps, 2) : 'n/a',
          num(u.endToEndMBps),
          `${num(u.hashMs / 1000, 1)} + ${num((u.endToEndMs - u.hashMs - u.finishMs) / 1000, 1)} + ${num(u.finishMs / 1000, 1)}`,
          `${num(u.oursPostMeanMs, 0)} / ${num(u.plainPostMeanMs, 0)}`,
          `${pct(u.oursLaneBusy)} / ${pct(u.plainLaneBusy)}`,
        ]);
      }
    }
    out.push(...grid(up));
    const partSizes = [...new Set(sizes.flatMap((s) => s.upload.map((u) => u.partSize).filter(Boolean)))];
    out.push(`ours upload phase: from the first "uploading" progress event to "finishing"; plain fetch: the same parts (${partSizes.map(sizeLabel).join(', ') || 'n/a'}: the size ours' session used)`);
    out.push('(file.slice bodies) POSTed to UploadPartEx of another session, MD5s + signature computed beforehand.');
    out.push('POST ms: mean UploadPartEx fetch, call to response headers; lanes busy: sum of POST times / (concurrency x wall time).');
    out.push(`(*) diagnostic, 1 run, first ${sizeLabel(res.options.bytesCap)}: the same plain POSTs with each part read into an ArrayBuffer and sent as a Uint8Array.`);
    out.push('(**) diagnostic, 1 run, the whole file: plain POSTs that do per part what upload() does (read it, MD5 it with hash-wasm on the');
    out.push('page\'s thread, send a Blob of its bytes): the part pass of a client that must MD5 what it sends, against which "ours / it".');
    if (sizes.some((s) => s.upload.some((u) => u.skipped || u.runs < res.options.runs))) {
      out.push(`some pairs were skipped to keep within --upload-budget ${res.options.uploadBudgetS} s per size: runs < ${res.options.runs} means best of fewer runs.`);
    }
    out.push('');

    const mem = [['memory during upload(), MiB', 'JS heap peak', 'JS heap live', 'wasm memory', 'peak + wasm', 'live + wasm', 'renderer RSS peak', 'renderer RSS at load']];
    for (const s of sizes) {
      mem.push([s.label, mib(s.memory.jsHeapPeakBytes), mib(s.memory.jsHeapLiveBytes), mib(s.memory.wasmBytes), mib(s.memory.totalBytes),
        mib(s.memory.liveBytes), mib(s.memory.rendererRssPeakBytes), mib(s.memory.rendererRssAtLoadBytes)]);
    }
    out.push(...grid(mem));
    out.push('JS heap: the page\'s main thread (CDP Performance.getMetrics every 250 ms); live: right after a forced garbage');
    out.push('collection (every 2 s), what the page keeps; wasm: the page\'s package instance (final = peak); renderer RSS:');
    out.push('the whole renderer process (workers, Blob/fetch buffers included)');
    if (res.memoryFlat) {
      for (const f of res.memoryFlat) {
        out.push(`flat in file size: ${f.size} vs ${f.vs}: live JS heap + wasm differ by ${(f.diff * 100).toFixed(1)}% (${f.within10pct ? '< 10%: yes' : '>= 10%: NO'})`);
      }
    }
    out.push('');
  }

  const engineRows = res.sizes.flatMap((s) => (s.engines ?? []).map((e) => [s.label, e]));
  if (engineRows.length) {
    const eng = [['per engine', 'engine', 'hashFile() MB/s', 'upload() end to end MB/s', 'its hash pass, s', 'its upload phase MB/s', 'finish, s']];
    for (const [label, e] of engineRows) {
      if (e.skipped) {
        eng.push([label, e.version ?? e.engine, `skipped: ${e.skipped}`, '', '', '', '']);
        continue;
      }
      eng.push([label, e.version, num(e.hashFileMBps), num(e.endToEndMBps), num(e.hashPassMs / 1000), num(e.uploadPhaseMBps), num(e.finishMs / 1000)]);
    }
    out.push(...grid(eng));
    out.push(`each engine in a page of its own, best of ${res.options.runs} runs; upload() at concurrency 4 (the default), its hash pass`);
    out.push('(start to the signature request) and upload phase ("uploading" to "finishing") from its progress reports.');
    out.push('');
  }

  const p = res.package;
  out.push('package: per entry point, what a page importing it downloads (its JS, the hash worker, the wasm), gzipped');
  for (const e of p.entries) {
    out.push(`  ${e.entry}: ${(e.gz / 1024).toFixed(1)} KB of its ${(e.budget / 1024).toFixed(0)} KB budget (${e.within ? 'within' : 'OVER'}): `
      + e.files.map((f) => `${f.file.replace(/^dist\//, '')} ${(f.gz / 1024).toFixed(1)}`).join(' + '));
  }
  if (res.errors.length) {
    out.push('');
    out.push(`PROBLEMS (${res.errors.length}):`);
    for (const e of res.errors) out.push(`  ${e.split('\n')[0]}`);
  }
  return out.join('\n');
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart: hashing MB/s per method, then the part pass (ours vs plain fetch) per concurrency. */
export function renderSvg(res) {
  const sizes = res.sizes.filter((s) => s.hash?.ours);
  const W = 760;
  const labelW = 300;
  const barH = 14;
  const gap = 4;
  const parts = [];
  let y = 28;
  const colors = { ours: '#2b6cb0', hashWasm: '#dd6b20', legacy: '#a0aec0', webCrypto: '#38a169', ceiling: '#4a5568', plain: '#dd6b20' };

  const section = (title, bars) => {
    parts.push(`<text x="8" y="${y}" font-weight="bold">${esc(title)}</text>`);
    y += 10;
    const max = Math.max(1, ...bars.map((b) => b.value ?? 0));
    for (const b of bars) {
      if (b.group) {
        y += 6;
        parts.push(`<text x="8" y="${y + barH - 3}" font-style="italic">${esc(b.group)}</text>`);
        y += barH + gap;
        continue;
      }
      const w = b.value == null ? 0 : Math.max(1, ((W - labelW - 70) * b.value) / max);
      parts.push(`<text x="${labelW - 6}" y="${y + barH - 3}" text-anchor="end">${esc(b.label)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.color}"/>`);
      parts.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${y + barH - 3}">${b.value == null ? 'n/a' : b.value.toFixed(0)}</text>`);
      y += barH + gap;
    }
    y += 18;
  };

  const hashBars = [];
  for (const s of sizes) {
    hashBars.push({ group: s.label });
    hashBars.push({ label: 'ours hashFile', value: s.hash.ours.MBps, color: colors.ours });
    hashBars.push({ label: 'hash-wasm streamed', value: s.hash.hashWasm.MBps, color: colors.hashWasm });
    hashBars.push({ label: `js-sha1 + spark-md5${s.hash.legacy.capped ? ' (capped)' : ''}`, value: s.hash.legacy.MBps, color: colors.legacy });
    hashBars.push({ label: 'WebCrypto one-shot', value: s.hash.webCrypto.MBps, color: colors.webCrypto });
    hashBars.push({ label: 'wasm SHA-1 ceiling', value: s.hash.ceiling.MBps, color: colors.ceiling });
  }
  section('SHA-1 of the file, MB/s (higher is better)', hashBars);

  const upBars = [];
  for (const s of sizes) {
    upBars.push({ group: s.label });
    for (const u of s.upload.filter((x) => !x.skipped)) {
      upBars.push({ label: `concurrency ${u.concurrency}: ours upload phase`, value: u.oursUploadMBps, color: colors.ours });
      upBars.push({ label: `concurrency ${u.concurrency}: plain fetch`, value: u.plainMBps, color: colors.plain });
    }
  }
  section('Part pass to vod-server on loopback, MB/s', upBars);

  const m = res.machine;
  parts.push(`<text x="8" y="${y}" fill="#555">${esc(`${res.date} · ${m.cpu}, ${m.cores} cores · Chromium ${m.chromium} · best of ${res.options.runs}`)}</text>`);
  y += 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif" font-size="12">\n`
    + `<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}
