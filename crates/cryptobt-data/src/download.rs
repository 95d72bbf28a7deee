//! `cryptobt data download`: Binance's public kline and funding-rate archives (monthly where a
//! whole month is asked for, daily otherwise), each checked against its published `.CHECKSUM`,
//! resumable, and never leaving a half-written file: bytes go to `NAME.part` (continued with an
//! HTTP `Range` request after an interruption) and become `NAME` only once the SHA-256 matches.
//! Verified archives are then converted into the daily layout.

use std::{
    fs,
    io::{Read, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::{Datelike, NaiveDate};
use cryptobt_domain::{Symbol, Timeframe, TradingMode};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    convert::{convert, ConvertOptions, InputKind},
    decimal::parse_decimal,
    layout::{display, DataLayout, FUNDING_HEADER},
    write::write_atomic,
    DataError, FUNDING_INTERVAL_MS,
};

/// The public archive host.
pub const BINANCE_ARCHIVE_URL: &str = "https://data.binance.vision";

/// Receives download progress; every method defaults to doing nothing.
pub trait DownloadProgress: Send + Sync {
    /// An archive starts (or resumes at `resumed_from` bytes); `total` when the server says.
    fn on_start(&self, name: &str, total: Option<u64>, resumed_from: u64) {
        let _ = (name, total, resumed_from);
    }
    /// `bytes` more arrived.
    fn on_bytes(&self, bytes: u64) {
        let _ = bytes;
    }
    /// The archive is complete and verified.
    fn on_done(&self, name: &str) {
        let _ = name;
    }
    /// The archive was already present and verified.
    fn on_skip(&self, name: &str) {
        let _ = name;
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl DownloadProgress for NoProgress {}

/// What to download and where.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Archive host (default [`BINANCE_ARCHIVE_URL`]; tests point it at a local server).
    pub base_url: String,
    /// Spot or USDT-margined futures.
    pub market: TradingMode,
    /// The symbol.
    pub symbol: Symbol,
    /// First day (inclusive).
    pub start: NaiveDate,
    /// Last day (inclusive).
    pub end: NaiveDate,
    /// Kline interval to fetch (1m gives every timeframe).
    pub interval: Timeframe,
    /// Also fetch funding rates (futures only).
    pub funding: bool,
    /// The data directory the converted files go to.
    pub out_root: PathBuf,
    /// Where archives are kept (resuming needs the same directory).
    pub archive_dir: PathBuf,
}

/// What a download did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DownloadReport {
    /// Archives fetched now.
    pub downloaded: usize,
    /// Archives already present and verified.
    pub skipped: usize,
    /// Bytes received.
    pub bytes: u64,
    /// Kline bars written (base interval).
    pub bars: u64,
    /// Day files written, every timeframe included.
    pub files: usize,
    /// Funding month files written.
    pub funding_files: usize,
    /// Missing bars reported by the conversion.
    pub gaps: Vec<String>,
}

/// One archive: its path under the host and the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// Path under the host, e.g. `data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2025-01.zip`.
    pub path: String,
    /// The file name.
    pub name: String,
}

