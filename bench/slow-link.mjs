// One upload on upload()'s defaults through the shaping proxy, against the link's own time, for the links
// the network matrix does not hold: node bench/slow-link.mjs <bytes per second> <round trip ms> <file bytes>
// [chromium|firefox|webkit]. Prints one line of JSON (time, its ratio to the link's, the longest stand-still
// of progress).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { standStill } from './network.mjs';
import { isolated } from '../support/netns.mjs';
import { startShaper } from '../support/shaper.mjs';
import { launchEngine } from '../support/engines.mjs';
import { makeTempDir, startServer, writeRandomFile, REPO_ROOT as ROOT } from '../support/harness.mjs';
const [rate, rtt, size] = process.argv.slice(2, 5).map(Number);
const engineName = process.argv[5] ?? 'chromium';
if (!(rate > 0 && rtt >= 0 && size > 0)) throw new Error('usage: node bench/slow-link.mjs <bytes per second> <round trip ms> <file bytes> [chromium|firefox|webkit]');
process.env.VOD_SERVER_BIN ??= join(ROOT, 'target', 'release', 'vod-server');
console.log('namespace', await isolated());
const work = makeTempDir('vod-slow-');
const server = await startServer({ www: join(ROOT, 'bench'), mounts: { '/dist': join(ROOT, 'dist'), '/node_modules': join(ROOT, 'node_modules') }, dataDir: join(work, 'data') });
const path = await writeRandomFile(work, 'slow.mp4', size, 7);
const sha = createHash('sha1').update(readFileSync(path)).digest('hex');
const shaper = await startShaper({ target: { port: server.port }, rate, rttMs: rtt });
const engine = await launchEngine(engineName);
try {
  await engine.goto(`${server.origin}/network.html`);
  await engine.waitFor(() => window.benchLoaded === true);
  await engine.setInputFiles('#file', [path]);
  // The upload runs on in the page while this asks for its outcome now and then: a single call that
  // waited for it would outlast the drivers' own timeouts (three to five minutes) on the slowest links.
  await engine.evaluate(async (a) => {
    window.bench.ours(a).then((out) => (window.slowOut = out), (error) => (window.slowOut = { error: String(error?.message ?? error) }));
  }, { endpoint: `${shaper.url}/v2/index.php` });
  let out = null;
  while (!(out = await engine.evaluate(async () => window.slowOut ?? null))) await new Promise((r) => setTimeout(r, 1000));
  if (out.error) throw new Error(out.error);
  const link = size / rate;
  // The longest stand-still as the network bench counts it, and where it began ([ms into the uploading phase, bytes loaded]).
  const still = standStill(out.trace, out.endMs);
  console.log(JSON.stringify({ engine: engine.version, rate, rtt, size, ok: out.fileSha === sha, s: +(out.ms / 1000).toFixed(1), linkS: +link.toFixed(1), ofLinkTime: +((out.ms / 1000) / link).toFixed(3), up: shaper.stats.up, cuts: shaper.stats.cuts, longestStandStillS: +(still.longest / 1000).toFixed(1), standStillAt: still.at?.map(Math.round) ?? null, backwards: out.backwards }));
} finally {
  await engine.close();
  await shaper.close();
  await server.stop();
}
