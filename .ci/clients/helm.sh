#!/usr/bin/env bash
# The real Helm Go SDK (helm-python-sdk, pip, into "$VENV") for tests/e2e/test_helm_classic*.py:
# the same package .ci/clients/oci.sh installs for the OCI Helm tests. No helm binary exists in
# Debian, PyPI or npm; the SDK bundles Helm as a C library. Idempotent.
set -euo pipefail
VENV="${VENV:-.venv}"
py="$VENV/bin/python"
if ! "$py" -c 'import helm_python' >/dev/null 2>&1; then
    "$py" -m pip install -q --disable-pip-version-check helm-python-sdk
fi
"$py" -c 'import helm_python; print("helm SDK", helm_python.helm_sdk_version())'
