//! Lua (Luau) strategies for cryptobt: one contained VM per run implementing the domain's
//! `Strategy` port, the strategy API and streaming indicators.
//!
//! Not built yet: this crate is an empty library until the sandbox issue lands. It will be the
//! only crate that knows Lua.
