#!/usr/bin/env bash
# The library as a Rust developer uses it: examples/native-rust is a crate outside the workspace
# (a native strategy with cryptobt-indicators and a stop-loss, bars through cryptobt-data, saved and
# read back by cryptobt-store). It must build and run without Lua and without any HTTP or TLS
# crate. Shares the workspace's target directory (and its Cargo.lock) so nothing is built twice.
set -euo pipefail
cd "$(dirname "$0")/.."
example=examples/native-rust
cp Cargo.lock "$example/Cargo.lock"
forbidden=$(cargo tree --manifest-path "$example/Cargo.toml" -e normal --prefix none \
    | grep -E '^(mlua|mlua-sys|luau0-src|ureq|rustls|ring|native-tls|openssl|hyper|actix-web) ' || true)
if [ -n "$forbidden" ]; then
    echo "native example: the library drags in crates it must not: $forbidden" >&2
    exit 1
fi
out=$(mktemp -d)
cargo run --quiet --manifest-path "$example/Cargo.toml" --target-dir target -- data "$out"
rm -rf "$out"
echo "native-example: 1 passed, 0 failed"
