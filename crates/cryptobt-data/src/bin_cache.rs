//! The binary sidecar of a day file: the bars of `binance/…/X_1m_2025-01-01.csv` as fixed-size
//! rows in `.cache/binance/…/X_1m_2025-01-01.csv.bars` under the data directory, written after
//! the CSV has been read and checked in full, and used instead of parsing it again while the CSV
//! keeps the size and modification time the sidecar records.
//!
//! The CSV stays the source of truth: a changed CSV (size or time) is parsed and checked again
//! (its first bad row is still an error naming file and line), and a sidecar that is missing,
//! short, of another version or unwritable only costs the parse. Layout (little-endian): the
//! 8-byte magic, the CSV's length (u64), its modification time (i64 seconds and u32 nanoseconds
//! since the Unix epoch), the bar count (u32), then per bar the timestamp (i64) and open, high,
//! low, close and volume as `rust_decimal`'s 16-byte serialisation — exact, so the bars read back
//! are the bars parsed.

use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use cryptobt_domain::Bar;
use rust_decimal::Decimal;

const MAGIC: &[u8; 8] = b"CBTBAR01";
const HEADER: usize = 32;
const ROW: usize = 88;

/// The sidecar of the day file at `relative` (`/`-separated) under the data directory `root`.
pub(crate) fn sidecar(root: &Path, relative: &str) -> PathBuf {
    root.join(".cache").join(format!("{relative}.bars"))
}

fn stamp(modified: SystemTime) -> (i64, u32) {
    match modified.duration_since(UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos()),
        Err(_) => (-1, 0),
    }
}

fn header(len: u64, modified: SystemTime, count: usize) -> [u8; HEADER] {
    let (secs, nanos) = stamp(modified);
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&len.to_le_bytes());
    h[16..24].copy_from_slice(&secs.to_le_bytes());
    h[24..28].copy_from_slice(&nanos.to_le_bytes());
    h[28..32].copy_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes());
    h
}

/// The bars of the sidecar at `path` when it describes a CSV of `len` bytes modified at
/// `modified`; `None` otherwise (missing, stale, short or of another version).
pub(crate) fn read(path: &Path, len: u64, modified: SystemTime) -> Option<Vec<Bar>> {
    let bytes = std::fs::read(path).ok()?;
    let count = usize::try_from(u32::from_le_bytes(bytes.get(28..32)?.try_into().ok()?)).ok()?;
    if bytes.get(..28)? != &header(len, modified, count)[..28]
        || bytes.len() != HEADER + count * ROW
    {
        return None;
    }
    let decimal = |b: &[u8]| -> Option<Decimal> { Some(Decimal::deserialize(b.try_into().ok()?)) };
    bytes[HEADER..]
        .chunks_exact(ROW)
        .map(|r| {
            Some(Bar {
                timestamp: i64::from_le_bytes(r[..8].try_into().ok()?),
                open: decimal(&r[8..24])?,
                high: decimal(&r[24..40])?,
                low: decimal(&r[40..56])?,
                close: decimal(&r[56..72])?,
                volume: decimal(&r[72..88])?,
            })
        })
        .collect()
}

/// Writes the sidecar of `bars` (parsed from a CSV of `len` bytes modified at `modified`) to
/// `path`, atomically. A failure (a read-only data directory) is logged and otherwise ignored.
pub(crate) fn write(path: &Path, len: u64, modified: SystemTime, bars: &[Bar]) {
    let mut bytes = Vec::with_capacity(HEADER + bars.len() * ROW);
    bytes.extend_from_slice(&header(len, modified, bars.len()));
    for bar in bars {
        bytes.extend_from_slice(&bar.timestamp.to_le_bytes());
        for v in [bar.open, bar.high, bar.low, bar.close, bar.volume] {
            bytes.extend_from_slice(&v.serialize());
        }
    }
    if let Err(e) = cryptobt_fs::write_atomic(path, &bytes) {
        tracing::debug!(file = %path.display(), error = %e.source, "no binary sidecar (parsing the CSV each time)");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn bars_come_back_exactly_while_the_csv_is_unchanged() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = sidecar(dir.path(), "binance/spot/BTCUSDT/1m/x.csv");
        let bars = [
            Bar {
                timestamp: 1_735_689_600_000,
                open: dec!(93576),
                high: dec!(93610.93),
                low: dec!(93537.5),
                close: dec!(93610.930),
                volume: dec!(8.21827),
            },
            Bar {
                timestamp: 1_735_689_660_000,
                open: dec!(0.000001),
                high: dec!(79228162514264337593543950335),
                low: dec!(0.000001),
                close: dec!(1),
                volume: dec!(0),
            },
        ];
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        write(&path, 1_000, t, &bars);
        let back = read(&path, 1_000, t).unwrap_or_default();
        assert_eq!(back, bars);
        // Scale is kept: 93610.930 stays three decimals.
        assert_eq!(back[0].close.to_string(), "93610.930");
        // Another size, another time (to the nanosecond): stale.
        assert_eq!(read(&path, 1_001, t), None);
        assert_eq!(read(&path, 1_000, t + Duration::from_nanos(1)), None);
        // A truncated sidecar is not used.
        let bytes = std::fs::read(&path).unwrap_or_default();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap_or_default();
        assert_eq!(read(&path, 1_000, t), None);
        assert_eq!(read(&dir.path().join("missing"), 1_000, t), None);
    }
}
