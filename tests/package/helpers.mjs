// Helpers shared by the package-consumption tests (not a test file itself).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DIST_DIR, REPO_ROOT, fetchBytes, makeTempDir, sha1Hex, startServer } from '../../support/harness.mjs';
import { watch } from '../../support/probe.mjs';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** Size of the File each consumption test uploads: a few MiB, not a multiple of the part size. */
export const UPLOAD_SIZE = 3 * 1024 * 1024 + 12345;

/** The tests run against the built package; say how to get it when it is missing. */
export function requireDist() {
  for (const f of ['index.js', 'index.d.ts']) {
    if (!existsSync(join(DIST_DIR, f))) {
      throw new Error(`dist/${f} is missing: build the package first (node scripts/build.mjs, or npm run build)`);
    }
  }
}

/**
 * A vod-server serving fixture files as its www folder (`files`: [[from, to], ...]) and the built
 * package at /dist.
 */
export async function fixtureSite(files) {
  requireDist();
  const www = makeTempDir('vod-www-');
  for (const [from, to] of files) cpSync(join(FIXTURES, from), join(www, to));
  return startServer({ www, mounts: { '/dist': DIST_DIR } });
}

/** Run a command, fail with its output if it exits non-zero; returns stdout. */
export function run(cmd, args, { cwd = REPO_ROOT, env } = {}) {
  const res = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.error) throw new Error(`${cmd} could not start: ${res.error.message}`);
  if (res.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${res.status ?? res.signal}\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`);
  }
  return res.stdout;
}

/** `npm pack` the repository into a temp dir; returns the tarball's path. */
export function packTarball() {
  requireDist();
  const dest = makeTempDir('vod-pack-');
  const out = run('npm', ['pack', '--json', '--loglevel=error', '--pack-destination', dest]);
  const [info] = JSON.parse(out);
  const tarball = join(dest, info.filename);
  assert.ok(existsSync(tarball), `npm pack reported ${info.filename} but ${tarball} does not exist`);
  return { tarball, info };
}

/**
 * A temp app folder with `package.json` depending on the tarball, installed (no registry needed: the
 * package has no dependencies). `files` are copied in from fixtures: [[from, to], ...].
 */
export function makeApp(tarball, files = []) {
  const app = makeTempDir('vod-app-');
  cpSync(join(FIXTURES, 'app-package.json'), join(app, 'package.json'));
  for (const [from, to] of files) cpSync(join(FIXTURES, from), join(app, to), { recursive: true });
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], { cwd: app });
  const installed = join(app, 'node_modules', 'vod-ugc-uploader', 'package.json');
  assert.ok(existsSync(installed), 'the tarball did not install into node_modules/vod-ugc-uploader');
  return app;
}

/**
 * Open `url` in `engine`, wait for the page's `runUpload`, watch the page (support/probe.mjs), upload
 * `size` bytes; returns the page's summary.
 */
export async function uploadInPage(engine, url, size = UPLOAD_SIZE) {
  await engine.goto(url);
  await engine.waitFor(() => document.body.dataset.ready === '1' && typeof window.runUpload === 'function', null,
    { timeout: 30000, message: 'the page\'s runUpload' });
  await watch(engine);
  return engine.evaluate((n) => window.runUpload(n), size);
}

/** The checks every consumption test makes on an upload summary and on the stored file. */
export async function assertUploaded(summary, server, size = UPLOAD_SIZE) {
  assert.ok(summary.ok, `upload failed in the browser: ${JSON.stringify(summary.error, null, 2)}`);
  const { result } = summary;
  assert.match(result.fileId, /^\d{19,20}$/, `fileId ${JSON.stringify(result.fileId)} is not a 19-20 digit decimal string`);
  assert.equal(typeof result.url, 'string');
  assert.ok(result.url.startsWith(server.origin), `url ${result.url} is not on the test server ${server.origin}`);
  assert.equal(result.fileSha, summary.originalSha, 'result.fileSha is not the SHA-1 of the file');
  assert.equal(result.instant, false, 'a fresh random file was reported as instant');
  assert.equal(result.uploadedBytes, size);
  assert.equal(result.resumedBytes, 0);
  assert.equal(summary.storedStatus, 200);
  assert.equal(summary.storedSize, size);
  assert.ok(summary.sameBytes, 'the stored file differs from the uploaded one');
  assert.equal(summary.signatureCalls, 1, 'getSignature should be called once');
  assert.ok(summary.phases.includes('hashing') && summary.phases.includes('uploading'), `progress phases: ${summary.phases}`);
  assert.ok(summary.uploadingMonotonic, 'uploading progress went backwards');
  assert.ok(summary.uploadErrorIsClass, 'UploadError is not exported as a class');
  // And from outside the browser: the server serves the same bytes.
  const stored = await fetchBytes(result.url);
  assert.equal(sha1Hex(stored), result.fileSha, 'GET url from node returned other bytes');
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}
