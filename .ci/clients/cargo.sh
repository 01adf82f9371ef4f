#!/usr/bin/env bash
# cargo for tests/e2e/test_cargo_*.py and bench/cargo.py. It comes preinstalled (rustup), so
# this only checks that it is there; every test gives cargo its own CARGO_HOME on 127.0.0.1.
set -euo pipefail
cargo="$(command -v cargo || echo "$HOME/.cargo/bin/cargo")"
[ -x "$cargo" ] || { echo "cargo.sh: cargo is not installed (install it with rustup)" >&2; exit 1; }
"$cargo" --version
