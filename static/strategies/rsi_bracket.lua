-- RSI mean reversion with a stop-loss / take-profit bracket: buy when RSI(14) falls below 30, then
-- leave a stop-loss 1.5 % below and a take-profit 3 % above the entry. Both are filled inside the
-- bar at their own price (docs/design.md#pending-orders-and-exits), not at the next close: a stop-loss costs 1.5 % plus fees
-- unless the market gaps through it (then it fills at the open).
-- Shows: set_stop_loss, set_take_profit, exits filled on the intrabar path, ambiguous bars.
-- Params: period (14), oversold (30), stop (0.015), target (0.03).
-- Expected: completed, every exit is a stop_loss or take_profit fill at its level or at a gap open.

local rsi = ta.rsi(params.period or 14)
local oversold = params.oversold or 30
local stop = params.stop or 0.015
local target = params.target or 0.03

function on_data(bar)
    local value = rsi:update(bar.close)
    if not value or get_position_size() ~= 0 then return end
    if value < oversold then
        local quantity = math.floor(get_cash() * 0.9 / bar.close * 100000) / 100000
        if buy(quantity) then
            set_stop_loss(bar.close * (1 - stop))
            set_take_profit(bar.close * (1 + target))
            log(string.format("rsi %.1f: long %s at %.2f", value, quantity, bar.close))
        end
    end
end
