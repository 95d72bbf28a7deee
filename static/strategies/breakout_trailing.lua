-- Breakout with stop entries and a trailing stop: while flat, a buy stop waits one tick above the
-- highest high of the last 24 bars (replaced every bar); once in, a 2 % trailing stop follows the
-- peak and closes the position when the price falls 2 % from it.
-- Shows: buy_stop with a tag, cancel_all_orders, set_trailing_stop, plot() over the price.
-- Params: lookback (24), trail (0.02).
-- Expected: completed, entries are stop fills tagged "breakout", exits are trailing_stop fills.

local lookback = params.lookback or 24
local trail = params.trail or 0.02
local highest = ta.highest(lookback)
local trailing = false

function on_data(bar)
    local high = highest:update(bar.high)
    local size = get_position_size()
    if size > 0 then
        cancel_all_orders()
        -- Armed once per position (setting it again would restart the peak at this close).
        if not trailing then trailing = set_trailing_stop(trail) end
        return
    end
    trailing = false
    if not high then return end
    plot("breakout level", high)
    cancel_all_orders()
    local trigger = math.max(high, bar.close) + 0.01
    local quantity = math.floor(get_cash() * 0.9 / trigger * 100000) / 100000
    local id, reason = buy_stop(quantity, trigger, { tag = "breakout" })
    if not id then log("no entry: " .. tostring(reason)) end
end
