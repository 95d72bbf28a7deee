-- Buy and hold: spends about 99% of the cash on the first bar and never sells.
-- Shows: a single fill, exposure near 100 %, a return that tracks the benchmark minus the fee.
-- Expected: completed, 1 trade, no rejections.

function on_data(bar)
    if get_position_size() == 0 then
        local quantity = math.floor(get_cash() * 0.99 / bar.close * 100000) / 100000
        local ok, why = buy(quantity)
        if not ok then log("buy refused: " .. why) end
    end
end
