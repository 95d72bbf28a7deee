//! The file result store of DESIGN §8: `results/backtests/{backtest_id}/` with `config.json`,
//! `trades.csv`, `portfolio.csv` and `metrics.json` (plus `funding.csv`, `run.json` with the
//! rejections and counters, and `log.txt`). Every file is written to a temporary name and renamed;
//! `portfolio.csv` is streamed row by row while the run goes on.

use std::{
    fmt::Write as _,
    fs,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    sync::mpsc,
};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use cryptobt_domain::{
    ports::{PortfolioSink, ResultStore, RunRecord, SnapshotSink, StoreError},
    BacktestConfig, BacktestId, BacktestReport, ErrorCode, FillMode, Params, RunError, RunStatus,
    Snapshot, Symbol, Timeframe, TradingMode,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use cryptobt_domain::money::write_plain;

use crate::{write::write_atomic, DataError};

/// The header of `trades.csv`.
pub const TRADES_HEADER: &str =
    "timestamp,action,symbol,quantity,price,leverage,fee,position_type,pnl";
/// The header of `portfolio.csv`.
pub const PORTFOLIO_HEADER: &str =
    "timestamp,portfolio_value,cash,unrealized_pnl,realized_pnl,margin_used,leverage_ratio";
/// The header of `funding.csv`.
pub const FUNDING_CSV_HEADER: &str = "timestamp,symbol,rate,price,position_size,amount";

/// `config.json`: the original spec's fields, every other setting of the run, and the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigFile {
    /// The run's id.
    pub backtest_id: String,
    /// The strategy source.
    pub strategy_code: String,
    /// The symbol.
    pub symbol: String,
    /// The timeframe.
    pub timeframe: String,
    /// First day, `YYYY-MM-DD`.
    pub start_date: String,
    /// Last day, `YYYY-MM-DD`.
    pub end_date: String,
    /// Starting cash.
    #[serde(with = "rust_decimal::serde::float")]
    pub initial_capital: Decimal,
    /// `spot` or `futures`.
    pub trading_mode: String,
    /// Highest order leverage.
    #[serde(with = "rust_decimal::serde::float")]
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
    #[serde(with = "rust_decimal::serde::float")]
    pub maintenance_margin_rate: Decimal,
    /// Fee rate.
    #[serde(with = "rust_decimal::serde::float")]
    pub fee: Decimal,
    /// Slippage in basis points.
    #[serde(with = "rust_decimal::serde::float")]
    pub slippage_bps: Decimal,
    /// `close` or `next_open`.
    pub fill: String,
    /// Funding rate per 8 h used without a funding file.
    #[serde(with = "rust_decimal::serde::float")]
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
            slippage_bps: c.slippage_bps(),
            fill: c.fill().to_string(),
            funding_rate: c.funding_rate(),
            params: c.params().clone(),
        }
    }

    /// The record the file describes.
    ///
    /// # Errors
    /// A field that no longer validates (the file was edited by hand).
    pub fn to_record(&self) -> Result<RunRecord, String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let day =
            |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|x| format!("{s:?}: {x}"));
        let fill: FillMode = self.fill.parse().map_err(|x| e(&x))?;
        let config = BacktestConfig::builder(
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
        .funding_rate(self.funding_rate)
        .params(self.params.clone())
        .build()
        .map_err(|x| e(&x))?;
        let status = match self.status.as_str() {
            "queued" => RunStatus::Queued,
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "cancelled" => RunStatus::Cancelled,
            _ => RunStatus::Failed,
        };
        let code = self.error_code.as_deref().map(|c| {
            serde_json::from_value::<ErrorCode>(serde_json::Value::String(c.to_owned()))
                .unwrap_or(ErrorCode::RuntimeError)
        });
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

/// `run.json`: what the report holds besides metrics, fills and snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Bars processed.
    pub bars: u64,
    /// Fills.
    pub trades: u64,
    /// Funding payments.
    pub funding_payments: u64,
    /// Refused orders by reason.
    pub rejections: std::collections::BTreeMap<String, u64>,
    /// Orders still queued after the last bar.
    pub dropped_orders: u64,
    /// Log lines kept.
    pub log_lines: u64,
}

fn csv_snapshot(out: &mut String, s: &Snapshot) {
    let _ = write!(out, "{}", s.timestamp);
    for value in [
        s.portfolio_value,
        s.cash,
        s.unrealized_pnl,
        s.realized_pnl,
        s.margin_used,
        s.leverage_ratio(),
    ] {
        out.push(',');
        write_plain(out, value);
    }
    out.push('\n');
}

/// The files of one run in one directory.
#[derive(Debug, Clone)]
pub struct RunFiles {
    dir: PathBuf,
}

impl RunFiles {
    /// The files in `dir` (created on first write).
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn tmp_portfolio(&self) -> PathBuf {
        self.dir.join(format!(".portfolio.csv.tmp-{}", std::process::id()))
    }

