// Helpers for the tests of the package's API (api.test.mjs, api-faults.test.mjs): a vod-server serving
// a bare page (api-page/) that imports the built package from /dist, and files picked into it.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DIST_DIR, newPage, startServer } from '../../support/harness.mjs';

const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'api-page');

/** vod-server serving the API page at / and the built package at /dist, with dev signing. */
export function startApiServer(options = {}) {
  return startServer({ www: PAGE_DIR, mounts: { '/dist': DIST_DIR }, ...options });
}

/** The API page, loaded, with `paths` picked through its file input (`picked(i)` in the page). */
export async function openApiPage(browser, t, server, paths = []) {
  const page = await newPage(browser, t);
  await page.goto(server.url);
  await page.locator('body[data-ready="1"], body[data-load-error]').waitFor({ state: 'attached', timeout: 15000 });
  const loadError = await page.locator('body').getAttribute('data-load-error');
  if (loadError != null) {
    throw new Error(`the page could not import /dist/index.js (is dist/ built? node scripts/build.mjs): ${loadError}`);
  }
  if (paths.length > 0) await page.setInputFiles('#file', paths);
  return page;
}
