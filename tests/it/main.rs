//! Cross-crate end-to-end tests of cryptobt, in one binary (STYLE: one `it` binary).

mod architecture;
