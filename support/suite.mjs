// The setup the browser test files share (tests/e2e/, tests/engines/, tests/package/): inside a
// forEngines suite (engines.mjs), the hooks that give its tests a vod-server, a temp folder and,
// if asked, a proxy in front of the server.
//
//   serverFor(engine, start, { tempDir, server, proxy }) -> { dir, server, proxy, startServer(options) }

import { after, before } from 'node:test';

import { makeTempDir } from './harness.mjs';

/**
 * Registers two hooks in the calling suite. `before`, unless `engine` is skipped: makes a temp folder
 * (with `tempDir`, its name's prefix; removed when the process exits), starts a server with
 * `start(server)` (unless `server` is false; default `{}`), and with `proxy`, starts
 * `proxy(server.origin)` in front of it. `after`: closes the proxy and stops every server started.
 *
 * Returns the object those hooks fill in: `dir`, `server` and `proxy` (null until `before` has run,
 * and in a skipped engine), and `startServer(options)`, which starts one more server with
 * `start(options)` (a test's own), stopped in `after` as well.
 */
export function serverFor(engine, start, { tempDir, server: options = {}, proxy: startProxy } = {}) {
  const servers = [];
  const setup = {
    dir: null,
    server: null,
    proxy: null,
    async startServer(more) {
      const server = await start(more);
      servers.push(server);
      return server;
    },
  };
  before(async () => {
    if (engine.skipped) return;
    if (tempDir) setup.dir = makeTempDir(tempDir);
    if (options === false) return;
    setup.server = await setup.startServer(options);
    if (startProxy) setup.proxy = await startProxy(setup.server.origin);
  });
  after(async () => {
    await setup.proxy?.close();
    for (const server of servers) await server.stop();
  });
  return setup;
}