    /// A writer streaming `portfolio.csv` (to a temporary name until [`write`](Self::write)).
    ///
    /// # Errors
    /// The directory or file cannot be created.
    pub fn portfolio_writer(&self) -> Result<PortfolioWriter, DataError> {
        fs::create_dir_all(&self.dir).map_err(|e| DataError::io("results directory", &e))?;
        let path = self.tmp_portfolio();
        let file = fs::File::create(&path).map_err(|e| DataError::io("portfolio.csv", &e))?;
        PortfolioWriter::start(file)
    }

    /// Writes every file of the run (each atomically). `portfolio.csv` comes from a finished
    /// [`PortfolioWriter`] when there is one, else from the report's snapshots.
    ///
    /// # Errors
    /// A failed write, naming the file.
    pub fn write(
        &self,
        record: &RunRecord,
        report: Option<&BacktestReport>,
    ) -> Result<(), DataError> {
        fs::create_dir_all(&self.dir).map_err(|e| DataError::io("results directory", &e))?;
        let json = |value: &dyn erased::Json| value.to_json();
        if let Some(report) = report {
            let mut trades = String::with_capacity(64 * (report.trades.len() + 1));
            trades.push_str(TRADES_HEADER);
            trades.push('\n');
            for t in &report.trades {
                let n = Decimal::normalize;
                let _ = writeln!(
                    trades,
                    "{},{},{},{},{},{},{},{},{}",
                    t.timestamp,
                    t.action,
                    t.symbol,
                    n(&t.quantity),
                    n(&t.price),
                    n(&t.leverage),
                    n(&t.fee),
                    t.position_type,
                    n(&t.pnl)
                );
            }
            write_atomic(&self.dir.join("trades.csv"), trades.as_bytes())?;
            let mut funding = String::from(FUNDING_CSV_HEADER);
            funding.push('\n');
            for f in &report.funding {
                let n = Decimal::normalize;
                let _ = writeln!(
                    funding,
                    "{},{},{},{},{},{}",
                    f.timestamp,
                    f.symbol,
                    n(&f.rate),
                    n(&f.price),
                    n(&f.position_size),
                    n(&f.amount)
                );
            }
            write_atomic(&self.dir.join("funding.csv"), funding.as_bytes())?;
            let tmp = self.tmp_portfolio();
            if tmp.exists() {
                fs::rename(&tmp, self.dir.join("portfolio.csv"))
                    .map_err(|e| DataError::io("portfolio.csv", &e))?;
            } else {
                let mut rows = String::with_capacity(96 * (report.snapshots.len() + 1));
                rows.push_str(PORTFOLIO_HEADER);
                rows.push('\n');
                for s in &report.snapshots {
                    csv_snapshot(&mut rows, s);
                }
                write_atomic(&self.dir.join("portfolio.csv"), rows.as_bytes())?;
            }
            write_atomic(&self.dir.join("metrics.json"), json(&report.metrics).as_bytes())?;
            let summary = RunSummary {
                bars: report.bars.max(report.snapshots.len() as u64),
                trades: report.trades.len() as u64,
                funding_payments: report.funding.len() as u64,
                rejections: report.rejections.clone(),
                dropped_orders: report.dropped_orders,
                log_lines: report.log.len() as u64,
            };
            write_atomic(&self.dir.join("run.json"), json(&summary).as_bytes())?;
            let mut log = report.log.join("\n");
            if !log.is_empty() {
                log.push('\n');
            }
            write_atomic(&self.dir.join("log.txt"), log.as_bytes())?;
        }
        write_atomic(
            &self.dir.join("config.json"),
            json(&ConfigFile::from_record(record)).as_bytes(),
        )
    }

    /// Reads `config.json`.
    ///
    /// # Errors
    /// A missing or unreadable file.
    pub fn read_config(&self) -> Result<ConfigFile, DataError> {
        let bytes =
            fs::read(self.dir.join("config.json")).map_err(|e| DataError::io("config.json", &e))?;
        serde_json::from_slice(&bytes).map_err(|e| DataError::file("config.json", e.to_string()))
    }
}

/// A small indirection so every JSON file is written the same way (pretty, trailing newline).
mod erased {
    pub(super) trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            let mut text = serde_json::to_string_pretty(self)
                .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
            text.push('\n');
            text
        }
    }
}

/// Snapshots handed to the writing thread at a time.
const BATCH: usize = 8_192;

/// Streams `portfolio.csv`: snapshots are batched and formatted and written by a thread of its
/// own, so a long run's second core does the file while the first runs the strategy. A write
/// error is kept and reported by `finish`.
#[derive(Debug)]
pub struct PortfolioWriter {
    batch: Vec<Snapshot>,
    to_writer: Option<mpsc::SyncSender<Vec<Snapshot>>>,
    writer: Option<std::thread::JoinHandle<Result<(), String>>>,
}

