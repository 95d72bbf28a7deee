//! Property tests: random order sequences and price paths keep the ledger invariant of docs/design.md#money
//! exactly after every step, refused orders change nothing, and liquidation never drives cash or
//! equity below zero.

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::testkit::{btc, config};

#[derive(Debug, Clone)]
enum Step {
    Buy {
        qty: u32,
        lev: u8,
    },
    Sell {
        qty: u32,
        lev: u8,
    },
    Close {
        pct: u8,
    },
    /// An amount a strategy passes as f64: up to 17 significant digits.
    BuyF64 {
        amount: f64,
        lev: u8,
    },
    SellF64 {
        amount: f64,
        lev: u8,
    },
    /// `close_position(100 − 10⁻ᵏ)`: a remainder far below the minimum size.
    CloseAlmostAll {
        k: u8,
    },
    /// An opposite order for the position's size less (or more) 10⁻ᵏ.
    ReduceAllBut {
        k: u8,
        more: bool,
    },
    Bar {
        move_bp: i32,
        wick_bp: u32,
    },
    Funding {
        rate_bp: i32,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        // Quantities 0.00001 .. 3 in steps of 0.00001; leverage 1..=100 (some out of range).
        (1u32..300_000, 0u8..=110).prop_map(|(qty, lev)| Step::Buy { qty, lev }),
        (1u32..300_000, 0u8..=110).prop_map(|(qty, lev)| Step::Sell { qty, lev }),
        (0u8..=110).prop_map(|pct| Step::Close { pct }),
        (0.00001f64..3.0, 0u8..=110).prop_map(|(amount, lev)| Step::BuyF64 { amount, lev }),
        (0.00001f64..3.0, 0u8..=110).prop_map(|(amount, lev)| Step::SellF64 { amount, lev }),
        (6u8..=16).prop_map(|k| Step::CloseAlmostAll { k }),
        (6u8..=20, any::<bool>()).prop_map(|(k, more)| Step::ReduceAllBut { k, more }),
        (-1_500i32..=1_500, 0u32..=800)
            .prop_map(|(move_bp, wick_bp)| Step::Bar { move_bp, wick_bp }),
        (-30i32..=30).prop_map(|rate_bp| Step::Funding { rate_bp }),
    ]
}

fn bp(x: i64) -> Decimal {
    Decimal::new(x, 4)
}

#[track_caller]
fn invariant(p: &Portfolio) {
    crate::testkit::assert_balanced(
        p.cash() + p.margin_used(),
        p.initial_capital() + p.realized_pnl() + p.total_funding(),
    );
}

fn run(mode: TradingMode, slippage_bps: u16, steps: &[Step]) {
    let max_lev = if mode == TradingMode::Futures { Decimal::ONE_HUNDRED } else { Decimal::ONE };
    let base = config(mode, Decimal::from(10_000), max_lev);
    let rules = PortfolioRules { slippage_bps: slippage_bps.into(), ..PortfolioRules::from(&base) };
    let mut p = Portfolio::with_rules(base.initial_capital(), rules);
    let mut close = Decimal::from(30_000);
    let mut t = 0i64;
    for step in steps {
        t += 60_000;
        let before = p.clone();
        let outcome = match *step {
            Step::Buy { qty, lev } => {
                p.submit(btc(), OrderSide::Buy, Decimal::new(qty.into(), 5), lev.into(), close, t)
            }
            Step::Sell { qty, lev } => {
                p.submit(btc(), OrderSide::Sell, Decimal::new(qty.into(), 5), lev.into(), close, t)
            }
            Step::Close { pct } => p.close_position(btc(), pct.into(), close, t),
            Step::BuyF64 { amount, lev } | Step::SellF64 { amount, lev } => {
                let side = if matches!(step, Step::BuyF64 { .. }) {
                    OrderSide::Buy
                } else {
                    OrderSide::Sell
                };
                let qty = crate::money::decimal_from_f64(amount).expect("a finite amount");
                p.submit(btc(), side, qty, lev.into(), close, t)
            }
            Step::CloseAlmostAll { k } => {
                let pct = Decimal::ONE_HUNDRED - Decimal::new(1, k.into());
                p.close_position(btc(), pct, close, t)
            }
            Step::ReduceAllBut { k, more } => {
                let size = p.position_size(btc());
                let tiny = Decimal::new(1, k.into());
                let qty = if more { size.abs() + tiny } else { size.abs() - tiny };
                let side = if size.is_sign_negative() { OrderSide::Buy } else { OrderSide::Sell };
                p.submit(btc(), side, qty, Decimal::ONE, close, t)
            }
            Step::Bar { move_bp, wick_bp } => {
                let next = (close * (Decimal::ONE + bp(move_bp.into()))).round_dp(2);
                let low = (close.min(next) * (Decimal::ONE - bp(wick_bp.into()))).round_dp(2);
                let high = (close.max(next) * (Decimal::ONE + bp(wick_bp.into()))).round_dp(2);
                if let Some(liq) = p.liquidate_if_reached(btc(), low, high, t) {
                    assert_eq!(p.cash(), before.cash(), "liquidation must not touch cash");
                    assert_eq!(liq.pnl, -before.margin_used(), "liquidation loses the margin");
                    assert!(liq.fee >= Decimal::ZERO, "clearance fee {} < 0", liq.fee);
                    // The margin is the whole loss: equity after is the untouched cash, so it can
                    // only be negative if funding had already taken cash below zero (docs/design.md
                    // debits funding from cash; see docs/ledger.md).
                    assert_eq!(p.equity(), before.cash(), "liquidation lost more than the margin");
                    if before.cash() >= Decimal::ZERO {
                        assert!(p.equity() >= Decimal::ZERO, "liquidation made equity negative");
                    }
                }
                close = next.max(Decimal::new(1, 2));
                p.mark(btc(), close);
                Ok(Vec::new())
            }
            Step::Funding { rate_bp } => {
                p.settle_funding(btc(), t, close, bp(rate_bp.into()));
                Ok(Vec::new())
            }
        };
        match outcome {
            Err(_) => assert_eq!(p, before, "a refused order changed the portfolio"),
            Ok(trades) => {
                for trade in &trades {
                    assert!(trade.quantity > Decimal::ZERO && trade.fee >= Decimal::ZERO);
                }
                if mode == TradingMode::Spot {
                    assert!(p.position_size(btc()) >= Decimal::ZERO, "spot went short");
                    assert!(p.cash() >= Decimal::ZERO, "spot cash went negative");
                }
            }
        }
        invariant(&p);
        if let Some(held) = p.position(btc()) {
            assert!(held.margin() > Decimal::ZERO, "an open position without margin: {held:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn futures_ledger_holds_its_invariant(
        slippage in prop_oneof![Just(0u16), 0u16..=1000],
        steps in prop::collection::vec(step(), 1..60),
    ) {
        run(TradingMode::Futures, slippage, &steps);
    }

    #[test]
    fn spot_ledger_holds_its_invariant(
        slippage in prop_oneof![Just(0u16), 0u16..=1000],
        steps in prop::collection::vec(step(), 1..60),
    ) {
        run(TradingMode::Spot, slippage, &steps);
    }
}
