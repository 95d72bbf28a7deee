//! Every example strategy in `static/strategies/` runs on the shipped data through the real
//! loader, sandbox and engine, with the outcome its header promises.

use std::{path::PathBuf, sync::Arc};

use chrono::NaiveDate;
use cryptobt_data::{BarCache, CsvMarketData};
use cryptobt_domain::{
    ports::{BacktestRequest, BacktestService, StrategyLimits},
    BacktestConfig, BacktestReport, ErrorCode, ParamValue, Params, RunStatus, Symbol, Timeframe,
    TradingMode,
};
use cryptobt_engine::Engine;
use cryptobt_sandbox::LuaStrategyFactory;
use rust_decimal::Decimal;

use cryptobt_tests::workspace_root;

fn run(file: &str, mode: TradingMode, max_leverage: u32, params: Params) -> BacktestReport {
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
    let config =
        BacktestConfig::builder(Symbol::new("BTCUSDT").unwrap(), Timeframe::H1, start, end)
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
        "buy_and_hold.lua",
        "liquidated_futures.lua",
        "never_trades.lua",
        "params_driven.lua",
        "rsi_mean_reversion.lua",
        "runtime_error.lua",
        "sma_crossover.lua",
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
