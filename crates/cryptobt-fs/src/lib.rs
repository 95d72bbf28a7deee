//! File-system helpers shared by cryptobt's adapters (the market-data loader and the result
//! store): writing a file atomically, and reading below a root folder without following a
//! symbolic link. Standard library only; every error keeps the OS error as its source and names
//! the file relative to what the caller gave, never an absolute server path.

use std::{
    fs, io,
    io::Write as _,
    path::{Component, Path},
};

use thiserror::Error;

/// A file-system failure, naming the file as the caller named it.
#[derive(Debug, Error)]
#[error("{file}: {source}")]
pub struct FsError {
    /// The file (its name, or the path relative to a root).
    pub file: String,
    /// The OS error.
    #[source]
    pub source: io::Error,
}

impl FsError {
    /// The kind of the OS error.
    #[must_use]
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}

/// Writes `bytes` to `path` through a temporary name beside it (`.NAME.tmp-PID-N`) and a rename,
/// creating parent directories: a reader sees the old file or the new one, never half of one, and
/// a crash leaves the old file whole.
///
/// # Errors
/// [`FsError`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let err = |source: io::Error| FsError { file: name.clone(), source };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(err)?;
    }
    // Unique per process and write, so two threads writing the same file never share a temporary.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

/// Whether `name` is a temporary file [`write_atomic`] makes (left behind by a killed process).
#[must_use]
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Checks that no component of `relative` below `root` is a symbolic link (the root itself may
/// be one). A component that does not exist ends the walk: opening it then fails as usual.
///
/// # Errors
/// `PermissionDenied` naming the link; `InvalidInput` for a path that is not plainly relative
/// (`..`, `/`); another error reading a component's metadata.
pub fn check_no_links(root: &Path, relative: &Path) -> io::Result<()> {
    let mut path = root.to_path_buf();
    for component in relative.components() {
        let Component::Normal(part) = component else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a plain relative path"));
        };
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{} is a symbolic link, which is not followed", relative.display()),
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads `root/relative` when no component below `root` is a link.
///
/// # Errors
/// As [`check_no_links`], then as [`fs::read`].
pub fn read_no_links(root: &Path, relative: &Path) -> io::Result<Vec<u8>> {
    check_no_links(root, relative)?;
    fs::read(root.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b.txt");
        write_atomic(&file, b"one").unwrap();
        write_atomic(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        let names: Vec<String> = fs::read_dir(dir.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["b.txt"]);
        assert!(is_temporary(".b.txt.tmp-12-3") && !is_temporary("b.txt"));
        let blocked = dir.path().join("a/b.txt/c");
        let err = write_atomic(&blocked, b"x").unwrap_err();
        assert_eq!(err.file, "c");
        assert!(std::error::Error::source(&err).is_some(), "the OS error is kept as the source");
    }

    #[cfg(unix)]
    #[test]
    fn links_below_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("run")).unwrap();
        fs::write(root.join("run/log.txt"), "ok").unwrap();
        fs::write(root.join("secret"), "secret").unwrap();
        std::os::unix::fs::symlink(root.join("secret"), root.join("run/linked.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("run"), root.join("alias")).unwrap();
        assert_eq!(read_no_links(root, Path::new("run/log.txt")).unwrap(), b"ok");
        let err = read_no_links(root, Path::new("run/linked.txt")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(read_no_links(root, Path::new("alias/log.txt")).is_err());
        let missing = read_no_links(root, Path::new("run/none")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        assert!(read_no_links(root, Path::new("../secret")).is_err());
    }
}
