//! Every example strategy in `static/strategies/` runs on the shipped data through the real
//! loader, sandbox and engine, with the outcome its header promises.

use std::{path::PathBuf, sync::Arc};

use chrono::NaiveDate;
use cryptobt_data::{BarCache, CsvMarketData};
use cryptobt_domain::{
    ports::{BacktestRequest, BacktestService, StrategyLimits},
    ActionType, BacktestConfig, BacktestReport, ErrorCode, OrderType, ParamValue, Params,
    RunStatus, Symbol, Timeframe, TradingMode,
};
use cryptobt_engine::Engine;
use cryptobt_sandbox::LuaStrategyFactory;
use rust_decimal::Decimal;

use cryptobt_tests::workspace_root;

fn run(file: &str, mode: TradingMode, max_leverage: u32, params: Params) -> BacktestReport {
    run_on(file, mode, max_leverage, params, &["BTCUSDT"], Timeframe::H1)
}

fn run_on(
    file: &str,
    mode: TradingMode,
    max_leverage: u32,
    params: Params,
    symbols: &[&str],
    timeframe: Timeframe,
) -> BacktestReport {
    let root = workspace_root();
    let source = std::fs::read_to_string(root.join("static/strategies").join(file)).unwrap();
    let (start, end) = match mode {
        TradingMode::Spot => (
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2025, 1, 31).unwrap(),
        ),
        TradingMode::Futures => (
            NaiveDate::from_ymd_opt(2025, 5, 5).unwrap(),
            NaiveDate::from_ymd_opt(2025, 6, 23).unwrap(),
        ),
    };
    let symbols: Vec<Symbol> = symbols.iter().map(|s| Symbol::new(s).unwrap()).collect();
    let config = BacktestConfig::builder(symbols[0], timeframe, start, end)
        .symbols(symbols)
        .trading_mode(mode)
        .max_leverage(Decimal::from(max_leverage))
        .params(params)
        .build()
        .unwrap();
    let market = Arc::new(CsvMarketData::new(root.join("data"), BarCache::new(1 << 26, vec![])));
    let engine = Engine::new(market, Arc::new(LuaStrategyFactory));
    let request =
        BacktestRequest { config, strategy_code: source, limits: StrategyLimits::default() };
    let mut snapshots = Vec::new();
    engine.run(&request, &(), &mut snapshots).unwrap()
}

