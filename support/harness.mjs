// Shared helpers for the node:test suites and the benchmark, which drive the real `vod-server` binary
// and headless Chromium (tests/package/, tests/e2e/, bench/). Keep this API stable: they all import it.
//
//   startServer({ www, mounts, faults, dataDir, args, ... }) -> { url, origin, endpoint, port, dataDir,
//                                                                secretId, secretKey, logs(), stop(),
//                                                                kill(signal), restart() }
//   launchBrowser()                  -> playwright-core Browser (Debian Chromium, headless)
//   makeTempDir(prefix)              -> absolute path of a fresh directory, removed when the process exits
//   writeRandomFile(dir, name, size, seed) -> path of a file of `size` deterministic pseudo-random bytes
//   sha1File(path)                   -> lowercase hex SHA-1 of a file
//   stats(origin, sha)               -> JSON of GET /dev/stats?fileSha=<sha> (needs --dev-signing)
//   devSignature(origin, { fileSha, fileName, ttl }) -> signature string from POST /dev/signature
//   fetchBytes(url)                  -> Buffer of the body (throws on HTTP status other than 200/206)
//   waitFor(fn, { timeout, interval, message }) -> the first truthy value fn() returns

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder above this file's). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The built package (`npm run build` / scripts/build.mjs writes it). */
export const DIST_DIR = join(REPO_ROOT, 'dist');
/** Where failure screenshots and page logs go (git-ignored). */
export const RESULTS_DIR = join(REPO_ROOT, 'test-results');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Path of the vod-server binary: $VOD_SERVER_BIN, else <$CARGO_TARGET_DIR or target>/debug/vod-server. */
export function serverBin() {
  const targetDir = resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR || 'target');
  const bin = process.env.VOD_SERVER_BIN || join(targetDir, 'debug', 'vod-server');
  if (!existsSync(bin)) {
    throw new Error(`vod-server binary not found at ${bin}: run \`cargo build -p vod-server\` or set VOD_SERVER_BIN`);
  }
  return bin;
}

// ---------------------------------------------------------------------------------------------
// Temp directories

