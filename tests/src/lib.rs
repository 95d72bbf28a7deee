//! Helpers shared by the cross-crate end-to-end tests in `tests/it/`.

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the root `Cargo.toml`).
#[must_use]
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The real Lua strategy of `source` for a run of `config` (its symbols, no params, default
/// limits), as the engine builds it.
///
/// # Panics
/// When the script does not load.
#[must_use]
pub fn lua_strategy(
    source: &str,
    config: &cryptobt_domain::BacktestConfig,
) -> Box<dyn cryptobt_domain::ports::Strategy> {
    use cryptobt_domain::ports::{StrategyFactory, StrategyLimits, StrategySpec};
    let spec = StrategySpec {
        source: source.to_owned(),
        symbol: config.symbol(),
        symbols: config.symbols().to_vec(),
        params: cryptobt_domain::Params::new(),
        limits: StrategyLimits::default(),
    };
    cryptobt_sandbox::LuaStrategyFactory
        .create(&spec)
        .unwrap_or_else(|e| panic!("the strategy does not load: {e}"))
}
