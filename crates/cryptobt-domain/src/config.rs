//! `BacktestConfig`: every setting of a run, validated once on construction.

use std::{fmt, str::FromStr};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{DomainError, ParamValue, Params, Symbol, Timeframe, TradingMode};

/// The highest leverage any futures run may use.
pub(crate) const LEVERAGE_CAP: Decimal = Decimal::from_parts(100, 0, 0, false, 0);
/// The largest initial capital accepted, so that every ledger amount keeps 12 exact decimals.
const CAPITAL_CAP: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0); // 1e12
const FEE_CAP: Decimal = Decimal::from_parts(1, 0, 0, false, 1); // 0.1
const MMR_CAP: Decimal = Decimal::from_parts(5, 0, 0, false, 1); // 0.5
const SLIPPAGE_CAP_BPS: Decimal = Decimal::from_parts(1_000, 0, 0, false, 0);
const FUNDING_CAP: Decimal = Decimal::from_parts(1, 0, 0, false, 1); // 0.1

/// When an order placed in `on_data` fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FillMode {
    /// At the close of the bar the strategy saw.
    #[default]
    Close,
    /// At the open of the next bar, before its funding and liquidation steps.
    NextOpen,
}

impl FillMode {
    /// The name used in flags and JSON (`close`, `next_open`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Close => "close",
            Self::NextOpen => "next_open",
        }
    }
}

impl FromStr for FillMode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "close" => Ok(Self::Close),
            "next_open" => Ok(Self::NextOpen),
            _ => Err(DomainError::InvalidFillMode { value: s.chars().take(64).collect() }),
        }
    }
}

impl fmt::Display for FillMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a bar's inside is walked for pending orders and exits (docs/design.md#the-bar-loop step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Intrabar {
    /// `O → X → Y → C`, the nearer extreme first.
    #[default]
    Bar,
    /// The bar's 1m bars in order, each walked by the same rule.
    #[serde(rename = "1m")]
    OneMinute,
}

impl Intrabar {
    /// The name used in flags and JSON (`bar`, `1m`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bar => "bar",
            Self::OneMinute => "1m",
        }
    }
}

impl FromStr for Intrabar {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bar" => Ok(Self::Bar),
            "1m" => Ok(Self::OneMinute),
            _ => Err(DomainError::config(
                "intrabar",
                format!("{:?}", s.chars().take(64).collect::<String>()),
                "must be bar or 1m",
            )),
        }
    }
}

impl fmt::Display for Intrabar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Order size and position count limits (docs/design.md#orders-and-the-ledger defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeLimits {
    /// Smallest order quantity, and smallest partial close: 0.00001.
    pub min_trade_size: Decimal,
    /// Largest order quantity: 1,000,000.
    pub max_trade_size: Decimal,
    /// Most symbols with an open position at once: 100.
    pub max_positions: usize,
}

impl Default for TradeLimits {
    fn default() -> Self {
        Self {
            min_trade_size: Decimal::from_parts(1, 0, 0, false, 5),
            max_trade_size: Decimal::from(1_000_000),
            max_positions: 100,
        }
    }
}

/// What a deployment allows on top of the domain's own ranges (the server's settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPolicy {
    /// Timeframes a run may use.
    pub allowed_timeframes: Vec<Timeframe>,
    /// The highest `max_leverage` a futures run may ask for (at most 100).
    pub max_leverage: Decimal,
}

impl Default for ConfigPolicy {
    fn default() -> Self {
        Self { allowed_timeframes: Timeframe::ALL.to_vec(), max_leverage: LEVERAGE_CAP }
    }
}

/// An inclusive range a numeric setting must lie in (`min_exclusive` when 0 itself is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    /// The lowest value accepted, when the bound is inclusive.
    pub min: Option<Decimal>,
    /// A bound the value must be greater than (exclusive).
    pub min_exclusive: Option<Decimal>,
    /// The highest value accepted.
    pub max: Decimal,
}

