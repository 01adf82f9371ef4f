#!/usr/bin/env bash
# Real npm-side tools for tests/e2e/test_npm_*.py and bench/npm.py: verdaccio (the local
# upstream/peer), pnpm and yarn, installed into .ci/clients/.npm-tools/ (git-ignored), never
# globally. npm itself comes with Node. Idempotent: does nothing when the tools are present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/.npm-tools"

command -v npm >/dev/null 2>&1 || { echo "npm.sh: npm (Node.js) is required" >&2; exit 1; }

want='{
  "private": true,
  "dependencies": { "verdaccio": "6.8.0", "pnpm": "12.4.2", "yarn": "1.22.22" },
  "overrides": { "node-fetch": "2.7.0" }
}'
mkdir -p "$tools"
if [ "$(cat "$tools/package.json" 2>/dev/null)" != "$want" ] \
    || [ ! -x "$tools/node_modules/.bin/verdaccio" ] \
    || [ ! -x "$tools/node_modules/.bin/pnpm" ] \
    || [ ! -x "$tools/node_modules/.bin/yarn" ]; then
    printf '%s\n' "$want" > "$tools/package.json"
    (cd "$tools" && NPM_CONFIG_USERCONFIG=/dev/null npm install --no-audit --no-fund \
        --loglevel=error --omit-lockfile-registry-resolved=false >/dev/null)
fi
"$tools/node_modules/.bin/verdaccio" --version >/dev/null
"$tools/node_modules/.bin/pnpm" --version >/dev/null
"$tools/node_modules/.bin/yarn" --version >/dev/null
