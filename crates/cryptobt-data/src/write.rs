//! Writing files atomically (`cryptobt_fs::write_atomic`), with the market-data error type.

use std::path::Path;

use crate::DataError;

/// Writes `bytes` to `path` through a temporary name beside it and a rename, creating parent
/// directories.
///
/// # Errors
/// [`DataError::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    cryptobt_fs::write_atomic(path, bytes).map_err(|e| DataError::io(e.file.clone(), &e.source))
}
