//! `LuaStrategy` (the domain's `Strategy` for one run) and `LuaStrategyFactory`.

use std::time::Duration;

use cryptobt_domain::{
    ports::{
        SharedContext, Strategy, StrategyError, StrategyFactory, StrategyLimits, StrategySpec,
    },
    Bar, ErrorCode, Params, Symbol,
};

use crate::{errors::classify, vm};

/// A Lua strategy: one fresh, sealed Luau VM for one run.
pub struct LuaStrategy {
    vm: vm::Vm,
}

impl std::fmt::Debug for LuaStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaStrategy")
            .field("memory_used", &self.vm.lua.used_memory())
            .finish_non_exhaustive()
    }
}

impl LuaStrategy {
    /// Loads `source` for a run on `symbol` with `params` under `limits` (the top level of the
    /// script runs now, under the limits).
    ///
    /// # Errors
    /// `syntax_error`, `invalid_strategy` (no `on_data`, not a function), `runtime_error` or a
    /// limit tripped while loading.
    pub fn load(
        source: &str,
        symbol: Symbol,
        params: &Params,
        limits: &StrategyLimits,
    ) -> Result<Self, StrategyError> {
        Self::load_symbols(source, &[symbol], params, limits)
    }

    /// Loads `source` for a run on `symbols` (the first is the primary): see
    /// [`load`](Self::load).
    ///
    /// # Errors
    /// As [`load`](Self::load); also an empty `symbols`.
    pub fn load_symbols(
        source: &str,
        symbols: &[Symbol],
        params: &Params,
        limits: &StrategyLimits,
    ) -> Result<Self, StrategyError> {
        Ok(Self { vm: vm::build(source, symbols, params, limits)? })
    }

    /// Bytes the run holds now: the VM's heap and what the host holds for it.
    #[must_use]
    pub fn memory_used(&self) -> usize {
        self.vm.lua.used_memory() + self.vm.guard.host_bytes()
    }

    fn stopped(&self) -> Result<(), StrategyError> {
        match self.vm.guard.check_now() {
            Ok(()) => Ok(()),
            Err(trip) => Err(StrategyError {
                code: trip.code(),
                message: self.vm.guard.message(trip),
                line: None,
            }),
        }
    }
}

use cryptobt_domain::money::decimal_to_f64 as f64_of;

impl Strategy for LuaStrategy {
    fn initialize(&mut self, ctx: &SharedContext) -> Result<(), StrategyError> {
        self.stopped()?;
        self.vm.host.attach(ctx);
        self.vm.host.new_bar();
        match &self.vm.initialize {
            Some(f) => f.call::<()>(()).map_err(|e| classify(&e, &self.vm.guard)),
            None => Ok(()),
        }
    }

    fn on_bar(&mut self, bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
        if let Some(trip) = self.vm.guard.tripped() {
            return Err(StrategyError {
                code: trip.code(),
                message: self.vm.guard.message(trip),
                line: None,
            });
        }
        self.vm.host.attach(ctx);
        self.vm.host.new_bar();
        let args = (
            bar.timestamp,
            f64_of(bar.open),
            f64_of(bar.high),
            f64_of(bar.low),
            f64_of(bar.close),
            f64_of(bar.volume),
        );
        self.vm.feed.call::<()>(args).map_err(|e| {
            let mut e = classify(&e, &self.vm.guard);
            if e.code == ErrorCode::RuntimeError {
                e.message = crate::errors::truncate(&format!(
                    "{}\nat the bar of {}",
                    e.message,
                    bar_time(bar.timestamp)
                ));
            }
            e
        })?;
        self.vm.guard.collect_between_bars(&self.vm.lua);
        Ok(())
    }

    fn params_read(&self) -> Option<std::collections::BTreeSet<String>> {
        let read: mlua::Table = self.vm.lua.named_registry_value(crate::vm::PARAMS_READ).ok()?;
        Some(read.pairs::<String, bool>().filter_map(Result::ok).map(|(k, _)| k).collect())
    }
}

/// A bar's open time as `2025-01-01 05:00 UTC`.
fn bar_time(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp_millis(timestamp)
        .map_or_else(|| timestamp.to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// Builds a [`LuaStrategy`] per run; checks scripts without running them.
#[derive(Debug, Clone, Default)]
pub struct LuaStrategyFactory;

impl StrategyFactory for LuaStrategyFactory {
    fn create(&self, spec: &StrategySpec) -> Result<Box<dyn Strategy>, StrategyError> {
        let symbols =
            if spec.symbols.is_empty() { vec![spec.symbol] } else { spec.symbols.clone() };
        Ok(Box::new(LuaStrategy::load_symbols(&spec.source, &symbols, &spec.params, &spec.limits)?))
    }

    fn validate(&self, source: &str) -> Result<(), StrategyError> {
        validate(source)
    }
}

/// Checks a script without running a bar: syntax, and that `on_data` (and `initialize`, if
/// present) are functions. The top level runs under tight limits (2 s, 64 MiB).
///
/// # Errors
/// `syntax_error` or `invalid_strategy` with the line, or what the top level raised.
pub fn validate(source: &str) -> Result<(), StrategyError> {
    let limits =
        StrategyLimits { max_duration: Duration::from_secs(2), ..StrategyLimits::default() };
    let symbol = Symbol::new("BTCUSDT").map_err(|e| StrategyError {
        code: ErrorCode::RuntimeError,
        message: e.to_string(),
        line: None,
    })?;
    LuaStrategy::load(source, symbol, &Params::new(), &limits).map(|_| ())
}
