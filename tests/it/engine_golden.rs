//! Golden runs: the scenarios of `tests/fixtures/golden/scenarios.json` through the real engine,
//! compared number by number with `tests/fixtures/golden/expected.json`, which the independent
//! reference `tests/reference/backtest.py` (the rules of docs/design.md in Python `decimal`) produced; then
//! frozen as insta snapshots. Covered: spot, futures long and short, adds, partial closes, a flip,
//! rejected orders, liquidation of a long (through a gap) and of a short, funding from a file and
//! from the flag, `next_open`, slippage, a dropped order, and the `null` cases of the metrics.

use std::{cell::Cell, collections::BTreeMap, path::PathBuf, sync::Arc};

use chrono::NaiveDate;
use cryptobt_domain::{
    ports::{BarSeries, SharedContext, Strategy, StrategyError},
    testkit::btc,
    BacktestConfig, Bar, ExitKind, FillMode, FundingRate, Intrabar, OrderKind, OrderOptions,
    OrderRequest, OrderSide, Timeframe, TradingMode,
};
use cryptobt_engine::Backtest;
use rust_decimal::Decimal;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn dec(v: &Value) -> Decimal {
    v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()).parse().unwrap()
}

/// Places the scenario's orders at their bar indices.
struct Script {
    actions: BTreeMap<usize, Vec<Vec<Value>>>,
    bar: Cell<usize>,
}

impl Strategy for Script {
    fn on_bar(&mut self, _bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
        let i = self.bar.get();
        self.bar.set(i + 1);
        for a in self.actions.get(&i).into_iter().flatten() {
            let kind = a[0].as_str().unwrap();
            let exit = |k: ExitKind| {
                let _ = ctx.set_exit(ctx.symbol(), k, (!a[1].is_null()).then(|| dec(&a[1])));
            };
            match kind {
                "buy_limit" | "sell_limit" | "buy_stop" | "sell_stop" => {
                    let side =
                        if kind.starts_with("buy") { OrderSide::Buy } else { OrderSide::Sell };
                    let kind =
                        if kind.ends_with("limit") { OrderKind::Limit } else { OrderKind::Stop };
                    let o = a.get(3).cloned().unwrap_or_default();
                    let options = OrderOptions {
                        leverage: o.get("leverage").map(dec),
                        reduce_only: o.get("reduce_only").is_some_and(|v| v == true),
                        stop_loss: o.get("stop_loss").map(dec),
                        take_profit: o.get("take_profit").map(dec),
                        tag: o.get("tag").and_then(Value::as_str).map(str::to_owned),
                    };
                    let request = OrderRequest {
                        side,
                        kind,
                        quantity: dec(&a[1]),
                        price: dec(&a[2]),
                        options,
                    };
                    let _ = ctx.place_order(ctx.symbol(), request);
                }
                "cancel" => {
                    ctx.cancel_order(a[1].as_u64().unwrap());
                }
                "cancel_all" => {
                    ctx.cancel_all_orders();
                }
                "sl" => exit(ExitKind::StopLoss),
                "tp" => exit(ExitKind::TakeProfit),
                "trail" => exit(ExitKind::Trailing),
                _ => {
                    let lev = a.get(2).map_or(Decimal::ONE, dec);
                    let _ = match kind {
                        "buy" => ctx.submit(ctx.symbol(), OrderSide::Buy, dec(&a[1]), lev),
                        "sell" => ctx.submit(ctx.symbol(), OrderSide::Sell, dec(&a[1]), lev),
                        _ => ctx.close_position(ctx.symbol(), dec(&a[1])),
                    };
                }
            }
        }
        Ok(())
    }
}

fn config(c: &Value) -> BacktestConfig {
    let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let mode = if c["mode"] == "futures" { TradingMode::Futures } else { TradingMode::Spot };
    let mut b = BacktestConfig::builder(btc(), Timeframe::H1, day, day.succ_opt().unwrap())
        .trading_mode(mode)
        .initial_capital(dec(&c["capital"]));
    if let Some(v) = c.get("max_leverage") {
        b = b.max_leverage(dec(v));
    }
    if let Some(v) = c.get("mmr") {
        b = b.maintenance_margin_rate(dec(v));
    }
    if let Some(v) = c.get("fee") {
        b = b.fee_rate(dec(v));
    }
    if let Some(v) = c.get("slippage_bps") {
        b = b.slippage_bps(dec(v));
    }
    if let Some(v) = c.get("funding_rate") {
        b = b.funding_rate(dec(v));
    }
    if c.get("fill").is_some_and(|f| f == "next_open") {
        b = b.fill(FillMode::NextOpen);
    }
    if let Some(v) = c.get("maker_fee") {
        b = b.maker_fee_rate(dec(v));
    }
    if c.get("intrabar").is_some_and(|f| f == "1m") {
        b = b.intrabar(Intrabar::OneMinute);
    }
    b.build().unwrap()
}

