-- Driven entirely by params: a breakout strategy whose lookback, side and size come from
-- --param NAME=VALUE (CLI) or "params" (API).
-- Params: lookback (20), side ("long" or "short"; short needs --mode futures), size (0.01),
--         leverage (1).
-- Buys (or sells) when the close breaks the highest high (lowest low) of the lookback, and
-- closes on the opposite break.
-- Expected: completed; the trade count changes with the params.

local lookback = params.lookback or 20
local side = params.side or "long"
local size = params.size or 0.01
local leverage = params.leverage or 1
local highest = ta.highest(lookback)
local lowest = ta.lowest(lookback)
local prev_high, prev_low

function on_data(bar)
    local position = get_position_size()
    if prev_high and prev_low then
        if bar.close > prev_high then
            if side == "long" and position == 0 then buy(size, leverage)
            elseif side == "short" and position < 0 then close_position() end
        elseif bar.close < prev_low then
            if side == "short" and position == 0 then sell(size, leverage)
            elseif side == "long" and position > 0 then close_position() end
        end
    end
    prev_high = highest:update(bar.high)
    prev_low = lowest:update(bar.low)
end
