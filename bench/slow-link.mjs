// One upload on upload()'s defaults through the shaping proxy, against the link's own time, for the links
// the network matrix does not hold: node bench/slow-link.mjs <bytes per second> <round trip ms> <file bytes>.
// Prints one line of JSON (time, its ratio to the link's, the longest stand-still of progress).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { standStill } from './network.mjs';
import { isolated } from '../support/netns.mjs';
import { startShaper } from '../support/shaper.mjs';
import { launchBrowser, makeTempDir, startServer, writeRandomFile, REPO_ROOT as ROOT } from '../support/harness.mjs';
const [rate, rtt, size] = process.argv.slice(2).map(Number);
if (!(rate > 0 && rtt >= 0 && size > 0)) throw new Error('usage: node bench/slow-link.mjs <bytes per second> <round trip ms> <file bytes>');
process.env.VOD_SERVER_BIN ??= join(ROOT, 'target', 'release', 'vod-server');
console.log('namespace', await isolated());
const work = makeTempDir('vod-slow-');
const server = await startServer({ www: join(ROOT, 'bench'), mounts: { '/dist': join(ROOT, 'dist'), '/node_modules': join(ROOT, 'node_modules') }, dataDir: join(work, 'data') });
const browser = await launchBrowser();
const path = await writeRandomFile(work, 'slow.mp4', size, 7);
const sha = createHash('sha1').update(readFileSync(path)).digest('hex');
const shaper = await startShaper({ target: { port: server.port }, rate, rttMs: rtt });
const page = await (await browser.newContext()).newPage();
page.setDefaultTimeout(0);
await page.goto(`${server.origin}/network.html`);
await page.waitForFunction(() => window.benchLoaded === true);
await page.setInputFiles('#file', path);
const out = await page.evaluate((a) => window.bench.ours(a), { endpoint: `${shaper.url}/v2/index.php` });
const link = size / rate;
// The longest stand-still as the network bench counts it, and where it began ([ms into the uploading phase, bytes loaded]).
const still = standStill(out.trace, out.endMs);
console.log(JSON.stringify({ rate, rtt, size, ok: out.fileSha === sha, s: +(out.ms / 1000).toFixed(1), linkS: +link.toFixed(1), ofLinkTime: +((out.ms / 1000) / link).toFixed(3), up: shaper.stats.up, cuts: shaper.stats.cuts, longestStandStillS: +(still.longest / 1000).toFixed(1), standStillAt: still.at?.map(Math.round) ?? null, backwards: out.backwards }));
await shaper.close(); await browser.close(); await server.stop();
