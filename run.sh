#!/usr/bin/env bash
# Bulwark's entry point on a fresh machine.
#   ./run.sh start [bulwark start flags]   install Node 24 + dependencies, build, start gateway + demo API
#   ./run.sh test                          install, build, start Redis/PostgreSQL if needed, run the test suite
#   ./run.sh bench | simulate | eval ...   the same setup, then the npm script of that name
set -euo pipefail
cd "$(dirname "$0")"
. scripts/toolchain.sh
cmd="${1:-start}"; shift || true

install() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # `npm install` rather than `npm ci`: the lock file cannot list optional platform binaries (rollup,
    # esbuild) that the registry here does not serve, which `npm ci` rejects as "not in sync".
    npm install --no-audit --no-fund --loglevel=error
  fi
  npm run --silent build
}

case "$cmd" in
  start)
    install
    # BULWARK_NODE_FLAGS: extra Node/V8 flags. Without a --max-old-space-size there, `bulwark start`
    # re-executes itself (same PID) with a heap bound derived from state.maxKeys (README, Performance)
    # shellcheck disable=SC2086
    exec node ${BULWARK_NODE_FLAGS:-} dist/src/cli.js start "$@"
    ;;
  test)
    install
    bash scripts/services.sh
    bash scripts/browser.sh   # Debian Chromium for the dashboard e2e tests (test/e2e/)
    exec npm test
    ;;
  bench|simulate|eval)
    install
    exec npm run --silent "$cmd" -- "$@"
    ;;
  *)
    echo "usage: ./run.sh start|test|bench|simulate|eval [args]" >&2
    exit 2
    ;;
esac
