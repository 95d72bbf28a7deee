# Developer recipes; each is one line. `just --list` shows them.

# Format every crate.
fmt:
    cargo fmt --all

# Lint as CI does: warnings are errors.
lint:
    cargo fmt --all --check && cargo clippy --workspace --all-targets --locked -- -D warnings

# Run every test (the README's test command).
test:
    bash scripts/test.sh

# Review changed insta snapshots.
snap:
    cargo insta review

# Measure the criterion benches.
bench:
    cargo bench --workspace

# Start the server on the shipped data.
serve:
    cargo run --release -- serve

# Check the shipped market data.
data:
    cargo run --release -- data verify --data-dir data

# Everything CI runs.
ci:
    bash .ci/run
