#!/usr/bin/env python3
"""The same 200-member SMA-crossover grid over January 2025's 1m BTCUSDT bars (44,640 bars) in
cryptobt, backtesting.py (`Backtest.optimize`) and vectorbt (parameter broadcasting), timed side
by side. Throughput is bars per second summed over members (members × bars / wall seconds).

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install backtesting vectorbt
    cargo build --release
    /tmp/peers/bin/python benches/peers/sweep_peers.py [--skip-peers]

The strategies are alike, not identical (each tool sizes and fills its own way); the point is
the cost of a sweep, not equal PnL. A tool that is not installed is reported as skipped.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers_common import ROOT, Backtest, SmaCross  # noqa: E402
FAST = list(range(5, 101, 5))  # 20 values
SLOW = list(range(50, 501, 50))  # 10 values
MEMBERS = len(FAST) * len(SLOW)


def cryptobt(threads, grid_fast, grid_slow):
    """Runs `cryptobt sweep`; returns (seconds, bars/s summed over members) from its report."""
    binary = os.path.join(ROOT, "target", "release", "cryptobt")
    out = f"/tmp/cryptobt-peers-{threads}-{len(grid_fast)}x{len(grid_slow)}"
    args = [binary, "sweep", "--strategy", "static/strategies/sma_crossover.lua",
            "--symbol", "BTCUSDT", "--timeframe", "1m", "--start", "2025-01-01", "--end", "2025-01-31",
            "--grid", "fast=" + ",".join(map(str, grid_fast)),
            "--grid", "slow=" + ",".join(map(str, grid_slow)),
            "--threads", str(threads), "--out", out]
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    m = re.search(r"([0-9]+) bars/s summed over members", done.stderr)
    return seconds, float(m.group(1)) if m else float("nan")


def load_bars():
    import pandas as pd

    files = sorted(glob.glob(os.path.join(ROOT, "data/binance/spot/BTCUSDT/1m/BTCUSDT_1m_2025-01-*.csv")))
    df = pd.concat(pd.read_csv(f) for f in files)
    df.index = pd.to_datetime(df["timestamp"], unit="ms")
    return df.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]




def backtesting_py(df):
    if Backtest is None:
        raise ImportError("backtesting is not installed")
    bt = Backtest(df, SmaCross, cash=10_000_000, commission=0.001, trade_on_close=True)
    started = time.perf_counter()
    bt.optimize(fast=FAST, slow=SLOW, maximize="Sharpe Ratio", return_heatmap=True)
    return time.perf_counter() - started


def vectorbt(df):
    import vectorbt as vbt

    close = df["Close"]

    def once():
        # Every (fast, slow) pair as one column each: 200 fast and 200 slow averages.
        fast = vbt.MA.run(close, window=[f for f in FAST for _ in SLOW], short_name="fast")
        slow = vbt.MA.run(close, window=[s for _ in FAST for s in SLOW], short_name="slow")
        entries = fast.ma_crossed_above(slow)
        exits = fast.ma_crossed_below(slow)
        pf = vbt.Portfolio.from_signals(close, entries, exits, fees=0.001, init_cash=10_000, size=0.5,
                                        size_type="percent")
        return pf.sharpe_ratio()

    started = time.perf_counter()
    first = once()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    once()
    warm = time.perf_counter() - started
    return cold, warm, len(first)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-peers", action="store_true")
    args = parser.parse_args()
    bars = 31 * 1440
    rows = []
    one, one_rate = cryptobt(1, [10], [30])
    rows.append(("cryptobt, one run (1 member, 1 thread)", one, one_rate))
    for threads in (1, 2):
        seconds, rate = cryptobt(threads, FAST, SLOW)
        rows.append((f"cryptobt sweep, {MEMBERS} members, {threads} thread(s)", seconds, rate))
    if not args.skip_peers:
        try:
            df = load_bars()
            bars = len(df)
        except ImportError as e:
            print(f"pandas missing ({e}); peers skipped", file=sys.stderr)
            df = None
        if df is not None:
            try:
                seconds = backtesting_py(df)
                rows.append((f"backtesting.py optimize, {MEMBERS} members", seconds, MEMBERS * bars / seconds))
            except ImportError as e:
                rows.append((f"backtesting.py: skipped ({e})", float("nan"), float("nan")))
            try:
                cold, warm, n = vectorbt(df)
                rows.append((f"vectorbt, {n} members, first call (numba compiles)", cold, n * bars / cold))
                rows.append((f"vectorbt, {n} members, second call", warm, n * bars / warm))
            except ImportError as e:
                rows.append((f"vectorbt: skipped ({e})", float("nan"), float("nan")))
    print(f"{'':58} {'seconds':>9} {'bars/s':>14}")
    for name, seconds, rate in rows:
        print(f"{name:58} {seconds:9.2f} {rate:14,.0f}")
    single = rows[0][2]
    two = rows[2][2]
    print(f"sweep on 2 threads / one run: {two / single:.2f}x")


if __name__ == "__main__":
    main()
