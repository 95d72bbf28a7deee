#!/usr/bin/env python3
"""Writes tests/fixtures/golden/scenarios.json: the golden scenarios (config, bars, scripted
orders by bar index). Bars are 6 hours apart from 2025-01-01 00:00 UTC, so days change every
four bars and funding times (00:00, 08:00, 16:00) fall between bars."""
import json
import os

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
T0 = 1735689600000
STEP = 6 * 3600 * 1000


def bars(rows):
    return [[T0 + i * STEP] + [str(x) for x in r] for i, r in enumerate(rows)]


def walk(start, moves, wick):
    out, c = [], start
    for m in moves:
        o = c
        c = round(c + m, 2)
        out.append([o, round(max(o, c) + wick, 2), round(min(o, c) - wick, 2), c])
    return out


s = {}
s["spot_round_trip"] = {
    "config": {"mode": "spot", "capital": "10000"},
    "bars": bars(walk(42000, [0, 300, -200, 500, 250, -400, 100, 600, -150, 50, 0, 200], 80)),
    "actions": [[0, "buy", "0.1"], [2, "buy", "0.05"], [3, "buy", "100"], [5, "sell", "0.075"],
                [7, "sell", "1"], [8, "close", 100], [9, "sell", "0.1"]],
}
s["futures_long_add_partial_flip"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "20", "funding_rate": "0.0001"},
    "bars": bars(walk(30000, [0, 150, -80, 220, 60, -300, -120, 90, -40, 10, 70, -20], 50)),
    "actions": [[0, "buy", "0.1", "5"], [1, "buy", "0.1", "10"], [3, "close", 50], [5, "sell", "0.3", "4"],
                [8, "buy", "0.2"], [9, "buy", "0.00000001"], [10, "buy", "0.1", "50"]],
}
s["futures_short_liquidated_file_funding"] = {
    "config": {"mode": "futures", "capital": "1000", "max_leverage": "50", "mmr": "0.004"},
    "funding_file": {str(T0 + k * 8 * 3600 * 1000): r for k, r in enumerate(
        ["0.0001", "-0.00025", "0.0003", "0.00005", "-0.0001", "0.0002", "0.0001", "0.0001", "0.0001", "0.0001"])},
    "bars": bars([[2500, 2510, 2490, 2500], [2500, 2540, 2495, 2530], [2530, 2570, 2520, 2560],
                  [2560, 2590, 2550, 2580], [2580, 2600, 2570, 2590], [2590, 2605, 2580, 2600],
                  [2600, 2620, 2560, 2570], [2570, 2580, 2540, 2550], [2550, 2560, 2530, 2540],
                  [2540, 2550, 2520, 2530]]),
    "actions": [[0, "sell", "2", "20"], [8, "buy", "0.1", "2"]],
}
s["futures_long_liquidated_gap"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "100", "funding_rate": "0.0002"},
    "bars": bars([[42000, 42100, 41900, 42000], [42000, 42300, 41500, 41800], [41800, 41900, 40000, 40200],
                  [40200, 40500, 38500, 38900], [37000, 37500, 36000, 37200], [37200, 37800, 37100, 37700],
                  [37700, 38000, 37600, 37900], [37900, 38200, 37800, 38100]]),
    "actions": [[0, "buy", "0.5", "10"], [6, "sell", "0.1", "3"]],
}
s["next_open_slippage"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "10", "fill": "next_open", "slippage_bps": "5"},
    "bars": bars(walk(1000, [0, 10, -5, 20, 15, -30, 8, 12, -4, 6, 3, -7], 4)),
    "actions": [[0, "buy", "1", "2"], [2, "close", 50], [3, "buy", "100", "10"], [4, "sell", "0.5"],
                [6, "sell", "2", "5"], [11, "buy", "1"]],
}
s["never_trades_one_bar"] = {
    "config": {"mode": "spot", "capital": "10000"},
    "bars": bars([[100, 101, 99, 100.5]]),
    "actions": [],
}
s["flat_equity_two_days"] = {
    "config": {"mode": "spot", "capital": "10000"},
    "bars": [[T0, "100", "101", "99", "100"], [T0 + 86400000, "100", "102", "98", "101"]],
    "actions": [],
}
s["winning_only"] = {
    "config": {"mode": "spot", "capital": "5000", "fee": "0"},
    "bars": bars(walk(200, [0, 5, 5, 5, 5, 5], 1)),
    "actions": [[0, "buy", "10"], [2, "close", 50], [4, "close", 100]],
}
path = os.path.join(ROOT, "tests/fixtures/golden/scenarios.json")
with open(path, "w") as fh:
    json.dump(s, fh, indent=1)
print("wrote", len(s), "scenarios")
