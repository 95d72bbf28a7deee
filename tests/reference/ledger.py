#!/usr/bin/env python3
"""Independent reference for the ledger rules of docs/design.md#orders-and-the-ledger, written from the text of the design
with Python's `decimal` at 60 significant digits and no intermediate rounding.

It replays the scenarios the Rust tests in `crates/cryptobt-domain/src/portfolio/tests.rs` check
and prints, after every step, the numbers those tests assert (rounded to 8 places). Re-run it after
changing a scenario and compare:  python3 tests/reference/ledger.py
"""
from decimal import Decimal as D, getcontext

getcontext().prec = 60
MIN, MAX = D("0.00001"), D("1000000")


class Ledger:
    def __init__(self, capital, mode, max_lev=D(1), mmr=D("0.005"), fee=None, bps=D(0)):
        self.initial = self.cash = D(capital)
        self.mode, self.max_lev, self.mmr, self.bps = mode, D(max_lev), D(mmr), D(bps)
        self.fee = D(fee) if fee is not None else (D("0.001") if mode == "spot" else D("0.0005"))
        self.size = D(0)  # signed
        self.entry = D(0)
        self.margin = D(0)
        self.pnl_sum = D(0)
        self.funding_sum = D(0)
        self.trades = []

    def price(self, side, p):
        f = self.bps / D(10000)
        return D(p) * (1 + f) if side == "buy" else D(p) * (1 - f)

    def order(self, side, qty, p, lev=D(1)):
        return self.fill(side, qty, self.price(side, p), lev, self.fee)

    def fill(self, side, qty, px, lev, fee_rate, check=True):
        """An order filled at exactly `px` (slippage already applied) paying `fee_rate`."""
        qty, lev, px = D(qty), D(lev), D(px)
        if check and qty < MIN:
            return "below_min_size"
        if qty > MAX:
            return "above_max_size"
        if self.mode == "spot" and lev != 1 or not (1 <= lev <= self.max_lev):
            return "invalid_leverage"
        sign = 1 if side == "buy" else -1
        legs = []
        cash = self.cash
        if self.size != 0 and (self.size > 0) != (sign > 0):
            held = abs(self.size)
            if self.mode == "spot" and qty > held:
                return "spot_short"
            q = min(qty, held)
            released = self.margin * q / held
            side_sign = 1 if self.size > 0 else -1
            gross = (px - self.entry) * q * side_sign
            fee = q * px * fee_rate
            cash = cash + released + gross - fee
            legs.append(("reduce", q, released, gross, fee))
            qty -= q
        elif self.mode == "spot" and sign < 0:
            return "spot_short"
        if qty > 0:
            m = qty * px / lev
            fee = qty * px * fee_rate
            if cash < m + fee:
                return "insufficient_funds"
            legs.append(("open", qty, m, fee, lev))
        for leg in legs:
            if leg[0] == "reduce":
                _, q, released, gross, fee = leg
                held = abs(self.size)
                eff = D(1) if self.mode == "spot" else held * self.entry / self.margin
                ptype = "long" if self.size > 0 else "short"
                self.size -= q * (1 if self.size > 0 else -1)
                self.margin -= released
                self.cash += released + gross - fee
                self.record(side, q, px, eff, fee, ptype, gross - fee)
                if self.size == 0:
                    self.entry, self.margin = D(0), D(0)
            else:
                _, q, m, fee, lev = leg
                held = abs(self.size)
                self.entry = (self.entry * held + px * q) / (held + q)
                self.size += q * sign
                self.margin += m
                self.cash -= m + fee
                self.record(side, q, px, lev, fee, "long" if sign > 0 else "short", -fee)
        return "ok"

    def close(self, pct, p):
        pct = D(pct)
        if self.size == 0:
            return "no_position"
        held = abs(self.size)
        q = held if pct == 100 else held * pct / 100
        if pct != 100 and q < MIN:
            return "partial_close_too_small"
        side = "sell" if self.size > 0 else "buy"
        lev = D(1)
        return self.order(side, q, p, lev)

    def reduce(self, side, qty, px, fee_rate):
        """A reduce-only fill: cut to the opposite position; none -> 'reduce_only'."""
        sign = 1 if side == "buy" else -1
        if self.size == 0 or (self.size > 0) == (sign > 0):
            return "reduce_only"
        held = abs(self.size)
        q = min(D(qty), held)
        if held - q < MIN:
            q = held
        return self.fill(side, q, px, 1, fee_rate, check=False)

    def liq_price(self):
        q = abs(self.size)
        if self.size > 0:
            return (self.entry * q - self.margin) / (q * (1 - self.mmr))
        return (self.entry * q + self.margin) / (q * (1 + self.mmr))

    def liq_trigger(self):
        """The liquidation price when one exists (futures, open, a long's above 0)."""
        if self.mode != "futures" or self.size == 0:
            return None
        liq = self.liq_price()
        return None if self.size > 0 and liq <= 0 else liq

    def bar(self, low, high):
        liq = self.liq_trigger()
        if liq is None:
            return None
        hit = D(low) <= liq if self.size > 0 else D(high) >= liq
        if not hit:
            return None
        return self.liquidate()

    def liquidate(self):
        liq = self.liq_price()
        q, side = abs(self.size), (1 if self.size > 0 else -1)
        eff = q * self.entry / self.margin
        fee = self.margin + (liq - self.entry) * q * side
        self.record("liquidation", q, liq, eff, fee, "long" if side > 0 else "short", -self.margin)
        self.size, self.entry, self.margin = D(0), D(0), D(0)
        return liq

    def funding(self, p, rate):
        amount = -(self.size * D(p) * D(rate))
        self.cash += amount
        self.funding_sum += amount
        return amount

    def record(self, action, q, px, lev, fee, ptype, pnl):
        self.pnl_sum += pnl
        self.trades.append((action, q, px, lev, fee, ptype, pnl))

    def equity(self, close):
        return self.cash + self.margin + (D(close) - self.entry) * self.size

    def check(self):
        assert self.cash + self.margin == self.initial + self.pnl_sum + self.funding_sum


