#!/usr/bin/env bash
# Backing services for the scale-out tests: PostgreSQL 15 binaries (the tests run
# initdb on a free loopback port themselves) and the moto S3 server (a test extra).
set -euo pipefail
if ! { [ -x /usr/lib/postgresql/15/bin/initdb ] || command -v initdb >/dev/null 2>&1; }; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
if ! command -v psql >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends postgresql-client >/dev/null
fi
"${VENV:-.venv}/bin/python" -c "import moto, aioboto3, asyncpg" \
    || "${VENV:-.venv}/bin/python" -m pip install -q 'moto[server]>=5.0' 'aioboto3>=13' 'asyncpg>=0.29'
psql --version
