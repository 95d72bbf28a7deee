//! Reading a stored run back: the CSV rows of `trades.csv`, `funding.csv` and `portfolio.csv`
//! (thinned to a number of points) into domain values.

use std::{fs, path::Path};

use cryptobt_domain::{
    ports::PortfolioRow, ActionType, FundingPayment, PositionType, Symbol, Trade,
};
use rust_decimal::Decimal;

fn decimal(field: &str, what: &str) -> Result<Decimal, String> {
    crate::parse_decimal(field.as_bytes())
        .ok_or_else(|| format!("{what} {field:?} is not a number"))
}

fn from_name<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| e.to_string())
}

pub(super) fn parse_trade(line: &str) -> Result<Trade, String> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != 9 {
        return Err(format!("expected 9 fields in {line:?}"));
    }
    Ok(Trade {
        timestamp: f[0].parse().map_err(|_| format!("timestamp {:?}", f[0]))?,
        action: from_name::<ActionType>(f[1])?,
        symbol: f[2].parse::<Symbol>().map_err(|e| e.to_string())?,
        quantity: decimal(f[3], "quantity")?,
        price: decimal(f[4], "price")?,
        leverage: decimal(f[5], "leverage")?,
        fee: decimal(f[6], "fee")?,
        position_type: from_name::<PositionType>(f[7])?,
        pnl: decimal(f[8], "pnl")?,
    })
}

pub(super) fn parse_funding_row(line: &str) -> Result<FundingPayment, String> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != 6 {
        return Err(format!("expected 6 fields in {line:?}"));
    }
    Ok(FundingPayment {
        timestamp: f[0].parse().map_err(|_| format!("timestamp {:?}", f[0]))?,
        symbol: f[1].parse::<Symbol>().map_err(|e| e.to_string())?,
        rate: decimal(f[2], "rate")?,
        price: decimal(f[3], "price")?,
        position_size: decimal(f[4], "position_size")?,
        amount: decimal(f[5], "amount")?,
    })
}

fn parse_portfolio_row(line: &str) -> Result<PortfolioRow, String> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != 7 {
        return Err(format!("expected 7 fields in {line:?}"));
    }
    Ok(PortfolioRow {
        timestamp: f[0].parse().map_err(|_| format!("timestamp {:?}", f[0]))?,
        portfolio_value: decimal(f[1], "portfolio_value")?,
        cash: decimal(f[2], "cash")?,
        unrealized_pnl: decimal(f[3], "unrealized_pnl")?,
        realized_pnl: decimal(f[4], "realized_pnl")?,
        margin_used: decimal(f[5], "margin_used")?,
        leverage_ratio: decimal(f[6], "leverage_ratio")?,
    })
}

/// Reads `portfolio.csv` keeping every k-th row (and the last) so that at most `max_points` come
/// back; returns them with the number of rows in the file. Two streaming passes: no full copy.
pub(super) fn read_portfolio(
    path: &Path,
    max_points: usize,
) -> Result<(Vec<PortfolioRow>, u64), String> {
    use std::io::BufRead;
    let open = || fs::File::open(path).map(std::io::BufReader::new);
    let rows = match open() {
        Ok(reader) => reader.lines().count().saturating_sub(1) as u64,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e.to_string()),
    };
    let max = max_points.max(2) as u64;
    let step = rows.div_ceil(max).max(1);
    let mut out = Vec::with_capacity(rows.min(max) as usize + 1);
    let reader = open().map_err(|e| e.to_string())?;
    for (i, line) in reader.lines().skip(1).enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        let i = i as u64;
        if i.is_multiple_of(step) || i + 1 == rows {
            out.push(parse_portfolio_row(&line)?);
        }
    }
    Ok((out, rows))
}
