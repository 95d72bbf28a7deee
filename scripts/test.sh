#!/usr/bin/env bash
# The test command of the README: installs what the browser tests need when it is missing
# (Debian's chromium, the frontend's locked npm packages), then runs every test of the workspace.
# On a fresh machine with only the Rust toolchain, Node, Python and apt, nothing else is needed:
# the Python package's venv is built by scripts/python-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing Debian's chromium (browser tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules ]; then
    echo "== installing the frontend's locked npm packages"
    npm ci --prefix frontend --no-audit --no-fund
fi

# The browser flows and the signal tests are slow: gated behind RUN_SLOW_TESTS, which this
# command (and so .ci/run) turns on.
export RUN_SLOW_TESTS="${RUN_SLOW_TESTS:-1}"
cargo test --workspace --locked "$@"

# The library from a crate outside the workspace: no Lua, no HTTP or TLS.
bash scripts/native-example.sh

# The Python package in a venv of its own, its tests (pytest, Ray on loopback) and its example.
bash scripts/python-tests.sh
