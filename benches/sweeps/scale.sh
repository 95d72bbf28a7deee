#!/usr/bin/env bash
# Sweeps at scale over January 2025's 1m BTCUSDT bars (44,640 bars), release build:
#  1. 1,000 members (fast 1..40 × slow 50..98 step 2) with one member that raises and one that
#     hits its time limit (--max-duration 5): completes, the two are rows with their codes;
#     peak memory from /usr/bin/time.
#  2. the same sweep cancelled with Ctrl-C (SIGINT) after 10 s: exit code 1, the files hold the
#     members finished before it.
#  3. 10,000 members (fast 1..100 × slow 101..200): peak memory (target ≤ 200 MB).
# Usage: bash benches/sweeps/scale.sh [--skip-10k]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p cryptobt-app
bin=target/release/cryptobt
out=${TMPDIR:-/tmp}/cryptobt-scale
rm -rf "$out"
run=(sweep --strategy benches/sweeps/faulty_sma.lua --symbol BTCUSDT --timeframe 1m
     --start 2025-01-01 --end 2025-01-31)

peak() { awk '/Maximum resident set size/ {printf "%.1f MB", $6 / 1024}' "$1"; }

echo "== 1,000 members, one runtime error, one time limit"
/usr/bin/time -v "$bin" "${run[@]}" --grid fast=1:40:1 --grid slow=50:98:2 --max-duration 5 \
    --out "$out/thousand" > "$out.thousand.txt" 2> "$out.thousand.err" || true
grep 'bars/s' "$out.thousand.err"
python3 - "$out/thousand/sweep.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"members {s['members']}, completed {s['completed']}, best #{s['best']['index']} {s['best']['params']}, PBO {s['pbo']}, DSR {s['dsr']}")
PY
echo "peak memory: $(peak "$out.thousand.err")"

echo "== the same sweep, Ctrl-C after 10 s"
"$bin" "${run[@]}" --grid fast=1:40:1 --grid slow=50:98:2 --max-duration 5 \
    --out "$out/cancelled" > /dev/null 2> "$out.cancel.err" &
pid=$!
sleep 10
kill -INT "$pid"
code=0
wait "$pid" || code=$?
echo "exit code $code (1 = cancelled); $(grep -o 'cancelled.*' "$out.cancel.err" | head -1)"
python3 -c "import json,sys; s=json.load(open('$out/cancelled/sweep.json')); print(f\"members written {s['members']}, completed {s['completed']}\")"

if [ "${1:-}" != "--skip-10k" ]; then
    echo "== 10,000 members"
    /usr/bin/time -v "$bin" "${run[@]}" --grid fast=1:100:1 --grid slow=101:200:1 \
        --out "$out/tenthousand" > /dev/null 2> "$out.ten.err"
    grep 'bars/s' "$out.ten.err"
    echo "peak memory: $(peak "$out.ten.err")"
fi