#[track_caller]
fn close(name: &str, what: &str, got: Option<f64>, want: &Value) {
    match (got, want.as_f64()) {
        (None, None) => assert!(want.is_null(), "{name} {what}: got null, reference {want}"),
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 1e-8 * w.abs().max(1.0),
            "{name} {what}: got {g}, reference {w}"
        ),
        _ => panic!("{name} {what}: got {got:?}, reference {want}"),
    }
}

#[test]
fn golden_runs_match_the_independent_reference() {
    let scenarios = fixture("scenarios.json");
    let expected = fixture("expected.json");
    for (name, sc) in scenarios.as_object().unwrap() {
        let cfg = config(&sc["config"]);
        let read_bars = |rows: &Value| -> Vec<Bar> {
            rows.as_array()
                .unwrap()
                .iter()
                .map(|b| Bar {
                    timestamp: b[0].as_i64().unwrap(),
                    open: dec(&b[1]),
                    high: dec(&b[2]),
                    low: dec(&b[3]),
                    close: dec(&b[4]),
                    volume: Decimal::ONE,
                })
                .collect()
        };
        let series = BarSeries::new(vec![Arc::from(read_bars(&sc["bars"]))]);
        let minutes = sc.get("minutes").map(|m| BarSeries::new(vec![Arc::from(read_bars(m))]));
        let rates: Option<Vec<FundingRate>> = sc.get("funding_file").map(|f| {
            let mut r: Vec<_> = f
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| FundingRate { timestamp: k.parse().unwrap(), rate: dec(v) })
                .collect();
            r.sort_by_key(|r| r.timestamp);
            r
        });
        let mut actions: BTreeMap<usize, Vec<Vec<Value>>> = BTreeMap::new();
        for a in sc["actions"].as_array().unwrap() {
            let a = a.as_array().unwrap();
            actions.entry(a[0].as_u64().unwrap() as usize).or_default().push(a[1..].to_vec());
        }
        let mut backtest = Backtest::new(&cfg, &series);
        if let Some(r) = &rates {
            backtest = backtest.funding(r);
        }
        if let (Some(m), Intrabar::OneMinute) = (&minutes, cfg.intrabar()) {
            backtest = backtest.minutes(m);
        }
        let report = backtest.run(&mut Script { actions, bar: Cell::new(0) }, &());
        let want = &expected[name];

        // Fills: time, action, quantity, price, leverage, fee, position type, pnl (8 places).
        let trades = want["trades"].as_array().unwrap();
        assert_eq!(report.trades.len(), trades.len(), "{name}: fills");
        for (t, w) in report.trades.iter().zip(trades) {
            let r8 = |d: Decimal| d.round_dp(8).normalize();
            assert_eq!(t.timestamp, w[0].as_i64().unwrap(), "{name}");
            assert_eq!(t.action.as_str(), w[1], "{name}");
            assert_eq!(t.position_type.as_str(), w[6], "{name}");
            assert_eq!(t.order_type.as_str(), w[8], "{name}: order_type at {}", t.timestamp);
            assert_eq!(t.tag.as_deref(), w[9].as_str(), "{name}: tag at {}", t.timestamp);
            assert_eq!(t.ambiguous, w[10], "{name}: ambiguous at {}", t.timestamp);
            let got = [t.quantity, t.price, t.leverage, t.fee, t.pnl].map(r8);
            let want = [&w[2], &w[3], &w[4], &w[5], &w[7]].map(|v| r8(dec(v)));
            assert_eq!(
                got, want,
                "{name}: [quantity, price, leverage, fee, pnl] at {}",
                t.timestamp
            );
        }
        let funding = want["funding"].as_array().unwrap();
        assert_eq!(report.funding.len(), funding.len(), "{name}: funding payments");
        for (f, w) in report.funding.iter().zip(funding) {
            assert_eq!(
                (f.timestamp, f.amount.round_dp(8)),
                (w[0].as_i64().unwrap(), dec(&w[1]).round_dp(8)),
                "{name}"
            );
        }
        let equity: Vec<Decimal> =
            want["equity"].as_array().unwrap().iter().map(|v| dec(v).round_dp(8)).collect();
        let got: Vec<Decimal> =
            report.snapshots.iter().map(|s| s.portfolio_value.round_dp(8)).collect();
        assert_eq!(got, equity, "{name}: equity curve");
        let rejections: BTreeMap<String, u64> =
            serde_json::from_value(want["rejections"].clone()).unwrap();
        assert_eq!(report.rejections, rejections, "{name}: rejections");
        assert_eq!(report.dropped_orders, want["dropped_orders"].as_u64().unwrap(), "{name}");
        assert_eq!(report.ambiguous_bars, want["ambiguous_bars"].as_u64().unwrap(), "{name}");
        assert_eq!(report.pending_at_end, want["pending_at_end"].as_u64().unwrap(), "{name}");

        // Round trips: every column (decimals to 8 places).
        let trips = want["round_trips"].as_array().unwrap();
        assert_eq!(report.round_trips.len(), trips.len(), "{name}: round trips");
        for (r, w) in report.round_trips.iter().zip(trips) {
            let r8 = |d: Decimal| d.round_dp(8).normalize();
            assert_eq!(
                (r.entry_time, r.exit_time, r.side.as_str(), r.bars_held, r.exit_reason.as_str()),
                (
                    w[0].as_i64().unwrap(),
                    w[1].as_i64().unwrap(),
                    w[2].as_str().unwrap(),
                    w[9].as_u64().unwrap(),
                    w[10].as_str().unwrap()
                ),
                "{name}: round trip"
            );
            let got = [r.max_size, r.entry_price, r.exit_price, r.fees, r.funding, r.pnl].map(r8);
            let want = [&w[3], &w[4], &w[5], &w[6], &w[7], &w[8]].map(|v| r8(dec(v)));
            assert_eq!(got, want, "{name}: [max_size, entry, exit, fees, funding, pnl]");
        }
        assert_eq!(report.open_at_end, want["open_at_end"].as_bool().unwrap(), "{name}");
        let m = &report.metrics;
        let w = &want["metrics"];
        let f = |d: Option<Decimal>| d.map(cryptobt_domain::money::decimal_to_f64);
        close(name, "final_equity", f(m.final_equity), &w["final_equity"]);
        close(name, "total_return", m.total_return, &w["total_return"]);
        close(name, "annualized_return", m.annualized_return, &w["annualized_return"]);
        close(name, "volatility", m.volatility, &w["volatility"]);
        close(name, "sharpe_ratio", m.sharpe_ratio, &w["sharpe_ratio"]);
        close(name, "sortino_ratio", m.sortino_ratio, &w["sortino_ratio"]);
        close(name, "max_drawdown", m.max_drawdown, &w["max_drawdown"]);
        close(name, "win_rate", m.win_rate, &w["win_rate"]);
        close(name, "profit_factor", m.profit_factor, &w["profit_factor"]);
        close(name, "annualized_volatility", m.annualized_volatility, &w["annualized_volatility"]);
        close(name, "calmar_ratio", m.calmar_ratio, &w["calmar_ratio"]);
        close(
            name,
            "max_drawdown_duration_days",
            m.max_drawdown_duration_days,
            &w["max_drawdown_duration_days"],
        );
        close(name, "expectancy", f(m.expectancy), &w["expectancy"]);
        close(name, "largest_win", f(m.largest_win), &w["largest_win"]);
        close(name, "largest_loss", f(m.largest_loss), &w["largest_loss"]);
        close(name, "avg_bars_held", m.avg_bars_held, &w["avg_bars_held"]);
        assert_eq!(m.round_trips, w["round_trips"].as_u64().unwrap(), "{name}");
        assert_eq!(
            m.max_consecutive_losses,
            w["max_consecutive_losses"].as_u64().unwrap(),
            "{name}"
        );
        close(name, "avg_win", f(m.avg_win), &w["avg_win"]);
        close(name, "avg_loss", f(m.avg_loss), &w["avg_loss"]);
        close(name, "avg_leverage", f(m.avg_leverage), &w["avg_leverage"]);
        close(name, "max_leverage", f(m.max_leverage), &w["max_leverage"]);
        close(name, "liquidation_losses", f(Some(m.liquidation_losses)), &w["liquidation_losses"]);
        close(name, "total_fees", f(Some(m.total_fees)), &w["total_fees"]);
        close(name, "total_funding", f(Some(m.total_funding)), &w["total_funding"]);
        close(name, "benchmark_return", m.benchmark_return, &w["benchmark_return"]);
        close(name, "exposure", m.exposure, &w["exposure"]);
        assert_eq!(m.total_trades, w["total_trades"].as_u64().unwrap(), "{name}");
        assert_eq!(m.liquidations, w["liquidations"].as_u64().unwrap(), "{name}");

        // Frozen: any change to a number shows up in review.
        insta::assert_json_snapshot!(
            name.as_str(),
            serde_json::json!({
                "status": report.status,
                "metrics": report.metrics,
                "trades": report.trades,
                "round_trips": report.round_trips,
                "funding": report.funding,
                "rejections": report.rejections,
                "dropped_orders": report.dropped_orders,
                "ambiguous_bars": report.ambiguous_bars,
                "pending_at_end": report.pending_at_end,
            })
        );
    }
}
