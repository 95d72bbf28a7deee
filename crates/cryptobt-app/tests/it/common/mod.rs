//! Helpers shared by the binary's tests: the workspace root and running `cryptobt` itself.

#![allow(dead_code, reason = "each test binary uses a different part of these helpers")]
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

pub(crate) mod api;

use std::{path::PathBuf, process::Command};

/// The workspace root (the shipped `data/` and `static/` are under it).
pub(crate) fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A strategy that does 20,000 additions a bar: slow enough for a test to act while it runs. It
/// reads `params.k` (the grid name the sweep tests use), so a sweep over `k` is not refused.
pub(crate) const SLOW_LUA: &str = "-- Slow\nlocal _ = params.k\nfunction on_data(bar)\n  local x = 0\n  for i = 1, 20000 do x = x + i end\nend\n";

/// The run flags of the SMA crossover example on BTCUSDT 1h bars from `start` to `end`.
pub(crate) fn sma_1h(start: &'static str, end: &'static str) -> Vec<&'static str> {
    let mut args = vec!["--strategy", "static/strategies/sma_crossover.lua", "--symbol"];
    args.extend(["BTCUSDT", "--timeframe", "1h", "--start", start, "--end", end]);
    args
}

/// Runs `cryptobt ARGS` from the workspace root: exit code, stdout, stderr.
pub(crate) fn cryptobt(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cryptobt"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
