//! Reading a stored run back, typed: each CSV is read by the `csv` crate and its rows
//! deserialized (serde) into the domain values they were written from — `Trade`,
//! `FundingPayment`, `PortfolioRow` — under a header that must be the one the store writes.

use std::{fs, path::Path};

use cryptobt_domain::{
    ports::PortfolioRow, ActionType, FundingPayment, OrderType, PositionType, RoundTrip, Symbol,
    Trade,
};
use rust_decimal::Decimal;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// A decimal column: written in plain notation without trailing zeros (`93576`, `-0.5`), read
/// exactly as text (never through an f64, which the csv crate would otherwise infer for
/// `94686.38179`).
pub(crate) mod plain {
    use rust_decimal::Decimal;

    pub(crate) fn serialize<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&d.normalize())
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        rust_decimal::serde::str::deserialize(d)
    }
}

/// A row of `trades.csv`, written from a [`Trade`] and read back into one.
#[derive(Serialize, Deserialize)]
pub(crate) struct TradeRow {
    timestamp: i64,
    action: ActionType,
    symbol: Symbol,
    #[serde(with = "plain")]
    quantity: Decimal,
    #[serde(with = "plain")]
    price: Decimal,
    #[serde(with = "plain")]
    leverage: Decimal,
    #[serde(with = "plain")]
    fee: Decimal,
    position_type: PositionType,
    #[serde(with = "plain")]
    pnl: Decimal,
    #[serde(default)]
    order_type: OrderType,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    ambiguous: bool,
}

/// A row of `round_trips.csv`.
#[derive(Serialize, Deserialize)]
pub(crate) struct RoundTripRow {
    /// Only in a run of several symbols (a one-symbol run's file has no such column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    symbol: Option<Symbol>,
    entry_time: i64,
    exit_time: i64,
    side: PositionType,
    #[serde(with = "plain")]
    max_size: Decimal,
    #[serde(with = "plain")]
    entry_price: Decimal,
    #[serde(with = "plain")]
    exit_price: Decimal,
    #[serde(with = "plain")]
    fees: Decimal,
    #[serde(with = "plain")]
    funding: Decimal,
    #[serde(with = "plain")]
    pnl: Decimal,
    bars_held: u64,
    exit_reason: OrderType,
}

impl From<RoundTripRow> for RoundTrip {
    fn from(r: RoundTripRow) -> Self {
        Self {
            symbol: r.symbol,
            entry_time: r.entry_time,
            exit_time: r.exit_time,
            side: r.side,
            max_size: r.max_size,
            entry_price: r.entry_price,
            exit_price: r.exit_price,
            fees: r.fees,
            funding: r.funding,
            pnl: r.pnl,
            bars_held: r.bars_held,
            exit_reason: r.exit_reason,
        }
    }
}

/// Why a stored CSV file could not be read back (the message names the row or field).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The file could not be opened or read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A row is not CSV or does not fit its columns.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// The first line is not the header the store writes.
    #[error("header is {found:?}, expected {expected:?}")]
    Header {
        /// The header found.
        found: String,
        /// The header written.
        expected: String,
    },
    /// The last row has no end of line: the file was cut short.
    #[error("truncated: the last row has no end of line")]
    Truncated,
    /// A field that does not parse.
    #[error("{what}: {source}")]
    Field {
        /// Which field, with its line or its text.
        what: String,
        /// The parser's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ReadError {
    fn field(what: String, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Field { what, source: Box::new(source) }
    }
}

/// Reads `trades.csv`, of this version or of the first (without `order_type,tag,ambiguous`).
pub(crate) fn trades(text: &str) -> Result<Vec<Trade>, ReadError> {
    let first_line = text.lines().next().unwrap_or("");
    let header = if first_line == crate::TRADES_HEADER_V1 {
        crate::TRADES_HEADER_V1
    } else {
        crate::TRADES_HEADER
    };
    rows::<TradeRow, _>(text, header)
}

