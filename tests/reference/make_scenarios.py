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
# --- pending orders, exits and the intrabar path (docs/design.md#pending-orders-and-exits, #the-bar-loop) -------------------
s["bracket_take_profit_first_ambiguous"] = {
    "config": {"mode": "spot", "capital": "10000"},
    "bars": bars([[100, 101, 99, 100], [100, 106, 92, 99], [99, 100, 98, 99]]),
    "actions": [[0, "buy", "1"], [0, "sl", 95], [0, "tp", 105]],
}
s["bracket_stop_loss_first"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "5", "slippage_bps": "10"},
    "bars": bars([[100, 101, 99, 100], [100, 108, 94, 104], [104, 105, 103, 104]]),
    "actions": [[0, "buy", "2", "5"], [0, "sl", 95], [0, "tp", 105]],
}
s["gap_through_sell_stop"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "3", "slippage_bps": "10"},
    "bars": bars([[100, 101, 99, 100], [93, 97, 90, 96], [96, 97, 95, 96]]),
    "actions": [[0, "buy", "1", "2"], [0, "sell_stop", "1", 95, {"reduce_only": True, "tag": "protect"}]],
}
s["trailing_stop_two_percent"] = {
    "config": {"mode": "spot", "capital": "10000"},
    "bars": bars([[100, 101, 99, 100], [100, 104, 99.5, 103], [103, 108, 102.5, 107],
                  [107, 107.5, 105.5, 106], [106, 106.5, 104, 104.5], [104.5, 105, 104, 104.8]]),
    "actions": [[0, "buy", "3"], [0, "trail", 0.02]],
}
s["stop_entry_take_profit_same_leg"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "10", "slippage_bps": "5"},
    "bars": bars([[100, 101, 99, 100], [100, 107, 99.5, 106], [106, 106, 105, 105.5]]),
    "actions": [[0, "buy_stop", "5", 102, {"leverage": 5, "take_profit": 105, "stop_loss": 98, "tag": "brk"}]],
}
s["liquidation_before_stop_loss"] = {
    "config": {"mode": "futures", "capital": "1000", "max_leverage": "50", "mmr": "0.005"},
    "bars": bars([[100, 100.5, 99.5, 100], [100, 100.2, 95, 96], [96, 97, 95, 96]]),
    "actions": [[0, "buy", "100", "25"], [0, "sl", 96], [0, "tp", 110]],
}
s["reduce_only_cut_and_cancel"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "10"},
    "bars": bars([[100, 101, 99, 100], [100, 106, 99.5, 105], [105, 106, 104, 105], [105, 107, 104, 106]]),
    "actions": [[0, "buy", "0.5", "2"], [0, "sell_limit", "2", 104, {"reduce_only": True}],
                [2, "sell_limit", "1", 106.5, {"reduce_only": True}]],
}
s["refused_at_the_fill"] = {
    "config": {"mode": "spot", "capital": "1000"},
    "bars": bars([[100, 101, 99, 100], [100, 100.5, 95, 96], [96, 97, 93, 94], [94, 95, 90, 91]]),
    "actions": [[0, "buy_limit", "5", 97], [0, "buy_limit", "9", 95], [1, "buy_limit", "20", 92],
                [0, "sell_limit", "1", 99.9]],
}
s["maker_on_path_taker_at_gap"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "10", "maker_fee": "0.0001",
               "fee": "0.0006"},
    "bars": bars([[100, 101, 99, 100], [100, 100.5, 97, 98], [96, 99, 95.5, 98.5], [98.5, 99, 98, 98.8],
                  [98.8, 102, 98.5, 101.5]]),
    "actions": [[0, "buy_limit", "1", 98, {"tag": "path"}], [1, "buy_limit", "1", 96.5, {"tag": "gap"}],
                [3, "sell_limit", "2", 101, {"reduce_only": True}], [3, "buy_limit", "1", 90]],
}
s["short_bracket_flip_clears_exits"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "10"},
    "bars": bars([[100, 101, 99, 100], [100, 101, 98, 99], [99, 100, 97, 98], [98, 99.5, 97.5, 99],
                  [99, 104, 98.5, 103]]),
    "actions": [[0, "sell", "1", "3"], [0, "sl", 103], [0, "tp", 96], [0, "trail", 0.05],
                [2, "buy", "2", "2"], [2, "tp", 102], [4, "cancel_all"]],
}
s["short_trailing_stop_fires"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "10", "slippage_bps": "2"},
    "bars": bars([[100, 101, 99, 100], [100, 100.5, 96, 97], [97, 97.5, 94, 95], [95, 99, 94.5, 98.5],
                  [98.5, 99, 98, 98.2]]),
    "actions": [[0, "sell", "2", "4"], [0, "trail", 0.03], [0, "tp", 80], [1, "sl", 120]],
}
s["next_open_with_pending"] = {
    "config": {"mode": "futures", "capital": "10000", "max_leverage": "10", "fill": "next_open"},
    "bars": bars([[100, 101, 99, 100], [100.5, 102, 100, 101], [101, 101.5, 99, 99.5], [99.5, 100, 98, 98.5]]),
    "actions": [[0, "buy", "1", "2"], [0, "sell_stop", "1", 99.2, {"reduce_only": True}],
                [1, "buy_limit", "1", 99.8], [1, "cancel", 1], [2, "buy_limit", "1", 50]],
}


def minutes(hour_bars, t0=T0):
    """Hourly bars and their 60 minutes: each minute walks a straight line from its hour's open
    through the listed waypoints (price, minute index)."""
    out_h, out_m = [], []
    for k, (way) in enumerate(hour_bars):
        ts0 = t0 + k * 3600000
        pts = []
        for j in range(len(way) - 1):
            (p0, m0), (p1, m1) = way[j], way[j + 1]
            for m in range(m0, m1):
                pts.append(p0 + (p1 - p0) * (m - m0) / (m1 - m0))
        pts.append(way[-1][0])
        rows = []
        for m in range(60):
            o, c = round(pts[m], 4), round(pts[m + 1], 4)
            rows.append([ts0 + m * 60000, str(o), str(max(o, c)), str(min(o, c)), str(c)])
        out_m += rows
        hi = max(float(r[2]) for r in rows)
        lo = min(float(r[3]) for r in rows)
        out_h.append([ts0, rows[0][1], str(hi), str(lo), rows[-1][4]])
    return out_h, out_m


# The hour rises to 106 first, then falls to 92: the coarse rule (the nearer extreme, 92 at
# distance 8 vs 106 at 6 ... here 106 is nearer) and the minutes agree on TP in the first; in the
# second hour the low (93) is farther than the high (104.5) so the coarse rule walks high first and
# says take-profit, but the minutes fall to 93 first: stop-loss.
hours, mins = minutes([
    [(100, 0), (100, 60)],
    [(100, 0), (93, 20), (104.5, 50), (101, 60)],
    [(101, 0), (102, 30), (101.5, 60)],
])
s["intrabar_minutes_decide"] = {
    "config": {"mode": "spot", "capital": "10000", "intrabar": "1m"},
    "bars": hours,
    "minutes": mins,
    "actions": [[0, "buy", "1"], [0, "sl", 95], [0, "tp", 104]],
}
s["intrabar_bar_rule_same_data"] = {
    "config": {"mode": "spot", "capital": "10000"},
    "bars": hours,
    "actions": [[0, "buy", "1"], [0, "sl", 95], [0, "tp", 104]],
}
path = os.path.join(ROOT, "tests/fixtures/golden/scenarios.json")
with open(path, "w") as fh:
    json.dump(s, fh, indent=1)
print("wrote", len(s), "scenarios")