const tempDirs = new Set();
process.on('exit', () => {
  if (process.env.KEEP_TEMP) return;
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

/** A fresh directory under the OS temp dir, removed when the process exits (unless $KEEP_TEMP). */
export function makeTempDir(prefix = 'vod-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// vod-server

const liveServers = new Set();
process.on('exit', () => {
  for (const child of liveServers) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

function faultArgs(faults) {
  if (!faults) return [];
  const out = [];
  if (faults.rate != null) out.push('--fault-rate', String(faults.rate));
  if (faults.seed != null) out.push('--fault-seed', String(faults.seed));
  if (faults.kinds != null) {
    out.push('--fault-kinds', Array.isArray(faults.kinds) ? faults.kinds.join(',') : String(faults.kinds));
  }
  if (faults.slowMs != null) out.push('--slow-ms', String(faults.slowMs));
  return out;
}

function mountArgs(mounts) {
  if (!mounts) return [];
  const entries = Array.isArray(mounts) ? mounts : Object.entries(mounts);
  const out = [];
  for (const [prefix, dir] of entries) out.push('--mount', `${prefix}=${resolve(dir)}`);
  return out;
}

/**
 * Start `vod-server` on 127.0.0.1 (port 0 = a free port unless `port` is given) and wait until it
 * prints `listening on http://...`.
 *
 * options:
 *   www        folder served at /            (--www)
 *   mounts     { '/dist': dir, ... } or [[prefix, dir], ...]   (--mount prefix=dir)
 *   faults     { rate, seed, kinds: ['retry-code','http500','http503','drop','slow'], slowMs }
 *   dataDir    data folder (default: a fresh temp dir)
 *   devSigning true by default (--dev-signing: POST /dev/signature, GET /dev/stats)
 *   secretId, secretKey, verifyKey, publicUrl   (defaults: random id/key, no verify key/public url)
 *   args       extra CLI arguments, appended as given
 *   env        extra environment variables for the server process
 *   port       listen port (default 0)
 *   startTimeoutMs  how long to wait for `listening on` (default 20000)
 *
 * Returns { url, origin, endpoint, port, dataDir, secretId, secretKey, args, logs(), stop(), kill(), restart() }.
 * `restart()` starts the same binary with the same arguments on the same port and data dir.
 */
export async function startServer(options = {}) {
  const {
    www,
    mounts,
    faults,
    devSigning = true,
    verifyKey,
    publicUrl,
    args: extraArgs = [],
    env = {},
    startTimeoutMs = 20000,
  } = options;
  const dataDir = options.dataDir ?? makeTempDir('vod-data-');
  mkdirSync(dataDir, { recursive: true });
  const secretId = options.secretId ?? `AKIDtest${randomBytes(8).toString('hex')}`;
  const secretKey = options.secretKey ?? randomBytes(16).toString('hex');
  const bin = serverBin();

  const baseArgs = [
    '--data-dir', dataDir,
    '--secret-id', secretId,
    '--secret-key', secretKey,
  ];
  if (verifyKey) baseArgs.push('--verify-key', verifyKey);
  if (publicUrl) baseArgs.push('--public-url', publicUrl);
  if (www) baseArgs.push('--www', resolve(www));
  baseArgs.push(...mountArgs(mounts));
  if (devSigning) baseArgs.push('--dev-signing');
  baseArgs.push(...faultArgs(faults), ...extraArgs);

  let logText = '';
  let child = null;
  const server = {
    dataDir,
    secretId,
    secretKey,
    port: options.port ?? 0,
    origin: '',
    url: '',
    endpoint: '',
    args: null,
    /** Everything the server printed so far (stdout and stderr, interleaved). */
    logs: () => logText,
    get pid() { return child?.pid; },
    get running() { return child != null && child.exitCode == null && child.signalCode == null; },
  };

  async function launch(port) {
    const args = ['--listen', `127.0.0.1:${port}`, ...baseArgs];
    server.args = args;
    const proc = spawn(bin, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    liveServers.add(proc);
    proc.on('exit', () => liveServers.delete(proc));
    const onData = (chunk) => {
      logText += chunk.toString();
      if (process.env.VOD_SERVER_LOG) process.stderr.write(`[vod-server] ${chunk}`);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);

    const started = await new Promise((resolveStart) => {
      const timer = setTimeout(() => resolveStart({ error: `no "listening on" within ${startTimeoutMs} ms` }), startTimeoutMs);
      const check = () => {
        const m = /listening on (https?:\/\/[^\s]+)/.exec(logText.slice(logStart));
        if (m) { clearTimeout(timer); cleanup(); resolveStart({ url: m[1] }); }
      };
      const onExit = (code, signal) => {
        clearTimeout(timer); cleanup();
        resolveStart({ error: `exited (code ${code}, signal ${signal}) before listening` });
      };
      const cleanup = () => { proc.stdout.off('data', check); proc.stderr.off('data', check); proc.off('exit', onExit); };
      const logStart = logText.length;
      proc.stdout.on('data', check);
      proc.stderr.on('data', check);
      proc.on('exit', onExit);
      proc.on('error', (err) => onExit(`spawn error: ${err.message}`, null));
    });
    if (started.error) {
      if (proc.exitCode == null && proc.signalCode == null) proc.kill('SIGKILL');
      return { error: started.error };
    }
    const u = new URL(started.url);
    server.origin = u.origin;
    server.url = `${u.origin}/`;
    server.endpoint = `${u.origin}/v2/index.php`;
    server.port = Number(u.port);
    return {};
  }

  async function waitExit(proc, ms) {
    if (proc.exitCode != null || proc.signalCode != null) return true;
    const timer = new Promise((r) => setTimeout(() => r(false), ms));
    return Promise.race([once(proc, 'exit').then(() => true), timer]);
  }

  /** Stop gracefully (SIGTERM, then SIGKILL after 3 s). Safe to call twice. */
  server.stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode != null || proc.signalCode != null) return;
    proc.kill('SIGTERM');
    if (!(await waitExit(proc, 3000))) {
      proc.kill('SIGKILL');
      await waitExit(proc, 5000);
    }
  };

  /** Kill at once (default SIGKILL: a crash, no cleanup) and wait until the process is gone. */
  server.kill = async (signal = 'SIGKILL') => {
    const proc = child;
    if (!proc || proc.exitCode != null || proc.signalCode != null) return;
    proc.kill(signal);
    await waitExit(proc, 10000);
  };

  /** Start again on the same port and data dir (stops the current process first if it runs). */
  server.restart = async () => {
    await server.stop();
    let last;
    // The old socket may linger for a moment; retry the bind briefly.
    for (let attempt = 0; attempt < 20; attempt++) {
      last = await launch(server.port);
      if (!last.error) return server;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`vod-server restart on port ${server.port} failed: ${last.error}\n--- server output ---\n${logText}`);
  };

  const first = await launch(server.port);
  if (first.error) {
    throw new Error(`vod-server did not start: ${first.error}\n  ${bin} ${server.args.join(' ')}\n--- server output ---\n${logText}`);
  }
  return server;
}

/** GET /dev/stats?fileSha=<sha> (a server started with --dev-signing). */
export async function stats(origin, sha) {
  const res = await fetch(`${origin}/dev/stats?fileSha=${encodeURIComponent(sha)}`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /dev/stats answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  try { return JSON.parse(text); } catch { throw new Error(`GET /dev/stats answered non-JSON: ${text.slice(0, 300)}`); }
}

/** POST /dev/signature { fileSha, fileName, ttl? } -> signature string. */
export async function devSignature(origin, { fileSha, fileName, ttl }) {
  const body = { fileSha, fileName };
  if (ttl != null) body.ttl = ttl;
  const res = await fetch(`${origin}/dev/signature`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /dev/signature answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text).signature;
}

/** The body of `url` as a Buffer. */
export async function fetchBytes(url) {
  const res = await fetch(url);
  if (res.status !== 200 && res.status !== 206) throw new Error(`GET ${url} answered HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

// ---------------------------------------------------------------------------------------------
// Files

/**
 * Deterministic pseudo-random bytes (xorshift128+ seeded by splitmix64), `size` of them, written in
 * 1 MiB chunks so that multi-GB files need no memory. The same (size, seed) always gives the same file.
 */
export async function writeRandomFile(dir, name, size, seed = 1) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const fh = await open(path, 'w');
  try {
    const mask = (1n << 64n) - 1n;
    let z = BigInt(seed) & mask;
    const splitmix = () => {
      z = (z + 0x9e3779b97f4a7c15n) & mask;
      let x = z;
      x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
      x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & mask;
      return x ^ (x >> 31n);
    };
    // xorshift32 on four independent 32-bit lanes: fast in plain JS numbers.
    const s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) s[i] = Number(splitmix() & 0xffffffffn) || 0x9e3779b9;
    const CHUNK = 1 << 20;
    const buf = Buffer.allocUnsafe(CHUNK);
    const words = new Uint32Array(buf.buffer, buf.byteOffset, CHUNK / 4);
    let left = size;
    while (left > 0) {
      for (let i = 0; i < words.length; i++) {
        const lane = i & 3;
        let x = s[lane];
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        s[lane] = x;
        words[i] = x;
      }
      const n = Math.min(left, CHUNK);
      await fh.write(buf, 0, n);
      left -= n;
    }
  } finally {
    await fh.close();
  }
  return path;
}

/** Lowercase hex SHA-1 of a file, streamed. */
export async function sha1File(path) {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Browser

let chromiumModule = null;
async function chromium() {
  if (!chromiumModule) chromiumModule = (await import('playwright-core')).chromium;
  return chromiumModule;
}

/** Headless Debian Chromium through playwright-core. Close it in an `after` hook. */
export async function launchBrowser(options = {}) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run \`bash scripts/setup.sh\` (apt-get install chromium)`);
  }
  const c = await chromium();
  return c.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    headless: true,
    ...(options.launch ?? {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Misc

/** Poll `fn` until it returns a truthy value; throw after `timeout` ms. */
export async function waitFor(fn, { timeout = 10000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) { lastErr = err; }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}${lastErr ? `: ${lastErr.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** SHA-1 of a Buffer/Uint8Array, lowercase hex. */
export function sha1Hex(bytes) {
  return createHash('sha1').update(bytes).digest('hex');
}
