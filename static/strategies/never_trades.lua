-- A strategy that never trades: it only watches.
-- Shows: the metrics of a run without fills (no win rate, no profit factor: null, shown as "—").
-- Expected: completed, 0 trades, total return 0.

local bars = 0

function on_data(bar)
    bars = bars + 1
end
