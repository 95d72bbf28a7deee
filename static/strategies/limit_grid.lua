-- A limit-order grid: buy limits at 1 %, 2 % and 3 % below the last close and, for what is held,
-- reduce-only sell limits 1 % above each buy. Limit fills made inside the bar pay the maker fee
-- (docs/design.md#pending-orders-and-exits); one the open already crosses fills at the open and pays the taker fee.
-- Shows: buy_limit / sell_limit with opts (reduce_only, tag), get_open_orders, cancel_order.
-- Params: step (0.01), levels (3), size (0.01).
-- Expected: completed, every fill is a limit fill; buys tagged "grid-buy", sells "grid-sell".

local step = params.step or 0.01
local levels = params.levels or 3
local size = params.size or 0.01

function on_data(bar)
    -- Rebuild the buy side around the new close; keep the sells that wait for a profit.
    for _, order in ipairs(get_open_orders()) do
        if order.side == "buy" then cancel_order(order.id) end
    end
    for k = 1, levels do
        buy_limit(size, bar.close * (1 - k * step), { tag = "grid-buy" })
    end
    local held = get_position_size()
    local waiting = 0
    for _, order in ipairs(get_open_orders()) do
        if order.side == "sell" then waiting = waiting + order.amount end
    end
    if held - waiting >= size then
        sell_limit(size, bar.close * (1 + step), { reduce_only = true, tag = "grid-sell" })
    end
end
