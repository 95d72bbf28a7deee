//! The store's errors: a file that failed, with the OS error as its source.

use cryptobt_domain::ports::StoreError;
use cryptobt_fs::FsError;

pub(crate) fn fs_err(file: &str, source: std::io::Error) -> FsError {
    FsError { file: file.to_owned(), source }
}

pub(crate) fn store_err(e: FsError) -> StoreError {
    StoreError::Io { message: e.to_string(), source: Some(std::sync::Arc::new(e)) }
}

/// A store error about `what`, keeping the OS error as its source.
pub(crate) fn io_error(what: String, e: std::io::Error) -> StoreError {
    StoreError::Io { message: format!("{what}: {e}"), source: Some(std::sync::Arc::new(e)) }
}
