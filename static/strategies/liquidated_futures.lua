-- High leverage that gets liquidated (futures): opens a 100x long with nearly all the cash on
-- the first bar. A move of about 0.5 % against it reaches the liquidation price, the whole
-- isolated margin is lost as on Binance, and the strategy opens again, until the money is gone.
-- Run with: --mode futures --max-leverage 100
-- Expected: completed, at least one liquidation, liquidation_losses > 0.

function on_data(bar)
    if get_position_size() == 0 and get_cash() > 10 then
        local margin = get_cash() * 0.9
        local quantity = math.floor(margin * 100 / bar.close * 1000) / 1000
        if quantity >= 0.001 then
            buy(quantity, 100)
        end
    end
end