/// Every numeric range a run's settings are checked against under a policy: what
/// [`BacktestConfigBuilder::build_with`] enforces, for a client (the page) to show and check
/// before it submits, instead of keeping its own copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigRanges {
    /// Starting cash.
    pub initial_capital: Range,
    /// `max_leverage` in futures (exactly 1 in spot).
    pub max_leverage: Range,
    /// Maintenance margin rate.
    pub maintenance_margin_rate: Range,
    /// Fee rate.
    pub fee: Range,
    /// Maker fee rate.
    pub maker_fee: Range,
    /// Slippage, basis points.
    pub slippage_bps: Range,
    /// Funding rate per 8 h.
    pub funding_rate: Range,
}

impl ConfigPolicy {
    /// The ranges this policy leaves a run.
    #[must_use]
    pub fn ranges(&self) -> ConfigRanges {
        let inclusive = |min, max| Range { min: Some(min), min_exclusive: None, max };
        ConfigRanges {
            initial_capital: Range {
                min: None,
                min_exclusive: Some(Decimal::ZERO),
                max: CAPITAL_CAP,
            },
            max_leverage: inclusive(Decimal::ONE, LEVERAGE_CAP.min(self.max_leverage)),
            maintenance_margin_rate: inclusive(Decimal::ZERO, MMR_CAP),
            fee: inclusive(Decimal::ZERO, FEE_CAP),
            maker_fee: inclusive(Decimal::ZERO, FEE_CAP),
            slippage_bps: inclusive(Decimal::ZERO, SLIPPAGE_CAP_BPS),
            funding_rate: inclusive(-FUNDING_CAP, FUNDING_CAP),
        }
    }
}

/// The validated settings of one backtest. Build it with [`BacktestConfig::builder`]; a value of
/// this type always satisfies every range check, so nothing downstream re-validates it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestConfig {
    symbol: Symbol,
    /// Every symbol of the run, the primary first (docs/design.md#several-symbols).
    #[serde(skip_serializing_if = "one_symbol")]
    symbols: Vec<Symbol>,
    timeframe: Timeframe,
    start_date: NaiveDate,
    end_date: NaiveDate,
    initial_capital: Decimal,
    trading_mode: TradingMode,
    max_leverage: Decimal,
    maintenance_margin_rate: Decimal,
    fee_rate: Decimal,
    maker_fee_rate: Decimal,
    slippage_bps: Decimal,
    fill: FillMode,
    intrabar: Intrabar,
    funding_rate: Decimal,
    params: Params,
    limits: TradeLimits,
}

impl BacktestConfig {
    /// Starts a configuration for `symbol` on `timeframe` over the inclusive UTC days
    /// `start_date..=end_date`; every other setting has the docs/design.md#orders-and-the-ledger default until set.
    #[must_use]
    pub fn builder(
        symbol: Symbol,
        timeframe: Timeframe,
        start_date: NaiveDate,
        end_date: NaiveDate,
    ) -> BacktestConfigBuilder {
        BacktestConfigBuilder {
            symbol,
            symbols: vec![symbol],
            timeframe,
            start_date,
            end_date,
            initial_capital: None,
            trading_mode: TradingMode::Spot,
            max_leverage: None,
            maintenance_margin_rate: None,
            fee_rate: None,
            maker_fee_rate: None,
            slippage_bps: None,
            fill: FillMode::Close,
            intrabar: Intrabar::Bar,
            funding_rate: None,
            params: Params::new(),
            limits: TradeLimits::default(),
        }
    }

