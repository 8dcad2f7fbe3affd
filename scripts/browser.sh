#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's end-to-end tests (test/e2e/) when it is missing.
# Needs root (or sudo) and the Debian package mirror; does nothing when /usr/bin/chromium exists.
# Without it the e2e tests skip locally and fail in CI (CI=1).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "browser.sh: /usr/bin/chromium missing and not root: install the 'chromium' package to run the e2e tests" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y chromium
fi
[ -x /usr/bin/chromium ] || { echo "browser.sh: chromium install failed" >&2; exit 1; }
