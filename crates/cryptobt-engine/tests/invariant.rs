//! Property test: random strategies that place limit and stop orders (with options), cancel
//! them, set and clear exits and send market orders, over random bars walked by the intrabar path
//! (the bar rule and 1m bars), keep the ledger invariant of docs/design.md#money at every bar close:
//! `cash + margin_used == initial + Σ trade pnl + Σ funding`, with every trade and funding
//! payment recorded, and each fill's order type consistent with its action; a run without a
//! snapshot sink measures the same metrics. (Cash itself may go below zero: docs/design.md#pending-orders-and-exits books a
//! slipped stop beyond the liquidation price as written.)

#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::sync::Arc;

use chrono::NaiveDate;
use cryptobt_domain::{
    ports::{BarSeries, SharedContext, Strategy as RunStrategy, StrategyError},
    testkit::btc,
    ActionType, BacktestConfig, Bar, ExitKind, Intrabar, OrderKind, OrderOptions, OrderRequest,
    OrderSide, OrderType, Timeframe, TradingMode,
};
use cryptobt_engine::Backtest;
use proptest::prelude::*;
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
enum Call {
    Market { buy: bool, qty: u32, lev: u8 },
    Close { pct: u8 },
    Place(Placement),
    Cancel { id: u8 },
    CancelAll,
    Exit { kind: u8, bp: Option<u32> },
}

#[derive(Debug, Clone)]
struct Placement {
    buy: bool,
    stop: bool,
    qty: u32,
    offset_bp: i32,
    lev: u8,
    reduce_only: bool,
    sl_bp: Option<i32>,
    tp_bp: Option<i32>,
}

fn call() -> impl proptest::strategy::Strategy<Value = Call> {
    let placement = (
        any::<bool>(),
        any::<bool>(),
        1u32..20_000,
        -400i32..400,
        1u8..=20,
        any::<bool>(),
        proptest::option::of(-500i32..500),
        proptest::option::of(-500i32..500),
    )
        .prop_map(|(buy, stop, qty, offset_bp, lev, reduce_only, sl_bp, tp_bp)| {
            Call::Place(Placement { buy, stop, qty, offset_bp, lev, reduce_only, sl_bp, tp_bp })
        });
    prop_oneof![
        (any::<bool>(), 1u32..20_000, 1u8..=20).prop_map(|(buy, qty, lev)| Call::Market {
            buy,
            qty,
            lev
        }),
        (1u8..=100).prop_map(|pct| Call::Close { pct }),
        placement.clone(),
        placement,
        (0u8..20).prop_map(|id| Call::Cancel { id }),
        Just(Call::CancelAll),
        (0u8..3, proptest::option::of(1u32..600)).prop_map(|(kind, bp)| Call::Exit { kind, bp }),
    ]
}

/// A random walk of hourly bars around 100 (and each hour's 60 minutes: open → low at minute
/// 20 → high at minute 45 → close).
fn bars(moves: &[(i32, u32, u32)]) -> (Vec<Bar>, Vec<Bar>) {
    let bp = |x: i64| Decimal::new(x, 4);
    let mut price = Decimal::from(100);
    let (mut hours, mut mins) = (Vec::new(), Vec::new());
    for (i, (mv, up, down)) in moves.iter().enumerate() {
        let ts = 1_735_689_600_000 + i as i64 * 3_600_000;
        let open = price;
        let close = (open * (Decimal::ONE + bp(i64::from(*mv)))).round_dp(2);
        let high = (open.max(close) * (Decimal::ONE + bp(i64::from(*up)))).round_dp(2);
        let low = (open.min(close) * (Decimal::ONE - bp(i64::from(*down)))).round_dp(2);
        hours.push(Bar { timestamp: ts, open, high, low, close, volume: Decimal::ONE });
        let at = |m: i64| -> Decimal {
            let (a, b, m0, m1) = match m {
                0..=20 => (open, low, 0, 20),
                21..=45 => (low, high, 20, 45),
                _ => (high, close, 45, 60),
            };
            (a + (b - a) * Decimal::from(m - m0) / Decimal::from(m1 - m0)).round_dp(4)
        };
        for m in 0..60 {
            let (o, c) = (at(m), at(m + 1));
            mins.push(Bar {
                timestamp: ts + m * 60_000,
                open: o,
                high: o.max(c),
                low: o.min(c),
                close: c,
                volume: Decimal::ONE,
            });
        }
        price = close;
    }
    (hours, mins)
}

struct Random {
    calls: Vec<Vec<Call>>,
    bar: usize,
}

impl Random {
    fn place(ctx: &SharedContext, price: Decimal, p: &Placement) {
        let at = |x: i32| (price * (Decimal::ONE + Decimal::new(i64::from(x), 4))).round_dp(2);
        let options = OrderOptions {
            leverage: Some(Decimal::from(p.lev)),
            reduce_only: p.reduce_only,
            stop_loss: p.sl_bp.map(at),
            take_profit: p.tp_bp.map(at),
            tag: Some("p".into()),
        };
        let _ = ctx.place_order(
            ctx.symbol(),
            OrderRequest {
                side: if p.buy { OrderSide::Buy } else { OrderSide::Sell },
                kind: if p.stop { OrderKind::Stop } else { OrderKind::Limit },
                quantity: Decimal::new(i64::from(p.qty), 4),
                price: at(p.offset_bp),
                options,
            },
        );
    }