def r(x):
    return format(D(x).quantize(D("0.00000001")).normalize(), "f") if x is not None else None


def show(name, ledger, close=None):
    ledger.check()
    print(f"  {name}: cash={r(ledger.cash)} margin={r(ledger.margin)} size={r(ledger.size)} "
          f"entry={r(ledger.entry)} pnl_sum={r(ledger.pnl_sum)} funding={r(ledger.funding_sum)}"
          + (f" equity@{close}={r(ledger.equity(close))}" if close else ""))


def trades(ledger):
    for t in ledger.trades:
        print("    trade", t[0], "qty", r(t[1]), "price", r(t[2]), "lev", r(t[3]), "fee", r(t[4]),
              t[5], "pnl", r(t[6]))


def main():
    print("spot round trip")
    s = Ledger(10000, "spot")
    print("  buy", s.order("buy", "0.1", 42000)); show("after buy", s, 42500)
    print("  sell", s.order("sell", "0.1", 43000)); show("after sell", s); trades(s)

    print("futures long with funding (notes 7.6)")
    f = Ledger(10000, "futures", max_lev=100)
    print("  buy", f.order("buy", "0.5", 42000, 10)); show("open", f)
    print("  liq", r(f.liq_price()))
    print("  funding", r(f.funding(43000, "0.0001"))); show("funded", f)
    print("  sell", f.order("sell", "0.5", 43000, 1)); show("closed", f); trades(f)

    print("futures short (notes 7.6)")
    f = Ledger(10000, "futures", max_lev=100)
    print("  sell", f.order("sell", "2", 2500, 20)); show("open", f, 2450)
    print("  funding", r(f.funding(2480, "-0.000125"))); show("funded", f)
    print("  buy", f.order("buy", "2", 2400, 1)); show("closed", f); trades(f)

    print("adds and partial closes")
    f = Ledger(10000, "futures", max_lev=20)
    print("  buy", f.order("buy", "0.3", 40000, 5)); show("open", f)
    print("  buy", f.order("buy", "0.2", 41000, 10)); show("add", f, 41500)
    print("  close 50%", f.close(50, 42000)); show("half", f)
    print("  close 30%", f.close(30, 41000)); show("more", f)
    print("  close 100%", f.close(100, 39000)); show("flat", f); trades(f)

    print("flip long to short")
    f = Ledger(10000, "futures", max_lev=10)
    print("  buy", f.order("buy", "1", 30000, 4)); show("long", f)
    print("  sell 3", f.order("sell", "3", 31000, 10)); show("short", f, 30500)
    print("  liq", r(f.liq_price())); trades(f)

    print("flip refused for funds")
    f = Ledger(1000, "futures", max_lev=10)
    print("  buy", f.order("buy", "0.1", 30000, 10)); show("long", f)
    print("  sell 2", f.order("sell", "2", 29000, 2)); show("unchanged", f)

    print("liquidation of a long (notes 7.1, 7.7)")
    f = Ledger(10000, "futures", max_lev=100, mmr="0.004")
    print("  buy", f.order("buy", "0.5", 42000, 10)); show("open", f)
    print("  liq", r(f.liq_price()))
    print("  bar low 38000", r(f.bar(38000, 42100)))
    print("  bar low 37000 (gap)", r(f.bar(37000, 38000))); show("after", f); trades(f)

    print("liquidation of a short (notes 7.2)")
    f = Ledger(1000, "futures", max_lev=100, mmr="0.004")
    print("  sell", f.order("sell", "2", 2500, 20)); show("open", f)
    print("  funding", r(f.funding(2480, "-0.000125"))); show("funded", f)
    print("  liq", r(f.liq_price()))
    print("  bar high 2614", r(f.bar(2500, 2614)))
    print("  bar high 2700", r(f.bar(2600, 2700))); show("after", f); trades(f)

    print("slippage 10 bps")
    f = Ledger(10000, "futures", max_lev=10, bps=10)
    print("  buy", f.order("buy", "1", 1000, 2)); show("long", f)
    print("  sell", f.order("sell", "1", 1100, 1)); show("flat", f); trades(f)


if __name__ == "__main__":
    main()