    /// The primary symbol: the run's only one, or the first of several.
    #[must_use]
    pub fn symbol(&self) -> Symbol {
        self.symbol
    }
    /// Every symbol of the run, the primary first (1 to [`MAX_SYMBOLS`], no duplicates).
    #[must_use]
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }
    /// The bar timeframe.
    #[must_use]
    pub fn timeframe(&self) -> Timeframe {
        self.timeframe
    }
    /// First UTC day (inclusive).
    #[must_use]
    pub fn start_date(&self) -> NaiveDate {
        self.start_date
    }
    /// Last UTC day (inclusive).
    #[must_use]
    pub fn end_date(&self) -> NaiveDate {
        self.end_date
    }
    /// Starting cash in USDT.
    #[must_use]
    pub fn initial_capital(&self) -> Decimal {
        self.initial_capital
    }
    /// Spot or futures.
    #[must_use]
    pub fn trading_mode(&self) -> TradingMode {
        self.trading_mode
    }
    /// Highest leverage an order may use (1 in spot).
    #[must_use]
    pub fn max_leverage(&self) -> Decimal {
        self.max_leverage
    }
    /// Maintenance margin rate `m` of the liquidation formula.
    #[must_use]
    pub fn maintenance_margin_rate(&self) -> Decimal {
        self.maintenance_margin_rate
    }
    /// Taker fee rate charged on every fill's notional.
    #[must_use]
    pub fn fee_rate(&self) -> Decimal {
        self.fee_rate
    }
    /// Maker fee rate: limit and take-profit fills made on the path (docs/design.md#pending-orders-and-exits).
    #[must_use]
    pub fn maker_fee_rate(&self) -> Decimal {
        self.maker_fee_rate
    }
    /// How the inside of a bar is walked.
    #[must_use]
    pub fn intrabar(&self) -> Intrabar {
        self.intrabar
    }
    /// Slippage in basis points: buys pay `price × (1 + bps/10000)`, sells receive `× (1 − bps/10000)`.
    #[must_use]
    pub fn slippage_bps(&self) -> Decimal {
        self.slippage_bps
    }
    /// When orders fill.
    #[must_use]
    pub fn fill(&self) -> FillMode {
        self.fill
    }
    /// Funding rate per 8 h used when the data has no funding file.
    #[must_use]
    pub fn funding_rate(&self) -> Decimal {
        self.funding_rate
    }
    /// Strategy parameters.
    #[must_use]
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The same settings over the days `start..=end` with `capital` to start with: a walk-forward
    /// window.
    ///
    /// # Errors
    /// [`DomainError::InvalidConfig`] for an end before the start or a capital out of range.
    pub fn with_window(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        capital: Decimal,
    ) -> Result<Self, DomainError> {
        if end < start {
            return Err(DomainError::config(
                "end_date",
                end,
                format!("must not be before start_date {start}"),
            ));
        }
        if capital <= Decimal::ZERO || capital > CAPITAL_CAP {
            return Err(DomainError::config(
                "initial_capital",
                capital,
                "must be greater than 0 and at most 1000000000000",
            ));
        }
        Ok(Self { start_date: start, end_date: end, initial_capital: capital, ..self.clone() })
    }

    /// The same settings with `params` added (replacing those of the same name): a sweep's
    /// member.
    ///
    /// # Errors
    /// [`DomainError::InvalidConfig`] for a parameter name outside `A-Z a-z 0-9 _` (1–64).
    pub fn with_params(&self, params: &Params) -> Result<Self, DomainError> {
        let mut merged = self.params.clone();
        merged.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
        for name in merged.keys() {
            check_param_name(name)?;
        }
        Ok(Self { params: merged, ..self.clone() })
    }
    /// Order size and position limits.
    #[must_use]
    pub fn limits(&self) -> TradeLimits {
        self.limits
    }
}

/// Collects the optional settings of a [`BacktestConfig`]; [`build`](Self::build) validates them.
#[derive(Debug, Clone)]
pub struct BacktestConfigBuilder {
    symbol: Symbol,
    symbols: Vec<Symbol>,
    timeframe: Timeframe,
    start_date: NaiveDate,
    end_date: NaiveDate,
    initial_capital: Option<Decimal>,
    trading_mode: TradingMode,
    max_leverage: Option<Decimal>,
    maintenance_margin_rate: Option<Decimal>,
    fee_rate: Option<Decimal>,
    maker_fee_rate: Option<Decimal>,
    slippage_bps: Option<Decimal>,
    fill: FillMode,
    intrabar: Intrabar,
    funding_rate: Option<Decimal>,
    params: Params,
    limits: TradeLimits,
}