fn write_rows(file: fs::File, batches: &mpsc::Receiver<Vec<Snapshot>>) -> Result<(), String> {
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rows = String::with_capacity(BATCH * 96);
    rows.push_str(PORTFOLIO_HEADER);
    rows.push('\n');
    out.write_all(rows.as_bytes()).map_err(|e| e.to_string())?;
    for batch in batches {
        rows.clear();
        for s in &batch {
            csv_snapshot(&mut rows, s);
        }
        out.write_all(rows.as_bytes()).map_err(|e| e.to_string())?;
    }
    out.flush().and_then(|()| out.get_ref().sync_all()).map_err(|e| e.to_string())
}

impl PortfolioWriter {
    fn start(file: fs::File) -> Result<Self, DataError> {
        let (tx, rx) = mpsc::sync_channel::<Vec<Snapshot>>(4);
        let writer = std::thread::Builder::new()
            .name("portfolio.csv".into())
            .spawn(move || write_rows(file, &rx))
            .map_err(|e| DataError::io("portfolio.csv", &e))?;
        Ok(Self { batch: Vec::with_capacity(BATCH), to_writer: Some(tx), writer: Some(writer) })
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // A closed channel means the writer failed; `finish` reports why.
        if let Some(tx) = &self.to_writer {
            if tx.send(batch).is_err() {
                self.to_writer = None;
            }
        }
    }

    /// Writes what is left and waits for the file to be complete.
    ///
    /// # Errors
    /// The first write error.
    pub fn finish(mut self) -> Result<(), DataError> {
        self.send();
        self.to_writer = None;
        let outcome = match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err("the writing thread panicked".to_owned()),
            None => Ok(()),
        };
        outcome.map_err(|message| DataError::Io { file: "portfolio.csv".into(), message })
    }
}

impl Drop for PortfolioWriter {
    fn drop(&mut self) {
        self.to_writer = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl SnapshotSink for PortfolioWriter {
    fn push(&mut self, snapshot: &Snapshot) {
        self.batch.push(snapshot.clone());
        if self.batch.len() == BATCH {
            self.send();
        }
    }
}

impl PortfolioSink for PortfolioWriter {
    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        PortfolioWriter::finish(*self).map_err(|e| StoreError::Io { message: e.to_string() })
    }
}

/// The store: one directory per run under `{root}/backtests/`.
#[derive(Debug, Clone)]
pub struct FileResultStore {
    root: PathBuf,
}

impl FileResultStore {
    /// Results under `root` (e.g. `results`).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The files of run `id` (a validated id: the path cannot leave the root).
    #[must_use]
    pub fn files(&self, id: &BacktestId) -> RunFiles {
        RunFiles::new(self.root.join("backtests").join(id.as_str()))
    }
}

fn store_err(e: &DataError) -> StoreError {
    StoreError::Io { message: e.to_string() }
}

impl ResultStore for FileResultStore {
    fn portfolio_sink(&self, id: &BacktestId) -> Result<Box<dyn PortfolioSink>, StoreError> {
        Ok(Box::new(self.files(id).portfolio_writer().map_err(|e| store_err(&e))?))
    }

    fn save(&self, record: &RunRecord, report: Option<&BacktestReport>) -> Result<(), StoreError> {
        self.files(&record.backtest_id).write(record, report).map_err(|e| store_err(&e))
    }

    fn record(&self, id: &BacktestId) -> Result<RunRecord, StoreError> {
        let files = self.files(id);
        if !files.dir().join("config.json").exists() {
            return Err(StoreError::NotFound { id: id.clone() });
        }
        let config = files.read_config().map_err(|e| store_err(&e))?;
        config.to_record().map_err(|message| StoreError::Io {
            message: format!("config.json of {id}: {message}"),
        })
    }

    fn list(&self) -> Result<Vec<RunRecord>, StoreError> {
        let dir = self.root.join("backtests");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::Io { message: format!("results directory: {e}") }),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let Some(id) = entry.file_name().to_str().and_then(|n| BacktestId::parse(n).ok())
            else {
                continue;
            };
            if let Ok(record) = self.record(&id) {
                out.push(record);
            }
        }
        out.sort_by(|a, b| {
            b.created_at.cmp(&a.created_at).then_with(|| b.backtest_id.cmp(&a.backtest_id))
        });
        Ok(out)
    }

    fn delete(&self, id: &BacktestId) -> Result<(), StoreError> {
        let files = self.files(id);
        if !files.dir().exists() {
            return Err(StoreError::NotFound { id: id.clone() });
        }
        fs::remove_dir_all(files.dir())
            .map_err(|e| StoreError::Io { message: format!("deleting {id}: {e}") })
    }
}
