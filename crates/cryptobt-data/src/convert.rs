//! `cryptobt data convert`: Binance's own archives into the daily layout of docs/data.md.
//!
//! Kline files (12 columns, with or without a header, `.csv` or `.zip`, millisecond or
//! microsecond open times) become daily files of their interval and of every higher timeframe.
//! Raw `trades` and `aggTrades` files become 1m bars and up; a minute without trades is a gap,
//! reported, never invented.

use std::{
    collections::BTreeMap,
    fs,
    io::Read,
    path::{Path, PathBuf},
};

use chrono::{DateTime, NaiveDate};
use cryptobt_domain::{Bar, Symbol, Timeframe, TradingMode};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    decimal::parse_decimal,
    layout::{day_file_name, DataLayout, BAR_HEADER},
    resample::resample,
    write::write_atomic,
    DataError,
};

/// What the input files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// Kline (candlestick) files of one interval.
    Klines(Timeframe),
    /// Raw trades: `id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]`.
    Trades,
    /// Aggregate trades:
    /// `agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker[,is_best_match]`.
    AggTrades,
}

impl InputKind {
    /// Guesses the kind from a Binance archive name: `BTCUSDT-1m-2025-01.zip`,
    /// `BTCUSDT-trades-2025-01-15.zip`, `BTCUSDT-aggTrades-2025-01.csv`.
    #[must_use]
    pub fn from_file_name(name: &str) -> Option<Self> {
        let mut parts = name.split('-');
        let _symbol = parts.next()?;
        match parts.next()? {
            "trades" => Some(Self::Trades),
            "aggTrades" => Some(Self::AggTrades),
            interval => interval.parse().ok().map(Self::Klines),
        }
    }

    fn base(self) -> Timeframe {
        match self {
            Self::Klines(tf) => tf,
            Self::Trades | Self::AggTrades => Timeframe::M1,
        }
    }
}

/// Where and what to convert.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// Spot or futures: the directory the files go to.
    pub market: TradingMode,
    /// The symbol the files are named after.
    pub symbol: Symbol,
    /// What the inputs hold.
    pub kind: InputKind,
    /// The data directory to write into (e.g. `data`).
    pub out_root: PathBuf,
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConvertReport {
    /// Input rows read (klines or trades).
    pub input_rows: u64,
    /// Bars of the base interval built.
    pub bars: u64,
    /// Days written.
    pub days: usize,
    /// Files written, every timeframe included.
    pub files: usize,
    /// First and last bar open time, when any.
    pub span: Option<(String, String)>,
    /// Missing bars of the base interval, as ranges (never filled in).
    pub gaps: Vec<String>,
    /// Total missing bars.
    pub missing_bars: u64,
}

