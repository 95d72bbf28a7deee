-- SMA crossover with two members that go wrong on purpose (for benches/sweeps/scale.sh):
-- fast = 13, slow = 78 raises a runtime error at its 100th bar; fast = 7, slow = 50 loops forever
-- and hits the time limit. Every other member trades like static/strategies/sma_crossover.lua.

local fast_period = params.fast or 10
local slow_period = params.slow or 30
local fast, slow
local above = nil
local bars = 0

function initialize()
    fast = ta.sma(fast_period)
    slow = ta.sma(slow_period)
end

function on_data(bar)
    bars = bars + 1
    if fast_period == 13 and slow_period == 78 and bars == 100 then
        error("member fast=13 slow=78 fails on purpose")
    end
    if fast_period == 7 and slow_period == 50 and bars == 100 then
        while true do end
    end
    local f = fast:update(bar.close)
    local s = slow:update(bar.close)
    if not (f and s) then return end
    local now = f > s
    if above ~= nil and now ~= above then
        if now and get_position_size() == 0 then
            buy(math.floor(get_cash() * 0.5 / bar.close * 100000) / 100000)
        elseif not now and get_position_size() > 0 then
            close_position()
        end
    end
    above = now
end
