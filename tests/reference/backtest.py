#!/usr/bin/env python3
"""Independent reference for the bar loop (docs/design.md#the-bar-loop) and the metrics (docs/metrics.md), built on the
ledger of `ledger.py` (docs/design.md#orders-and-the-ledger in Python `decimal`, no intermediate rounding).

Reads the scenarios of `tests/fixtures/golden/scenarios.json` (a config, bars, and scripted
orders by bar index), replays each, and writes `tests/fixtures/golden/expected.json`: every fill,
every funding payment, the rejections and the metrics. The Rust golden tests run the same
scenarios through the real engine and compare.

Re-run:  python3 tests/reference/backtest.py
"""
import json
import math
import os
from decimal import Decimal as D

from ledger import Ledger
from path import Book

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
H8 = 8 * 3600 * 1000
DAY = 86400000


def run(sc):
    cfg = sc["config"]
    mode = cfg["mode"]
    ledger = Ledger(cfg["capital"], mode, max_lev=cfg.get("max_leverage", 1), mmr=cfg.get("mmr", "0.005"),
                    fee=cfg.get("fee"), bps=cfg.get("slippage_bps", 0))
    fill = cfg.get("fill", "close")
    maker = cfg.get("maker_fee", "0.001" if mode == "spot" else "0.0002")
    book = Book(ledger, maker)
    minutes = sc.get("minutes") if cfg.get("intrabar") == "1m" else None
    step = sc["bars"][1][0] - sc["bars"][0][0] if len(sc["bars"]) > 1 else 0
    ambiguous_bars = 0
    events = []  # ("fill", ledger trade index, bar index) and ("funding", amount), in order
    seen = [0]

    def fills_so_far(i):
        for k in range(seen[0], len(ledger.trades)):
            events.append(("fill", k, i))
        seen[0] = len(ledger.trades)
    flag_rate = D(cfg.get("funding_rate", "0"))
    file_rates = {int(k): D(v) for k, v in sc.get("funding_file", {}).items()} if "funding_file" in sc else None
    actions = {}
    for a in sc["actions"]:
        actions.setdefault(a[0], []).append(a[1:])
    rejections = {}
    funding = []
    trades_with_time = []
    snapshots = []
    queue = []
    exposed = 0
    prev_open = None

    def note(result, t0):
        if result != "ok":
            rejections[result] = rejections.get(result, 0) + 1

    def market(a, price):
        before = (ledger.size > 0) - (ledger.size < 0)
        res = do(ledger, a, price)
        after = (ledger.size > 0) - (ledger.size < 0)
        if before != 0 and after != before:
            book.exits = {}
        return res

    def call(a):
        kind = a[0]
        if kind in ("buy_limit", "sell_limit", "buy_stop", "sell_stop"):
            side, k = kind.split("_")
            res = book.place(side, k, a[1], a[2], a[3] if len(a) > 3 else {})
            if isinstance(res, str):
                note(res, None)
        elif kind == "cancel":
            book.cancel(a[1])
        elif kind == "cancel_all":
            book.orders = []
        elif kind in ("sl", "tp", "trail"):
            name = {"sl": "stop_loss", "tp": "take_profit", "trail": "trailing_stop"}[kind]
            if a[1] is None:
                book.exits.pop(name, None)
            else:
                book.set_exit(name, a[1])
        else:
            return False
        return True

    for i, b in enumerate(sc["bars"]):
        ts, o, h, l, c = b[0], D(b[1]), D(b[2]), D(b[3]), D(b[4])
        n_before = len(ledger.trades)
        # 0. orders queued at the previous bar fill at this open
        for q in queue:
            note(market(q, o), ts)
        queue = []
        # 1. funding
        if mode == "futures" and prev_open is not None:
            t = (prev_open // H8 + 1) * H8
            while t <= ts:
                rate = file_rates.get(t, flag_rate) if file_rates is not None else flag_rate
                if rate != 0 and ledger.size != 0:
                    fills_so_far(i)
                    amount = ledger.funding(o, rate)
                    events.append(("funding", amount))
                    funding.append([t, str(rate), str(o), str(ledger.size), amount])
                t += H8
        # 2. the intrabar path (only the liquidation price armed: the old rule)
        ambiguous = False
        if book.idle():
            if mode == "futures":
                ledger.bar(l, h)
        else:
            if minutes is not None:
                parts = [tuple(D(x) for x in m[1:5]) for m in minutes if ts <= m[0] < ts + step]
            else:
                parts = [(o, h, l, c)]
            ambiguous = book.walk(parts)
        # 3. strategy at the close
        book.last_close = c
        for a in actions.get(i, []):
            if call(a):
                continue
            if fill == "close":
                note(market(a, c), ts)
            else:
                queue.append(a)
        fills_so_far(i)
        if ambiguous:
            ambiguous_bars += 1
        for k in range(n_before, len(ledger.trades)):
            t = ledger.trades[k]
            kind, tag = book.meta.get(k, ("liquidation" if t[0] == "liquidation" else "market", None))
            trades_with_time.append((ts, t, kind, tag, ambiguous))
        # 4. snapshot
        equity = ledger.equity(c)
        snapshots.append((ts, equity))
        exposed += 1 if ledger.size != 0 else 0
        prev_open = ts
    for k, v in book.rejections.items():
        rejections[k] = rejections.get(k, 0) + v
    trips = round_trips(ledger, trades_with_time, events)
    return ledger, trades_with_time, funding, rejections, snapshots, exposed, len(queue), ambiguous_bars, len(book.orders), trips


def round_trips(ledger, trades_with_time, events):
    """A position's life from flat to flat: its fills and the funding settled while it was open."""
    out, cur = [], None
    for e in events:
        if e[0] == "funding":
            if cur is not None:
                cur["funding"] += e[1]
            continue
        _, k, bar = e
        ts, t, kind = trades_with_time[k][0], trades_with_time[k][1], trades_with_time[k][2]
        action, q, px, fee, ptype, pnl = t[0], t[1], t[2], t[4], t[5], t[6]
        closing = action == "liquidation" or (action == "sell" and ptype == "long") or (action == "buy" and ptype == "short")
        if not closing:
            if cur is None:
                cur = dict(entry=ts, bar=bar, side=ptype, size=D(0), max=D(0), oq=D(0), on=D(0), cq=D(0), cn=D(0),
                           fees=D(0), funding=D(0), pnl=D(0))
            cur["size"] += q
            cur["max"] = max(cur["max"], cur["size"])
            cur["oq"] += q
            cur["on"] += q * px
            cur["fees"] += fee
            cur["pnl"] += pnl
            continue
        cur["size"] -= q
        cur["cq"] += q
        cur["cn"] += q * px
        if action != "liquidation":
            cur["fees"] += fee
        cur["pnl"] += pnl
        if cur["size"] <= 0:
            out.append(dict(entry_time=cur["entry"], exit_time=ts, side=cur["side"], max_size=cur["max"],
                            entry_price=cur["on"] / cur["oq"], exit_price=cur["cn"] / cur["cq"], fees=cur["fees"],
                            funding=cur["funding"], pnl=cur["pnl"] + cur["funding"], bars_held=bar - cur["bar"],
                            exit_reason=kind))
            cur = None
    return out


def do(ledger, action, price):
    kind = action[0]
    if kind == "close":
        return ledger.close(D(str(action[1])), price)
    return ledger.order(kind, D(str(action[1])), price, D(str(action[2])) if len(action) > 2 else D(1))


def metrics(sc, ledger, trades, funding, snapshots, exposed, trips):
    initial = D(sc["config"]["capital"])
    out = {}
    final = snapshots[-1][1] if snapshots else None
    out["final_equity"] = float(final) if final is not None else None
    out["total_return"] = float((final / initial - 1) * 100) if final is not None else None
    days = (snapshots[-1][0] - snapshots[0][0]) / DAY if snapshots else 0
    out["annualized_return"] = (((float(final) / float(initial)) ** (365 / days) - 1) * 100
                                if days > 0 and final > 0 else None)
    closes, cur = [], None
    for ts, eq in snapshots:
        d = ts // DAY
        if d == cur:
            closes[-1] = eq
        else:
            closes.append(eq)
            cur = d
    rets, prev = [], float(initial)
    for eq in closes:
        rets.append(float(eq) / prev - 1)
        prev = float(eq)
    if len(rets) < 2:
        out["volatility"] = out["sharpe_ratio"] = out["sortino_ratio"] = None
    else:
        m = sum(rets) / len(rets)
        sd = math.sqrt(sum((r - m) ** 2 for r in rets) / (len(rets) - 1))
        dn = math.sqrt(sum(min(r, 0) ** 2 for r in rets) / len(rets))
        out["volatility"] = sd * 100
        out["sharpe_ratio"] = m / sd * math.sqrt(365) if sd != 0 else None
        out["sortino_ratio"] = m / dn * math.sqrt(365) if dn != 0 else None
    peak, worst = initial, None
    for _, eq in snapshots:
        peak = max(peak, eq)
        dd = eq / peak - 1
        worst = dd if worst is None else min(worst, dd)
    out["max_drawdown"] = float(worst * 100) if worst is not None else None
    out["annualized_volatility"] = out["volatility"] * math.sqrt(365) if out["volatility"] is not None else None
    ar, mdd = out["annualized_return"], out["max_drawdown"]
    out["calmar_ratio"] = ar / abs(mdd) if ar is not None and mdd is not None and mdd != 0 else None
    # Longest stretch under a previous high: from the last snapshot at or above the running max
    # (the first snapshot when it starts below the initial capital) to the first one back at or
    # above it, or to the last snapshot.
    longest, peak, since, under = 0, initial, None, False
    for ts, eq in snapshots:
        if eq >= peak:
            if under:
                longest = max(longest, ts - since)
                under = False
            peak, since = eq, ts
        elif not under:
            under = True
            since = ts if since is None else since
    if under:
        longest = max(longest, snapshots[-1][0] - since)
    out["max_drawdown_duration_days"] = longest / DAY if snapshots else None
    ts_trades = [x[1] for x in trades]
    out["total_trades"] = len(ts_trades)

    def closing(t):
        action, ptype = t[0], t[5]
        return action == "liquidation" or (action == "sell" and ptype == "long") or (action == "buy" and ptype == "short")

    op = [t for t in ts_trades if not closing(t)]
    pnls = [r["pnl"] for r in trips]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    out["round_trips"] = len(trips)
    out["win_rate"] = len(wins) / len(pnls) * 100 if pnls else None
    out["profit_factor"] = float(sum(wins, D(0)) / abs(sum(losses, D(0)))) if losses else None
    out["expectancy"] = float(sum(pnls, D(0)) / len(pnls)) if pnls else None
    out["avg_win"] = float(sum(wins, D(0)) / len(wins)) if wins else None
    out["avg_loss"] = float(sum(losses, D(0)) / len(losses)) if losses else None
    out["largest_win"] = float(max(pnls)) if pnls and max(pnls) > 0 else None
    out["largest_loss"] = float(min(pnls)) if pnls and min(pnls) < 0 else None
    out["avg_bars_held"] = sum(r["bars_held"] for r in trips) / len(trips) if trips else None
    streak = longest = 0
    for p in pnls:
        streak = streak + 1 if p <= 0 else 0
        longest = max(longest, streak)
    out["max_consecutive_losses"] = longest
    out["avg_leverage"] = float(sum((t[3] for t in op), D(0)) / len(op)) if op else None
    out["max_leverage"] = float(max(t[3] for t in op)) if op else None
    liq = [t for t in ts_trades if t[0] == "liquidation"]
    out["liquidations"] = len(liq)
    out["liquidation_losses"] = float(sum((abs(t[6]) for t in liq), D(0)))
    out["total_fees"] = float(sum((t[4] for t in ts_trades if t[0] != "liquidation"), D(0)))
    out["total_funding"] = float(sum((f[4] for f in funding), D(0)))
    bars = sc["bars"]
    out["benchmark_return"] = float((D(bars[-1][4]) / D(bars[0][4]) - 1) * 100)
    out["exposure"] = exposed / len(snapshots) * 100 if snapshots else None
    return out


def main():
    scenarios = json.load(open(os.path.join(ROOT, "tests/fixtures/golden/scenarios.json")))
    expected = {}
    for name, sc in scenarios.items():
        ledger, trades, funding, rejections, snapshots, exposed, dropped, ambiguous, pending, trips = run(sc)
        expected[name] = {
            "trades": [[ts, t[0], str(t[1]), str(t[2]), str(t[3]), str(t[4]), t[5], str(t[6]), kind, tag, amb]
                       for ts, t, kind, tag, amb in trades],
            "ambiguous_bars": ambiguous,
            "pending_at_end": pending,
            "funding": [[f[0], str(f[4])] for f in funding],
            "rejections": rejections,
            "dropped_orders": dropped,
            "equity": [str(eq) for _, eq in snapshots],
            "metrics": metrics(sc, ledger, trades, funding, snapshots, exposed, trips),
            "round_trips": [[r["entry_time"], r["exit_time"], r["side"], str(r["max_size"]), str(r["entry_price"]),
                             str(r["exit_price"]), str(r["fees"]), str(r["funding"]), str(r["pnl"]), r["bars_held"],
                             r["exit_reason"]] for r in trips],
            "open_at_end": ledger.size != 0,
        }
    path = os.path.join(ROOT, "tests/fixtures/golden/expected.json")
    with open(path, "w") as fh:
        json.dump(expected, fh, indent=1, sort_keys=True)
    print(f"wrote {len(expected)} scenarios to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
