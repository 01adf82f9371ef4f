#!/usr/bin/env bash
# Peers for `bench/run.py compare`, installed by hand (never by CI). Idempotent: installs only
# what is missing, so a second run does nothing.
#
#   bench/peers.sh            # or VENV=path/to/venv bench/peers.sh
#
# - apt: wrk (the load tool), docker-registry (Debian's CNCF distribution registry), nginx
#   (static files with sendfile). The packages' services are not started by the runner: it
#   starts its own instances on free 127.0.0.1 ports.
# - npm: verdaccio 6.8.0 into bench/.peers/npm/ (git-ignored), as REAL_CLIENTS.md describes.
# - pip: pypiserver into the project's venv (.ci/clients/pypi.sh), plus waitress, the WSGI server
#   pypiserver's `--server auto` picks first (without it pypiserver falls back to wsgiref).
# - pip, optional: devpi-server and devpi-client in their own venv bench/.peers/devpi/; a failure
#   there only prints a note (compare then skips devpi).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
peers="$here/.peers"
venv="${VENV:-$repo/.venv}"
py="$venv/bin/python"
[ -x "$py" ] || { echo "peers.sh: no Python at $py (set VENV)" >&2; exit 1; }

# --- apt ---------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
fi

# --- npm: verdaccio -------------------------------------------------------------------------
want='{
  "private": true,
  "dependencies": { "verdaccio": "6.8.0" },
  "overrides": { "node-fetch": "2.7.0" }
}'
if command -v npm >/dev/null 2>&1; then
    mkdir -p "$peers/npm"
    if [ "$(cat "$peers/npm/package.json" 2>/dev/null)" != "$want" ] \
        || [ ! -x "$peers/npm/node_modules/.bin/verdaccio" ]; then
        printf '%s\n' "$want" > "$peers/npm/package.json"
        (cd "$peers/npm" && NPM_CONFIG_USERCONFIG=/dev/null npm install --no-audit --no-fund \
            --loglevel=error >/dev/null) \
            || echo "peers.sh: verdaccio did not install; compare skips it" >&2
    fi
else
    echo "peers.sh: npm (Node.js) not found; compare skips verdaccio" >&2
fi

# --- pip: pypiserver (+ waitress) in the project's venv --------------------------------------
VENV="$venv" "$repo/.ci/clients/pypi.sh"
"$py" -c 'import waitress' 2>/dev/null \
    || "$py" -m pip install --disable-pip-version-check -q "waitress>=3"

# --- pip, optional: devpi in its own venv ---------------------------------------------------
if [ ! -x "$peers/devpi/bin/devpi-server" ] || [ ! -x "$peers/devpi/bin/devpi" ]; then
    { "$py" -m venv "$peers/devpi" \
        && "$peers/devpi/bin/pip" install --disable-pip-version-check -q devpi-server devpi-client; } \
        || echo "peers.sh: devpi did not install; compare skips it" >&2
fi

echo "peers.sh: wrk $(command -v wrk >/dev/null && echo ok), " \
    "docker-registry $(command -v docker-registry >/dev/null && echo ok), " \
    "nginx $({ command -v nginx || ls /usr/sbin/nginx; } >/dev/null 2>&1 && echo ok), " \
    "verdaccio $([ -x "$peers/npm/node_modules/.bin/verdaccio" ] && echo ok || echo missing), " \
    "pypiserver $([ -x "$venv/bin/pypi-server" ] && echo ok), " \
    "devpi $([ -x "$peers/devpi/bin/devpi-server" ] && echo ok || echo missing)"
