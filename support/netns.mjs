// Runs a script in a network namespace of its own, where loopback looks more like a phone's link
// than like loopback: an MTU of 1500 (loopback's 64 KiB segments let a socket's first window hold
// most of a part) and small socket buffers (net.ipv4.tcp_wmem / tcp_rmem, which are per namespace),
// plus a veth link so that the browsers see themselves online.
// Without this, the kernel lets a browser queue megabytes on a socket that the shaping proxy
// (support/shaper.mjs) reads slowly, and the browser's upload progress runs a whole part ahead of
// the link. The machine's own settings are not touched.
//
//   await isolated()  -> re-runs this process's script in the namespace and exits with its status;
//                        returns (true) inside the namespace, or (false, with a warning) where one
//                        cannot be made (no `unshare`/`ip`, or user namespaces not allowed)

import { spawnSync } from 'node:child_process';

const MARK = 'VOD_NETNS';
const SETUP = [
  'ip link set lo up mtu 1500',
  // A link other than loopback, up, with an address and a default route: browsers think themselves
  // offline (navigator.onLine false) without one.
  'ip link add vod0 type veth peer name vod1',
  'ip addr add 10.213.0.1/24 dev vod0',
  'ip link set vod0 up',
  'ip link set vod1 up',
  'ip route add default dev vod0',
  // min, default, max bytes: 16 KiB socket buffers. The proxy delays bytes itself, so loopback needs
  // no room for a link's bandwidth-delay product; what the kernel holds runs ahead of the link.
  "echo '4096 16384 16384' > /proc/sys/net/ipv4/tcp_wmem",
  "echo '4096 16384 16384' > /proc/sys/net/ipv4/tcp_rmem",
].join(' && ');

/** Whether a namespace can be made here (tried once). */
function possible() {
  const flags = process.getuid?.() === 0 ? '-n' : '-rn';
  const probe = spawnSync('unshare', [flags, 'sh', '-c', SETUP], { stdio: 'ignore' });
  return probe.status === 0 ? flags : null;
}

/**
 * @param {{ quiet?: boolean }} [options]
 * @returns {Promise<boolean>} true inside the namespace
 */
export async function isolated({ quiet = false } = {}) {
  if (process.env[MARK] === '1') return true;
  if (process.env[MARK] === '0') return false;
  const flags = possible();
  if (!flags) {
    if (!quiet) console.warn('netns: cannot make a network namespace (unshare/ip missing or not allowed): on the machine\'s loopback, the kernel\'s buffers let uploads run ahead of the shaped link');
    process.env[MARK] = '0';
    return false;
  }
  const run = spawnSync('unshare', [flags, 'sh', '-c', `${SETUP} && exec "$@"`, 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [MARK]: '1' },
  });
  process.exit(run.status ?? 1);
}
