//! `AppError`: what a `cryptobt` subcommand can fail with, composed from the errors of the crates
//! it wires (each kept as the source), and printed with its whole chain of causes.

use std::{io, path::PathBuf};

use cryptobt_data::DataError;
use cryptobt_domain::{
    ports::{ServiceError, StoreError},
    DomainError,
};
use thiserror::Error;

/// A subcommand's failure.
#[derive(Debug, Error)]
pub enum AppError {
    /// A file the user named could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file the user named is not UTF-8 text.
    #[error("{} is not UTF-8 text", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A setting out of range.
    #[error(transparent)]
    Config(#[from] DomainError),
    /// Market data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The result store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A run that could not start.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl AppError {
    /// The message and every cause under it, `: `-separated, as the CLI prints it.
    #[must_use]
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            let cause = e.to_string();
            if !text.ends_with(&cause) {
                text.push_str(": ");
                text.push_str(&cause);
            }
            next = e.source();
        }
        text
    }
}

/// Reads a text file the user named (a strategy).
///
/// # Errors
/// [`AppError::Read`] or [`AppError::NotText`], naming the file.
pub fn read_text(path: &std::path::Path) -> Result<String, AppError> {
    let bytes =
        std::fs::read(path).map_err(|source| AppError::Read { path: path.to_owned(), source })?;
    String::from_utf8(bytes).map_err(|_| AppError::NotText { path: path.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_the_file_and_the_os_error() {
        let err = read_text(std::path::Path::new("/nonexistent/s.lua")).unwrap_err();
        assert_eq!(
            err.chain(),
            "cannot read /nonexistent/s.lua: No such file or directory (os error 2)"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
