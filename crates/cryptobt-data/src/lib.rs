//! Market data for cryptobt: the daily CSV loader behind `cryptobt_domain::ports::MarketData`,
//! its moka cache with observers, discovery of what a data directory holds, verification, and
//! the import (`convert`) and `download` of Binance's own archives. (Run results live in
//! `cryptobt-store`.)
//!
//! It reads and writes files and, for `download` only, talks HTTP; it knows nothing of Lua, the
//! engine or the web server. Every error names the file (relative to the data directory), the
//! line and the value.

mod bin_cache;
mod cache;
#[cfg(feature = "binance")]
mod convert;
mod dataset_dir;
mod day;
mod decimal;
mod discovery;
#[cfg(feature = "binance")]
mod download;
mod error;
mod funding;
mod layout;
mod loader;
mod resample;
mod verify;
mod write;

pub use crate::{
    cache::{BarCache, CacheKey, CacheObserver, CacheStats, CacheStatsSnapshot, TracingObserver},
    day::parse_day,
    decimal::parse_decimal,
    discovery::discover,
    error::DataError,
    funding::FUNDING_INTERVAL_MS,
    layout::{day_file_name, day_start_ms, DataLayout, BAR_HEADER, FUNDING_HEADER},
    loader::CsvMarketData,
    resample::resample,
    verify::{verify, FundingReport, SetReport, VerifyReport},
    write::write_atomic,
};
#[cfg(feature = "binance")]
pub use crate::{
    convert::{convert, render, ConvertOptions, ConvertReport, InputKind},
    download::{
        download, funding_archives, kline_archives, Archive, DownloadOptions, DownloadProgress,
        DownloadReport, NoProgress, BINANCE_ARCHIVE_URL,
    },
};