impl From<&Trade> for TradeRow {
    fn from(t: &Trade) -> Self {
        Self {
            timestamp: t.timestamp,
            action: t.action,
            symbol: t.symbol,
            quantity: t.quantity,
            price: t.price,
            leverage: t.leverage,
            fee: t.fee,
            position_type: t.position_type,
            pnl: t.pnl,
            order_type: t.order_type,
            tag: t.tag.clone(),
            ambiguous: t.ambiguous,
        }
    }
}

impl From<&FundingPayment> for FundingRow {
    fn from(f: &FundingPayment) -> Self {
        Self {
            timestamp: f.timestamp,
            symbol: f.symbol,
            rate: f.rate,
            price: f.price,
            position_size: f.position_size,
            amount: f.amount,
        }
    }
}

impl RoundTripRow {
    /// The row of `trip`, with its symbol only in a run of `several` symbols.
    pub(crate) fn of(trip: &RoundTrip, several: bool) -> Self {
        Self {
            symbol: trip.symbol.filter(|_| several),
            entry_time: trip.entry_time,
            exit_time: trip.exit_time,
            side: trip.side,
            max_size: trip.max_size,
            entry_price: trip.entry_price,
            exit_price: trip.exit_price,
            fees: trip.fees,
            funding: trip.funding,
            pnl: trip.pnl,
            bars_held: trip.bars_held,
            exit_reason: trip.exit_reason,
        }
    }
}

/// `header`, then one line per row, written by the csv crate (a field with a comma, a quote or a
/// line break is quoted).
pub(crate) fn write_rows<R: Serialize>(
    header: &str,
    rows: impl IntoIterator<Item = R>,
    capacity: usize,
) -> Result<Vec<u8>, csv::Error> {
    let mut text = Vec::with_capacity(capacity);
    text.extend_from_slice(header.as_bytes());
    text.push(b'\n');
    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(text);
    for row in rows {
        writer.serialize(row)?;
    }
    writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

impl From<TradeRow> for Trade {
    fn from(r: TradeRow) -> Self {
        Self {
            timestamp: r.timestamp,
            action: r.action,
            symbol: r.symbol,
            quantity: r.quantity,
            price: r.price,
            leverage: r.leverage,
            fee: r.fee,
            position_type: r.position_type,
            pnl: r.pnl,
            order_type: r.order_type,
            tag: r.tag.filter(|t| !t.is_empty()),
            ambiguous: r.ambiguous,
        }
    }
}

/// A row of `funding.csv`.
#[derive(Serialize, Deserialize)]
pub(crate) struct FundingRow {
    timestamp: i64,
    symbol: Symbol,
    #[serde(with = "plain")]
    rate: Decimal,
    #[serde(with = "plain")]
    price: Decimal,
    #[serde(with = "plain")]
    position_size: Decimal,
    #[serde(with = "plain")]
    amount: Decimal,
}

impl From<FundingRow> for FundingPayment {
    fn from(r: FundingRow) -> Self {
        Self {
            timestamp: r.timestamp,
            symbol: r.symbol,
            rate: r.rate,
            price: r.price,
            position_size: r.position_size,
            amount: r.amount,
        }
    }
}

/// A row of `portfolio.csv`.
#[derive(Deserialize)]
struct PortfolioCsvRow {
    timestamp: i64,
    #[serde(with = "plain")]
    portfolio_value: Decimal,
    #[serde(with = "plain")]
    cash: Decimal,
    #[serde(with = "plain")]
    unrealized_pnl: Decimal,
    #[serde(with = "plain")]
    realized_pnl: Decimal,
    #[serde(with = "plain")]
    margin_used: Decimal,
    #[serde(with = "plain")]
    leverage_ratio: Decimal,
}

impl From<PortfolioCsvRow> for PortfolioRow {
    fn from(r: PortfolioCsvRow) -> Self {
        Self {
            timestamp: r.timestamp,
            portfolio_value: r.portfolio_value,
            cash: r.cash,
            unrealized_pnl: r.unrealized_pnl,
            realized_pnl: r.realized_pnl,
            margin_used: r.margin_used,
            leverage_ratio: r.leverage_ratio,
        }
    }
}

/// A reader of `bytes` with `header` checked: the store's own files, nothing else.
fn reader<R: std::io::Read>(input: R, header: &str) -> Result<csv::Reader<R>, ReadError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
    let found = reader.headers()?;
    if found.iter().ne(header.split(',')) {
        let found: Vec<&str> = found.iter().collect();
        return Err(ReadError::Header { found: found.join(","), expected: header.to_owned() });
    }
    Ok(reader)
}