fn files() -> Vec<String> {
    let dir: PathBuf = workspace_root().join("static/strategies");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".lua"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_has_a_header_and_is_covered_here() {
    let covered = [
        "breakout_trailing.lua",
        "buy_and_hold.lua",
        "limit_grid.lua",
        "liquidated_futures.lua",
        "never_trades.lua",
        "pairs_spread.lua",
        "params_driven.lua",
        "rsi_bracket.lua",
        "rsi_mean_reversion.lua",
        "runtime_error.lua",
        "sma_crossover.lua",
        "trend_filter_4h.lua",
    ];
    assert_eq!(files(), covered, "a new example needs its promise checked here");
    for name in files() {
        let text = std::fs::read_to_string(workspace_root().join("static/strategies").join(&name))
            .unwrap();
        assert!(text.starts_with("-- ") && text.contains("Expected:"), "{name} lacks its header");
    }
}

#[test]
fn buy_and_hold_makes_one_fill_and_stays_exposed() {
    let r = run("buy_and_hold.lua", TradingMode::Spot, 1, Params::new());
    assert_eq!((r.status, r.trades.len()), (RunStatus::Completed, 1));
    assert!(r.rejections.is_empty());
    assert!(r.metrics.exposure.unwrap() > 99.0);
}

#[test]
fn sma_crossover_makes_round_trips() {
    let r = run("sma_crossover.lua", TradingMode::Spot, 1, Params::new());
    assert_eq!(r.status, RunStatus::Completed);
    assert!(r.trades.len() >= 10, "{}", r.trades.len());
    assert!(r.metrics.win_rate.is_some());
    // Any valid params run, the fast period longer than the slow one included.
    for (fast, slow) in [(50.0, 10.0), (20.0, 20.0), (1.0, 2.0)] {
        let mut params = Params::new();
        params.insert("fast".into(), ParamValue::Number(fast));
        params.insert("slow".into(), ParamValue::Number(slow));
        let r = run("sma_crossover.lua", TradingMode::Spot, 1, params);
        assert_eq!(r.status, RunStatus::Completed, "fast {fast} slow {slow}: {:?}", r.error);
    }
}

#[test]
fn rsi_mean_reversion_trades_on_the_bands() {
    let r = run("rsi_mean_reversion.lua", TradingMode::Spot, 1, Params::new());
    assert_eq!(r.status, RunStatus::Completed);
    assert!(!r.trades.is_empty());
    assert!(r.log.iter().any(|l| l.contains(": buy ")), "{:?}", r.log);
    // The RSI in its own pane with the bands as guide lines.
    let rsi = r.plots.iter().find(|p| p.name == "rsi").unwrap();
    assert_eq!(rsi.levels, [30.0, 70.0]);
}

#[test]
fn high_leverage_gets_liquidated() {
    let r = run("liquidated_futures.lua", TradingMode::Futures, 100, Params::new());
    assert_eq!(r.status, RunStatus::Completed);
    assert!(r.metrics.liquidations >= 1);
    assert!(r.metrics.liquidation_losses > Decimal::ZERO);
    assert!(r.metrics.total_funding != Decimal::ZERO, "funding from the shipped file was settled");
}

#[test]
fn never_trades_has_null_trade_metrics() {
    let r = run("never_trades.lua", TradingMode::Spot, 1, Params::new());
    assert_eq!((r.status, r.trades.len()), (RunStatus::Completed, 0));
    assert_eq!(r.metrics.total_return, Some(0.0));
    assert_eq!(
        (r.metrics.win_rate, r.metrics.profit_factor, r.metrics.avg_leverage),
        (None, None, None)
    );
}

#[test]
fn runtime_error_fails_with_its_line() {
    let r = run("runtime_error.lua", TradingMode::Spot, 1, Params::new());
    assert_eq!(r.status, RunStatus::Failed);
    let e = r.error.unwrap();
    assert_eq!((e.code, e.line), (ErrorCode::RuntimeError, Some(12)));
    assert_eq!(r.bars, 10, "the bars before the error are kept");
}

#[test]
fn params_change_what_params_driven_does() {
    let trades = |lookback: f64, side: &str| {
        let mut p = Params::new();
        p.insert("lookback".into(), ParamValue::Number(lookback));
        p.insert("side".into(), ParamValue::Text(side.into()));
        let r = run("params_driven.lua", TradingMode::Futures, 1, p);
        assert_eq!(r.status, RunStatus::Completed);
        r.trades
    };
    let long = trades(20.0, "long");
    let short = trades(20.0, "short");
    let slow = trades(200.0, "long");
    assert!(!long.is_empty() && !short.is_empty());
    assert_eq!(long[0].position_type.as_str(), "long");
    assert_eq!(short[0].position_type.as_str(), "short");
    assert_ne!(long.len(), slow.len(), "the lookback changes the trades");
}

#[test]
fn rsi_bracket_exits_at_its_levels_inside_the_bar() {
    let r = run("rsi_bracket.lua", TradingMode::Spot, 1, Params::new());
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let (mut stops, mut targets) = (0, 0);
    for pair in r.trades.windows(2) {
        let (entry, exit) = (&pair[0], &pair[1]);
        if exit.action != ActionType::Sell {
            continue;
        }
        assert_eq!(entry.order_type, OrderType::Market, "entries are market buys");
        let level = |f: &str| entry.price * (Decimal::ONE + f.parse::<Decimal>().unwrap());
        match exit.order_type {
            OrderType::StopLoss => {
                stops += 1;
                let at = level("-0.015");
                // At its level (to the f64 the script passed), or at a gap open below it.
                assert!(
                    (exit.price - at).abs() < Decimal::new(1, 6) || exit.price < at,
                    "stop-loss at {} for a level of {at}",
                    exit.price
                );
            }
            OrderType::TakeProfit => {
                targets += 1;
                let at = level("0.03");
                assert!((exit.price - at).abs() < Decimal::new(1, 6) || exit.price > at);
            }
            other => panic!("an exit by {other}"),
        }
    }
    assert!(stops >= 1 && targets >= 1, "{stops} stop-losses, {targets} take-profits");
}

#[test]
fn breakout_enters_on_stops_and_leaves_on_the_trailing_stop() {
    let r = run("breakout_trailing.lua", TradingMode::Spot, 1, Params::new());
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert!(r.trades.len() >= 2);
    for t in &r.trades {
        match t.action {
            ActionType::Buy => {
                assert_eq!((t.order_type, t.tag.as_deref()), (OrderType::Stop, Some("breakout")));
            }
            _ => assert_eq!(t.order_type, OrderType::TrailingStop),
        }
    }
}

#[test]
fn limit_grid_fills_only_limits_at_the_maker_fee_inside_the_bar() {
    let r = run("limit_grid.lua", TradingMode::Futures, 1, Params::new());
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let (maker, taker) = (Decimal::new(2, 4), Decimal::new(5, 4));
    let mut makers = 0;
    for t in &r.trades {
        assert_eq!(t.order_type, OrderType::Limit);
        let tag = if t.action == ActionType::Buy { "grid-buy" } else { "grid-sell" };
        assert_eq!(t.tag.as_deref(), Some(tag));
        let notional = t.quantity * t.price;
        let fee = t.fee.round_dp(10);
        if fee == (notional * maker).round_dp(10) {
            makers += 1;
        } else {
            assert_eq!(fee, (notional * taker).round_dp(10), "a limit fill pays maker or taker");
        }
    }
    assert!(makers * 2 > r.trades.len(), "most grid fills are made on the path");
}

/// The pairs example trades both legs of the futures data: round trips on BTC and on ETH, and a
/// run on BTC alone fails naming the run's symbols.
#[test]
fn pairs_spread_trades_both_symbols() {
    let report = run_on(
        "pairs_spread.lua",
        TradingMode::Futures,
        1,
        Params::new(),
        &["BTCUSDT", "ETHUSDT"],
        Timeframe::H1,
    );
    assert_eq!(report.status, RunStatus::Completed, "{:?}", report.error);
    let by = report.metrics.by_symbol.as_ref().unwrap();
    assert_eq!(by.0.len(), 2);
    for (symbol, m) in &by.0 {
        assert!(m.round_trips > 0, "{symbol} made no round trip");
    }
    let alone = run("pairs_spread.lua", TradingMode::Futures, 1, Params::new());
    assert_eq!(alone.status, RunStatus::Failed);
    let error = alone.error.unwrap();
    assert!(error.message.contains("its symbols: BTCUSDT"), "{}", error.message);
}

/// The 4h trend filter on 15m bars enters with stop-losses set.
#[test]
fn trend_filter_enters_with_stops() {
    let report = run_on(
        "trend_filter_4h.lua",
        TradingMode::Spot,
        1,
        Params::new(),
        &["BTCUSDT"],
        Timeframe::M15,
    );
    assert_eq!(report.status, RunStatus::Completed, "{:?}", report.error);
    let entries = report.trades.iter().filter(|t| t.action == ActionType::Buy).count();
    assert!(entries > 0, "no entry");
    assert!(
        report.trades.iter().any(|t| t.order_type == OrderType::StopLoss),
        "no stop-loss fired"
    );
}
