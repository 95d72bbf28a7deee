//! Lua strategies for cryptobt: every run gets a fresh Luau VM (through mlua) with only `string`
//! (no `dump`), `table`, `math`, `utf8` and `bit32`, the strategy API of docs/strategy-api.md as host
//! functions that reach the portfolio only through the run's `StrategyContext`, and streaming
//! indicators (`ta.*`) equal to TA-Lib.
//!
//! Containment: a memory cap per VM, a wall-clock deadline and a cancel flag checked from Luau's
//! interrupt (which fires inside loops, calls, coroutines and string patterns), a trip that stays
//! tripped so `pcall` cannot swallow it, caps on orders per bar and log bytes, text-only loading,
//! read-only globals and library tables. This is the only crate that knows Lua; no mlua type
//! appears in its API.

mod errors;
mod guard;
mod host;
/// The indicators `ta.*` binds (the `cryptobt-indicators` crate).
pub use cryptobt_indicators as indicators;
mod strategy;
mod ta;
mod vm;

pub use crate::strategy::{validate, LuaStrategy, LuaStrategyFactory};
