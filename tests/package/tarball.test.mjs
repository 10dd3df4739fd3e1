// The packed tarball itself: publint finds no problems, it ships only the built package, what a
// browser downloads for each of its entry points is small, and its types work for a TypeScript consumer (strict, both
// "bundler" and "nodenext" module resolution).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from '../../support/harness.mjs';
import { entrySizes } from '../../support/sizes.mjs';
import { makeApp, packTarball, run } from './helpers.mjs';

let tarball;
let info;

before(() => {
  ({ tarball, info } = packTarball());
});

test('publint reports no errors or warnings on the packed tarball', async () => {
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  const bytes = readFileSync(tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) },
    level: 'suggestion',
  });
  const lines = messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`);
  for (const line of lines) console.log(`publint ${line}`);
  const bad = messages.filter((m) => m.type === 'error' || m.type === 'warning');
  assert.equal(bad.length, 0, `publint:\n${lines.join('\n')}`);
});

test('the tarball ships the built package and nothing else', () => {
  const files = info.files.map((f) => f.path).sort();
  for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts',
    'dist/wasm/vod_ugc_uploader.js', 'dist/wasm/vod_ugc_uploader_bg.wasm', 'dist/wasm/vod_ugc_uploader_simd_bg.wasm']) {
    assert.ok(files.includes(required), `${required} is not in the tarball: ${files.join(', ')}`);
  }
  const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.+)$/.test(f));
  assert.deepEqual(stray, [], 'files outside dist/ in the tarball');
  console.log(`tarball: ${info.size} bytes packed, ${info.unpackedSize} unpacked, ${info.entryCount} files`);
});

test('each entry point, with all the JS and wasm a page that imports it downloads, gzipped, stays within its budget', () => {
  for (const { entry, files, gz, budget } of entrySizes(REPO_ROOT, new Set(info.files.map((f) => f.path)))) {
    console.log(`${entry}: ${files.map((f) => f.file).join(' + ')} = ${(gz / 1024).toFixed(1)} KB gzipped`);
    assert.ok(gz <= budget, `${entry}: ${(gz / 1024).toFixed(1)} KB gzipped, over its ${(budget / 1024).toFixed(1)} KB budget`);
  }
});

for (const moduleResolution of ['bundler', 'nodenext']) {
  test(`a TypeScript consumer type-checks against the shipped .d.ts (moduleResolution ${moduleResolution})`, () => {
    const app = makeApp(tarball, [['consumer.ts', 'consumer.ts'], ['consumer-entries.ts', 'consumer-entries.ts']]);
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: moduleResolution === 'bundler' ? 'esnext' : 'nodenext',
        moduleResolution,
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: [],
        skipLibCheck: false,
      },
      files: ['consumer.ts', 'consumer-entries.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
  });
}
