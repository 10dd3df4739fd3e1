// Helpers for the tests of the package's API (api.test.mjs, api-faults.test.mjs): a vod-server serving
// a bare page (api-page/) that imports the built package from /dist, and files picked into it.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DIST_DIR, startServer } from '../../support/harness.mjs';

const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'api-page');

/** vod-server serving the API page at / and the built package at /dist, with dev signing. */
export function startApiServer(options = {}) {
  return startServer({ www: PAGE_DIR, mounts: { '/dist': DIST_DIR }, ...options });
}

/** The API page, freshly loaded in `engine`, with `paths` picked through its file input (`picked(i)` in the page). */
export async function openApiPage(engine, server, paths = []) {
  await engine.goto(server.url);
  const loadError = await engine.waitFor(() => (document.body.dataset.ready === '1' && 'none') || document.body.dataset.loadError,
    null, { timeout: 15000, message: 'the API page to load' });
  if (loadError !== 'none') {
    throw new Error(`the page could not import /dist/index.js (is dist/ built? node scripts/build.mjs): ${loadError}`);
  }
  if (paths.length > 0) await engine.setInputFiles('#file', paths);
}
