//! The six places where the first version's numbers left the rules of docs/design.md (issue 10), each checked
//! through the real sandbox and engine against numbers worked out by hand.

use std::sync::Arc;

use chrono::NaiveDate;
use cryptobt_data::{BarCache, CsvMarketData};
use cryptobt_domain::{
    ports::{BacktestRequest, BacktestService, BarSeries, StrategyLimits},
    testkit, ActionType, BacktestConfig, BacktestReport, Bar, FillMode, FundingRate, PositionType,
    RunStatus, Timeframe, TradingMode,
};
use cryptobt_engine::{Backtest, Engine};
use cryptobt_sandbox::LuaStrategyFactory;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use cryptobt_tests::{lua_strategy, workspace_root};

const HOUR: i64 = 3_600_000;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
}

/// Runs Lua `source` over in-memory `bars` with `config`.
fn run_lua(
    source: &str,
    config: &BacktestConfig,
    bars: Vec<Bar>,
    funding: Option<&[FundingRate]>,
) -> BacktestReport {
    let mut strategy = lua_strategy(source, config);
    let series = BarSeries::new(vec![Arc::from(bars)]);
    let mut backtest = Backtest::new(config, &series);
    if let Some(rates) = funding {
        backtest = backtest.funding(rates);
    }
    backtest.run(strategy.as_mut(), &())
}

fn flat_bars(n: usize, price: Decimal) -> Vec<Bar> {
    (0..n).map(|i| testkit::bar(i as i64 * HOUR, price, price, price, price)).collect()
}

/// Item 1. Spot BTCUSDT 1h on 2025-01-01 with 10 bps of slippage, one `buy(0.1)` on the last
/// bar (23:00, close 94591.79): the fill pays 94591.79 × 1.001 = 94686.38179, the fee is
/// 9.468638179, cash 10000 − 9468.638179 − 9.468638179 = 521.893182821, and the position is
/// worth its cost basis plus (94591.79 − 94686.38179) × 0.1 = −9.459179 at the close, so the
/// final equity is 9981.072182821 — in the snapshot and inside the same `on_data`.
#[test]
fn a_slipped_fill_is_valued_at_the_close_not_at_its_fill_price() {
    let config = BacktestConfig::builder(testkit::btc(), Timeframe::H1, day(1), day(1))
        .slippage_bps(dec!(10))
        .build()
        .unwrap();
    let source = r#"
        function on_data(bar)
            if bar.timestamp == 1735772400000 then
                buy(0.1)
                log(string.format("%.9f %.9f", get_equity(), get_unrealized_pnl()))
            end
        end
    "#;
    let market =
        Arc::new(CsvMarketData::new(workspace_root().join("data"), BarCache::new(1 << 24, vec![])));
    let engine = Engine::new(market, Arc::new(LuaStrategyFactory));
    let request = BacktestRequest {
        config,
        strategy_code: source.to_owned(),
        limits: StrategyLimits::default(),
    };
    let mut snapshots = Vec::new();
    let report = engine.run(&request, &(), &mut snapshots).unwrap();
    assert_eq!(report.status, RunStatus::Completed);
    let fill = &report.trades[0];
    assert_eq!((fill.price, fill.fee), (dec!(94686.38179), dec!(9.468638179)));
    let last = snapshots.last().unwrap();
    assert_eq!(last.cash, dec!(521.893182821));
    assert_eq!(last.margin_used, dec!(9468.638179));
    assert_eq!(last.unrealized_pnl, dec!(-9.459179));
    assert_eq!(last.portfolio_value, dec!(9981.072182821));
    assert_eq!(report.metrics.final_equity, Some(dec!(9981.072182821)));
    assert_eq!(report.log, ["9981.072182821 -9.459179000"]);
}

/// Item 2. A size of 17 significant digits (the shortest decimal of the f64 the strategy
/// passed) comes back to Lua as that same f64, so `sell(get_position_size())` closes exactly,
/// bar after bar. Converted in two rounded steps, about a third came back one unit in the last
/// place off: a dust long left, or a dust short opened.
#[test]
fn the_reported_size_is_the_amount_bought_and_sells_exactly() {
    let config = testkit::config(TradingMode::Futures, dec!(1000000), dec!(10));
    let source = r#"
        local i = 0
        function on_data(bar)
            i = i + 1
            local a = 0.01 + (i * 7919 % 10007) / 10007 * 0.5
            buy(a, 10)
            if get_position_size() ~= a then
                log(string.format("bought %.17g got %.17g", a, get_position_size()))
            end
            sell(get_position_size(), 10)
            if get_position_size() ~= 0 then
                log("left", get_position_size())
            end
        end
    "#;
    let report = run_lua(source, &config, flat_bars(400, dec!(1000)), None);
    assert_eq!(report.status, RunStatus::Completed);
    assert!(report.log.is_empty(), "{:?}", &report.log[..report.log.len().min(5)]);
    assert_eq!(report.trades.len(), 2 * 400);
    let long_mantissas = report.trades.iter().filter(|t| t.quantity.mantissa() >= 1 << 53).count();
    assert!(long_mantissas > 300, "the test needs sizes beyond 2^53: {long_mantissas}");
    for pair in report.trades.chunks(2) {
        assert_eq!(pair[1].quantity, pair[0].quantity, "{pair:?}");
        assert_eq!(pair[1].position_type, PositionType::Long);
    }
}

