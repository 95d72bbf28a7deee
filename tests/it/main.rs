//! Cross-crate end-to-end tests of cryptobt, in one binary (STYLE: one `it` binary).

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod architecture;
mod browser;
mod engine_golden;
mod example_strategies;
mod intrabar_rules;
mod ledger_contract;
mod metric_docs;
mod metrics_by_hand;
mod page_ids;
mod several_symbols;
