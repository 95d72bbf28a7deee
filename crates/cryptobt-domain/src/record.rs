//! `ConfigFile`: the JSON form of a run's record (`config.json`, and the `config` of the API).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    ports::RunRecord, BacktestConfig, BacktestId, ErrorCode, FillMode, Intrabar, Params, RunError,
    RunStatus, Symbol, Timeframe, TradingMode,
};

/// A `config.json` field that no longer validates (the file was edited by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigFileError(pub String);

/// `config.json`: the original spec's fields, every other setting of the run, and the outcome.
///
/// Decimal settings are written as strings (`"initial_capital": "10000.0001"`), exactly as the
/// run used them, so that a run can be re-checked from its files; numbers are read too (files of
/// the first version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigFile {
    /// The run's id.
    pub backtest_id: String,
    /// The strategy source.
    pub strategy_code: String,
    /// The primary symbol.
    pub symbol: String,
    /// Every symbol, the primary first: only in a run of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<Vec<String>>,
    /// The timeframe.
    pub timeframe: String,
    /// First day, `YYYY-MM-DD`.
    pub start_date: String,
    /// Last day, `YYYY-MM-DD`.
    pub end_date: String,
    /// Starting cash.
    pub initial_capital: Decimal,
    /// `spot` or `futures`.
    pub trading_mode: String,
    /// Highest order leverage.
    pub max_leverage: Decimal,
    /// Submission time, RFC 3339 UTC.
    pub created_at: String,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// Why the run failed.
    pub error_message: Option<String>,
    /// The stable code of the failure.
    pub error_code: Option<String>,
    /// The strategy line of the failure, when known.
    pub error_line: Option<u32>,
    /// Maintenance margin rate.
    pub maintenance_margin_rate: Decimal,
    /// Taker fee rate.
    pub fee: Decimal,
    /// Maker fee rate (files of the first version have none: the mode's default).
    #[serde(default)]
    pub maker_fee: Option<Decimal>,
    /// Slippage in basis points.
    pub slippage_bps: Decimal,
    /// `close` or `next_open`.
    pub fill: String,
    /// `bar` or `1m` (files of the first version have none: `bar`).
    #[serde(default)]
    pub intrabar: Option<String>,
    /// Funding rate per 8 h used without a funding file.
    pub funding_rate: Decimal,
    /// Strategy parameters.
    pub params: Params,
}

impl ConfigFile {
    /// The file for a record.
    #[must_use]
    pub fn from_record(record: &RunRecord) -> Self {
        let c = &record.config;
        Self {
            backtest_id: record.backtest_id.to_string(),
            strategy_code: record.strategy_code.clone(),
            symbol: c.symbol().to_string(),
            symbols: (c.symbols().len() > 1)
                .then(|| c.symbols().iter().map(ToString::to_string).collect()),
            timeframe: c.timeframe().to_string(),
            start_date: c.start_date().to_string(),
            end_date: c.end_date().to_string(),
            initial_capital: c.initial_capital(),
            trading_mode: c.trading_mode().to_string(),
            max_leverage: c.max_leverage(),
            created_at: record.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            status: record.status.to_string(),
            error_message: record.error.as_ref().map(|e| e.message.clone()),
            error_code: record.error.as_ref().map(|e| e.code.to_string()),
            error_line: record.error.as_ref().and_then(|e| e.line),
            maintenance_margin_rate: c.maintenance_margin_rate(),
            fee: c.fee_rate(),
            maker_fee: Some(c.maker_fee_rate()),
            slippage_bps: c.slippage_bps(),
            fill: c.fill().to_string(),
            intrabar: Some(c.intrabar().to_string()),
            funding_rate: c.funding_rate(),
            params: c.params().clone(),
        }
    }

    /// The record the file describes.
    ///
    /// # Errors
    /// A field that no longer validates (the file was edited by hand).
    pub fn to_record(&self) -> Result<RunRecord, ConfigFileError> {
        let e = |x: &dyn std::fmt::Display| ConfigFileError(x.to_string());
        let day = |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|x| ConfigFileError(format!("{s:?}: {x}")))
        };
        let fill: FillMode = self.fill.parse().map_err(|x| e(&x))?;
        let intrabar: Intrabar =
            self.intrabar.as_deref().unwrap_or("bar").parse().map_err(|x| e(&x))?;
        let mut builder = BacktestConfig::builder(
            self.symbol.parse::<Symbol>().map_err(|x| e(&x))?,
            self.timeframe.parse::<Timeframe>().map_err(|x| e(&x))?,
            day(&self.start_date)?,
            day(&self.end_date)?,
        )
        .initial_capital(self.initial_capital)
        .trading_mode(self.trading_mode.parse::<TradingMode>().map_err(|x| e(&x))?)
        .max_leverage(self.max_leverage)
        .maintenance_margin_rate(self.maintenance_margin_rate)
        .fee_rate(self.fee)
        .slippage_bps(self.slippage_bps)
        .fill(fill)
        .intrabar(intrabar)
        .funding_rate(self.funding_rate)
        .params(self.params.clone());
        if let Some(symbols) = &self.symbols {
            let parsed: Result<Vec<Symbol>, _> = symbols.iter().map(|s| s.parse()).collect();
            builder = builder.symbols(parsed.map_err(|x| e(&x))?);
        }
        if let Some(maker_fee) = self.maker_fee {
            builder = builder.maker_fee_rate(maker_fee);
        }
        let config = builder.build().map_err(|x| e(&x))?;
        let status = match self.status.as_str() {
            "queued" => RunStatus::Queued,
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "cancelled" => RunStatus::Cancelled,
            _ => RunStatus::Failed,
        };
        let code = self
            .error_code
            .as_deref()
            .map(|c| ErrorCode::from_name(c).unwrap_or(ErrorCode::RuntimeError));
        let error = match (code, &self.error_message) {
            (Some(code), message) => Some(RunError {
                code,
                message: message.clone().unwrap_or_default(),
                line: self.error_line,
            }),
            (None, Some(message)) => Some(RunError {
                code: ErrorCode::RuntimeError,
                message: message.clone(),
                line: self.error_line,
            }),
            (None, None) => None,
        };
        Ok(RunRecord {
            backtest_id: BacktestId::parse(&self.backtest_id).map_err(|x| e(&x))?,
            created_at: DateTime::parse_from_rfc3339(&self.created_at)
                .map_err(|x| e(&x))?
                .with_timezone(&Utc),
            strategy_code: self.strategy_code.clone(),
            config,
            status,
            error,
        })
    }
}