fn month_end(month: NaiveDate) -> NaiveDate {
    month.checked_add_months(chrono::Months::new(1)).and_then(|m| m.pred_opt()).unwrap_or(month)
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The kline archives covering `start..=end`: a monthly archive for every whole month, daily ones
/// for the rest.
#[must_use]
pub fn kline_archives(options: &DownloadOptions) -> Vec<Archive> {
    let market = match options.market {
        TradingMode::Spot => "spot",
        TradingMode::Futures => "futures/um",
    };
    let (symbol, interval) = (options.symbol, options.interval);
    let mut out = Vec::new();
    let mut month = month_start(options.start);
    while month <= options.end {
        let last = month_end(month);
        if month >= options.start && last <= options.end {
            let name = format!("{symbol}-{interval}-{:04}-{:02}.zip", month.year(), month.month());
            out.push(Archive {
                path: format!("data/{market}/monthly/klines/{symbol}/{interval}/{name}"),
                name,
            });
        } else {
            let from = month.max(options.start);
            let to = last.min(options.end);
            for day in from.iter_days().take_while(|d| *d <= to) {
                let name = format!("{symbol}-{interval}-{}.zip", day.format("%Y-%m-%d"));
                out.push(Archive {
                    path: format!("data/{market}/daily/klines/{symbol}/{interval}/{name}"),
                    name,
                });
            }
        }
        month = last.succ_opt().unwrap_or(NaiveDate::MAX);
    }
    out
}

/// The monthly funding-rate archives covering `start..=end` (futures only).
#[must_use]
pub fn funding_archives(options: &DownloadOptions) -> Vec<Archive> {
    let symbol = options.symbol;
    let mut out = Vec::new();
    let mut month = month_start(options.start);
    while month <= options.end {
        let name = format!("{symbol}-fundingRate-{:04}-{:02}.zip", month.year(), month.month());
        out.push(Archive {
            path: format!("data/futures/um/monthly/fundingRate/{symbol}/{name}"),
            name,
        });
        month = month_end(month).succ_opt().unwrap_or(NaiveDate::MAX);
    }
    out
}

/// Downloads, verifies and converts everything `options` asks for.
///
/// # Errors
/// An HTTP failure, a checksum mismatch (the bad file is deleted), or a conversion error.
pub fn download(
    options: &DownloadOptions,
    progress: &dyn DownloadProgress,
) -> Result<DownloadReport, DataError> {
    if options.end < options.start {
        return Err(DataError::InvalidArgument(format!(
            "--end {} is before --start {}",
            options.end, options.start
        )));
    }
    fs::create_dir_all(&options.archive_dir)
        .map_err(|e| DataError::io(options.archive_dir.display().to_string(), &e))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_recv_body(Some(Duration::from_secs(300)))
        .build()
        .into();
    let fetcher = Fetcher {
        agent,
        base: options.base_url.trim_end_matches('/').to_owned(),
        dir: options.archive_dir.clone(),
    };
    let mut report = DownloadReport::default();
    let mut klines = Vec::new();
    for archive in kline_archives(options) {
        klines.push(fetcher.fetch(&archive, progress, &mut report)?);
    }
    let converted = convert(
        &klines,
        &ConvertOptions {
            market: options.market,
            symbol: options.symbol,
            kind: InputKind::Klines(options.interval),
            out_root: options.out_root.clone(),
        },
    )?;
    report.bars = converted.bars;
    report.files = converted.files;
    report.gaps = converted.gaps;
    if options.funding && options.market == TradingMode::Futures {
        for archive in funding_archives(options) {
            let path = fetcher.fetch(&archive, progress, &mut report)?;
            write_funding_month(&path, &archive, options)?;
            report.funding_files += 1;
        }
    }
    Ok(report)
}

struct Fetcher {
    agent: ureq::Agent,
    base: String,
    dir: PathBuf,
}

impl Fetcher {
    fn url(&self, archive: &Archive) -> String {
        format!("{}/{}", self.base, archive.path)
    }

    /// The archive's verified local path: kept from an earlier run, or fetched (resuming a
    /// `.part`) and checked now.
    fn fetch(
        &self,
        archive: &Archive,
        progress: &dyn DownloadProgress,
        report: &mut DownloadReport,
    ) -> Result<PathBuf, DataError> {
        let url = self.url(archive);
        let expected = self.checksum(archive)?;
        let done = self.dir.join(&archive.name);
        if done.exists() {
            if sha256_file(&done)? == expected {
                progress.on_skip(&archive.name);
                report.skipped += 1;
                return Ok(done);
            }
            fs::remove_file(&done).map_err(|e| DataError::io(archive.name.clone(), &e))?;
        }
        let part = self.dir.join(format!("{}.part", archive.name));
        let received = self.transfer(&url, &part, &archive.name, progress)?;
        report.bytes += received;
        let actual = sha256_file(&part)?;
        if actual != expected {
            let _ = fs::remove_file(&part);
            return Err(DataError::Download {
                url,
                message: format!("checksum mismatch: expected sha256 {expected}, got {actual}; the file was deleted"),
            });
        }
        fs::rename(&part, &done).map_err(|e| DataError::io(archive.name.clone(), &e))?;
        progress.on_done(&archive.name);
        report.downloaded += 1;
        Ok(done)
    }

    /// The SHA-256 the host publishes for the archive (`HEX  NAME` in `NAME.CHECKSUM`).
    fn checksum(&self, archive: &Archive) -> Result<String, DataError> {
        let url = format!("{}.CHECKSUM", self.url(archive));
        let err = |message: String| DataError::Download { url: url.clone(), message };
        let mut response = self.agent.get(&url).call().map_err(|e| err(e.to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(err(format!("HTTP {status}")));
        }
        let text = response.body_mut().read_to_string().map_err(|e| err(e.to_string()))?;
        let hex = text.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err(format!(
                "not a SHA-256 checksum file: {:?}",
                text.chars().take(80).collect::<String>()
            )));
        }
        Ok(hex)
    }

    /// Downloads `url` into `part`, continuing an existing `part` with a `Range` request.
    /// Returns the bytes received now.
    fn transfer(
        &self,
        url: &str,
        part: &Path,
        name: &str,
        progress: &dyn DownloadProgress,
    ) -> Result<u64, DataError> {
        let err = |message: String| DataError::Download { url: url.to_owned(), message };
        let have = fs::metadata(part).map_or(0, |m| m.len());
        let mut request = self.agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = request.call().map_err(|e| err(e.to_string()))?;
        let status = response.status().as_u16();
        let length = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let (mut file, start) = match status {
            206 if have > 0 => (fs::OpenOptions::new().append(true).open(part), have),
            200 => (fs::File::create(part), 0),
            416 if have > 0 => {
                // The part is already complete (or longer than the file): let the checksum decide.
                return Ok(0);
            }
            other => return Err(err(format!("HTTP {other}"))),
        };
        let file = file.as_mut().map_err(|e| DataError::io(display(part), e))?;
        progress.on_start(name, length.map(|l| l + start), start);
        let mut reader = response.into_body().into_reader();
        let mut buf = vec![0u8; 64 << 10];
        let mut received = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| {
                err(format!(
                    "transfer interrupted after {} bytes ({e}); run again to resume",
                    start + received
                ))
            })?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n]).map_err(|e| DataError::io(display(part), &e))?;
            received += n as u64;
            progress.on_bytes(n as u64);
        }
        file.sync_all().map_err(|e| DataError::io(display(part), &e))?;
        Ok(received)
    }
}

fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut file = fs::File::open(path).map_err(|e| DataError::io(display(path), &e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::io(display(path), &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Converts a `fundingRate` archive (`calc_time,funding_interval_hours,last_funding_rate`, times
/// with a few milliseconds of jitter) into the month's `timestamp,funding_rate` file, each time
/// snapped to the nearest 8-hour funding boundary.
fn write_funding_month(
    zip_path: &Path,
    archive: &Archive,
    options: &DownloadOptions,
) -> Result<(), DataError> {
    let bytes = fs::read(zip_path).map_err(|e| DataError::io(archive.name.clone(), &e))?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| DataError::file(&archive.name, format!("not a readable ZIP archive: {e}")))?;
    let mut text = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| DataError::file(&archive.name, format!("bad ZIP entry: {e}")))?;
        if entry.name().ends_with(".csv") {
            entry.read_to_end(&mut text).map_err(|e| DataError::io(archive.name.clone(), &e))?;
        }
    }
    let mut out = format!("{FUNDING_HEADER}\n");
    let mut month = None;
    let mut reader = crate::decimal::csv_rows(text.as_slice());
    let mut record = csv::ByteRecord::new();
    let mut line = 0u64;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| DataError::row(&archive.name, line + 1, e.to_string()))?
    {
        line += 1;
        let first = record.get(0).unwrap_or_default();
        if line == 1 && !first.iter().all(u8::is_ascii_digit) {
            continue;
        }
        let raw: i64 = std::str::from_utf8(first)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| DataError::row(&archive.name, line, "calc_time is not a timestamp"))?;
        let snapped =
            (raw + FUNDING_INTERVAL_MS / 2).div_euclid(FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS;
        let rate = record.get(record.len().saturating_sub(1)).and_then(parse_decimal).ok_or_else(
            || DataError::row(&archive.name, line, "last_funding_rate is not a number"),
        )?;
        month = month
            .or_else(|| chrono::DateTime::from_timestamp_millis(snapped).map(|t| t.date_naive()));
        out.push_str(&format!("{snapped},{}\n", rate.normalize()));
    }
    let month =
        month.ok_or_else(|| DataError::file(&archive.name, "the funding archive holds no rows"))?;
    let relative = DataLayout::funding_file(options.symbol, month);
    write_atomic(&options.out_root.join(relative), out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(start: (i32, u32, u32), end: (i32, u32, u32)) -> DownloadOptions {
        let day = |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        DownloadOptions {
            base_url: BINANCE_ARCHIVE_URL.to_owned(),
            market: TradingMode::Spot,
            symbol: Symbol::new("BTCUSDT").unwrap(),
            start: day(start),
            end: day(end),
            interval: Timeframe::M1,
            funding: true,
            out_root: PathBuf::from("data"),
            archive_dir: PathBuf::from("data/.downloads"),
        }
    }

    #[test]
    fn whole_months_are_monthly_archives_and_the_rest_daily() {
        let names: Vec<_> = kline_archives(&options((2024, 12, 30), (2025, 2, 2)))
            .into_iter()
            .map(|a| a.path)
            .collect();
        assert_eq!(
            names,
            [
                "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-12-30.zip",
                "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-12-31.zip",
                "data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2025-01.zip",
                "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-02-01.zip",
                "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-02-02.zip",
            ]
        );
        let mut futures = options((2025, 5, 5), (2025, 6, 23));
        futures.market = TradingMode::Futures;
        let funding: Vec<_> = funding_archives(&futures).into_iter().map(|a| a.name).collect();
        assert_eq!(funding, ["BTCUSDT-fundingRate-2025-05.zip", "BTCUSDT-fundingRate-2025-06.zip"]);
        assert!(kline_archives(&futures)[0]
            .path
            .starts_with("data/futures/um/daily/klines/BTCUSDT/1m/"));
    }
}