/// Every row of a stored CSV `text` read as `R` and turned into `T`. A file whose last row has no
/// end of line was cut short (every row the store writes ends with one).
pub(crate) fn rows<R: DeserializeOwned, T: From<R>>(
    text: &str,
    header: &str,
) -> Result<Vec<T>, ReadError> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(ReadError::Truncated);
    }
    reader(text.as_bytes(), header)?
        .deserialize::<R>()
        .map(|row| row.map(T::from).map_err(ReadError::from))
        .collect()
}

/// Reads `portfolio.csv` keeping every k-th row (and the last) so that at most `max_points` come
/// back; returns them with the number of rows in the file. Two streaming passes (the first
/// only counts records), so a long run's file is never held whole.
pub(crate) fn read_portfolio(
    path: &Path,
    header: &str,
    max_points: usize,
) -> Result<(Vec<PortfolioRow>, u64), ReadError> {
    let open = || fs::File::open(path).map(std::io::BufReader::new);
    let first = match open() {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e.into()),
    };
    let mut record = csv::ByteRecord::new();
    let mut counting = reader(first, header)?;
    let mut rows = 0u64;
    while counting.read_byte_record(&mut record)? {
        rows += 1;
    }
    let max = max_points.max(2) as u64;
    let step = rows.div_ceil(max).max(1);
    let mut out = Vec::with_capacity(rows.min(max) as usize + 1);
    let mut reading = reader(open()?, header)?;
    let headers = reading.byte_headers()?.clone();
    let mut i = 0u64;
    while reading.read_byte_record(&mut record)? {
        if i.is_multiple_of(step) || i + 1 == rows {
            let row: PortfolioCsvRow = record.deserialize(Some(&headers))?;
            out.push(row.into());
        }
        i += 1;
    }
    Ok((out, rows))
}

