-- RSI mean reversion: buy when RSI(14) falls below 30, sell when it rises above 70.
-- Shows: ta.rsi, thresholds from params, logging of each decision, plot() of the RSI in its own
-- pane with its bands as guide lines (opts.levels).
-- Params: period (14), oversold (30), overbought (70).
-- Expected: completed, trades whenever the RSI crosses the bands.

local rsi = ta.rsi(params.period or 14)
local oversold = params.oversold or 30
local overbought = params.overbought or 70

function on_data(bar)
    local value = rsi:update(bar.close)
    if not value then return end
    plot("rsi", value, { pane = "own", levels = { oversold, overbought } })
    if value < oversold and get_position_size() == 0 then
        local quantity = math.floor(get_cash() * 0.9 / bar.close * 100000) / 100000
        local ok = buy(quantity)
        log(string.format("rsi %.1f: buy %s -> %s", value, quantity, tostring(ok)))
    elseif value > overbought and get_position_size() > 0 then
        close_position()
        log(string.format("rsi %.1f: close", value))
    end
end
