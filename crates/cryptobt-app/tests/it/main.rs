//! The `cryptobt` binary and its server end to end, one test binary (modules, not files: each
//! integration-test file would link the whole workspace again).

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

mod api_http;
mod api_sweeps;
mod backtest;
mod data_convert;
mod data_download;
mod data_verify;
mod sweep;
mod validate;