/// Every row's time and equity of `portfolio.csv` (the first two columns), streamed.
pub(crate) fn read_equity(path: &Path, header: &str) -> Result<Vec<(i64, Decimal)>, ReadError> {
    let file = match fs::File::open(path) {
        Ok(file) => std::io::BufReader::with_capacity(1 << 16, file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut reading = reader(file, header)?;
    let mut record = csv::ByteRecord::new();
    let mut out = Vec::new();
    while reading.read_byte_record(&mut record)? {
        let field = |i: usize| std::str::from_utf8(record.get(i).unwrap_or_default()).unwrap_or("");
        let time = field(0)
            .parse::<i64>()
            .map_err(|e| ReadError::field(format!("timestamp {:?}", field(0)), e))?;
        let equity = Decimal::from_str_exact(field(1))
            .map_err(|e| ReadError::field(format!("portfolio_value {:?}", field(1)), e))?;
        out.push((time, equity));
    }
    Ok(out)
}

/// `plots.csv`: the series in the order first written, each with its points.
pub(crate) fn read_plots(
    path: &Path,
    header: &str,
) -> Result<Vec<cryptobt_domain::PlotSeries>, ReadError> {
    let file = match fs::File::open(path) {
        Ok(file) => std::io::BufReader::with_capacity(1 << 16, file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut reading = reader(file, header)?;
    let mut out: Vec<cryptobt_domain::PlotSeries> = Vec::new();
    let mut record = csv::StringRecord::new();
    while reading.read_record(&mut record)? {
        let name = record.get(0).unwrap_or_default();
        let pane = match record.get(1) {
            Some("own") => cryptobt_domain::PlotPane::Own,
            _ => cryptobt_domain::PlotPane::Price,
        };
        let line = record.position().map_or(0, csv::Position::line);
        let time: i64 = record
            .get(2)
            .unwrap_or_default()
            .parse()
            .map_err(|e| ReadError::field(format!("line {line}: timestamp"), e))?;
        let value: f64 = record
            .get(3)
            .unwrap_or_default()
            .parse()
            .map_err(|e| ReadError::field(format!("line {line}: value"), e))?;
        match out.last_mut() {
            Some(series) if series.name == name => series.points.push((time, value)),
            _ => out.push(cryptobt_domain::PlotSeries {
                levels: Vec::new(),
                name: name.to_owned(),
                pane,
                points: vec![(time, value)],
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use cryptobt_domain::{ActionType, PositionType, Trade};
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn trades_of_both_versions_are_read_with_their_order_type_tag_and_flag() {
        let v1 =
            format!("{}\n1,buy,BTCUSDT,0.5,42000,10,10.5,long,-10.5\n", crate::TRADES_HEADER_V1);
        let t = trades(&v1).unwrap();
        assert_eq!(
            (t[0].order_type, t[0].tag.as_deref(), t[0].ambiguous),
            (OrderType::Market, None, false)
        );
        let v2 = format!(
            "{}\n1,sell,BTCUSDT,0.5,42000,10,10.5,long,-10.5,take_profit,\"a,\"\"b\"\"\",true\n2,buy,BTCUSDT,1,1,1,0,long,0,limit,,false\n",
            crate::TRADES_HEADER
        );
        let t = trades(&v2).unwrap();
        assert_eq!(
            (t[0].order_type, t[0].tag.as_deref(), t[0].ambiguous),
            (OrderType::TakeProfit, Some("a,\"b\""), true)
        );
        assert_eq!((t[1].order_type, t[1].tag.as_deref()), (OrderType::Limit, None));
        let bad =
            format!("{}\n1,buy,BTCUSDT,1,1,1,0,long,0,iceberg,,false\n", crate::TRADES_HEADER);
        assert!(trades(&bad).unwrap_err().to_string().contains("iceberg"));
    }

    #[test]
    fn rows_come_back_typed_and_bad_ones_are_named() {
        let header = "timestamp,action,symbol,quantity,price,leverage,fee,position_type,pnl";
        let text = format!("{header}\n1,buy,BTCUSDT,0.5,42000,10,10.5,long,-10.5\n");
        let trades: Vec<Trade> = rows::<TradeRow, _>(&text, header).unwrap();
        assert_eq!(trades[0].action, ActionType::Buy);
        assert_eq!(trades[0].position_type, PositionType::Long);
        assert_eq!((trades[0].quantity, trades[0].pnl), (dec!(0.5), dec!(-10.5)));
        // Exactly as written, never through an f64.
        let text = format!("{header}\n1,sell,BTCUSDT,0.12345678901234567,94686.38179,1,9.468638179000000001,long,-0.000000000001\n");
        let t: Vec<Trade> = rows::<TradeRow, _>(&text, header).unwrap();
        assert_eq!(t[0].quantity.to_string(), "0.12345678901234567");
        assert_eq!(t[0].price.to_string(), "94686.38179");
        assert_eq!(t[0].fee.to_string(), "9.468638179000000001");
        assert_eq!(t[0].pnl.to_string(), "-0.000000000001");
        let bad = format!("{header}\n1,hold,BTCUSDT,0.5,42000,10,10.5,long,-10.5\n");
        assert!(rows::<TradeRow, Trade>(&bad, header).unwrap_err().to_string().contains("hold"));
        let short = format!("{header}\n1,buy,BTCUSDT,0.5\n");
        assert!(rows::<TradeRow, Trade>(&short, header).is_err());
        assert!(matches!(
            rows::<TradeRow, Trade>("a,b\n", header),
            Err(ReadError::Header { found, .. }) if found == "a,b"
        ));
        assert!(matches!(
            rows::<TradeRow, Trade>(&text[..text.len() - 1], header),
            Err(ReadError::Truncated)
        ));
    }
}
