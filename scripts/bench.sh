#!/usr/bin/env bash
# npm run bench: install what is missing, build the release package (dist/) and the release vod-server,
# then run the benchmark in headless Chromium (bench/run.mjs; its arguments pass through, e.g.
# `npm run bench -- --sizes 64M` or `npm run bench -- --quick`). Results go to bench-results/ (git-ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh

echo "bench: building the package (scripts/build.mjs)"
node scripts/build.mjs

echo "bench: cargo build --release -p vod-server"
cargo build --release -p vod-server

exec node bench/run.mjs "$@"
