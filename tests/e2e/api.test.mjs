// The package's API in Chromium, Firefox ESR and WebKitGTK (support/engines.mjs) against the real vod-server: `upload` and `hashFile` called
// on files picked through <input type=file>, with real fetch, and the stored bytes checked by
// downloading them. What the demo page shows is tested in upload.test.mjs; here, what a caller of the
// API gets: results, progress reports, errors, and what reached the server. One server and one browser
// per engine; the tests run in order.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import {
  DIST_DIR, REPO_ROOT, devSignature, makeTempDir, sha1File, sha1Hex, stats, writeRandomFile,
} from '../../support/harness.mjs';
import { serverFor } from '../../support/suite.mjs';
import { openApiPage, startApiServer } from './api.mjs';
import { MiB, assertSameBytes, globalStats } from './demo.mjs';

const PART = 512 * 1024;

forEngines(ENGINES, (engine, test) => {
  const setup = serverFor(engine, startApiServer, { tempDir: `vod-e2e-api-${engine.name}-` });

  /** How many InitUploadEx calls the server has seen. */
  async function initCalls() {
    const n = (await globalStats(setup.server.origin)).calls.InitUploadEx;
    assert.equal(typeof n, 'number', 'GET /dev/stats counts InitUploadEx calls');
    return n;
  }

  test('a fresh upload stores the exact bytes and reports honest progress', { timeout: 60000 }, async () => {
    const size = 1_300_000;
    const path = await writeRandomFile(setup.dir, 'fresh.mp4', size, 1);
    await openApiPage(engine, setup.server, [path]);
    const { result, error, events, signatureCalls } = await engine.evaluate(async () => {
      const getSignature = signer();
      const onProgress = recorder();
      const out = await outcome(api.upload(picked(), options({ getSignature, onProgress })));
      return { ...out, events: onProgress.events, signatureCalls: getSignature.requests.length };
    });
    assert.equal(error, undefined, 'the upload succeeds');

    assert.equal(result.fileSha, await sha1File(path));
    assert.equal(result.instant, false);
    assert.equal(result.uploadedBytes, size);
    assert.equal(result.resumedBytes, 0);
    assert.match(result.fileId, /^\d{19,20}$/);
    assert.ok(result.url.endsWith(`/vod/${result.fileId}/f0.mp4`), result.url);
    assert.equal(typeof result.verifyContent, 'string', 'the server sent its proof of the fileId');
    await assertSameBytes(result.url, path);
    assert.equal(signatureCalls, 1);

    const phases = events.map((e) => e.phase);
    const firstUpload = phases.indexOf('uploading');
    assert.ok(firstUpload > 0 && phases.slice(0, firstUpload).every((p) => p === 'hashing'), `phases: ${phases}`);
    assert.equal(phases.at(-1), 'finishing');
    for (const phase of ['hashing', 'uploading']) {
      const loaded = events.filter((e) => e.phase === phase).map((e) => e.loaded);
      assert.ok(loaded.every((n, i) => i === 0 || loaded[i - 1] <= n), `${phase} went back: ${loaded}`);
      assert.equal(loaded.at(-1), size, `${phase} ends at the whole file`);
    }
    assert.ok(events.every((e) => e.total === size), 'every report has the file size as total');
  });

  test('a cached hash skips the hash pass, but a changed file is hashed anew', { timeout: 60000 }, async () => {
    // The same name, size and modification time; other bytes near the end (in the last MiB, which the
    // cache checks again).
    const size = 2_500_000;
    const path = await writeRandomFile(join(setup.dir, 'original'), 'cached.mp4', size, 3);
    const changed = readFileSync(path);
    changed[2_400_000] ^= 0xff;
    const changedPath = join(makeTempDir('vod-e2e-api-changed-'), 'cached.mp4');
    writeFileSync(changedPath, changed);
    const date = new Date(1_700_000_000_000);
    utimesSync(path, date, date);
    utimesSync(changedPath, date, date);

    await openApiPage(engine, setup.server, [path, changedPath]);
    const runs = await engine.evaluate(async () => {
      const run = async (file, extra = {}) => {
        const onProgress = recorder();
        const out = await outcome(api.upload(file, options({ onProgress, ...extra })));
        return { ...out, hashing: onProgress.events.filter((e) => e.phase === 'hashing').map((e) => e.loaded) };
      };
      const first = await run(picked(0));
      const again = await run(picked(0));
      const changed = await run(picked(1));
      const uncached = await run(picked(0), { hashCache: false });
      return { first, again, changed, uncached };
    });
    for (const [name, run] of Object.entries(runs)) assert.equal(run.error, undefined, `${name}: ${JSON.stringify(run.error)}`);

    // The same file again: its hash comes from IndexedDB, one "hashing" report at 100%.
    assert.equal(runs.again.result.instant, true);
    assert.deepEqual(runs.again.hashing, [size], 'no hash pass for a cached file');

    // Never the stale hash for the changed file.
    assert.equal(runs.changed.result.fileSha, sha1Hex(changed));
    assert.notEqual(runs.changed.result.fileId, runs.first.result.fileId);
    await assertSameBytes(runs.changed.result.url, changedPath);

    // With the cache off, the file is hashed again.
    assert.ok(runs.uncached.hashing.length > 1, `a hash pass with hashCache: false (reports: ${runs.uncached.hashing})`);
  });

  test('resume adopts the session\'s part size and sends only the missing parts', { timeout: 60000 }, async () => {
    // Another client opened the session with 512 KiB parts and sent the first one.
    const size = 1_600_000;
    const path = await writeRandomFile(setup.dir, 'resume.mp4', size, 4);
    const bytes = readFileSync(path);
    const sha = sha1Hex(bytes);
    const sig = encodeURIComponent(await devSignature(setup.server.origin, { fileSha: sha, fileName: 'resume.mp4', ttl: 3600 }));
    const init = await fetch(`${setup.server.endpoint}?Action=InitUploadEx&fileSha=${sha}&fileSize=${size}&dataSize=${PART}&signature=${sig}`);
    assert.equal((await init.json()).code, 0);
    const first = bytes.subarray(0, PART);
    const md5 = createHash('md5').update(first).digest('hex');
    const part = await fetch(`${setup.server.endpoint}?Action=UploadPartEx&fileSha=${sha}&offset=0&dataSize=${PART}&dataMd5=${md5}&signature=${sig}`, {
      method: 'POST',
      body: first,
    });
    assert.equal((await part.json()).code, 0);

    // This upload asks for 1 MiB parts; the server's session says 512 KiB.
    await openApiPage(engine, setup.server, [path]);
    const { result, error } = await engine.evaluate(() => outcome(api.upload(picked(), options({ partSize: 1048576 }))));
    assert.equal(error, undefined, JSON.stringify(error));
    assert.equal(result.resumedBytes, PART);
    assert.equal(result.uploadedBytes, size - PART);
    await assertSameBytes(result.url, path);
    assert.equal((await stats(setup.server.origin, sha)).partsReceived, 4, 'part 0 once by hand, parts 1-3 by the uploader');
  });

  test('without IndexedDB, Web Workers or BYOB reads of Blob streams, upload and hashFile fall back and still store the exact bytes', { timeout: 60000 }, async () => {
    // What a browser without them (or a page that forbids them) gives the package: no hash cache, the
    // hashing on the page's thread, and the file read as slices.
    const size = 9 * MiB + 4321;
    const path = await writeRandomFile(setup.dir, 'fallbacks.mp4', size, 16);
    await openApiPage(engine, setup.server, [path]);
    const { missing, result, error, sha, hashing } = await engine.evaluate(async () => {
      Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
      window.Worker = undefined;
      const getReader = ReadableStream.prototype.getReader;
      ReadableStream.prototype.getReader = function (options) {
        if (options?.mode === 'byob') throw new TypeError('no BYOB readers here');
        return getReader.call(this, options);
      };
      const missing = { indexedDB: typeof indexedDB, Worker: typeof Worker };
      const onProgress = recorder();
      const out = await outcome(api.upload(picked(), options({ onProgress })));
      const hashed = await api.hashFile(picked());
      return { missing, ...out, sha: hashed, hashing: onProgress.events.filter((e) => e.phase === 'hashing').length };
    });
    assert.deepEqual(missing, { indexedDB: 'undefined', Worker: 'undefined' });
    assert.equal(error, undefined, JSON.stringify(error));
    const expected = await sha1File(path);
    assert.equal(result.fileSha, expected);
    assert.equal(sha, expected, 'hashFile gives the same SHA-1 on the page\'s thread');
    assert.ok(hashing > 1, `a hash pass with progress (${hashing} reports)`);
    assert.equal(result.uploadedBytes, size);
    await assertSameBytes(result.url, path);
  });

  test('where the engine has no wasm SIMD, the plain wasm build loads and hashes to the same SHA-1', { timeout: 60000 }, async () => {
    // Every engine here has SIMD, so the package loads its SIMD build; a page that says it has none
    // (WebAssembly.validate refusing the SIMD probe) gets the plain build. On the page's thread (no
    // Worker), where the stub reaches.
    const size = 3 * MiB + 99;
    const path = await writeRandomFile(setup.dir, 'plain-wasm.mp4', size, 23);
    await openApiPage(engine, setup.server, [path]);
    const { sha, wasm } = await engine.evaluate(async () => {
      window.Worker = undefined;
      const validate = WebAssembly.validate;
      WebAssembly.validate = (bytes) => !new Uint8Array(bytes).includes(0xfd) && validate(bytes);
      const sha = await api.hashFile(picked());
      const wasm = performance.getEntriesByType('resource').map((e) => e.name.split('/').pop()).filter((n) => n.endsWith('.wasm'));
      return { sha, wasm };
    });
    assert.deepEqual(wasm, ['vod_ugc_uploader_bg.wasm']);
    assert.equal(sha, await sha1File(path));
  });

  test('a refused signature is asked for once more', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'refresh.mp4', 600_000, 6);
    await openApiPage(engine, setup.server, [path]);
    const { result, error, signatureCalls } = await engine.evaluate(async () => {
      const getSignature = signer(1);
      const out = await outcome(api.upload(picked(), options({ getSignature })));
      return { ...out, signatureCalls: getSignature.requests.length };
    });
    assert.equal(error, undefined, 'the second signature works');
    assert.equal(signatureCalls, 2);
    await assertSameBytes(result.url, path);
  });

  test('a fatal error rejects with an UploadError carrying the server\'s code', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'fatal.mp4', 10_000, 7);
    await openApiPage(engine, setup.server, [path]);
    const { error, signatureCalls } = await engine.evaluate(async () => {
      const getSignature = signer(2);
      const out = await outcome(api.upload(picked(), options({ getSignature })));
      return { ...out, signatureCalls: getSignature.requests.length };
    });
    assert.equal(error.name, 'UploadError');
    assert.ok(error.isUploadError && error.isError, 'an instance of the exported UploadError, an Error');
    assert.equal(error.code, -10002);
    assert.equal(error.step, 'init');
    assert.equal(error.canRetry, false);
    assert.ok(error.message.includes('InitUploadEx') && error.message.includes('-10002'), error.message);
    assert.equal(signatureCalls, 2, 'asked once more, then failed');
  });

  test('abort mid-upload rejects with an AbortError and stops sending', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'abort.mp4', 6 * PART, 8);
    const sha = await sha1File(path);
    await openApiPage(engine, setup.server, [path]);
    const { error } = await engine.evaluate(() => {
      const controller = new AbortController();
      const onProgress = (p) => { if (p.phase === 'uploading' && p.loaded > 0) controller.abort(); };
      return outcome(api.upload(picked(), options({ concurrency: 1, signal: controller.signal, onProgress })));
    });
    assert.equal(error?.name, 'AbortError');
    assert.ok(error.isDomException, 'a DOMException');
    // Progress moves while a part's bytes are on their way, so the abort may come when a part has all
    // left: the server may still store that one. Once it had the time to, nothing more arrives.
    await new Promise((r) => setTimeout(r, 500));
    const received = (await stats(setup.server.origin, sha)).partsReceived;
    assert.ok(received < 6, `the upload stopped early (${received} parts)`);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await stats(setup.server.origin, sha)).partsReceived, received, 'nothing sent after the abort');
  });

  test('an already aborted signal rejects before any work', { timeout: 60000 }, async () => {
    const path = join(setup.dir, 'a.mp4');
    writeFileSync(path, 'abc');
    await openApiPage(engine, setup.server, [path]);
    const { error, signatureCalls } = await engine.evaluate(async () => {
      const getSignature = signer();
      const out = await outcome(api.upload(picked(), options({ getSignature, signal: AbortSignal.abort() })));
      return { ...out, signatureCalls: getSignature.requests.length };
    });
    assert.equal(error?.name, 'AbortError');
    assert.equal(signatureCalls, 0);
  });

  test('abort during the hash pass rejects before any request', { timeout: 60000 }, async () => {
    // Several of the hash pass's 8 MiB read windows, so that the abort lands mid-pass.
    const path = await writeRandomFile(setup.dir, 'abort-hash.mp4', 24 * MiB, 15);
    await openApiPage(engine, setup.server, [path]);
    const before = await initCalls();
    const { error, signatureCalls } = await engine.evaluate(async () => {
      const controller = new AbortController();
      const onProgress = (p) => { if (p.phase === 'hashing' && p.loaded > 0) controller.abort(); };
      const getSignature = signer();
      const out = await outcome(api.upload(picked(), options({ getSignature, signal: controller.signal, onProgress })));
      return { ...out, signatureCalls: getSignature.requests.length };
    });
    assert.equal(error?.name, 'AbortError');
    assert.equal(signatureCalls, 0, 'no signature was asked for');
    assert.equal(await initCalls(), before, 'the server saw no InitUploadEx');
  });

  test('an empty file is refused before any request', { timeout: 60000 }, async () => {
    const path = join(setup.dir, 'empty.mp4');
    writeFileSync(path, '');
    await openApiPage(engine, setup.server, [path]);
    const before = await initCalls();
    const { error, signatureCalls } = await engine.evaluate(async () => {
      const getSignature = signer();
      const out = await outcome(api.upload(picked(), options({ getSignature })));
      return { ...out, signatureCalls: getSignature.requests.length };
    });
    assert.equal(error?.name, 'UploadError');
    assert.equal(error.step, 'hash');
    assert.match(error.message, /empty/);
    assert.equal(signatureCalls, 0);
    assert.equal(await initCalls(), before, 'the server saw no InitUploadEx');
  });

  test('invalid arguments are TypeErrors that name what is wrong', { timeout: 60000 }, async () => {
    const path = join(setup.dir, 'x.mp4');
    writeFileSync(path, 'abc');
    await openApiPage(engine, setup.server, [path]);
    const outcomes = await engine.evaluate(async () => {
      const file = picked();
      const cases = [
        ['partSize', file, options({ partSize: 1000 })],
        ['getSignature', file, {}],
        ['concurrency', file, options({ concurrency: 0 })],
        ['File', 'not a file', options()],
        ['options', file, undefined],
      ];
      const out = [];
      for (const [says, f, o] of cases) out.push({ says, ...(await outcome(api.upload(f, o))) });
      return out;
    });
    assert.equal(outcomes.length, 5);
    for (const { says, error } of outcomes) {
      assert.ok(error?.isTypeError, `${says}: a TypeError (${JSON.stringify(error)})`);
      assert.ok(error.message.includes(says), `${says}: ${error.message}`);
    }
  });

  test('the shipped types name exactly the fields the API produces and reads', { timeout: 60000 }, async () => {
    const path = await writeRandomFile(setup.dir, 'types.mp4', 1000, 13);
    await openApiPage(engine, setup.server, [path]);
    const seen = await engine.evaluate(async () => {
      // The keys a reader of `target` asks for.
      const spy = (target, read) => new Proxy(target, {
        get(o, key, receiver) { if (typeof key === 'string') read.add(key); return Reflect.get(o, key, receiver); },
        has(o, key) { if (typeof key === 'string') read.add(key); return Reflect.has(o, key); },
      });
      const getSignature = signer();
      const progress = [];
      const uploadRead = new Set();
      const onProgress = (p) => progress.push(Object.keys(p).sort());
      const { result, error } = await outcome(api.upload(picked(), spy(options({ getSignature, onProgress }), uploadRead)));
      const hashRead = new Set();
      await api.hashFile(picked(), spy({}, hashRead));
      return {
        error,
        result: result && Object.keys(result),
        progress,
        signatureRequest: getSignature.requests.map((r) => Object.keys(r)),
        uploadOptions: [...uploadRead],
        hashOptions: [...hashRead],
      };
    });
    assert.equal(seen.error, undefined, JSON.stringify(seen.error));
    assert.ok(seen.progress.length > 0 && seen.signatureRequest.length === 1);
    for (const keys of seen.progress) assert.deepEqual(keys, seen.progress[0], 'every progress report has the same fields');

    // The TypeScript compiler reads the shipped .d.ts files (wherever dist/index.d.ts takes the types
    // from) and checks each interface against the fields seen: none missing, none extra.
    const fields = {
      UploadResult: seen.result,
      UploadProgress: seen.progress[0],
      SignatureRequest: seen.signatureRequest[0],
      UploadOptions: seen.uploadOptions,
      HashOptions: seen.hashOptions,
    };
    const tsDir = makeTempDir('vod-types-');
    let entry = relative(tsDir, join(DIST_DIR, 'index.js')).split('\\').join('/');
    if (!entry.startsWith('.')) entry = `./${entry}`;
    const names = Object.keys(fields);
    const check = [
      `import type { ${names.join(', ')} } from ${JSON.stringify(entry)};`,
      '// "same" when T declares exactly the fields in P; otherwise the fields on one side only.',
      'type Fields<T, P extends string> = [Exclude<keyof T, P>, Exclude<P, keyof T>] extends [never, never]',
      '  ? "same"',
      '  : { declaredButNotSeen: Exclude<keyof T, P>; seenButNotDeclared: Exclude<P, keyof T> };',
      ...names.map((name) => {
        assert.ok(fields[name].length > 0, `${name}: no fields seen`);
        return `export const ${name}_fields: Fields<${name}, ${fields[name].map((f) => JSON.stringify(f)).join(' | ')}> = "same";`;
      }),
    ].join('\n');
    writeFileSync(join(tsDir, 'check.ts'), `${check}\n`);
    writeFileSync(join(tsDir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler',
        lib: ['es2022', 'dom', 'dom.iterable'], types: [], skipLibCheck: false,
      },
      files: ['check.ts'],
    }));
    const tsc = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
      cwd: tsDir,
      encoding: 'utf8',
    });
    assert.equal(tsc.status, 0, `the shipped types differ from the fields the API uses:\n${tsc.stdout}${tsc.stderr}\n--- check.ts ---\n${check}`);
  });
});
