#!/usr/bin/env python3
"""One SMA 10/30 crossover, fee 0, over the same 1,051,200 generated 1m bars (the data of
`cryptobt bench`), end to end with the CSV load included, in cryptobt (Lua, the CLI), vectorbt
(vectorised, numba) and backtesting.py, in one go; prints bars/s, round trips and the ratios.
The peers load the bars twice over: from the 730 daily CSVs cryptobt reads, and from one CSV of
all of them (their best case: pandas reads one file much faster than 730).

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install backtesting vectorbt
    cargo build --release && target/release/cryptobt bench     # writes the bars once
    /tmp/peers/bin/python benches/peers/speed_peers.py [--skip-backtesting-py]

Not part of the default test run. A peer that is not installed is reported as skipped.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers_common import ROOT, Backtest, SmaCross  # noqa: E402
DATA = os.path.join(ROOT, "target", "cryptobt-bench", "data")
DAYS = sorted(glob.glob(os.path.join(DATA, "binance/spot/BTCUSDT/1m/BTCUSDT_1m_*.csv")))


def cryptobt(strategy):
    """The CLI, end to end (process start, load, run, metrics, result files)."""
    binary = os.path.join(ROOT, "target", "release", "cryptobt")
    first, last = [os.path.basename(p)[11:21] for p in (DAYS[0], DAYS[-1])]
    out = "/tmp/cryptobt-speed-peers"
    args = [binary, "backtest", "--strategy", strategy, "--symbol", "BTCUSDT", "--timeframe", "1m",
            "--start", first, "--end", last, "--fee", "0", "--data-dir", DATA, "--out", out, "--json"]
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    result = json.loads(done.stdout)
    return seconds, result["round_trips"]


ONE_CSV = os.path.join(ROOT, "target", "cryptobt-bench", "BTCUSDT_1m_all.csv")


def one_csv():
    """The same bars in one CSV (written once, outside any timing): a peer's best case."""
    if not os.path.exists(ONE_CSV):
        with open(ONE_CSV + ".tmp", "w") as out:
            for i, day in enumerate(DAYS):
                with open(day) as f:
                    lines = f.readlines()
                out.writelines(lines if i == 0 else lines[1:])
        os.replace(ONE_CSV + ".tmp", ONE_CSV)
    return ONE_CSV


def load(files):
    """The bars as pandas reads them: `files` is "daily" (the 730 day files, as cryptobt reads
    them) or "one" (one CSV of all of them)."""
    import pandas as pd

    if files == "one":
        df = pd.read_csv(ONE_CSV)
    else:
        df = pd.concat(pd.read_csv(f) for f in DAYS)
    df.index = pd.to_datetime(df["timestamp"], unit="ms")
    return df.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]


def vectorbt(files):
    import vectorbt as vbt

    started = time.perf_counter()
    close = load(files)["Close"]
    fast = vbt.MA.run(close, 10, short_name="fast")
    slow = vbt.MA.run(close, 30, short_name="slow")
    pf = vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow),
                                    fees=0.0, init_cash=10_000, size=0.5, size_type="percent")
    trips = int(pf.trades.count())
    return time.perf_counter() - started, trips




def backtesting_py(files):
    if Backtest is None:
        raise ImportError("backtesting is not installed")
    started = time.perf_counter()
    stats = Backtest(load(files), SmaCross, cash=10_000_000, commission=0.0, trade_on_close=True).run()
    return time.perf_counter() - started, int(stats["# Trades"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-backtesting-py", action="store_true")
    args = parser.parse_args()
    if not DAYS:
        sys.exit(f"no bars under {DATA}: run `target/release/cryptobt bench` once first")
    bars = len(DAYS) * 1440
    empty = "/tmp/cryptobt-empty.lua"
    with open(empty, "w") as f:
        f.write("function on_data(bar) end\n")
    rows = []
    cryptobt(empty)  # the first read of a cold data set writes its binary sidecars
    rows.append(("cryptobt, Lua SMA 10/30 (CLI, end to end)", *cryptobt("static/strategies/sma_crossover.lua")))
    rows.append(("cryptobt, empty Lua strategy (CLI, end to end)", *cryptobt(empty)))
    one_csv()
    peers = [("vectorbt, 730 daily CSVs (first call compiles)", vectorbt, "daily"),
             ("vectorbt, 730 daily CSVs (second call)", vectorbt, "daily"),
             ("vectorbt, one CSV (second call on)", vectorbt, "one")]
    if not args.skip_backtesting_py:
        peers += [("backtesting.py, 730 daily CSVs", backtesting_py, "daily"),
                  ("backtesting.py, one CSV", backtesting_py, "one")]
    for name, run, files in peers:
        try:
            rows.append((name, *run(files)))
        except ImportError as e:
            rows.append((f"{name}: skipped ({e})", float("nan"), 0))
    print(f"{bars:,} bars")
    print(f"{'':56} {'seconds':>8} {'bars/s':>12} {'round trips':>12}")
    for name, seconds, trips in rows:
        print(f"{name:56} {seconds:8.2f} {bars / seconds:12,.0f} {trips:12}")
    ours = bars / rows[0][1]
    for name, seconds, _ in rows[2:]:
        if seconds == seconds:
            print(f"cryptobt Lua SMA / {name}: {ours / (bars / seconds):.2f}x")


if __name__ == "__main__":
    main()
