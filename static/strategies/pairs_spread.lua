-- Pairs: trade the BTC/ETH spread back to its mean.
-- Run: --mode futures --symbol BTCUSDT,ETHUSDT --timeframe 1h
-- Shows: market(sym) handles, history(n) of two symbols, size_for_equity, two legs in one cash.
-- Params: lookback (bars, default 48), entry (log-spread distance, default 0.02),
--         exit (default 0.005), share (percent of equity per leg, default 40).
-- Expected: completed, round trips on both symbols on the shipped futures data.

local lookback = params.lookback or 48
local entry = params.entry or 0.02
local exit = params.exit or 0.005
local share = params.share or 40
local eth = market("ETHUSDT")

-- The log spread of this bar against its mean over the last `lookback` bars.
local function spread(bar)
    local btc_h, eth_h = history(lookback), eth:history(lookback)
    if #btc_h < lookback then return nil end
    local sum = 0
    for i = 1, lookback do
        sum = sum + math.log(btc_h[i].close / eth_h[i].close)
    end
    return math.log(bar.close / eth.bar.close) - sum / lookback
end

function on_data(bar)
    local s = spread(bar)
    if not s then return end
    local flat = get_position_size() == 0 and eth:get_position_size() == 0
    if flat and math.abs(s) > entry then
        local size, eth_size = size_for_equity(share), eth:size_for_equity(share)
        if s > 0 then
            -- BTC rich against ETH: sell BTC, buy ETH.
            sell(size)
            eth:buy(eth_size)
        else
            buy(size)
            eth:sell(eth_size)
        end
    elseif not flat and math.abs(s) < exit then
        close_position()
        eth:close_position()
    end
end
