#!/usr/bin/env bash
# npm start: install what is missing, build the package and the server, and serve the demo page.
#
#   PORT (default 8080), HOST (default 127.0.0.1)
#
# The server keeps its files in ./data (git-ignored). The dev secret key is made once, at random,
# and kept in data/dev-secret; --dev-signing lets the demo page get signatures the way an app
# backend would issue them. Ctrl-C stops the server.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

PORT="${PORT:-8080}"
HOST="${HOST:-127.0.0.1}"

bash scripts/setup.sh

echo "start: building the package (scripts/build.mjs)"
node scripts/build.mjs

echo "start: cargo build --release -p vod-server"
cargo build --release -p vod-server

mkdir -p data
if [ ! -s data/dev-secret ]; then
  echo "start: generating a dev secret key in data/dev-secret"
  (umask 077 && node -e "process.stdout.write(require('node:crypto').randomBytes(24).toString('hex'))" > data/dev-secret)
fi
SECRET_ID="AKIDvodUgcUploaderDev"
SECRET_KEY="$(cat data/dev-secret)"

echo "start: demo at http://${HOST}:${PORT}/  (Ctrl-C stops the server)"
# The key goes through the environment (vod-server reads VOD_SECRET_KEY), not the command line,
# so that it does not show in `ps`.
VOD_SECRET_KEY="$SECRET_KEY" exec "${CARGO_TARGET_DIR:-target}/release/vod-server" \
  --listen "${HOST}:${PORT}" \
  --data-dir ./data \
  --secret-id "$SECRET_ID" \
  --www www \
  --mount /dist=dist \
  --dev-signing
