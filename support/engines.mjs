// One small driver for the browser engines the cross-engine tests run in (tests/engines/):
//
//   chromium  Debian Chromium through playwright-core (as harness.mjs's launchBrowser)
//   firefox   Debian Firefox ESR through puppeteer-core, over WebDriver BiDi
//   webkit    WebKitGTK's MiniBrowser through WebKitWebDriver (W3C WebDriver over HTTP, with Node's
//             fetch), on an X display of its own (Xvfb)
//
//   launchEngine(name, { args }) -> { name, version, goto(url), setInputFiles(selector, paths),
//                           evaluate(fn, ...args), waitFor(fn, arg, { timeout, interval, message }),
//                           screenshot(path), setViewport(width, height), logs(), close() }
//     In Chromium it also has `page`, the Playwright page, for the Chromium-only tests that need what
//     only Playwright gives (reload, network emulation and routing, the file chooser, locators).
//     evaluate runs `fn` (an async function, sent as its source: it sees only its JSON arguments) in the
//     page and resolves with its JSON result; waitFor calls `fn(arg)` in the page until it returns a
//     truthy value, which it resolves with; logs() is what the page printed on its console (in WebKit,
//     which WebDriver does not tell, what the driver and the browser printed). `args` are extra
//     command-line flags for Chromium (e.g. --js-flags=--expose-gc); the other engines take none.
//   unavailable(name) -> why the engine cannot run on this machine (not installed), or null
//   forEngines(names, (engine, test) => ..., { skip, args }) -> one node:test suite per engine, the engine
//     launched before its tests and closed after them; a test that cannot run in an engine (not
//     installed, or named by its `skip: { engine: reason }`, or the whole file's `skip`) is skipped
//     with its reason in the output.
//
// Setup (scripts/setup.sh) installs the three from Debian. Paths can be overridden with CHROMIUM_PATH,
// FIREFOX_PATH, WEBKIT_DRIVER_PATH, MINIBROWSER_PATH and XVFB_PATH.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, test as nodeTest } from 'node:test';

import { CHROMIUM_PATH, RESULTS_DIR, launchBrowser } from './harness.mjs';

export const ENGINES = ['chromium', 'firefox', 'webkit'];

const FIREFOX_PATH = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';
const WEBKIT_DRIVER_PATH = process.env.WEBKIT_DRIVER_PATH || '/usr/bin/WebKitWebDriver';
const XVFB_PATH = process.env.XVFB_PATH || '/usr/bin/Xvfb';
const MINIBROWSER_PATH = process.env.MINIBROWSER_PATH
  || readdirSync('/usr/lib').map((triplet) => `/usr/lib/${triplet}/webkit2gtk-4.1/MiniBrowser`).find(existsSync);

const INSTALL = 'run `bash scripts/setup.sh` as root';

/** Why `name` cannot run here (a missing binary), or null. */
export function unavailable(name) {
  const missing = (path, what) => (path && existsSync(path) ? null : `${what} not found${path ? ` at ${path}` : ''}: ${INSTALL}`);
  switch (name) {
    case 'chromium':
      return missing(CHROMIUM_PATH, 'Chromium (Debian chromium)');
    case 'firefox':
      return missing(FIREFOX_PATH, 'Firefox ESR (Debian firefox-esr)');
    case 'webkit':
      return missing(WEBKIT_DRIVER_PATH, 'WebKitWebDriver (Debian webkit2gtk-driver)')
        ?? missing(MINIBROWSER_PATH, 'WebKitGTK MiniBrowser (Debian libwebkit2gtk-4.1-0)')
        ?? missing(XVFB_PATH, 'Xvfb (Debian xvfb)');
    default:
      throw new Error(`unknown engine ${name}: one of ${ENGINES.join(', ')}`);
  }
}

/**
 * Launches `name` with one page open, at 1280×800 until setViewport says otherwise. `args`: extra
 * Chromium flags; `prefs`: extra Firefox preferences.
 */
export async function launchEngine(name, { args = [], prefs = {} } = {}) {
  const why = unavailable(name);
  if (why) throw new Error(why);
  const launch = { chromium: launchChromium, firefox: launchFirefox, webkit: launchWebKit }[name];
  const engine = { name, ...(await launch(name === 'firefox' ? prefs : args)) };
  engine.waitFor = (fn, arg, options) => waitInPage(engine.evaluate, fn, arg, options);
  return engine;
}

/** `fn` (a function or its source) called with `args` in the page, as an expression. */
const call = (fn, args) => `(${fn})(...${JSON.stringify(args)})`;

