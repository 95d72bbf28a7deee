//! Discovery: which markets, symbols, timeframes and days exist under a data directory.

use std::{collections::BTreeMap, fs, io, path::Path};

use chrono::NaiveDate;
use cryptobt_domain::{ports::DatasetInfo, Symbol, Timeframe, TradingMode};

use crate::{
    layout::{display, parse_day_file_name, DataLayout},
    DataError,
};

/// The days with a file in one data set, in order.
pub(crate) fn dataset_days(
    root: &Path,
    mode: TradingMode,
    symbol: Symbol,
    timeframe: Timeframe,
) -> Result<Vec<NaiveDate>, DataError> {
    let relative = DataLayout::dataset_dir(mode, symbol, timeframe);
    let mut days: Vec<NaiveDate> = entries(root, &relative)?
        .iter()
        .filter_map(|name| parse_day_file_name(name, symbol, timeframe))
        .collect();
    days.sort_unstable();
    Ok(days)
}

/// File names in a directory (none when it does not exist).
fn entries(root: &Path, relative: &Path) -> Result<Vec<String>, DataError> {
    let dir = match fs::read_dir(root.join(relative)) {
        Ok(dir) => dir,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DataError::io(display(relative), &e)),
    };
    let mut names = Vec::new();
    for entry in dir {
        let entry = entry.map_err(|e| DataError::io(display(relative), &e))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// Every data set under `root`: market, symbol and timeframe directories holding day files.
///
/// # Errors
/// An unreadable directory.
pub fn discover(root: &Path) -> Result<Vec<DatasetInfo>, DataError> {
    let mut out = BTreeMap::new();
    for mode in [TradingMode::Spot, TradingMode::Futures] {
        let market = Path::new("binance").join(mode.as_str());
        for name in entries(root, &market)? {
            let Ok(symbol) = Symbol::new(&name) else { continue };
            for timeframe in Timeframe::ALL {
                let days = dataset_days(root, mode, symbol, timeframe)?;
                if let (Some(first), Some(last)) = (days.first(), days.last()) {
                    let info = DatasetInfo {
                        mode,
                        symbol,
                        timeframe,
                        first_day: *first,
                        last_day: *last,
                        days: days.len(),
                    };
                    out.insert((mode, symbol, timeframe), info);
                }
            }
        }
    }
    Ok(out.into_values().collect())
}
