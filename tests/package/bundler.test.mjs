// The package as a bundler sees it: `npm pack` the repo, install the tarball into a small app that
// imports 'vod-ugc-uploader' by name, `vite build` it (once), serve the built app and upload from it
// in Chromium, Firefox ESR and WebKitGTK.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { ENGINES, forEngines } from '../../support/engines.mjs';
import { REPO_ROOT, startServer } from '../../support/harness.mjs';
import { seen } from '../../support/probe.mjs';
import { assertUploaded, makeApp, packTarball, run, uploadInPage } from './helpers.mjs';

let server;
let app;

before(async () => {
  const { tarball } = packTarball();
  app = makeApp(tarball, [
    ['vite-app/index.html', 'index.html'],
    ['vite-app/main.js', 'main.js'],
    ['run-upload.js', 'run-upload.js'],
  ]);
  // The repository's own Vite (a pinned devDependency), run in the app folder: no registry needed.
  const vite = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  run(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: app });
  server = await startServer({ www: join(app, 'dist') });
});

after(() => server?.stop());

test('vite build emits the wasm as an asset of the app', () => {
  const assets = readdirSync(join(app, 'dist', 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `no .wasm among the built assets: ${assets.join(', ')}`);
  assert.ok(assets.some((f) => f.endsWith('.js')), `no .js among the built assets: ${assets.join(', ')}`);
});

forEngines(ENGINES, (engine, test) => {
  test('the Vite-built app uploads a File and the server stores identical bytes', async () => {
    const summary = await uploadInPage(engine, server.url);
    await assertUploaded(summary, server);
    // The package's hash worker was bundled too, and it is what hashed the file.
    const { workers, warnings } = await seen(engine);
    const urls = workers.map((w) => `${w.url} (${w.messages} messages)`).join(', ') || 'none';
    assert.ok(workers.some((w) => /\/assets\/hash-worker[^/]*\.js$/.test(w.url) && w.messages > 0),
      `no hash worker from the app's assets answered (workers: ${urls})`);
    assert.ok(!warnings.some((l) => l.includes('hash worker failed')), `the hash worker failed:\n${warnings.join('\n')}`);
  });
});
