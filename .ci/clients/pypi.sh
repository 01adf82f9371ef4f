#!/usr/bin/env bash
# Real Python-packaging tools for tests/e2e/test_pypi_*.py and bench/pypi.py, installed into the
# project's venv ($VENV): pip (comes with the venv), twine, uv, build with setuptools and wheel
# (offline `python -m build --no-isolation`), and pypiserver (the local upstream/peer; run
# without auth: passlib is left out because it breaks on import with the bcrypt 5 NORA uses).
# Idempotent: does nothing when every tool is present.
set -euo pipefail
venv="${VENV:-.venv}"
py="$venv/bin/python"
[ -x "$py" ] || { echo "pypi.sh: no Python at $py (set VENV)" >&2; exit 1; }

present() {
    "$py" - <<'PY' 2>/dev/null
import importlib.metadata as md
import sys

wanted = ("twine", "uv", "build", "pypiserver", "wheel", "setuptools")
sys.exit(0 if all(md.version(name) for name in wanted) else 1)
PY
}

if ! present || [ ! -x "$venv/bin/twine" ] || [ ! -x "$venv/bin/uv" ] \
    || [ ! -x "$venv/bin/pypi-server" ]; then
    "$py" -m pip install --disable-pip-version-check -q \
        "twine>=5" "uv>=0.4" "build>=1.2" "pypiserver>=2.1" \
        "wheel>=0.43" "setuptools>=68"
fi
"$venv/bin/twine" --version >/dev/null
"$venv/bin/uv" --version >/dev/null
"$venv/bin/pypi-server" --help >/dev/null
