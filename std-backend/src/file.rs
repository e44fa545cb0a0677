//! [`FileStorage`]: a core `Storage` over a file, positional reads and
//! writes (`pread`/`pwrite`), `fsync` counted, errors kept with their path.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fs_err::os::unix::fs::FileExt;
use walden_core::storage::Storage;

/// State shared by every handle of one database: counters and the last I/O
/// error (with its path), which the std error reports instead of the bare
/// error kind the core carries.
#[derive(Debug, Default)]
pub(crate) struct IoShared {
    pub fsyncs: AtomicU64,
    pub bytes_written: AtomicU64,
    pub last_error: Mutex<Option<io::Error>>,
}

impl IoShared {
    pub(crate) fn take_error(&self) -> Option<io::Error> {
        self.last_error.lock().ok().and_then(|mut e| e.take())
    }
}

/// The error type of [`FileStorage`]: an `io::ErrorKind` mapped to
/// `embedded-io`'s kinds (the full error, with its path, is kept beside it: `FileStorage::take_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileError(pub io::ErrorKind);

impl embedded_io::Error for FileError {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as E;
        match self.0 {
            io::ErrorKind::NotFound => E::NotFound,
            io::ErrorKind::PermissionDenied => E::PermissionDenied,
            io::ErrorKind::Interrupted => E::Interrupted,
            io::ErrorKind::InvalidInput => E::InvalidInput,
            io::ErrorKind::InvalidData => E::InvalidData,
            io::ErrorKind::TimedOut => E::TimedOut,
            io::ErrorKind::WriteZero => E::WriteZero,
            io::ErrorKind::Unsupported => E::Unsupported,
            io::ErrorKind::OutOfMemory => E::OutOfMemory,
            io::ErrorKind::StorageFull => E::OutOfMemory,
            _ => E::Other,
        }
    }
}

/// One file of a database (the database file or the WAL), shared by all
/// connections of a [`crate::Database`]. A missing file (a read-only open
/// of a database without a WAL) reads as empty.
#[derive(Debug, Clone)]
pub struct FileStorage {
    file: Option<Arc<fs_err::File>>,
    path: Arc<PathBuf>,
    shared: Arc<IoShared>,
    read_only: bool,
    /// Buffer of `write_at_pair` (per handle: each connection has its own).
    pair_buf: Vec<u8>,
    /// Opened at the first read if it was missing at open ([`FileStorage::new`] with `None`).
    late: bool,
}

impl FileStorage {
    /// A storage over `file`; `None` (a read-only open of a database whose
    /// WAL does not exist yet) reads as empty until the file appears, then
    /// opens it read-only (a writer in another process creates it).
    pub(crate) fn new(file: Option<Arc<fs_err::File>>, path: &Path, shared: Arc<IoShared>) -> Self {
        FileStorage {
            late: file.is_none(),
            file,
            path: Arc::new(path.to_path_buf()),
            shared,
            read_only: false,
            pair_buf: Vec::new(),
        }
    }

    /// A read-only storage over the file at `path`, for tools that read a
    /// database's files directly (`walden waldump` reads the WAL through
    /// it, with the core's frame reader). Writes, syncs and truncation fail
    /// with `PermissionDenied`. Errors: the open's, naming the path.
    pub fn open_read_only(path: &Path) -> io::Result<FileStorage> {
        let f = fs_err::File::open(path)?;
        Ok(FileStorage {
            file: Some(Arc::new(f)),
            path: Arc::new(path.to_path_buf()),
            shared: Arc::new(IoShared::default()),
            read_only: true,
            pair_buf: Vec::new(),
            late: false,
        })
    }

    /// The file's metadata (`fstat`), `None` if no file is open.
    pub(crate) fn metadata(&self) -> Option<io::Result<std::fs::Metadata>> {
        self.file.as_ref().map(|f| f.metadata())
    }

    /// A read-only storage whose file did not exist at open (a WAL no
    /// writer has created yet): opened at the first read that finds it.
    fn open_late(&mut self) {
        if self.file.is_none() && self.late {
            if let Ok(f) = fs_err::File::open(&*self.path) {
                self.file = Some(Arc::new(f));
            }
        }
    }

    /// The last I/O error of this storage (with its path), if any: the
    /// core's errors carry only its kind.
    pub fn take_error(&self) -> Option<io::Error> {
        self.shared.take_error()
    }

    fn fail(&self, e: io::Error) -> FileError {
        let kind = e.kind();
        if let Ok(mut slot) = self.shared.last_error.lock() {
            *slot = Some(e);
        }
        FileError(kind)
    }

    fn file(&self) -> Result<&fs_err::File, FileError> {
        match &self.file {
            Some(f) if !self.read_only => Ok(f),
            _ => Err(self.fail(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{}: file not open for writing", self.path.display()),
            ))),
        }
    }
}

impl embedded_io::ErrorType for FileStorage {
    type Error = FileError;
}

impl Storage for FileStorage {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, FileError> {
        self.open_late();
        let Some(f) = &self.file else { return Ok(0) };
        let mut got = 0;
        while got < buf.len() {
            match f.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(got)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), FileError> {
        let f = self.file()?;
        let mut done = 0;
        while done < data.len() {
            match f.write_at(&data[done..], offset + done as u64) {
                Ok(0) => {
                    return Err(self.fail(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("{}: write returned 0", self.path.display()),
                    )))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.fail(e)),
            }
        }
        self.shared.bytes_written.fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn write_at_pair(&mut self, offset: u64, a: &[u8], b: &[u8]) -> Result<(), FileError> {
        // One system call instead of two: a frame's header and page, copied
        // into one buffer (a copy of a page costs far less than a pwrite).
        let mut buf = std::mem::take(&mut self.pair_buf);
        buf.clear();
        buf.extend_from_slice(a);
        buf.extend_from_slice(b);
        let r = self.write_at(offset, &buf);
        self.pair_buf = buf;
        r
    }

    fn sync(&mut self) -> Result<(), FileError> {
        let f = self.file()?;
        self.shared.fsyncs.fetch_add(1, Ordering::Relaxed);
        // Never retried: a failed fsync may have dropped dirty pages
        // (the "fsyncgate" lesson); the core poisons the connection.
        f.sync_data().map_err(|e| self.fail(e))
    }

    fn size(&mut self) -> Result<u64, FileError> {
        self.open_late();
        let Some(f) = &self.file else { return Ok(0) };
        f.metadata().map(|m| m.len()).map_err(|e| self.fail(e))
    }

    fn set_len(&mut self, len: u64) -> Result<(), FileError> {
        let f = self.file()?;
        f.set_len(len).map_err(|e| self.fail(e))
    }
}

/// fsyncs the directory holding `path`, so that a file created, renamed or
/// truncated in it survives a power cut.
pub(crate) fn sync_dir(path: &Path, shared: &IoShared) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    shared.fsyncs.fetch_add(1, Ordering::Relaxed);
    fs_err::File::open(dir)?.sync_all()
}
