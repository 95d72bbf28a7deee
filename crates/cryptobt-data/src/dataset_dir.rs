//! `DatasetDir`: one data set's directory, opened once per query so that checking 31 day files
//! for changes costs 31 short `statat` lookups instead of 31 full path walks.

use std::{
    fs, io,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// A directory of day files, with the modification time and size of each on demand.
pub(crate) struct DatasetDir {
    path: PathBuf,
    /// Why the directory is refused (a symbolic link below the data root).
    refused: Option<String>,
    #[cfg(unix)]
    fd: Option<rustix::fd::OwnedFd>,
}

impl DatasetDir {
    /// Opens `root/relative`; a directory that does not exist is not an error here (each file
    /// then is). A symbolic link on the way below `root` is refused: every file of it then is.
    pub(crate) fn open(root: &Path, relative: &Path) -> Self {
        let path = root.join(relative);
        let refused = cryptobt_fs::check_no_links(root, relative).err().map(|e| e.to_string());
        #[cfg(unix)]
        {
            use rustix::fs::{openat, Mode, OFlags, CWD};
            let fd = openat(
                CWD,
                &path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::empty(),
            )
            .ok()
            .filter(|_| refused.is_none());
            Self { path, refused, fd }
        }
        #[cfg(not(unix))]
        Self { path, refused }
    }

    fn refusal(&self) -> io::Result<()> {
        match &self.refused {
            Some(why) => Err(io::Error::new(io::ErrorKind::PermissionDenied, why.clone())),
            None => Ok(()),
        }
    }

    /// Modification time and size of the file `name` in this directory.
    pub(crate) fn stat(&self, name: &str) -> io::Result<(SystemTime, u64)> {
        self.refusal()?;
        #[cfg(unix)]
        if let Some(fd) = &self.fd {
            let st = rustix::fs::statat(fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                .map_err(io::Error::from)?;
            if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "is a symbolic link, which is not followed",
                ));
            }
            let secs = u64::try_from(st.st_mtime).unwrap_or(0);
            let nanos = u32::try_from(st.st_mtime_nsec).unwrap_or(0);
            let modified = UNIX_EPOCH + Duration::new(secs, nanos);
            return Ok((modified, u64::try_from(st.st_size).unwrap_or(0)));
        }
        let meta = fs::symlink_metadata(self.path.join(name))?;
        if meta.file_type().is_symlink() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "is a symbolic link, which is not followed",
            ));
        }
        Ok((meta.modified()?, meta.len()))
    }

    /// The bytes of the file `name` (never through a link).
    pub(crate) fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        self.refusal()?;
        #[cfg(unix)]
        if let Some(fd) = &self.fd {
            use rustix::fs::{openat, Mode, OFlags};
            let file = openat(
                fd,
                name,
                OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::empty(),
            )
            .map_err(io::Error::from)?;
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut fs::File::from(file), &mut bytes)?;
            return Ok(bytes);
        }
        cryptobt_fs::read_no_links(&self.path, Path::new(name))
    }
}
