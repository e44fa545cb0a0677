//! The names of a database's files.

use std::path::{Path, PathBuf};

/// The WAL path of a database path: `<db>-wal` (the path as given, with
/// `-wal` appended, as SQLite names its WAL).
pub fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// The paths of an open database's files (errors carry them).
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub db: PathBuf,
    pub wal: PathBuf,
}

impl Paths {
    pub(crate) fn new(db: &Path) -> Paths {
        Paths {
            db: db.to_path_buf(),
            wal: wal_path(db),
        }
    }
}