/// Converts `inputs` (CSV or ZIP files) into daily files under `options.out_root`.
///
/// # Errors
/// An unreadable input, a row that is not a valid kline or trade (naming file and line), two
/// inputs disagreeing on a bar, or a failed write. Nothing is written unless every input parsed.
pub fn convert(inputs: &[PathBuf], options: &ConvertOptions) -> Result<ConvertReport, DataError> {
    if inputs.is_empty() {
        return Err(DataError::InvalidArgument("no input files given".to_owned()));
    }
    let base = options.kind.base();
    let mut bars: BTreeMap<i64, Bar> = BTreeMap::new();
    let mut input_rows = 0u64;
    for input in inputs {
        for (name, text) in read_input(input)? {
            let (rows, parsed) = match options.kind {
                InputKind::Klines(tf) => (0, parse_klines(&text, &name, tf)?),
                InputKind::Trades => trades_to_minutes(&text, &name, 4)?,
                InputKind::AggTrades => trades_to_minutes(&text, &name, 5)?,
            };
            input_rows += if rows == 0 { parsed.len() as u64 } else { rows };
            for bar in parsed {
                match bars.get(&bar.timestamp) {
                    Some(existing) if *existing != bar => {
                        return Err(DataError::file(
                            &name,
                            format!(
                                "bar at {} differs from the same bar in an earlier input",
                                time(bar.timestamp)
                            ),
                        ))
                    }
                    _ => {
                        bars.insert(bar.timestamp, bar);
                    }
                }
            }
        }
    }
    let mut by_day: BTreeMap<NaiveDate, Vec<Bar>> = BTreeMap::new();
    for bar in bars.into_values() {
        let day = DateTime::from_timestamp_millis(bar.timestamp)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        by_day.entry(day).or_default().push(bar);
    }
    let mut report = ConvertReport {
        input_rows,
        bars: by_day.values().map(|v| v.len() as u64).sum(),
        days: by_day.len(),
        files: 0,
        span: None,
        gaps: Vec::new(),
        missing_bars: 0,
    };
    let first = by_day.values().next().and_then(|v| v.first()).map(|b| b.timestamp);
    let last = by_day.values().last().and_then(|v| v.last()).map(|b| b.timestamp);
    if let (Some(first), Some(last)) = (first, last) {
        report.span = Some((time(first), time(last)));
    }
    let step = base.duration_ms();
    for (day, day_bars) in &by_day {
        let mut expected = crate::layout::day_start_ms(*day);
        let end = expected + 86_400_000;
        for ts in day_bars.iter().map(|b| b.timestamp).chain(std::iter::once(end)) {
            if ts > expected {
                let missing = (ts - expected) / step;
                report.missing_bars += missing as u64;
                report.gaps.push(format!(
                    "{missing} bar(s) of {base} missing from {} to {}",
                    time(expected),
                    time(ts - step)
                ));
            }
            expected = ts + step;
        }
        for tf in Timeframe::ALL.into_iter().filter(|tf| *tf >= base) {
            let out = if tf == base { day_bars.clone() } else { resample(day_bars, tf) };
            let relative = DataLayout::dataset_dir(options.market, options.symbol, tf)
                .join(day_file_name(options.symbol, tf, *day));
            write_atomic(&options.out_root.join(relative), render(&out).as_bytes())?;
            report.files += 1;
        }
    }
    Ok(report)
}

/// The CSV text of daily bars, numbers without trailing zeros.
#[must_use]
pub fn render(bars: &[Bar]) -> String {
    let mut out = String::with_capacity(bars.len() * 56 + 40);
    out.push_str(BAR_HEADER);
    out.push('\n');
    for b in bars {
        use std::fmt::Write;
        let n = Decimal::normalize;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            b.timestamp,
            n(&b.open),
            n(&b.high),
            n(&b.low),
            n(&b.close),
            n(&b.volume)
        );
    }
    out
}

fn time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// The CSV texts in an input: the file itself, or every `.csv` entry of a ZIP archive.
fn read_input(path: &Path) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let name = path
        .file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let bytes = fs::read(path).map_err(|e| DataError::io(name.clone(), &e))?;
    if !bytes.starts_with(b"PK\x03\x04") {
        return Ok(vec![(name, bytes)]);
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| DataError::file(&name, format!("not a readable ZIP archive: {e}")))?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| DataError::file(&name, format!("bad ZIP entry: {e}")))?;
        if !entry.name().ends_with(".csv") {
            continue;
        }
        let entry_name = format!("{name}/{}", entry.name());
        let mut text = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 30));
        entry.read_to_end(&mut text).map_err(|e| DataError::io(entry_name.clone(), &e))?;
        out.push((entry_name, text));
    }
    if out.is_empty() {
        return Err(DataError::file(&name, "the ZIP archive holds no .csv file"));
    }
    Ok(out)
}

/// Open times above this are microseconds (ms timestamps stay below it until the year 5138).
const MICROS_THRESHOLD: i64 = 100_000_000_000_000;

fn to_millis(raw: i64) -> Option<i64> {
    if raw >= MICROS_THRESHOLD {
        (raw % 1_000 == 0).then_some(raw / 1_000)
    } else {
        Some(raw)
    }
}

use crate::decimal::csv_rows as rows;

fn field(record: &csv::ByteRecord, i: usize) -> &[u8] {
    record.get(i).unwrap_or_default()
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(40).collect()
}