/// A reduction fills exactly what was asked, however small the remainder (docs/ledger.md,
/// "Reductions fill exactly what was asked"). `close_position(99.99999999999999)` of 0.02 BTC
/// sells 0.02 × 99.99999999999999 / 100 = 0.019999999999999998 and keeps 2e-18 BTC with its
/// share of the margin (1.9e-15); `close_position()` on the next bar closes that remainder.
#[test]
fn a_reduction_leaves_its_remainder_and_close_position_closes_it() {
    let config = testkit::config(TradingMode::Futures, dec!(10000), dec!(100));
    let source = r#"
        function on_data(bar)
            if bar.timestamp == 0 then
                buy(0.02, 100)
                log(tostring(close_position(99.99999999999999)), get_position_size())
            elseif bar.timestamp == 3600000 then
                log(tostring(close_position()), get_position_size())
            end
        end
    "#;
    let report = run_lua(source, &config, flat_bars(3, dec!(95000)), None);
    assert_eq!(report.log, ["true\t0.000000000000000002", "true\t0"]);
    let sizes: Vec<_> = report.trades.iter().map(|t| t.quantity).collect();
    assert_eq!(sizes, [dec!(0.02), dec!(0.019999999999999998), dec!(0.000000000000000002)]);
    assert_eq!(report.metrics.liquidations, 0);
    assert!(!report.open_at_end);
}

/// `sell(math.floor(size * 1e5) / 1e5)`, the usual way to trade whole steps of 0.00001, sells
/// exactly that: a long of 0.0123437 sells 0.01234 and keeps 0.0000037 (3.7e-6, below the
/// minimum trade size), which a later `close_position()` closes.
#[test]
fn selling_whole_steps_keeps_the_remainder() {
    let config = testkit::config(TradingMode::Spot, dec!(10000), dec!(1));
    let source = r#"
        function on_data(bar)
            if bar.timestamp == 0 then
                buy(0.0123437)
                sell(math.floor(get_position_size() * 1e5) / 1e5)
                log(get_position_size())
            elseif bar.timestamp == 3600000 then
                close_position()
            end
        end
    "#;
    let report = run_lua(source, &config, flat_bars(3, dec!(90000)), None);
    assert_eq!(report.log, ["0.0000037"]);
    let sizes: Vec<_> = report.trades.iter().map(|t| t.quantity).collect();
    assert_eq!(sizes, [dec!(0.0123437), dec!(0.01234), dec!(0.0000037)]);
}

/// Item 5. With `fill = next_open` an order call returns true; its size limits are checked at
/// the fill, where a refusal is recorded.
#[test]
fn next_open_checks_limits_at_the_fill() {
    let config = BacktestConfig::builder(testkit::btc(), Timeframe::H1, day(1), day(1))
        .fill(FillMode::NextOpen)
        .build()
        .unwrap();
    let source = r#"
        function on_data(bar)
            if bar.timestamp == 0 then
                log(tostring(buy(2000000)), tostring(buy(0.000001)), tostring(close_position(150)))
                log(tostring(buy(0.01)))
            end
        end
    "#;
    let report = run_lua(source, &config, flat_bars(3, dec!(100)), None);
    assert_eq!(report.log, ["true\ttrue\ttrue", "true"]);
    let codes: Vec<(&str, u64)> = report.rejections.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        codes,
        [("above_max_size", 1), ("below_min_size", 1), ("invalid_percentage", 1)],
        "recorded at the next open"
    );
    assert_eq!(report.trades.len(), 1);
    assert_eq!((report.trades[0].timestamp, report.trades[0].quantity), (HOUR, dec!(0.01)));
}

/// Item 6. Funding times the published rates do not list use the config's `funding_rate`, and
/// the report counts them. A long of 1 BTC at 100 held from 00:00 over bars to 2025-01-02 08:00
/// crosses the funding times 08:00, 16:00, 00:00 and 08:00; only 08:00 of the first day is
/// listed (rate 0.001 → pays 0.1); the other three pay 1 × 100 × 0.0002 = 0.02 each.
#[test]
fn funding_times_without_a_rate_fall_back_to_the_config_and_are_counted() {
    let config = BacktestConfig::builder(testkit::btc(), Timeframe::H1, day(1), day(2))
        .trading_mode(TradingMode::Futures)
        .funding_rate(dec!(0.0002))
        .build()
        .unwrap();
    let source = r#"
        function on_data(bar)
            if bar.timestamp == 0 then buy(1) end
        end
    "#;
    let rates = [FundingRate { timestamp: 8 * HOUR, rate: dec!(0.001) }];
    let report = run_lua(source, &config, flat_bars(33, dec!(100)), Some(&rates));
    assert_eq!(report.status, RunStatus::Completed);
    let paid: Vec<Decimal> = report.funding.iter().map(|f| f.amount).collect();
    assert_eq!(paid, [dec!(-0.1), dec!(-0.02), dec!(-0.02), dec!(-0.02)]);
    assert_eq!(report.funding_fallbacks, 3);
    assert!(report.trades.iter().all(|t| t.action == ActionType::Buy));
    assert_eq!(report.metrics.total_funding, dec!(-0.16));
}

/// A run that makes more fills than its limit fails with `fill_limit_exceeded`, keeping what it
/// recorded up to there.
#[test]
fn a_run_past_its_fill_limit_fails_clearly() {
    let config = testkit::config(TradingMode::Futures, dec!(1000000), dec!(10));
    let mut strategy = lua_strategy(
        "function on_data(b) for i = 1, 10 do buy(0.001) sell(0.001) end end",
        &config,
    );
    let series = BarSeries::new(vec![Arc::from(flat_bars(100, dec!(1000)))]);
    let report = Backtest::new(&config, &series).max_fills(50).run(strategy.as_mut(), &());
    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap();
    assert_eq!(error.code, cryptobt_domain::ErrorCode::FillLimitExceeded);
    assert_eq!(error.message, "the run made 60 fills, more than the limit of 50 per run");
    assert_eq!((report.bars, report.trades.len()), (3, 60));
}
