//! The cryptobt bar loop: replays bars through a `Strategy`, applies funding, liquidation and
//! fills to the domain's `Portfolio`, and computes the metrics.
//!
//! Not built yet: this crate is an empty library until the engine issue lands. It will do no IO
//! and never read the clock; it depends only on `cryptobt-domain`.
