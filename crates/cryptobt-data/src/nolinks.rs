//! Reading below a root folder without following symbolic links: a link placed in the data or
//! results folder (a run's `log.txt` pointing at `/etc/passwd`, say) is refused, never read.

use std::{
    fs, io,
    path::{Component, Path},
};

/// The error for a link met below a root.
fn link_error(relative: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{} is a symbolic link, which is not followed", relative.display()),
    )
}

/// Checks that no component of `relative` below `root` is a symbolic link (the root itself may
/// be one). A component that does not exist ends the walk: opening it then fails as usual.
///
/// # Errors
/// `PermissionDenied` naming the link; another error reading a component's metadata.
pub(crate) fn check(root: &Path, relative: &Path) -> io::Result<()> {
    let mut path = root.to_path_buf();
    for component in relative.components() {
        let Component::Normal(part) = component else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a plain relative path"));
        };
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(link_error(relative)),
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
/// As [`check`], then as [`fs::read`].
pub(crate) fn read(root: &Path, relative: &Path) -> io::Result<Vec<u8>> {
    check(root, relative)?;
    fs::read(root.join(relative))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_below_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("run")).unwrap();
        fs::write(root.join("run/log.txt"), "ok").unwrap();
        fs::write(root.join("secret"), "secret").unwrap();
        std::os::unix::fs::symlink(root.join("secret"), root.join("run/linked.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("run"), root.join("alias")).unwrap();
        assert_eq!(read(root, Path::new("run/log.txt")).unwrap(), b"ok");
        let err = read(root, Path::new("run/linked.txt")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(read(root, Path::new("alias/log.txt")).is_err());
        assert_eq!(read(root, Path::new("run/none")).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(read(root, Path::new("../secret")).is_err());
    }
}
