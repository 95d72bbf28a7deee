//! Lua (Luau) strategies for cryptobt.
pub mod indicators;
