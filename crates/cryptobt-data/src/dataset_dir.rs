//! `DatasetDir`: one data set's directory, opened once per query so that checking 31 day files
//! for changes costs 31 short `statat` lookups instead of 31 full path walks.
//!
//! The data folder is the operator's: symbolic links placed in it (a data set kept on another
//! disk) are followed. Every path below the root is built from a checked market, symbol,
//! timeframe and date, never from a request's text, so a link can only be one the operator made.

use std::{
    fs, io,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// A directory of day files, with the modification time and size of each on demand.
pub(crate) struct DatasetDir {
    path: PathBuf,
    #[cfg(unix)]
    fd: Option<rustix::fd::OwnedFd>,
}

impl DatasetDir {
    /// Opens `root/relative` (through any symbolic link); a directory that does not exist is not
    /// an error here (each file then is).
    pub(crate) fn open(root: &Path, relative: &Path) -> Self {
        let path = root.join(relative);
        #[cfg(unix)]
        {
            use rustix::fs::{openat, Mode, OFlags, CWD};
            let fd = openat(
                CWD,
                &path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok();
            Self { path, fd }
        }
        #[cfg(not(unix))]
        Self { path }
    }

    /// Modification time and size of the file `name` in this directory (of the file a link
    /// points to).
    pub(crate) fn stat(&self, name: &str) -> io::Result<(SystemTime, u64)> {
        #[cfg(unix)]
        if let Some(fd) = &self.fd {
            let st = rustix::fs::statat(fd, name, rustix::fs::AtFlags::empty())
                .map_err(io::Error::from)?;
            let secs = u64::try_from(st.st_mtime).unwrap_or(0);
            let nanos = u32::try_from(st.st_mtime_nsec).unwrap_or(0);
            let modified = UNIX_EPOCH + Duration::new(secs, nanos);
            return Ok((modified, u64::try_from(st.st_size).unwrap_or(0)));
        }
        let meta = fs::metadata(self.path.join(name))?;
        Ok((meta.modified()?, meta.len()))
    }

    /// The bytes of the file `name`.
    pub(crate) fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        #[cfg(unix)]
        if let Some(fd) = &self.fd {
            use rustix::fs::{openat, Mode, OFlags};
            let file = openat(fd, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .map_err(io::Error::from)?;
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut fs::File::from(file), &mut bytes)?;
            return Ok(bytes);
        }
        fs::read(self.path.join(name))
    }
}
