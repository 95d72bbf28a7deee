#!/usr/bin/env python3
"""Generates the indicator reference fixtures from TA-Lib (the `ta-lib` package from PyPI).

Input: the shipped spot BTCUSDT 1h bars of January 2025 (744 bars). Output:
`tests/fixtures/talib/indicators.json` with the inputs and, for each case, TA-Lib's output
(null where TA-Lib gives NaN, i.e. inside its lookback). The Rust tests in
`crates/cryptobt-sandbox` feed the same inputs bar by bar to the streaming indicators and compare.

Re-run:  pip install ta-lib numpy && python3 tests/reference/talib_fixtures.py
"""
import csv
import glob
import json
import math
import os

import numpy as np
import talib

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
files = sorted(glob.glob(os.path.join(ROOT, "data/binance/spot/BTCUSDT/1h/*.csv")))
rows = [r for f in files for r in list(csv.DictReader(open(f)))]
high = np.array([float(r["high"]) for r in rows])
low = np.array([float(r["low"]) for r in rows])
close = np.array([float(r["close"]) for r in rows])


def clean(a):
    return [None if math.isnan(x) else x for x in a]


cases = []
for n in (2, 5, 14, 30):
    cases.append({"fn": "sma", "args": [n], "out": [clean(talib.SMA(close, n))]})
    cases.append({"fn": "highest", "args": [n], "out": [clean(talib.MAX(close, n))]})
    cases.append({"fn": "lowest", "args": [n], "out": [clean(talib.MIN(close, n))]})
    cases.append({"fn": "atr", "args": [n], "out": [clean(talib.ATR(high, low, close, n))]})
cases.append({"fn": "atr", "args": [1], "out": [clean(talib.ATR(high, low, close, 1))]})
for n in (2, 5, 10, 26):
    cases.append({"fn": "ema", "args": [n], "out": [clean(talib.EMA(close, n))]})
for n in (2, 6, 14, 21):
    cases.append({"fn": "rsi", "args": [n], "out": [clean(talib.RSI(close, n))]})
for n in (2, 5, 20):
    cases.append({"fn": "stddev", "args": [n], "out": [clean(talib.STDDEV(close, n, 1))]})
for n, k in ((5, 2.0), (20, 2.0), (20, 1.5)):
    up, mid, lo = talib.BBANDS(close, n, k, k, 0)
    cases.append({"fn": "bbands", "args": [n, k], "out": [clean(up), clean(mid), clean(lo)]})
for f, s, sig in ((12, 26, 9), (3, 10, 4), (5, 5, 1), (26, 12, 9)):
    m, sg, h = talib.MACD(close, f, s, sig)
    cases.append({"fn": "macd", "args": [f, s, sig], "out": [clean(m), clean(sg), clean(h)]})

out = {
    "source": "data/binance/spot/BTCUSDT/1h, 2025-01-01..31",
    "talib": talib.__version__,
    "high": high.tolist(),
    "low": low.tolist(),
    "close": close.tolist(),
    "cases": cases,
}
path = os.path.join(ROOT, "tests/fixtures/talib/indicators.json")
with open(path, "w") as fh:
    json.dump(out, fh, separators=(",", ":"))
print(f"wrote {len(cases)} cases over {len(close)} bars to {os.path.relpath(path, ROOT)}")
