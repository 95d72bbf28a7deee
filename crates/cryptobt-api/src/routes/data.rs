//! Market data: the symbols and data sets, price history, and the cache statistics.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use cryptobt_domain::{money::decimal_to_f64, ports::BarQuery, Symbol, Timeframe, TradingMode};
use serde::Deserialize;

use crate::{
    views::{DatasetView, PriceHistory, SymbolsView},
    ApiError, AppState,
};

/// `GET /api/data/symbols`: `{symbols, trading_modes, datasets}`.
pub(crate) async fn symbols(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let sets = super::datasets(&state).await?;
    let mut symbols: Vec<&str> = sets.iter().map(|d| d.symbol.as_str()).collect();
    symbols.sort_unstable();
    symbols.dedup();
    let datasets: Vec<DatasetView> = sets
        .iter()
        .map(|d| DatasetView {
            trading_mode: d.mode,
            symbol: d.symbol,
            timeframe: d.timeframe,
            first_day: d.first_day.to_string(),
            last_day: d.last_day.to_string(),
            days: d.days,
        })
        .collect();
    let allowed: Vec<&str> =
        state.config.policy.allowed_timeframes.iter().map(|t| t.as_str()).collect();
    Ok(HttpResponse::Ok().json(SymbolsView {
        symbols,
        trading_modes: ["spot", "futures"],
        timeframes: allowed,
        max_leverage: state.config.policy.max_leverage,
        limits: state.config.policy.ranges(),
        max_strategy_bytes: state.config.max_strategy_bytes,
        datasets,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct HistoryQuery {
    symbol: Option<String>,
    timeframe: Option<String>,
    trading_mode: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    limit: Option<usize>,
}

const MAX_LIMIT: usize = 100_000;

/// One bar of the price history (numbers, for charts).
#[derive(Debug, serde::Serialize)]
struct BarJson {
    timestamp: i64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

/// `GET /api/data/history?symbol&timeframe[&trading_mode][&start_date][&end_date][&limit]`: the
/// last `limit` bars (default 1,000) of the range (default: all the data set has).
pub(crate) async fn history(
    state: web::Data<AppState>,
    query: web::Query<HistoryQuery>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let key = req.query_string().to_owned();
    if let Some(bytes) = state.history.get(&key) {
        return Ok(HttpResponse::Ok().content_type("application/json").body(bytes));
    }
    let q = query.into_inner();
    let symbol: Symbol = q
        .symbol
        .as_deref()
        .ok_or_else(|| ApiError::request("symbol", "missing query parameter symbol"))?
        .parse()
        .map_err(|e: cryptobt_domain::DomainError| ApiError::field("symbol", e.to_string()))?;
    let timeframe: Timeframe = q
        .timeframe
        .as_deref()
        .ok_or_else(|| ApiError::request("timeframe", "missing query parameter timeframe"))?
        .parse()
        .map_err(|e: cryptobt_domain::DomainError| ApiError::field("timeframe", e.to_string()))?;
    let limit = q.limit.unwrap_or(1_000);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::field(
            "limit",
            format!("limit {limit} must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let sets = super::datasets(&state).await?;
    let mode = match q.trading_mode.as_deref() {
        Some(m) => Some(
            m.parse::<TradingMode>().map_err(|e| ApiError::field("trading_mode", e.to_string()))?,
        ),
        None => None,
    };
    let set = sets
        .iter()
        .find(|d| {
            d.symbol == symbol && d.timeframe == timeframe && mode.is_none_or(|m| m == d.mode)
        })
        .ok_or_else(|| ApiError::NoData(format!("no data for {symbol} {timeframe}")))?
        .clone();
    let day =
        |field: &str, raw: Option<String>, default: NaiveDate| -> Result<NaiveDate, ApiError> {
            match raw {
                None => Ok(default),
                Some(text) => NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                    ApiError::field(
                        field,
                        format!("{field} {text:?} is not a date of the form YYYY-MM-DD"),
                    )
                }),
            }
        };
    let start = day("start_date", q.start_date, set.first_day)?.max(set.first_day);
    let end = day("end_date", q.end_date, set.last_day)?.min(set.last_day);
    if end < start {
        return Err(ApiError::NoData(format!(
            "no {symbol} {timeframe} data between the dates asked for"
        )));
    }
    let query = BarQuery { mode: set.mode, symbol, timeframe, start, end };
    let market = state.services.market.clone();
    let bars = super::blocking(move || market.bars(&query))
        .await?
        .map_err(|e| ApiError::NoData(e.to_string()))?;
    let skip = bars.len().saturating_sub(limit);
    let data: Vec<BarJson> = bars
        .iter()
        .skip(skip)
        .map(|b| BarJson {
            timestamp: b.timestamp,
            open: decimal_to_f64(b.open),
            high: decimal_to_f64(b.high),
            low: decimal_to_f64(b.low),
            close: decimal_to_f64(b.close),
            volume: decimal_to_f64(b.volume),
        })
        .collect();
    let body = PriceHistory {
        symbol,
        timeframe,
        trading_mode: set.mode,
        start_date: start.to_string(),
        end_date: end.to_string(),
        truncated: skip > 0,
        data: &data,
    };
    let bytes = web::Bytes::from(serde_json::to_vec(&body).map_err(ApiError::internal)?);
    state.history.insert(key, bytes.clone());
    Ok(HttpResponse::Ok().content_type("application/json").body(bytes))
}

/// `GET /api/data/cache`: the cache statistics observer.
pub(crate) async fn cache(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.services.cache_stats.stats())
}
