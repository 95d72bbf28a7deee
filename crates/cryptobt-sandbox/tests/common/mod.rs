//! A real `StrategyContext` over a real `Portfolio` for driving Lua strategies bar by bar in
//! tests (the engine has its own; this one fills at the bar's close, nothing more).

#![allow(dead_code, reason = "each test binary uses a different part of these helpers")]
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::{rc::Rc, time::Duration};

use cryptobt_domain::{
    ports::{SharedContext, Strategy, StrategyError, StrategyLimits},
    testkit, Bar, Params,
};
use cryptobt_sandbox::LuaStrategy;
use rust_decimal::Decimal;

pub(crate) use cryptobt_domain::testkit::Desk;

/// A futures desk with 10,000 USDT.
pub(crate) fn futures_desk() -> Rc<Desk> {
    Desk::new(testkit::futures(Decimal::from(10_000)))
}

/// Limits for tests: 1 s, 16 MiB, 10 orders per bar, 1 KiB of log.
pub(crate) fn limits() -> StrategyLimits {
    StrategyLimits {
        memory_bytes: 16 << 20,
        max_duration: Duration::from_secs(1),
        max_orders_per_bar: 10,
        max_log_bytes: 1_024,
        ..StrategyLimits::default()
    }
}

pub(crate) fn load(source: &str) -> Result<LuaStrategy, StrategyError> {
    LuaStrategy::load(source, testkit::btc(), &Params::new(), &limits())
}

/// A bar at minute `i` around 100.
pub(crate) fn bar(i: i64, close: f64) -> Bar {
    let c = Decimal::try_from(close).unwrap();
    testkit::bar(1_735_689_600_000 + i * 60_000, c, c + Decimal::ONE, c - Decimal::ONE, c)
}

/// Loads, initializes and feeds `bars` closes; the first error, if any.
pub(crate) fn run(source: &str, desk: &Rc<Desk>, closes: &[f64]) -> Result<(), StrategyError> {
    run_with(&limits(), source, desk, closes)
}

/// [`run`] under other limits.
pub(crate) fn run_with(
    limits: &StrategyLimits,
    source: &str,
    desk: &Rc<Desk>,
    closes: &[f64],
) -> Result<(), StrategyError> {
    let mut strategy = LuaStrategy::load(source, testkit::btc(), &Params::new(), limits)?;
    let ctx: SharedContext = desk.clone();
    strategy.initialize(&ctx)?;
    for (i, c) in closes.iter().enumerate() {
        let b = bar(i as i64, *c);
        desk.set_bar(b);
        strategy.on_bar(&b, &ctx)?;
    }
    Ok(())
}
