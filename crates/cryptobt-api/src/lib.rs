//! The cryptobt HTTP API: JSON endpoints, background runs with progress events, static files.
//!
//! Not built yet: this crate is an empty library until the API issue lands. It will be the only
//! crate that knows HTTP, and it sees the engine, the data and the sandbox only through the
//! domain's ports.
