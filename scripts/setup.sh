#!/usr/bin/env bash
# One idempotent setup for `npm start`, `npm test`, `npm run build` (and the benchmark):
# installs what is missing, prints one line per step, and is quick when everything is there.
#
#   1. the wasm32-unknown-unknown Rust target           (rustup target add)
#   2. wasm-bindgen-cli at the version Cargo.toml pins  (cargo install; also gives wasm-bindgen-test-runner)
#   3. Debian chromium                                   (apt-get, when root; otherwise says what to install)
#   4. Debian firefox-esr, webkit2gtk-driver and xvfb   (apt-get, when root; otherwise says what to install:
#      the cross-engine tests in tests/engines/ then report Firefox and WebKit as skipped)
#   5. the npm dev dependencies                         (npm ci, when node_modules is missing or stale;
#      PUPPETEER_SKIP_DOWNLOAD=1: puppeteer-core drives the Debian firefox-esr and downloads no browser)
#
# Environment: SETUP_SKIP_BROWSER=1 skips steps 3 and 4 (for a build-only machine).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = "0" ]; }

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found. $2"
}

need_cmd cargo "Install Rust with rustup (https://rustup.rs), then re-run."
need_cmd rustup "Install Rust with rustup (https://rustup.rs): the wasm32 target is added with rustup."
need_cmd node "Install Node.js 20 or newer, then re-run."
need_cmd npm "Install npm (comes with Node.js), then re-run."

# --- 1. wasm32 target -------------------------------------------------------------------------
if rustup target list --installed | grep -qx 'wasm32-unknown-unknown'; then
  say "rust target wasm32-unknown-unknown: present"
else
  say "rust target wasm32-unknown-unknown: installing (rustup target add)"
  rustup target add wasm32-unknown-unknown
fi

# --- 2. wasm-bindgen-cli, exactly the version the crate links --------------------------------
# The CLI must match the wasm-bindgen crate version byte for byte; Cargo.toml pins it with "=X.Y.Z".
WB_VERSION="$(sed -n 's/^wasm-bindgen *= *"=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)"
WB_VERSION="${WB_VERSION:-0.2.130}"
have_wb=""
if command -v wasm-bindgen >/dev/null 2>&1; then
  have_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
fi
if [ "$have_wb" = "$WB_VERSION" ] && command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
  say "wasm-bindgen-cli $WB_VERSION: present"
else
  say "wasm-bindgen-cli $WB_VERSION: installing (cargo install, a few minutes; found '${have_wb:-none}')"
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
  got="$(wasm-bindgen --version | awk '{print $2}')"
  [ "$got" = "$WB_VERSION" ] || die "wasm-bindgen --version says $got after installing $WB_VERSION (is another wasm-bindgen earlier on PATH? $(command -v wasm-bindgen))"
fi

# --- 3. Chromium from Debian --------------------------------------------------------------------
if [ "${SETUP_SKIP_BROWSER:-}" = "1" ]; then
  say "chromium: skipped (SETUP_SKIP_BROWSER=1)"
elif [ -x /usr/bin/chromium ]; then
  say "chromium: present"
elif is_root && command -v apt-get >/dev/null 2>&1; then
  say "chromium: installing (apt-get install chromium)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [ -x /usr/bin/chromium ] || die "apt-get finished but /usr/bin/chromium is missing"
else
  missing=""
  [ -x /usr/bin/chromium ] || missing="$missing chromium"
  die "missing Debian package(s):$missing (needed at /usr/bin/chromium for the browser tests).
  Install them as root:
      sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y$missing
  then re-run. (Set SETUP_SKIP_BROWSER=1 to only build.)"
fi

# --- 4. Firefox ESR, WebKitGTK's WebDriver and Xvfb from Debian --------------------------------
# tests/engines/ runs in Chromium, Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK
# (WebKitWebDriver driving MiniBrowser, which needs an X display: Xvfb). webkit2gtk-driver pulls in
# libwebkit2gtk-4.1-0, which ships MiniBrowser under /usr/lib/<triplet>/webkit2gtk-4.1/.
have_minibrowser() { compgen -G '/usr/lib/*/webkit2gtk-4.1/MiniBrowser' >/dev/null; }
engines_missing() {
  local missing=""
  [ -x /usr/bin/firefox-esr ] || missing="$missing firefox-esr"
  { [ -x /usr/bin/WebKitWebDriver ] && have_minibrowser; } || missing="$missing webkit2gtk-driver"
  [ -x /usr/bin/Xvfb ] || missing="$missing xvfb"
  printf '%s' "$missing"
}
engines_needed="$(engines_missing)"
if [ "${SETUP_SKIP_BROWSER:-}" = "1" ]; then
  say "firefox-esr + webkit2gtk-driver + xvfb: skipped (SETUP_SKIP_BROWSER=1)"
elif [ -z "$engines_needed" ]; then
  say "firefox-esr + webkit2gtk-driver + xvfb: present"
elif is_root && command -v apt-get >/dev/null 2>&1; then
  say "firefox-esr + webkit2gtk-driver + xvfb: installing (apt-get install$engines_needed)"
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 $engines_needed >/dev/null
  still="$(engines_missing)"
  [ -z "$still" ] || die "apt-get finished but$still is still missing (/usr/bin/firefox-esr, /usr/bin/WebKitWebDriver, /usr/lib/*/webkit2gtk-4.1/MiniBrowser, /usr/bin/Xvfb)"
else
  say "firefox-esr + webkit2gtk-driver + xvfb: MISSING$engines_needed; the tests in tests/engines/ will report
  Firefox and/or WebKit as skipped. To test in every engine, install as root:
      sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y$engines_needed"
fi

# --- 5. npm dev dependencies -----------------------------------------------------------------
# node_modules/.package-lock.json is written by every npm install/ci: older than package-lock.json
# means the lock changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ package.json -nt node_modules/.package-lock.json ]; then
  say "npm dev dependencies: installing (npm ci)"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
else
  say "npm dev dependencies: present"
fi

say "ready"
