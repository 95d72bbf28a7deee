//! Market data for cryptobt: the daily CSV loader behind `cryptobt_domain::ports::MarketData`,
//! Binance import and download, and the file-system result store.
//!
//! Not built yet: this crate is an empty library until the market-data issue lands. It depends
//! only on `cryptobt-domain`.
