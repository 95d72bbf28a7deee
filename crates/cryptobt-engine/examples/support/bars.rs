//! The shipped bars through the data crate (`CsvMarketData`: validated, cached), as a Rust
//! user reads them: the engine itself does no IO.

use std::path::Path;

use chrono::NaiveDate;
use cryptobt_data::CsvMarketData;
use cryptobt_domain::{
    ports::{BarQuery, BarSeries, MarketData},
    Symbol, Timeframe, TradingMode,
};

/// The bars of `symbol` on `timeframe` in `mode` under the shipped `data/`, days `start..=end`.
pub(crate) fn read(
    mode: TradingMode,
    symbol: &str,
    timeframe: Timeframe,
    start: NaiveDate,
    end: NaiveDate,
) -> BarSeries {
    let data = CsvMarketData::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"));
    let query = BarQuery { mode, symbol: Symbol::new(symbol).unwrap(), timeframe, start, end };
    data.bars(&query).unwrap_or_else(|e| panic!("the shipped data: {e}"))
}
