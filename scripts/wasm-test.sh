#!/usr/bin/env bash
# The wasm-bindgen browser tests (tests/web.rs) in headless Chromium against two real vod-server
# processes: a plain one and one that injects faults. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${VOD_SERVER_BIN:-target/debug/vod-server}
[ -x "$bin" ] || cargo build -q -p vod-server
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The test page's own origin, fixed so that the servers can grant it their dev endpoints
# (which answer only their own pages, and the origins given with --dev-origin).
page_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
export WASM_BINDGEN_TEST_ADDRESS="127.0.0.1:$page_port"

# start NAME ARGS...: runs a server on a free port and prints its URL once it accepts connections.
start() {
  local name=$1; shift
  "$bin" --listen 127.0.0.1:0 --data-dir "$work/$name" --secret-id AKIDwasmtest --secret-key wasm-test-secret-key \
    --dev-signing --dev-origin "http://$WASM_BINDGEN_TEST_ADDRESS" "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    if grep -q '^listening on ' "$work/$name.out"; then
      sed -n 's/^listening on //p' "$work/$name.out" | head -n1
      return
    fi
    sleep 0.1
  done
  echo "vod-server ($name) did not start:" >&2
  cat "$work/$name.log" >&2
  exit 1
}

export VOD_SERVER_URL=$(start plain)
export VOD_FAULTY_URL=$(start faulty --fault-rate 0.25 --fault-seed 7 --fault-kinds retry-code,http500,http503,drop)
echo "wasm tests against $VOD_SERVER_URL and (faults) $VOD_FAULTY_URL"

export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
cargo test -p vod-ugc-uploader --target wasm32-unknown-unknown --test web
