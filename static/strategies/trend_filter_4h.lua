-- Trend filter: 15m breakout entries only while the last closed 4h bar closed above its
-- 4h SMA, each sized to risk 1 % of equity at its stop.
-- Run: --timeframe 15m
-- Shows: history(n, "4h") of closed higher-timeframe bars, size_for_risk, set_stop_loss.
-- Params: trend (4h bars in the SMA, default 12), breakout (15m bars, default 16),
--         risk (percent of equity lost at the stop, default 1), stop (fraction, default 0.01).
-- Expected: completed, entries with stop-losses on the shipped data.

local trend = params.trend or 12
local breakout = params.breakout or 16
local risk = params.risk or 1
local stop = params.stop or 0.01

-- Whether the last closed 4h bar closed above the mean of the last `trend` 4h closes.
local function uptrend()
    local h = history(trend, "4h")
    if #h < trend then return false end
    local sum = 0
    for i = 1, #h do sum = sum + h[i].close end
    return h[#h].close > sum / #h
end

function on_data(bar)
    local recent = history(breakout + 1)
    if #recent <= breakout then return end
    local high = 0
    for i = 1, breakout do high = math.max(high, recent[i].high) end
    if get_position_size() == 0 then
        if bar.close > high and uptrend() then
            local level = bar.close * (1 - stop)
            local size = size_for_risk(risk, bar.close, level)
            -- Keep the notional within the cash: risk sizing can ask for more than spot allows.
            size = math.min(size, get_cash() * 0.95 / bar.close)
            if buy(size) then
                set_stop_loss(level)
            end
        end
    elseif not uptrend() then
        close_position()
    end
end