    fn exit(ctx: &SharedContext, price: Decimal, kind: u8, bp: Option<u32>) {
        let long = ctx.position_size(ctx.symbol()) > Decimal::ZERO;
        let kind = [ExitKind::StopLoss, ExitKind::TakeProfit, ExitKind::Trailing][kind as usize];
        let value = bp.map(|x| {
            let f = Decimal::new(i64::from(x), 4);
            match kind {
                ExitKind::Trailing => f,
                ExitKind::StopLoss if long => price * (Decimal::ONE - f),
                ExitKind::StopLoss => price * (Decimal::ONE + f),
                ExitKind::TakeProfit if long => price * (Decimal::ONE + f),
                ExitKind::TakeProfit => price * (Decimal::ONE - f),
            }
        });
        let _ = ctx.set_exit(ctx.symbol(), kind, value);
    }
}

impl RunStrategy for Random {
    fn on_bar(&mut self, bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
        let price = bar.close;
        for c in self.calls.get(self.bar).into_iter().flatten() {
            match c {
                Call::Market { buy, qty, lev } => {
                    let side = if *buy { OrderSide::Buy } else { OrderSide::Sell };
                    let _ = ctx.submit(
                        ctx.symbol(),
                        side,
                        Decimal::new(i64::from(*qty), 4),
                        Decimal::from(*lev),
                    );
                }
                Call::Close { pct } => {
                    let _ = ctx.close_position(ctx.symbol(), Decimal::from(*pct));
                }
                Call::Place(p) => Self::place(ctx, price, p),
                Call::Cancel { id } => {
                    ctx.cancel_order(u64::from(*id));
                }
                Call::CancelAll => {
                    ctx.cancel_all_orders();
                }
                Call::Exit { kind, bp } => Self::exit(ctx, price, *kind, *bp),
            }
        }
        self.bar += 1;
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_holds_through_orders_exits_and_the_path(
        moves in proptest::collection::vec((-300i32..300, 0u32..300, 0u32..300), 2..40),
        calls in proptest::collection::vec(proptest::collection::vec(call(), 0..4), 40),
        futures in any::<bool>(),
        minutes in any::<bool>(),
    ) {
        let (hours, mins) = bars(&moves);
        let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let mode = if futures { TradingMode::Futures } else { TradingMode::Spot };
        let initial = Decimal::from(1_000);
        let config = BacktestConfig::builder(btc(), Timeframe::H1, day, day)
            .trading_mode(mode)
            .max_leverage(if futures { Decimal::from(20) } else { Decimal::ONE })
            .slippage_bps(Decimal::from(3))
            .funding_rate(if futures { Decimal::new(1, 4) } else { Decimal::ZERO })
            .intrabar(if minutes { Intrabar::OneMinute } else { Intrabar::Bar })
            .initial_capital(initial)
            .build()
            .unwrap();
        let series = BarSeries::new(vec![Arc::from(hours)]);
        let minute_series = BarSeries::new(vec![Arc::from(mins)]);
        let mut backtest = Backtest::new(&config, &series);
        if minutes {
            backtest = backtest.minutes(&minute_series);
        }
        let mut strategy = Random { calls: calls.clone(), bar: 0 };
        let report = backtest.run(&mut strategy, &());
        // A run whose snapshots go nowhere values only equity and exposure: the same metrics.
        let bare = backtest.run_into(&mut Random { calls, bar: 0 }, &(), &mut ());
        prop_assert_eq!(&bare.metrics, &report.metrics);
        prop_assert_eq!(&bare.daily_returns, &report.daily_returns);
        prop_assert!(bare.snapshots.is_empty());
        // At every close: cash + margin == initial + realized (Σ pnl + Σ funding so far).
        for s in &report.snapshots {
            cryptobt_domain::testkit::assert_balanced(s.cash + s.margin_used, initial + s.realized_pnl);
        }
        let pnl: Decimal = report.trades.iter().map(|t| t.pnl).sum();
        let funding: Decimal = report.funding.iter().map(|f| f.amount).sum();
        let last = report.snapshots.last().unwrap();
        cryptobt_domain::testkit::assert_balanced(last.realized_pnl, pnl + funding);
        for t in &report.trades {
            prop_assert_eq!(
                t.action == ActionType::Liquidation,
                t.order_type == OrderType::Liquidation
            );
            prop_assert_eq!(
                t.tag.is_some(),
                matches!(t.order_type, OrderType::Limit | OrderType::Stop)
            );
            prop_assert!(t.fee >= Decimal::ZERO || t.order_type == OrderType::Liquidation);
        }
    }
}
