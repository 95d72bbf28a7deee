#!/usr/bin/env python3
"""Independent reference for pending orders, position exits and the intrabar path (docs/design.md#pending-orders-and-exits
and docs/design.md#the-bar-loop), on the ledger of `ledger.py`. Written from the text of the design: every trigger
is given the fraction of the leg at which the price reaches it, and the earliest one fires (ties by
the priority of docs/design.md#the-bar-loop); nothing here is shared with the Rust engine."""
from decimal import Decimal as D

PRIORITY = {"liquidation": 0, "stop_loss": 1, "trailing_stop": 2, "take_profit": 3}


def q12(x):
    return D(x).quantize(D("1e-12"))


class Book:
    def __init__(self, ledger, maker_fee):
        self.ledger = ledger
        self.maker = D(maker_fee)
        self.orders = []      # dicts in id order
        self.next_id = 0
        self.stamp = 0
        self.exits = {}       # kind -> dict(level=..., stamp=..., d=..., extreme=...)
        self.rejections = {}
        self.last_close = None
        self.meta = {}        # ledger trade index -> (order_type, tag); market fills absent

    def _stamp(self):
        self.stamp += 1
        return self.stamp

    # --- strategy calls -------------------------------------------------------------------
    def place(self, side, kind, qty, price, opts):
        """Placement checks of docs/design.md#pending-orders-and-exits, then the order's id; a refusal returns its reason."""
        led = self.ledger
        qty, lev = D(str(qty)), D(str(opts.get("leverage", 1)))
        if qty < D("0.00001"):
            return "below_min_size"
        if qty > D("1000000"):
            return "above_max_size"
        if D(str(price)) <= 0:
            return "invalid_price"
        if (led.mode == "spot" and lev != 1) or not (1 <= lev <= led.max_lev):
            return "invalid_leverage"
        if led.mode == "spot" and side == "sell" and not opts.get("reduce_only", False) \
                and qty > max(led.size, D(0)):
            return "spot_short"
        if len(self.orders) >= 100:
            return "too_many_orders"
        self.next_id += 1
        o = dict(id=self.next_id, side=side, kind=kind, qty=qty, price=D(str(price)),
                 lev=lev, reduce_only=opts.get("reduce_only", False),
                 sl=opts.get("stop_loss"), tp=opts.get("take_profit"), tag=opts.get("tag"),
                 stamp=self._stamp())
        self.orders.append(o)
        return o["id"]

    def cancel(self, oid):
        before = len(self.orders)
        self.orders = [o for o in self.orders if o["id"] != oid]
        return len(self.orders) != before

    def set_exit(self, kind, value):
        led = self.ledger
        if led.size == 0:
            return False
        c = self.last_close
        long = led.size > 0
        v = D(str(value))
        if kind == "stop_loss" and not ((v < c) if long else (v > c)):
            return False
        if kind == "take_profit" and not ((v > c) if long else (v < c)):
            return False
        if kind == "trailing_stop":
            self.exits[kind] = dict(d=v, extreme=c, stamp=self._stamp())
        else:
            self.exits[kind] = dict(level=v, stamp=self._stamp())
        return True

    # --- triggers ---------------------------------------------------------------------------
    def trail_level(self, e):
        long = self.ledger.size > 0
        return q12(e["extreme"] * ((1 - e["d"]) if long else (1 + e["d"])))

    def triggers(self):
        """(key, level, rising, stamp); key orders by priority."""
        led = self.ledger
        out = []
        if led.size != 0:
            long = led.size > 0
            liq = led.liq_trigger()
            if liq is not None:
                out.append(((0, 0), liq, not long, 0, "liquidation"))
            for kind in ("stop_loss", "trailing_stop", "take_profit"):
                e = self.exits.get(kind)
                if e is None:
                    continue
                level = self.trail_level(e) if kind == "trailing_stop" else D(e["level"])
                rising = long if kind == "take_profit" else not long
                out.append(((PRIORITY[kind], 0), level, rising, e["stamp"], kind))
        for o in self.orders:
            rising = (o["side"], o["kind"]) in (("buy", "stop"), ("sell", "limit"))
            out.append(((9, o["id"]), o["price"], rising, o["stamp"], o))
        return out

    def follow(self, p):
        e = self.exits.get("trailing_stop")
        if e is not None and self.ledger.size != 0:
            if (self.ledger.size > 0 and p > e["extreme"]) or (self.ledger.size < 0 and p < e["extreme"]):
                e["extreme"] = p

    def fire(self, trig, at, on_path):
        led = self.ledger
        n0 = len(led.trades)
        _, level, _, _, what = trig
        side_before = (led.size > 0) - (led.size < 0)
        bps = led.bps / D(10000)
        slip = lambda side, p: q12(p * (1 + bps)) if side == "buy" else q12(p * (1 - bps))
        tag, opts_side, kind = None, None, None
        if what == "liquidation":
            led.liquidate()
            kind = "liquidation"
            res = "ok"
        elif isinstance(what, str):
            side = "sell" if led.size > 0 else "buy"
            q = abs(led.size)
            if what == "take_profit":
                px, fee = at, (self.maker if on_path else led.fee)
            else:
                px, fee = slip(side, at), led.fee
            res = led.fill(side, q, px, 1, fee, check=False)
            kind = what
        else:
            o = what
            self.orders = [x for x in self.orders if x["id"] != o["id"]]
            if o["kind"] == "stop":
                px, fee = slip(o["side"], at), led.fee
            else:
                px, fee = at, (self.maker if on_path else led.fee)
            if o["reduce_only"]:
                res = led.reduce(o["side"], o["qty"], px, fee)
            else:
                if led.mode == "spot" and o["side"] == "sell" and o["qty"] > max(led.size, D(0)):
                    res = "spot_short"
                else:
                    res = led.fill(o["side"], o["qty"], px, o["lev"], fee)
                opts_side = o["side"]
            tag, kind = o["tag"], o["kind"]
        if res != "ok":
            self.rejections[res] = self.rejections.get(res, 0) + 1
            return
        for i in range(n0, len(led.trades)):
            self.meta[i] = (kind, tag)
        side_after = (led.size > 0) - (led.size < 0)
        if side_before != 0 and side_after != side_before:
            self.exits = {}
        if opts_side is not None and side_after == (1 if opts_side == "buy" else -1):
            if what["sl"] is not None:
                self.exits["stop_loss"] = dict(level=D(str(what["sl"])), stamp=self._stamp())
            if what["tp"] is not None:
                self.exits["take_profit"] = dict(level=D(str(what["tp"])), stamp=self._stamp())

    def satisfied(self, t, p):
        return p >= t[1] if t[2] else p <= t[1]

    def settle(self, p, is_open, arrival):
        while True:
            hits = [t for t in self.triggers() if self.satisfied(t, p)]
            if not hits:
                return
            t = min(hits, key=lambda t: t[0])
            at = t[1] if t[4] == "liquidation" else p
            on_path = (not is_open) and t[3] < arrival and t[1] == p
            self.fire(t, at, on_path)

    def leg(self, a, b):
        cur = a
        while a != b:
            # the fraction of the leg at which each trigger is reached, from cur on
            best = None
            for t in self.triggers():
                if t[2] != (b > a):
                    continue
                lo, hi = (cur, b) if b > a else (b, cur)
                if not (lo <= t[1] <= hi) or t[1] == cur:
                    continue
                frac = (t[1] - a) / (b - a)
                k = (frac, t[0])
                if best is None or k < best[0]:
                    best = (k, t)
            if best is None:
                break
            t = best[1]
            cur = t[1]
            arrival = self.stamp + 1
            self.fire(t, cur, True)
            self.settle(cur, False, arrival)
        self.follow(b)

    def straddles(self, o, h, l):
        ts = self.triggers()
        up = any(t[2] and o < t[1] < h for t in ts)
        down = any((not t[2]) and l < t[1] < o for t in ts)
        return up and down

    def walk(self, parts):
        """parts: list of (o, h, l, c) Decimals; returns whether the bar is ambiguous."""
        ambiguous = False
        prev = None
        for (o, h, l, c) in parts:
            if prev is None:
                self.follow(o)
                self.settle(o, True, None)
            else:
                self.leg(prev, o)
            ambiguous = ambiguous or self.straddles(o, h, l)
            x, y = (h, l) if h - o < o - l else (l, h)
            self.leg(o, x)
            self.leg(x, y)
            self.leg(y, c)
            prev = c
        return ambiguous

    def idle(self):
        return not self.orders and not self.exits
