//! Reading one daily bar file: the header, every row's values, and the timestamp grid.

use chrono::NaiveDate;
use cryptobt_domain::{Bar, Timeframe};
use rust_decimal::Decimal;

use crate::{
    decimal::{parse_plain_decimal, parse_plain_i64},
    layout::{day_start_ms, BAR_HEADER},
    DataError,
};

const DAY_MS: i64 = 86_400_000;

/// What is being read: the file's name (for messages), its day and timeframe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayFile<'a> {
    pub(crate) name: &'a str,
    pub(crate) day: NaiveDate,
    pub(crate) timeframe: Timeframe,
}

/// A problem with one row, found while scanning leniently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RowIssue {
    /// A row breaking a value or timestamp rule (skipped).
    Bad { line: u64, message: String },
    /// A row repeating the previous row's timestamp (skipped).
    Duplicate { line: u64, timestamp: i64 },
}

/// The bars of a day file and, when scanning leniently, the rows that were left out.
#[derive(Debug, Default)]
pub(crate) struct DayScan {
    pub(crate) bars: Vec<Bar>,
    pub(crate) issues: Vec<RowIssue>,
}

/// Reads a day file strictly: the first bad row is an error naming the file, line and value.
pub(crate) fn read_day(bytes: &[u8], file: DayFile<'_>) -> Result<Vec<Bar>, DataError> {
    scan(bytes, file, true).map(|scan| scan.bars)
}

/// Reads a day file leniently: bad and duplicate rows are skipped and listed. A file whose
/// header or shape is wrong is still an error.
pub(crate) fn scan_day(bytes: &[u8], file: DayFile<'_>) -> Result<DayScan, DataError> {
    scan(bytes, file, false)
}

fn scan(bytes: &[u8], file: DayFile<'_>, strict: bool) -> Result<DayScan, DataError> {
    let mut reader = crate::decimal::csv_rows(bytes);
    let mut record = csv::ByteRecord::new();
    let read = |reader: &mut csv::Reader<&[u8]>, record: &mut csv::ByteRecord| {
        reader.read_byte_record(record).map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            DataError::row(file.name, line, format!("unreadable CSV: {e}"))
        })
    };
    if !read(&mut reader, &mut record)? {
        return Err(DataError::file(
            file.name,
            "file is empty (expected the header and one row per bar)",
        ));
    }
    if record.iter().ne(BAR_HEADER.split(',').map(str::as_bytes)) {
        return Err(DataError::row(
            file.name,
            1,
            crate::error::header_issue(record.iter(), BAR_HEADER),
        ));
    }
    let duration = file.timeframe.duration_ms();
    let day_start = day_start_ms(file.day);
    let mut out = DayScan {
        bars: Vec::with_capacity(file.timeframe.bars_per_day() as usize),
        issues: Vec::new(),
    };
    let mut previous: Option<i64> = None;
    let mut line = 1u64;
    while read(&mut reader, &mut record)? {
        line = record.position().map_or(line + 1, csv::Position::line);
        match check_row(&record, previous, day_start, duration, file) {
            Ok(bar) => {
                previous = Some(bar.timestamp);
                out.bars.push(bar);
            }
            Err(issue) if strict => {
                let message = match issue {
                    Issue::Bad(message) => message,
                    Issue::Duplicate(ts) => format!("duplicate timestamp {ts}"),
                };
                return Err(DataError::row(file.name, line, message));
            }
            Err(Issue::Bad(message)) => out.issues.push(RowIssue::Bad { line, message }),
            Err(Issue::Duplicate(timestamp)) => {
                out.issues.push(RowIssue::Duplicate { line, timestamp })
            }
        }
    }
    if out.bars.is_empty() && strict {
        return Err(DataError::file(file.name, "file has a header but no rows"));
    }
    Ok(out)
}

enum Issue {
    Bad(String),
    Duplicate(i64),
}

fn check_row(
    record: &csv::ByteRecord,
    previous: Option<i64>,
    day_start: i64,
    duration: i64,
    file: DayFile<'_>,
) -> Result<Bar, Issue> {
    if record.len() != 6 {
        return Err(Issue::Bad(format!("expected 6 fields, found {}", record.len())));
    }
    let text = |i: usize| String::from_utf8_lossy(&record[i]).chars().take(40).collect::<String>();
    let timestamp = parse_plain_i64(&record[0]).ok_or_else(|| {
        Issue::Bad(format!("timestamp {:?} is not an integer of milliseconds", text(0)))
    })?;
    let price = |i: usize, name: &str| -> Result<Decimal, Issue> {
        match parse_plain_decimal(&record[i]) {
            Some(v) if v > Decimal::ZERO => Ok(v),
            _ => Err(Issue::Bad(format!("{name} {:?} is not a positive plain decimal", text(i)))),
        }
    };
    let open = price(1, "open")?;
    let high = price(2, "high")?;
    let low = price(3, "low")?;
    let close = price(4, "close")?;
    let volume = match parse_plain_decimal(&record[5]) {
        Some(v) if v >= Decimal::ZERO => v,
        _ => {
            return Err(Issue::Bad(format!(
                "volume {:?} is not a non-negative plain decimal",
                text(5)
            )))
        }
    };
    if timestamp < day_start || timestamp >= day_start + DAY_MS {
        let day = chrono::DateTime::from_timestamp_millis(timestamp)
            .map_or_else(|| "another day".to_owned(), |t| t.date_naive().to_string());
        return Err(Issue::Bad(format!(
            "timestamp {timestamp} belongs to {day}, not to this file's day {}",
            file.day
        )));
    }
    if timestamp.rem_euclid(duration) != 0 {
        return Err(Issue::Bad(format!(
            "timestamp {timestamp} is not on the {} grid (a multiple of {duration} ms)",
            file.timeframe
        )));
    }
    match previous {
        Some(p) if timestamp == p => return Err(Issue::Duplicate(timestamp)),
        Some(p) if timestamp < p => {
            return Err(Issue::Bad(format!(
                "timestamp {timestamp} is not after the previous row's {p}"
            )))
        }
        _ => {}
    }
    if low > open.min(close) {
        return Err(Issue::Bad(format!("low {low} is above min(open, close) {}", open.min(close))));
    }
    if high < open.max(close) {
        return Err(Issue::Bad(format!(
            "high {high} is below max(open, close) {}",
            open.max(close)
        )));
    }
    Ok(Bar { timestamp, open, high, low, close, volume })
}

/// Parses the text of one daily bar file of `timeframe` for `day` strictly (docs/data.md); `name`
/// is used in messages.
///
/// # Errors
/// The first invalid row, naming `name`, the line and the value; a bad header or an empty file.
pub fn parse_day(
    bytes: &[u8],
    name: &str,
    day: NaiveDate,
    timeframe: Timeframe,
) -> Result<Vec<Bar>, DataError> {
    read_day(bytes, DayFile { name, day, timeframe })
}
