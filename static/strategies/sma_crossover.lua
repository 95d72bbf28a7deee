-- SMA crossover: long while the fast simple moving average is above the slow one.
-- Shows: ta.sma, entries and exits on crossings, params with defaults.
-- Params: fast (default 10), slow (default 30), size (fraction of cash, default 0.5).
-- Expected: completed, several round trips on the shipped data.

local fast_period = params.fast or 10
local slow_period = params.slow or 30
local size = params.size or 0.5
local fast, slow
local above = nil

function initialize()
    fast = ta.sma(fast_period)
    slow = ta.sma(slow_period)
end

function on_data(bar)
    local f = fast:update(bar.close)
    local s = slow:update(bar.close)
    if not (f and s) then return end -- whichever period is longer decides when both are ready
    local now = f > s
    if above ~= nil and now ~= above then
        if now and get_position_size() == 0 then
            local quantity = math.floor(get_cash() * size / bar.close * 100000) / 100000
            buy(quantity)
        elseif not now and get_position_size() > 0 then
            close_position()
        end
    end
    above = now
end
