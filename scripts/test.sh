#!/usr/bin/env bash
# npm test: install what is missing, then run every test:
#   1. cargo test --workspace       native: the protocol core and vod-server
#   2. build the package            scripts/build.mjs -> dist/
#   3. cargo build -p vod-server    the binary the browser tests start (VOD_SERVER_BIN)
#   4. type-check the browser edge   npm run check (tsc --checkJs over js/, against dist/'s wasm types)
#   5. browser tests                node --test tests/e2e/ tests/package/ tests/engines/, each in Chromium,
#                                   Firefox ESR and WebKitGTK: the package's API, the demo, the package as apps consume it
# A failing stage does not stop the independent ones after it; the exit status is non-zero if any failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh

failed=()
passed=()

# stage NAME CMD...: run one stage, record the result.
stage() {
  local name="$1"; shift
  local t0=$SECONDS
  echo ""
  echo "=== test stage: $name"
  echo "=== \$ $*"
  if "$@"; then
    echo "=== test stage: $name: ok ($((SECONDS - t0)) s)"
    passed+=("$name")
    return 0
  else
    local rc=$?
    echo "=== test stage: $name: FAILED (exit $rc, $((SECONDS - t0)) s)"
    failed+=("$name")
    return 1
  fi
}

summary() {
  echo ""
  if [ ${#failed[@]} -eq 0 ]; then
    echo "npm test: OK: every stage succeeded (${passed[*]})"
  else
    echo "npm test: FAILED stages: ${failed[*]}${passed[*]:+ (succeeded: ${passed[*]})}"
  fi
}
trap summary EXIT

stage "cargo-test" cargo test --workspace || true

# The browser stages need the package and the server binary: stop here if either cannot be built.
stage "build" node scripts/build.mjs || exit 1
stage "vod-server" cargo build -p vod-server || exit 1
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
export VOD_SERVER_BIN="$target_dir/debug/vod-server"

stage "check-js" npm run --silent check || true

# tests/engines/ runs in Chromium, Firefox ESR and WebKitGTK (support/engines.mjs); an engine that is
# not installed is reported as skipped, with the reason.
node_dirs=()
for d in tests/e2e tests/package tests/engines; do
  if [ -d "$d" ] && compgen -G "$d/*.test.mjs" >/dev/null; then
    node_dirs+=("$d/")
  else
    echo "!!! $d has no *.test.mjs files: nothing to run there !!!"
  fi
done
if [ ${#node_dirs[@]} -gt 0 ]; then
  # One test file at a time: each starts its own vod-server and Chromium on a 2-core machine.
  stage "browser-e2e-and-package" node --test --test-concurrency=1 --test-timeout=900000 "${node_dirs[@]}" || true
fi

[ ${#failed[@]} -eq 0 ]
