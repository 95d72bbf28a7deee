#!/usr/bin/env bash
# The Python package: built into a venv of its own (target/python-venv) from the package
# registries only, then its pytest suite and the notebook-style example. Ray stays on this
# machine: usage statistics off, every node on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet pytest pyarrow polars pandas "ray==2.60.0"
# The extension shares the workspace's target directory (cargo picks it from the workspace).
"$venv/bin/pip" install --quiet --force-reinstall --no-deps ./crates/cryptobt-py
export RAY_USAGE_STATS_ENABLED=0
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
export PYTEST_CRYPTOBT_BIN="$PWD/target/debug/cryptobt"
cargo build --quiet --locked -p cryptobt-app
(cd crates/cryptobt-py && "../../$venv/bin/python" -m pytest -q tests)
"$venv/bin/python" examples/python/notebook.py > /dev/null
echo "python-example: 1 passed, 0 failed"
