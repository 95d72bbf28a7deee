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
    /// The settings file or a `CRYPTOBT_*` variable.
    #[error(transparent)]
    Settings(#[from] crate::SettingsError),
    /// A command-line argument that cannot be used, named with its flag.
    #[error("{flag}: {message}")]
    Argument {
        /// The flag, e.g. `--param`.
        flag: &'static str,
        /// What is wrong with it, naming the value.
        message: String,
    },
    /// An HTTP request of the load and soak tools that got no answer.
    #[error("{method} {url}")]
    Http {
        /// The method.
        method: String,
        /// The URL asked.
        url: String,
        /// Why there was no answer.
        #[source]
        source: Box<ureq::Error>,
    },
    /// An HTTP answer the load and soak tools did not expect.
    #[error("{method} {url} answered {status}: {body}")]
    Answer {
        /// The method.
        method: String,
        /// The URL asked.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// Something looked for in a place the user can change (`--results-dir`, `--data-dir`).
    #[error("{what} (looked in {}; {hint})", place.display())]
    Lookup {
        /// What was looked for.
        what: String,
        /// Where.
        place: PathBuf,
        /// The flag that sets the place.
        hint: &'static str,
        /// Why it was not found.
        #[source]
        source: Box<AppError>,
    },
    /// A file the tools write could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl AppError {
    /// A request of the load and soak tools that got no answer.
    pub fn http(method: &str, url: &str, source: impl Into<ureq::Error>) -> Self {
        Self::Http {
            method: method.to_owned(),
            url: url.to_owned(),
            source: Box::new(source.into()),
        }
    }

    /// An answer the load and soak tools did not expect (`body` cut to 300 characters).
    #[must_use]
    pub fn answer(method: &str, url: &str, status: u16, body: &str) -> Self {
        Self::Answer {
            method: method.to_owned(),
            url: url.to_owned(),
            status,
            body: body.chars().take(300).collect(),
        }
    }

    /// A refused command-line argument.
    pub fn argument(flag: &'static str, message: impl Into<String>) -> Self {
        Self::Argument { flag, message: message.into() }
    }
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