fn parse_klines(text: &[u8], name: &str, interval: Timeframe) -> Result<Vec<Bar>, DataError> {
    let mut out = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut reader = rows(text);
    let mut line = 0u64;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| DataError::row(name, line + 1, format!("unreadable CSV: {e}")))?
    {
        line += 1;
        let first = field(&record, 0);
        if line == 1 && !first.iter().all(u8::is_ascii_digit) {
            continue; // Binance futures files start with a header; spot files do not.
        }
        if record.len() != 12 {
            return Err(DataError::row(
                name,
                line,
                format!("expected 12 kline fields, found {}", record.len()),
            ));
        }
        let timestamp = std::str::from_utf8(first)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(to_millis)
            .ok_or_else(|| {
                DataError::row(
                    name,
                    line,
                    format!("open_time {:?} is not a timestamp", shown(first)),
                )
            })?;
        if timestamp.rem_euclid(interval.duration_ms()) != 0 {
            return Err(DataError::row(
                name,
                line,
                format!("open_time {timestamp} is not on the {interval} grid"),
            ));
        }
        let number = |i: usize, what: &str, positive: bool| {
            parse_decimal(field(&record, i))
                .filter(|v| if positive { *v > Decimal::ZERO } else { *v >= Decimal::ZERO })
                .ok_or_else(|| {
                    DataError::row(
                        name,
                        line,
                        format!("{what} {:?} is not a valid number", shown(field(&record, i))),
                    )
                })
        };
        let bar = Bar {
            timestamp,
            open: number(1, "open", true)?,
            high: number(2, "high", true)?,
            low: number(3, "low", true)?,
            close: number(4, "close", true)?,
            volume: number(5, "volume", false)?,
        };
        if bar.low > bar.open.min(bar.close) || bar.high < bar.open.max(bar.close) {
            return Err(DataError::row(
                name,
                line,
                format!(
                    "high {} / low {} do not contain open {} and close {}",
                    bar.high, bar.low, bar.open, bar.close
                ),
            ));
        }
        out.push(bar);
    }
    Ok(out)
}

/// Trades into 1m bars; `time_col` is the trade time's column (4 for trades, 5 for aggTrades).
/// Returns the number of trades read and the bars.
fn trades_to_minutes(
    text: &[u8],
    name: &str,
    time_col: usize,
) -> Result<(u64, Vec<Bar>), DataError> {
    let mut out: Vec<Bar> = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut reader = rows(text);
    let mut line = 0u64;
    let mut count = 0u64;
    let mut previous = i64::MIN;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| DataError::row(name, line + 1, format!("unreadable CSV: {e}")))?
    {
        line += 1;
        if line == 1 && !field(&record, 0).iter().all(u8::is_ascii_digit) {
            continue;
        }
        if record.len() <= time_col + 1 {
            return Err(DataError::row(
                name,
                line,
                format!("expected at least {} trade fields, found {}", time_col + 2, record.len()),
            ));
        }
        let price =
            parse_decimal(field(&record, 1)).filter(|p| *p > Decimal::ZERO).ok_or_else(|| {
                DataError::row(
                    name,
                    line,
                    format!("price {:?} is not a positive number", shown(field(&record, 1))),
                )
            })?;
        let qty =
            parse_decimal(field(&record, 2)).filter(|q| *q >= Decimal::ZERO).ok_or_else(|| {
                DataError::row(
                    name,
                    line,
                    format!("quantity {:?} is not a non-negative number", shown(field(&record, 2))),
                )
            })?;
        let raw = field(&record, time_col);
        let at = std::str::from_utf8(raw)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .map(|t| if t >= MICROS_THRESHOLD { t / 1_000 } else { t })
            .ok_or_else(|| {
                DataError::row(name, line, format!("time {:?} is not a timestamp", shown(raw)))
            })?;
        if at < previous {
            return Err(DataError::row(
                name,
                line,
                format!("trade time {at} is before the previous trade's {previous}"),
            ));
        }
        previous = at;
        count += 1;
        let minute = at - at.rem_euclid(60_000);
        match out.last_mut() {
            Some(bar) if bar.timestamp == minute => {
                bar.high = bar.high.max(price);
                bar.low = bar.low.min(price);
                bar.close = price;
                bar.volume += qty;
            }
            _ => out.push(Bar {
                timestamp: minute,
                open: price,
                high: price,
                low: price,
                close: price,
                volume: qty,
            }),
        }
    }
    Ok((count, out))
}
