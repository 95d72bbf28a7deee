//! New backtest ids: the submission time and six random characters of `a-z0-9`.

use std::{
    collections::hash_map::RandomState,
    hash::{BuildHasher, Hasher},
    sync::atomic::{AtomicU64, Ordering},
};

use chrono::{DateTime, Utc};
use cryptobt_domain::BacktestId;

/// `bt_YYYYMMDD_HHMMSS_xxxxxx` for `created_at`; the suffix comes from the standard library's
/// randomly keyed hasher (fresh keys per process) over a counter, so ids made in the same second
/// differ.
pub(crate) fn new_backtest_id(created_at: DateTime<Utc>) -> BacktestId {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_i64(created_at.timestamp_nanos_opt().unwrap_or_default());
    BacktestId::with_seed(created_at.naive_utc(), hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_distinct() {
        let now = Utc::now();
        let a = new_backtest_id(now);
        let b = new_backtest_id(now);
        assert_ne!(a, b);
        assert!(BacktestId::parse(a.as_str()).is_ok());
    }
}
