#!/usr/bin/env bash
# Services for the access-control tests: a Redis server binary for the shared
# rate-limit storage (the tests start it on a free loopback port themselves).
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
