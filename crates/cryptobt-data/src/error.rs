//! `DataError`: everything that can go wrong reading, converting or fetching market data.

use std::io;

use cryptobt_domain::ports::MarketDataError;
use thiserror::Error;

/// A market-data failure. File names are relative to the data directory (or the input the user
/// named), never absolute server paths.
#[derive(Debug, Clone, Error)]
pub enum DataError {
    /// A row that breaks a rule of docs/data.md.
    #[error("{file}:{line}: {message}")]
    InvalidRow {
        /// The file, relative to the data directory.
        file: String,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong, naming the value.
        message: String,
    },
    /// A file that is empty, has a bad header, or holds no rows.
    #[error("{file}: {message}")]
    InvalidFile {
        /// The file, relative to the data directory.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A day of the requested range has no file.
    #[error("missing day {date}: {file} does not exist")]
    MissingDay {
        /// The day.
        date: String,
        /// The file that should hold it, relative to the data directory.
        file: String,
    },
    /// No data at all for a market, symbol and timeframe.
    #[error("no data for {what}")]
    NoData {
        /// The market, symbol and timeframe asked for.
        what: String,
    },
    /// A file could not be read or written.
    #[error("{file}: {message}")]
    Io {
        /// The file, relative to the data directory or as named by the user.
        file: String,
        /// The OS error's text.
        message: String,
        /// The OS error itself, for the chain in logs.
        #[source]
        source: Option<std::sync::Arc<io::Error>>,
    },
    /// A download failed (HTTP status, network, checksum).
    #[error("download of {url} failed: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// An argument out of range (dates, symbols, intervals).
    #[error("{0}")]
    InvalidArgument(String),
}

impl DataError {
    pub(crate) fn io(file: impl Into<String>, error: &io::Error) -> Self {
        let source = io::Error::new(error.kind(), error.to_string());
        Self::Io { file: file.into(), message: error.to_string(), source: Some(source.into()) }
    }

    pub(crate) fn row(file: &str, line: u64, message: impl Into<String>) -> Self {
        Self::InvalidRow { file: file.to_owned(), line, message: message.into() }
    }

    pub(crate) fn file(file: &str, message: impl Into<String>) -> Self {
        Self::InvalidFile { file: file.to_owned(), message: message.into() }
    }
}

impl From<DataError> for MarketDataError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::InvalidRow { file, line, message } => {
                Self::Invalid { location: format!("{file}:{line}"), message }
            }
            DataError::InvalidFile { file, message } => Self::Invalid { location: file, message },
            DataError::MissingDay { .. } | DataError::NoData { .. } => {
                Self::NotFound { what: e.to_string() }
            }
            other => Self::Unavailable {
                message: other.to_string(),
                source: Some(std::sync::Arc::new(other)),
            },
        }
    }
}

/// What is wrong with a header that is not `expected`, naming the first column that differs and
/// never echoing the file's text (a data file may be a link to anything).
pub(crate) fn header_issue<'a>(found: impl Iterator<Item = &'a [u8]>, expected: &str) -> String {
    let found: Vec<&[u8]> = found.collect();
    let want: Vec<&str> = expected.split(',').collect();
    let column = want
        .iter()
        .zip(found.iter())
        .position(|(w, f)| w.as_bytes() != *f)
        .unwrap_or_else(|| want.len().min(found.len()));
    let columns = |n: usize| format!("{n} column{}", if n == 1 { "" } else { "s" });
    match want.get(column) {
        Some(name) => format!(
            "the header is not {expected:?}: column {} should be {name:?} ({} found)",
            column + 1,
            columns(found.len())
        ),
        None => format!(
            "the header is not {expected:?}: {} found, {} expected",
            columns(found.len()),
            want.len()
        ),
    }
}
