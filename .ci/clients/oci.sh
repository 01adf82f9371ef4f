#!/usr/bin/env bash
# Real OCI clients for tests/e2e/test_oci_*.py: skopeo, podman, umoci (apt), oras-py and the
# Helm Go SDK (pip, into "$VENV"). Idempotent: installs only what is missing.
set -euo pipefail
VENV="${VENV:-.venv}"

missing=()
for tool in skopeo podman umoci; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py="$VENV/bin/python"
if ! "$py" -c 'import oras.client, helm_python' >/dev/null 2>&1; then
    "$py" -m pip install -q --disable-pip-version-check oras helm-python-sdk
fi