impl BacktestConfigBuilder {
    /// Every symbol of the run in order (default: the builder's one symbol); the first becomes
    /// the primary. `build` refuses an empty list, more than [`MAX_SYMBOLS`] or a duplicate.
    #[must_use]
    pub fn symbols(mut self, symbols: Vec<Symbol>) -> Self {
        if let Some(first) = symbols.first() {
            self.symbol = *first;
        }
        self.symbols = symbols;
        self
    }
    /// Starting cash (default 10000).
    #[must_use]
    pub fn initial_capital(mut self, value: Decimal) -> Self {
        self.initial_capital = Some(value);
        self
    }
    /// Spot (default) or futures.
    #[must_use]
    pub fn trading_mode(mut self, value: TradingMode) -> Self {
        self.trading_mode = value;
        self
    }
    /// Highest order leverage (default 1; must be 1 in spot, 1..=100 in futures).
    #[must_use]
    pub fn max_leverage(mut self, value: Decimal) -> Self {
        self.max_leverage = Some(value);
        self
    }
    /// Maintenance margin rate (default 0.005, range 0..=0.5).
    #[must_use]
    pub fn maintenance_margin_rate(mut self, value: Decimal) -> Self {
        self.maintenance_margin_rate = Some(value);
        self
    }
    /// Fee rate (default by mode: spot 0.001, futures 0.0005; range 0..=0.1).
    #[must_use]
    pub fn fee_rate(mut self, value: Decimal) -> Self {
        self.fee_rate = Some(value);
        self
    }
    /// Maker fee rate (default by mode: spot 0.001, futures 0.0002; range 0..=0.1).
    #[must_use]
    pub fn maker_fee_rate(mut self, value: Decimal) -> Self {
        self.maker_fee_rate = Some(value);
        self
    }
    /// How the inside of a bar is walked (default `bar`; `1m` needs a timeframe above 1m's data).
    #[must_use]
    pub fn intrabar(mut self, value: Intrabar) -> Self {
        self.intrabar = value;
        self
    }
    /// Slippage in basis points (default 0, range 0..=1000).
    #[must_use]
    pub fn slippage_bps(mut self, value: Decimal) -> Self {
        self.slippage_bps = Some(value);
        self
    }
    /// Fill at the close (default) or at the next bar's open.
    #[must_use]
    pub fn fill(mut self, value: FillMode) -> Self {
        self.fill = value;
        self
    }
    /// Funding rate per 8 h when no funding file exists (default 0, range −0.1..=0.1).
    #[must_use]
    pub fn funding_rate(mut self, value: Decimal) -> Self {
        self.funding_rate = Some(value);
        self
    }
    /// Adds one strategy parameter.
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: ParamValue) -> Self {
        self.params.insert(name.into(), value);
        self
    }
    /// Replaces all strategy parameters.
    #[must_use]
    pub fn params(mut self, params: Params) -> Self {
        self.params = params;
        self
    }
    /// Replaces the order size and position limits.
    #[must_use]
    pub fn limits(mut self, limits: TradeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Validates with the default [`ConfigPolicy`] (every timeframe, leverage up to 100).
    ///
    /// # Errors
    /// [`DomainError::InvalidConfig`] naming the first field out of range and its value.
    pub fn build(self) -> Result<BacktestConfig, DomainError> {
        self.build_with(&ConfigPolicy::default())
    }

    /// Validates against a deployment's policy.
    ///
    /// # Errors
    /// [`DomainError::InvalidConfig`] naming the first field out of range and its value.
    pub fn build_with(self, policy: &ConfigPolicy) -> Result<BacktestConfig, DomainError> {
        let mode = self.trading_mode;
        if self.end_date < self.start_date {
            return Err(DomainError::config(
                "end_date",
                self.end_date,
                format!("must not be before start_date {}", self.start_date),
            ));
        }
        if !policy.allowed_timeframes.contains(&self.timeframe) {
            let allowed: Vec<_> = policy.allowed_timeframes.iter().map(|t| t.as_str()).collect();
            return Err(DomainError::config(
                "timeframe",
                self.timeframe,
                format!("is not allowed here; allowed: {}", allowed.join(", ")),
            ));
        }
        let initial_capital = self.initial_capital.unwrap_or(Decimal::from(10_000));
        if initial_capital <= Decimal::ZERO || initial_capital > CAPITAL_CAP {
            return Err(DomainError::config(
                "initial_capital",
                initial_capital,
                "must be greater than 0 and at most 1000000000000",
            ));
        }
        let max_leverage = self.max_leverage.unwrap_or(Decimal::ONE);
        match mode {
            TradingMode::Spot if max_leverage != Decimal::ONE => {
                return Err(DomainError::config(
                    "max_leverage",
                    max_leverage,
                    "must be 1 in spot mode",
                ))
            }
            TradingMode::Futures
                if max_leverage < Decimal::ONE
                    || max_leverage > LEVERAGE_CAP.min(policy.max_leverage) =>
            {
                return Err(DomainError::config(
                    "max_leverage",
                    max_leverage,
                    format!(
                        "must be between 1 and {} in futures mode",
                        LEVERAGE_CAP.min(policy.max_leverage)
                    ),
                ))
            }
            _ => {}
        }
        let maintenance_margin_rate =
            self.maintenance_margin_rate.unwrap_or(Decimal::from_parts(5, 0, 0, false, 3));
        in_range("maintenance_margin_rate", maintenance_margin_rate, Decimal::ZERO, MMR_CAP)?;
        let fee_rate = self.fee_rate.unwrap_or(mode.default_fee_rate());
        in_range("fee", fee_rate, Decimal::ZERO, FEE_CAP)?;
        let maker_fee_rate = self.maker_fee_rate.unwrap_or(mode.default_maker_fee_rate());
        in_range("maker_fee", maker_fee_rate, Decimal::ZERO, FEE_CAP)?;
        let slippage_bps = self.slippage_bps.unwrap_or(Decimal::ZERO);
        in_range("slippage_bps", slippage_bps, Decimal::ZERO, SLIPPAGE_CAP_BPS)?;
        let funding_rate = self.funding_rate.unwrap_or(Decimal::ZERO);
        in_range("funding_rate", funding_rate, -FUNDING_CAP, FUNDING_CAP)?;
        let limits = self.limits;
        if limits.min_trade_size <= Decimal::ZERO || limits.max_trade_size < limits.min_trade_size {
            return Err(DomainError::config(
                "limits",
                format!("{}..{}", limits.min_trade_size, limits.max_trade_size),
                "need 0 < min_trade_size <= max_trade_size",
            ));
        }
        for name in self.params.keys() {
            check_param_name(name)?;
        }
        check_symbols(&self.symbols)?;
        Ok(BacktestConfig {
            symbol: self.symbol,
            symbols: self.symbols,
            timeframe: self.timeframe,
            start_date: self.start_date,
            end_date: self.end_date,
            initial_capital,
            trading_mode: mode,
            max_leverage,
            maintenance_margin_rate,
            fee_rate,
            maker_fee_rate,
            slippage_bps,
            fill: self.fill,
            intrabar: self.intrabar,
            funding_rate,
            params: self.params,
            limits,
        })
    }
}

