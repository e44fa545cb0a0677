//! The names of a database's files, and what a path must be to name a
//! database: one regular file, reached through any path (relative, through
//! symbolic links), whose companions `-wal` and `-shm` are named after its
//! resolved path, as SQLite names its journal after the resolved path.
//!
//! A **hard link** is a second name for the same file. Walden could not
//! tell which name's `-wal` holds the file's commits (each name would get
//! its own WAL and `-shm`, and one would lose the other's commits), so a
//! database file with more than one name (link count above 1) is refused
//! at open, and a write through a handle whose file gained a second name,
//! was renamed, replaced or deleted is refused ([`crate::Error::Moved`],
//! as SQLite's `SQLITE_READONLY_DBMOVED`).

use std::fs::Metadata;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The WAL path of a database path: `<db>-wal` (the path as given, with
/// `-wal` appended, as SQLite names its WAL). [`crate::Database::wal_path`]
/// gives the name an open database uses, after symbolic links are resolved.
pub fn wal_path(db: &Path) -> PathBuf {
    suffixed(db, "-wal")
}

/// The shared-memory wal-index path of a database path: `<db>-shm`.
pub fn shm_path(db: &Path) -> PathBuf {
    suffixed(db, "-shm")
}

fn suffixed(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The paths of an open database's files (errors carry them): the database
/// file's resolved path and the names derived from it.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub db: PathBuf,
    pub wal: PathBuf,
    pub shm: PathBuf,
}

impl Paths {
    pub(crate) fn new(db: &Path) -> Paths {
        Paths {
            db: db.to_path_buf(),
            wal: wal_path(db),
            shm: shm_path(db),
        }
    }
}

/// Device and inode: which file a path or a descriptor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileKey {
    pub dev: u64,
    pub ino: u64,
}

impl FileKey {
    pub(crate) fn of(m: &Metadata) -> FileKey {
        FileKey {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
    /// The four words the wal-index keeps (`walindex::set_file_id`).
    pub(crate) fn words(self) -> [u32; 4] {
        [self.ino as u32, (self.ino >> 32) as u32, self.dev as u32, (self.dev >> 32) as u32]
    }
}

/// A database path resolved: the canonical path of the file (existing or
/// to be created) and its metadata if it exists.
pub(crate) struct Resolved {
    pub path: PathBuf,
    pub meta: Option<Metadata>,
}

fn invalid(path: &Path, what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {what}", path.display()))
}

/// What kind of file `m` is, for messages.
fn kind_of(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Checks that `m` describes a file that can be a database: a regular file
/// with exactly one name. Errors: `Io` with kind `InvalidInput` naming the
/// path and what it is.
pub(crate) fn check_file(path: &Path, m: &Metadata) -> io::Result<()> {
    if !m.file_type().is_file() {
        return Err(invalid(
            path,
            format!("is {}, not a regular file: a database is a regular file", kind_of(m)),
        ));
    }
    if m.nlink() > 1 {
        return Err(invalid(
            path,
            format!(
                "the file has {} names (hard links); its WAL and -shm are named after the path, so each name would get \
                 its own WAL and lose the other's commits: keep one name (remove the other links) and open it through that",
                m.nlink()
            ),
        ));
    }
    Ok(())
}

/// Resolves `path` before anything is opened or created: symbolic links
/// followed (a dangling one is refused), relative paths made absolute, so
/// that every name of one file gives the same `-wal` and `-shm`; an
/// existing file must pass [`check_file`] (a FIFO, a device, a directory or
/// a file with several hard links is refused before it is opened, so that
/// opening a FIFO cannot hang). Errors: `Io` naming the path.
pub(crate) fn resolve(path: &Path) -> io::Result<Resolved> {
    if path.as_os_str().is_empty() {
        return Err(invalid(path, "an empty path".into()));
    }
    match std::fs::symlink_metadata(path) {
        Ok(_) => {
            let real = std::fs::canonicalize(path).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{}: a symbolic link to a file that does not exist", path.display()),
                    )
                } else {
                    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                }
            })?;
            let meta = std::fs::metadata(&real).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", real.display())))?;
            check_file(&real, &meta)?;
            Ok(Resolved {
                path: real,
                meta: Some(meta),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let Some(name) = path.file_name() else {
                return Err(invalid(path, "does not name a file".into()));
            };
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let dir = std::fs::canonicalize(parent)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: the directory of {}: {e}", parent.display(), path.display())))?;
            Ok(Resolved {
                path: dir.join(name),
                meta: None,
            })
        }
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}
