//! One measurement at a time per store, across threads and processes.
//!
//! A lock file beside the database is held with an advisory exclusive lock
//! (`File::try_lock`: `flock` on Unix, `LockFileEx` on Windows) for the length of a
//! measurement. The lock belongs to the open file, so a second open of the same file
//! (the app's screen while its background worker measures, a second `ispeed` process)
//! is refused at once with [`Error::Busy`]; the operating system drops it when the
//! process dies, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An exclusive lock held until dropped.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock on `path` (created when missing), or [`Error::Busy`] when
    /// someone holds it.
    pub(crate) fn try_acquire(path: &Path) -> Result<Self> {
        let storage = |detail: String| Error::Storage {
            path: path.to_path_buf(),
            detail,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| storage(format!("cannot open the lock file: {e}")))?;
        // `File::try_lock`: stable since Rust 1.89, the workspace's `rust-version`.
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Busy),
            Err(TryLockError::Error(e)) => Err(storage(format!("cannot lock: {e}"))),
        }
    }
}

/// The lock file of `purpose` beside the database at `db`.
pub(crate) fn path_beside(db: &Path, purpose: &str) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{purpose}.lock"));
    db.with_file_name(name)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::store::testing::TempDir;

    #[test]
    fn a_second_holder_is_busy_until_the_first_lets_go() {
        let dir = TempDir::new("lock");
        let path = path_beside(&dir.file("a.db"), "measure");
        assert!(path.ends_with("a.db.measure.lock"));
        let first = FileLock::try_acquire(&path).expect("free");
        // Another open of the same file, in the same process: refused.
        let second = FileLock::try_acquire(&path).expect_err("held");
        assert_eq!(second.code(), "busy");
        drop(first);
        FileLock::try_acquire(&path).expect("free again");
    }
}