/// The most symbols one run trades.
pub const MAX_SYMBOLS: usize = 8;

fn one_symbol(symbols: &[Symbol]) -> bool {
    symbols.len() == 1
}

fn check_symbols(symbols: &[Symbol]) -> Result<(), DomainError> {
    let shown = || symbols.iter().map(Symbol::as_str).collect::<Vec<_>>().join(",");
    if symbols.is_empty() || symbols.len() > MAX_SYMBOLS {
        return Err(DomainError::config(
            "symbols",
            shown(),
            format!("a run trades 1 to {MAX_SYMBOLS} symbols, got {}", symbols.len()),
        ));
    }
    for (i, symbol) in symbols.iter().enumerate() {
        if symbols[..i].contains(symbol) {
            return Err(DomainError::config(
                "symbols",
                shown(),
                format!("{symbol} is listed twice"),
            ));
        }
    }
    Ok(())
}

fn check_param_name(name: &str) -> Result<(), DomainError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(DomainError::config(
            "params",
            format!("{:?}", name.chars().take(64).collect::<String>()),
            "names are 1 to 64 of A-Z, a-z, 0-9 and _",
        ))
    }
}

fn in_range(
    field: &'static str,
    value: Decimal,
    min: Decimal,
    max: Decimal,
) -> Result<(), DomainError> {
    if value < min || value > max {
        return Err(DomainError::config(field, value, format!("must be between {min} and {max}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
