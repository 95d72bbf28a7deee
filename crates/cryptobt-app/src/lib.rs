//! The wiring of cryptobt: settings, and the concrete adapters (CSV loader, Lua sandbox, engine,
//! file store) handed to the API as the domain's ports. The `cryptobt` binary is built on this;
//! tests start the same server in-process.

mod error;
mod settings;
pub mod sweeps;

use std::sync::Arc;

use cryptobt_api::{ApiConfig, Services, StatsSource};
use cryptobt_data::{BarCache, CacheStats, CsvMarketData, TracingObserver};
pub use cryptobt_engine::Engine;
use cryptobt_sandbox::LuaStrategyFactory;
use cryptobt_store::FileResultStore;

pub use crate::{
    error::{read_text, AppError},
    settings::{Settings, SettingsError},
};

struct CacheStatsSource(Arc<CacheStats>);

impl StatsSource for CacheStatsSource {
    fn stats(&self) -> serde_json::Value {
        serde_json::to_value(self.0.snapshot()).unwrap_or_default()
    }
}

/// The market data of `settings`: the one place the bar cache is sized, for every entry point
/// (`serve`, `backtest`, `bench`, `validate --run`).
#[must_use]
pub fn market_data(settings: &Settings, stats: Arc<CacheStats>) -> CsvMarketData {
    let cache = BarCache::new(
        settings.cache_mb.saturating_mul(1 << 20),
        vec![stats, Arc::new(TracingObserver)],
    );
    CsvMarketData::new(&settings.data_dir, cache).with_sidecars(settings.sidecars)
}

/// The engine over `settings`' market data and the Lua sandbox.
#[must_use]
pub fn engine(settings: &Settings) -> Engine {
    let market = Arc::new(market_data(settings, Arc::default()));
    Engine::new(market, Arc::new(LuaStrategyFactory))
}

/// The concrete adapters for `settings`, as ports, and the API's configuration.
#[must_use]
pub fn wire(settings: &Settings) -> (Services, ApiConfig) {
    let stats = Arc::new(CacheStats::default());
    let market = Arc::new(market_data(settings, stats.clone()));
    let strategies = Arc::new(LuaStrategyFactory);
    let strategies_for_sweeps: Arc<dyn cryptobt_domain::ports::StrategyFactory> =
        strategies.clone();
    let engine = Arc::new(Engine::new(market.clone(), strategies.clone()));
    let services = Services {
        backtests: engine,
        store: Arc::new(FileResultStore::new(&settings.results_dir)),
        strategies,
        market: market.clone(),
        cache_stats: Arc::new(CacheStatsSource(stats)),
        sweeps: Arc::new(cryptobt_engine::SweepEngine::new(market.clone(), strategies_for_sweeps)),
        sweep_store: Arc::new(cryptobt_store::FileSweepStore::new(
            settings.results_dir.join("sweeps"),
        )),
    };
    (services, settings.api_config())
}
