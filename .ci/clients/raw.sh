#!/usr/bin/env bash
# Real clients for tests/e2e/test_raw_*.py: curl and wget (apt). Idempotent: installs only
# what is missing.
set -euo pipefail

missing=()
for tool in curl wget; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
curl --version | head -n 1
wget --version | head -n 1
