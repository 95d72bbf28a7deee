//! Monthly funding-rate files: `timestamp,funding_rate`, one row per funding time.

use chrono::{Datelike, NaiveDate};
use cryptobt_domain::{FundingRate, Symbol};
use rust_decimal::Decimal;

use crate::{
    decimal::{parse_plain_decimal, parse_plain_i64},
    layout::{day_start_ms, display, read_to_bytes, DataLayout, FUNDING_HEADER},
    DataError,
};

/// Funding times fall on 00:00, 08:00 and 16:00 UTC.
pub const FUNDING_INTERVAL_MS: i64 = 8 * 3_600_000;

/// The first day of each month from `start`'s to `end`'s.
fn months(start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = start.with_day(1).unwrap_or(start);
    while m <= end {
        out.push(m);
        m = m.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX);
    }
    out
}

pub(crate) fn read_funding(
    layout: &DataLayout,
    symbol: Symbol,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Option<Vec<FundingRate>>, DataError> {
    let from = day_start_ms(start);
    let to = day_start_ms(end) + 86_400_000;
    let mut found = Vec::new();
    for month in months(start, end) {
        let relative = DataLayout::funding_file(symbol, month);
        // Funding files are optional (docs/data.md): a month without one leaves its funding times to the
        // run's configured rate, and the engine counts every such time in the report.
        if let Some(bytes) = read_to_bytes(layout.root(), &relative)? {
            found.push(parse_funding(&bytes, &display(&relative))?);
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    let rates =
        found.into_iter().flatten().filter(|r| r.timestamp >= from && r.timestamp < to).collect();
    Ok(Some(rates))
}

/// Parses one funding file: the header, then strictly increasing 8-hour-grid times and rates.
pub(crate) fn parse_funding(bytes: &[u8], name: &str) -> Result<Vec<FundingRate>, DataError> {
    let mut reader = crate::decimal::csv_rows(bytes);
    let mut record = csv::ByteRecord::new();
    let mut out = Vec::new();
    let mut line = 0u64;
    let mut previous = None;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| DataError::row(name, line + 1, format!("unreadable CSV: {e}")))?;
        if !more {
            break;
        }
        line = record.position().map_or(line + 1, csv::Position::line);
        if line == 1 {
            if record.iter().ne(FUNDING_HEADER.split(',').map(str::as_bytes)) {
                return Err(DataError::row(
                    name,
                    1,
                    crate::error::header_issue(record.iter(), FUNDING_HEADER),
                ));
            }
            continue;
        }
        if record.len() != 2 {
            return Err(DataError::row(
                name,
                line,
                format!("expected 2 fields, found {}", record.len()),
            ));
        }
        let text =
            |i: usize| String::from_utf8_lossy(&record[i]).chars().take(40).collect::<String>();
        let timestamp = parse_plain_i64(&record[0]).ok_or_else(|| {
            DataError::row(
                name,
                line,
                format!("timestamp {:?} is not an integer of milliseconds", text(0)),
            )
        })?;
        if timestamp.rem_euclid(FUNDING_INTERVAL_MS) != 0 {
            return Err(DataError::row(
                name,
                line,
                format!("timestamp {timestamp} is not a funding time (00:00, 08:00 or 16:00 UTC)"),
            ));
        }
        if previous.is_some_and(|p| timestamp <= p) {
            return Err(DataError::row(
                name,
                line,
                format!("timestamp {timestamp} is not after the previous row's"),
            ));
        }
        let rate = parse_plain_decimal(&record[1]).filter(|r| r.abs() < Decimal::ONE).ok_or_else(
            || {
                DataError::row(
                    name,
                    line,
                    format!("funding_rate {:?} is not a rate between -1 and 1", text(1)),
                )
            },
        )?;
        previous = Some(timestamp);
        out.push(FundingRate { timestamp, rate });
    }
    if line == 0 {
        return Err(DataError::file(
            name,
            "file is empty (expected the header timestamp,funding_rate)",
        ));
    }
    Ok(out)
}
