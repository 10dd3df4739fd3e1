// What a browser downloads for each entry point of the package, gzipped, against its budget: the
// entry, the modules it imports statically, the hash worker it starts and the wasm (the larger build). The tarball
// test holds the budgets; the benchmark reports them.
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';

// The main entry, with all it loads (issues 13 and 14).
export const MAIN_BUDGET = 40 * 1024;
// The optional entries (queue, record) load the main entry's code and their own: 3 KB above it (2 KB
// until the recorder kept its chunks in IndexedDB and wrote a playable WebM head: 2.7 KB of its own).
export const OPTIONAL_BUDGET = MAIN_BUDGET + 3 * 1024;

/**
 * Per entry of package.json's `exports`: `{ entry, files: [{ file, gz }], gz, budget }`, sizes in
 * bytes gzipped at level 9. `shipped` are the package's files (paths like `dist/index.js`); an
 * import of a file that is not shipped throws.
 * @param {string} root the package's folder
 * @param {Set<string>} shipped
 */
export function entrySizes(root, shipped) {
  const gz = (p) => gzipSync(readFileSync(join(root, p)), { level: 9 }).length;
  // A module and the modules it imports statically, itself first.
  const closure = (file, seen = new Set()) => {
    if (seen.has(file)) return seen;
    if (!shipped.has(file)) throw new Error(`${file} is imported but not shipped`);
    seen.add(file);
    const code = readFileSync(join(root, file), 'utf8');
    for (const [, spec] of code.matchAll(/(?:\bfrom|\bimport)\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      closure(posix.join(posix.dirname(file), spec), seen);
    }
    return seen;
  };
  // Two builds of the wasm (plain and SIMD, js/wasm.js): a page loads one, so the larger counts.
  const wasms = [...shipped].filter((p) => p.endsWith('.wasm'));
  if (wasms.length !== 2) throw new Error(`expected two wasm files (plain and SIMD), found ${wasms.length}`);
  const wasm = [wasms.reduce((a, b) => (gz(b) > gz(a) ? b : a))];
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const entries = Object.values(pkg.exports).map((e) => e.default).filter((p) => p?.endsWith('.js')).map((p) => p.slice(2));
  if (!entries.includes('dist/index.js')) throw new Error('the main entry dist/index.js is not among the exports');
  // Every entry starts the hash worker and loads the wasm.
  return entries.map((entry) => {
    const files = [...new Set([...closure(entry), ...closure('dist/hash-worker.js'), ...wasm])].map((file) => ({ file, gz: gz(file) }));
    const total = files.reduce((sum, f) => sum + f.gz, 0);
    return { entry, files, gz: total, budget: entry === 'dist/index.js' ? MAIN_BUDGET : OPTIONAL_BUDGET };
  });
}
