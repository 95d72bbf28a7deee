"""What the peer scripts share: the repository root and the SMA crossover as a backtesting.py
strategy (at module level, as backtesting.py's `optimize` pickles it for its workers)."""

import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

try:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):
        """Long half the cash while SMA(fast) is above SMA(slow), like sma_crossover.lua."""

        fast = 10
        slow = 30

        def init(self):
            self.f = self.I(SMA, self.data.Close, self.fast)
            self.s = self.I(SMA, self.data.Close, self.slow)

        def next(self):
            if crossover(self.f, self.s) and not self.position:
                self.buy(size=0.5)
            elif crossover(self.s, self.f) and self.position:
                self.position.close()

except ImportError:
    Backtest = None
    SmaCross = None
