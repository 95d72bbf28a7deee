//! Property tests of the ledger invariant.
