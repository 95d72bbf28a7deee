//! The ports: small object-safe traits through which the engine, the api and the app reach
//! market data, strategies, result storage and the backtest service without knowing the
//! adapters behind them. Each has its own small error type; no third-party error crosses them.

mod market;
mod results;
mod service;
mod strategy;
mod sweeps;

pub use self::{market::*, results::*, service::*, strategy::*, sweeps::*};

/// The underlying cause of a port's error (an OS error, a parse error...), kept so that a log
/// line shows the whole chain. Shared, so port errors stay cheap to clone.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;