/**
 * Calls `fn(arg)` in the page every `interval` ms until it returns a truthy value, and resolves with
 * that value; rejects after `timeout` ms, saying it waited for `message`.
 */
function waitInPage(evaluate, fn, arg = null, { timeout = 30000, interval = 50, message = fn.name || 'a condition' } = {}) {
  return evaluate(`async (arg, timeout, interval, message) => {
    const check = ${fn};
    for (const end = Date.now() + timeout; ; await new Promise((r) => setTimeout(r, interval))) {
      const value = await check(arg);
      if (value) return value;
      if (Date.now() > end) throw new Error('timed out after ' + timeout + ' ms waiting for ' + message);
    }
  }`, arg, timeout, interval, message);
}

async function launchChromium(args) {
  const browser = await launchBrowser({ args });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const lines = [];
  page.on('console', (message) => lines.push(`[console.${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => lines.push(`[pageerror] ${error.message}`));
  return {
    version: `Chromium ${browser.version()}`,
    page,
    goto: (url) => page.goto(url),
    setInputFiles: (selector, paths) => page.setInputFiles(selector, paths),
    evaluate: (fn, ...args) => page.evaluate(call(fn, args)),
    screenshot: (path) => page.screenshot({ path }),
    setViewport: (width, height) => page.setViewportSize({ width, height }),
    logs: () => lines.slice(),
    close: () => browser.close(),
  };
}

async function launchFirefox(prefs) {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, headless: true, extraPrefsFirefox: prefs });
  try {
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    await page.setViewport({ width: 1280, height: 800 });
    const lines = [];
    page.on('console', (message) => lines.push(`[console.${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => lines.push(`[pageerror] ${error.message}`));
    return {
      // "firefox/153.8.0"
      version: `Firefox ${(await browser.version()).replace(/^firefox\//i, '')}`,
      goto: (url) => page.goto(url),
      setInputFiles: async (selector, paths) => {
        const input = await page.$(selector);
        if (!input) throw new Error(`no element matches ${selector}`);
        await input.uploadFile(...paths);
      },
      evaluate: (fn, ...args) => page.evaluate(call(fn, args)),
      screenshot: (path) => page.screenshot({ path }),
      setViewport: (width, height) => page.setViewport({ width, height }),
      logs: () => lines.slice(),
      close: () => browser.close(),
    };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

// ---- WebKit: WebKitWebDriver + MiniBrowser on Xvfb ------------------------------------------

/** Processes started here, killed if the test process exits without closing them. */
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts `command`, its output kept in `lines`; returns the child process. */
function start(command, args, lines, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  child.on('exit', () => children.delete(child));
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (text) => lines.push(...text.split('\n').filter(Boolean)));
  }
  return child;
}

/** Sends SIGTERM (SIGKILL after 3 s) and waits until `child` is gone. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

/** An X server of its own (Xvfb picks a free display and writes its number to fd 3): `{ child, display }`. */
async function startXvfb(lines) {
  const child = start(XVFB_PATH, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], lines, {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const display = await new Promise((resolve, reject) => {
    let text = '';
    child.stdio[3].setEncoding('utf8');
    child.stdio[3].on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) resolve(`:${text.trim()}`);
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited (code ${code}) before it chose a display:\n${lines.join('\n')}`)));
    child.once('error', reject);
  });
  return { child, display };
}

/** A TCP port free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

async function launchWebKit() {
  const lines = [];
  const xvfb = await startXvfb(lines);
  let driver = null;
  try {
    const port = await freePort();
    driver = start(WEBKIT_DRIVER_PATH, [`--port=${port}`], lines, { env: { ...process.env, DISPLAY: xvfb.display } });
    const base = `http://127.0.0.1:${port}`;
    // One W3C WebDriver command: resolves with its `value`, throws its error.
    const command = async (method, path, body) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      const { value } = await response.json();
      if (!response.ok) throw new Error(`WebKitWebDriver ${method} ${path}: ${value?.error}: ${value?.message}`);
      return value;
    };
    const deadline = Date.now() + 20000;
    while (!(await command('GET', '/status').then((status) => status.ready, () => false))) {
      if (driver.exitCode !== null || Date.now() > deadline) {
        throw new Error(`WebKitWebDriver did not start on port ${port}:\n${lines.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { sessionId, capabilities } = await command('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          'webkitgtk:browserOptions': {
            binary: MINIBROWSER_PATH,
            // --full-screen: no toolbar, so the window is the viewport (and can be phone-narrow).
            args: ['--automation', '--full-screen'],
          },
        },
      },
    });
    const session = (method, path, body) => command(method, `/session/${sessionId}${path}`, body);
    // An upload in Execute Async Script may take a while on a loaded machine.
    await session('POST', '/timeouts', { script: 300000 });
    const setViewport = (width, height) => session('POST', '/window/rect', { width, height });
    await setViewport(1280, 800);
    return {
      version: `WebKitGTK ${capabilities.browserVersion}`,
      goto: (url) => session('POST', '/url', { url }),
      // Element Send Keys on an <input type=file> sets its files (one path per line).
      setInputFiles: async (selector, paths) => {
        const element = await session('POST', '/element', { using: 'css selector', value: selector });
        await session('POST', `/element/${element[ELEMENT]}/value`, { text: paths.join('\n') });
      },
      evaluate: async (fn, ...args) => {
        const outcome = await session('POST', '/execute/async', {
          script: `const done = arguments[arguments.length - 1];
            Promise.resolve().then(() => ${call(fn, args)}).then(
              // As JSON text: WebDriver would send a property whose value is undefined as null.
              (value) => done({ json: value === undefined ? 'null' : JSON.stringify(value) }),
              (error) => done({ error: error instanceof Error ? error.name + ': ' + error.message : String(error) }));`,
          args: [],
        });
        if ('error' in outcome) throw new Error(outcome.error);
        return JSON.parse(outcome.json);
      },
      screenshot: async (path) => writeFileSync(path, Buffer.from(await session('GET', '/screenshot'), 'base64')),
      setViewport,
      // Classic WebDriver has no console log: what the driver, MiniBrowser and Xvfb printed.
      logs: () => lines.slice(),
      close: async () => {
        await session('DELETE', '').catch(() => {});
        await stop(driver);
        await stop(xvfb.child);
      },
    };
  } catch (error) {
    if (driver) await stop(driver);
    await stop(xvfb.child);
    throw error;
  }
}

// ---- node:test ---------------------------------------------------------------------------------

const METHODS = ['goto', 'setInputFiles', 'evaluate', 'waitFor', 'screenshot', 'setViewport', 'logs'];

/**
 * One node:test suite per engine of `names`, in which `define(engine, test)` registers its hooks and
 * tests. `engine` has the launched engine's methods (from the suite's `before` hooks on), its `name`,
 * its `version` once launched, `page` in Chromium (launchEngine's), and `skipped`: why the engine cannot run here (not installed, or named
 * by `options.skip`, `{ webkit: 'why' }`), or null. `test(title, [options], fn)` is node:test's,
 * except that `options.skip` may also name engines; a test is skipped, with its reason in the
 * output, in an engine that is skipped or that its `skip` names. `options.args` are extra Chromium
 * flags, `options.prefs` extra Firefox preferences. When a test fails, a screenshot of the page and its console log are kept in test-results/.
 */
export function forEngines(names, define, options = {}) {
  for (const name of names) {
    const skipped = unavailable(name) ?? options.skip?.[name] ?? null;
    describe(name, () => {
      let live = null;
      const engine = { name, version: null, skipped };
      // Chromium's Playwright page (see launchEngine), while the engine runs.
      Object.defineProperty(engine, 'page', { get: () => live?.page, enumerable: true });
      for (const method of METHODS) {
        engine[method] = (...args) => {
          if (!live) throw new Error(`${name} is not running (${skipped ?? 'it failed to launch, or its tests are over'})`);
          return live[method](...args);
        };
      }
      const test = (title, options, fn) => {
        if (typeof options === 'function') [options, fn] = [{}, options];
        const { skip, ...rest } = options;
        const why = skipped ?? (typeof skip === 'object' ? skip?.[name] : skip);
        return nodeTest(title, { ...rest, skip: why || false }, fn);
      };
      before(async () => {
        if (skipped) return;
        live = await launchEngine(name, { args: options.args, prefs: options.prefs });
        engine.version = live.version;
        process.stderr.write(`# ${name}: ${live.version}\n`);
      });
      afterEach(async (t) => {
        if (t.passed !== false || !live) return;
        const base = resultPath(`${name}-${t.name}-failure`);
        await live.screenshot(`${base}.png`).catch(() => {});
        writeFileSync(`${base}.log`, `${live.logs().join('\n')}\n`);
        process.stderr.write(`# failure screenshot and console log: ${base}.png, .log\n`);
      });
      after(async () => {
        const closing = live;
        live = null;
        await closing?.close();
      });
      define(engine, test);
    });
  }
}

/** A path in test-results/ (created) named after `label`, without an extension. */
export function resultPath(label) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return join(RESULTS_DIR, label.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, ''));
}
