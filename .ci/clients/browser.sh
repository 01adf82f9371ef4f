#!/usr/bin/env bash
# A real browser for tests/e2e/test_ui_browser.py and `make screenshots`: Debian's Chromium (apt),
# the Python `playwright` package (pip, into "$VENV"; its browser download is never used, the
# tests launch /usr/bin/chromium) and axe-core (npm) for the accessibility check, installed into
# .ci/tools/ (git-ignored), never globally. Idempotent: installs only what is missing.
set -euo pipefail
VENV="${VENV:-.venv}"
py="$VENV/bin/python"
[ -x "$py" ] || { echo "browser.sh: no Python at $py (set VENV)" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/../tools"

if [ ! -x /usr/bin/chromium ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    for attempt in 1 2 3 4 5 6; do  # another installer may hold the dpkg lock for a while
        if $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install \
            -y -qq --no-install-recommends chromium >/dev/null; then
            break
        fi
        [ "$attempt" -lt 6 ] || { echo "browser.sh: apt-get install chromium failed" >&2; exit 1; }
        sleep 10
    done
fi

if ! "$py" -c 'import playwright.sync_api' >/dev/null 2>&1; then
    "$py" -m pip install -q --disable-pip-version-check "playwright>=1.45"
fi

if [ ! -f "$tools/node_modules/axe-core/axe.min.js" ]; then
    command -v npm >/dev/null 2>&1 || { echo "browser.sh: npm (Node.js) is required" >&2; exit 1; }
    mkdir -p "$tools"
    [ -f "$tools/package.json" ] || printf '{\n  "private": true\n}\n' > "$tools/package.json"
    (cd "$tools" && NPM_CONFIG_USERCONFIG=/dev/null npm install --no-audit --no-fund \
        --loglevel=error "axe-core@4" >/dev/null)
fi

/usr/bin/chromium --version
"$py" -c 'import importlib.metadata as md; print("playwright", md.version("playwright"))'
test -f "$tools/node_modules/axe-core/axe.min.js"
