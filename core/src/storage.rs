//! Storage: the one file-like object the core reads and writes.
//!
//! A database uses two storages, the main database file and the WAL. The
//! trait is positional (like `pread`/`pwrite`), so that several connections
//! can each own a handle to the same file. Its error type is built on
//! `embedded-io`'s [`ErrorType`]: any error with an [`embedded_io::ErrorKind`]
//! will do.
//!
//! Provided here:
//! - [`RamStorage`]: a file in a caller-provided byte buffer (tests, RAM
//!   disks, firmware), with no allocation;
//! - [`IoStorage`]: an adapter for any `embedded-io` `Read + Write + Seek`
//!   device (an SD-card block driver, a flash translation layer);
//! - [`SharedStorage`] over a `&RefCell<S>`, so connections on one thread (for
//!   example two cooperative tasks on a microcontroller) can share one
//!   storage.

use core::cell::RefCell;
use embedded_io::{ErrorKind, ErrorType, Read, Seek, SeekFrom, Write};

/// A positional file: the I/O the core needs from a database file or a WAL.
///
/// Offsets and lengths are in bytes. Implementations must make a completed
/// `sync` durable: after it returns `Ok`, every earlier `write_at` and
/// `set_len` survives a power cut. The core never retries a failed write or
/// sync; it poisons the connection instead.
pub trait Storage: ErrorType {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
    /// Fewer than `buf.len()` only at the end of the file.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, Self::Error>;
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), Self::Error>;
    /// Writes `a` and then `b` contiguously at `offset` (a WAL frame: its
    /// 24-byte header and its page). The default makes two `write_at`
    /// calls; a storage whose every call is a system call (a file) may copy
    /// them into one buffer and write once.
    fn write_at_pair(&mut self, offset: u64, a: &[u8], b: &[u8]) -> Result<(), Self::Error> {
        self.write_at(offset, a)?;
        self.write_at(offset + a.len() as u64, b)
    }
    /// Makes every completed write durable (fsync).
    fn sync(&mut self) -> Result<(), Self::Error>;
    /// The file's length in bytes.
    fn size(&mut self) -> Result<u64, Self::Error>;
    /// Truncates or extends (with zeros) the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> Result<(), Self::Error>;
}

/// Errors of [`RamStorage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamError {
    /// The write or extension does not fit in the buffer.
    OutOfSpace,
}

impl embedded_io::Error for RamError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::OutOfMemory
    }
}

/// A file held in a caller-provided buffer `B` (a `&'static mut [u8]`, an
/// array, or a `Vec<u8>` on a host). Its capacity is `buf.len()` bytes; its
/// length starts at 0 (or at `len` with [`RamStorage::with_len`]).
#[derive(Debug)]
pub struct RamStorage<B> {
    buf: B,
    len: usize,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> RamStorage<B> {
    /// An empty file over `buf`.
    pub fn new(buf: B) -> Self {
        RamStorage { buf, len: 0 }
    }
    /// A file over `buf` whose first `len` bytes are its content (for
    /// example, an image loaded from flash). `len` is clamped to the buffer.
    pub fn with_len(buf: B, len: usize) -> Self {
        let len = len.min(buf.as_ref().len());
        RamStorage { buf, len }
    }
    /// The file's content: the first `len` bytes of the buffer.
    pub fn contents(&self) -> &[u8] {
        &self.buf.as_ref()[..self.len]
    }
    /// The file's content, mutable (to simulate damage in tests).
    pub fn contents_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        &mut self.buf.as_mut()[..len]
    }
    /// Gives the buffer back.
    pub fn into_inner(self) -> (B, usize) {
        (self.buf, self.len)
    }
}

impl<B> ErrorType for RamStorage<B> {
    type Error = RamError;
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Storage for RamStorage<B> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, RamError> {
        let Ok(off) = usize::try_from(offset) else { return Ok(0) };
        // Past the end (or a length beyond the buffer, which `write_at`
        // never makes): nothing to read. No slice index can panic here.
        let Some(src) = self.buf.as_ref().get(off..self.len) else {
            return Ok(0);
        };
        let n = buf.len().min(src.len());
        for (d, s) in buf.iter_mut().zip(src) {
            *d = *s;
        }
        Ok(n)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), RamError> {
        let off = usize::try_from(offset).map_err(|_| RamError::OutOfSpace)?;
        let end = off.checked_add(data.len()).ok_or(RamError::OutOfSpace)?;
        let cap = self.buf.as_ref().len();
        if end > cap {
            return Err(RamError::OutOfSpace);
        }
        let buf = self.buf.as_mut();
        if let Some(gap) = buf.get_mut(self.len..off) {
            gap.fill(0);
        }
        let dst = buf.get_mut(off..end).ok_or(RamError::OutOfSpace)?;
        for (d, s) in dst.iter_mut().zip(data) {
            *d = *s;
        }
        self.len = self.len.max(end);
        Ok(())
    }
    fn sync(&mut self) -> Result<(), RamError> {
        Ok(())
    }
    fn size(&mut self) -> Result<u64, RamError> {
        Ok(self.len as u64)
    }
    fn set_len(&mut self, len: u64) -> Result<(), RamError> {
        let len = usize::try_from(len).map_err(|_| RamError::OutOfSpace)?;
        if len > self.buf.as_ref().len() {
            return Err(RamError::OutOfSpace);
        }
        if let Some(gap) = self.buf.as_mut().get_mut(self.len..len) {
            gap.fill(0);
        }
        self.len = len;
        Ok(())
    }
}

/// The error of a [`SharedStorage`]: the inner storage's error, or a
/// re-entrant borrow (which the core never makes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedError<E> {
    /// The inner storage failed.
    Inner(E),
    /// The `RefCell` was already borrowed.
    Reentrant,
}

impl<E: embedded_io::Error> embedded_io::Error for SharedError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            SharedError::Inner(e) => e.kind(),
            SharedError::Reentrant => ErrorKind::Other,
        }
    }
}

/// One storage shared by several connections on one thread (for example
/// two cooperative tasks on a microcontroller, or a test that reopens a
/// database): a handle to a `RefCell<S>`.
#[derive(Debug)]
pub struct SharedStorage<'a, S>(pub &'a RefCell<S>);

impl<S: Storage> ErrorType for SharedStorage<'_, S> {
    type Error = SharedError<S::Error>;
}

impl<S: Storage> Storage for SharedStorage<'_, S> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let mut s = self.0.try_borrow_mut().map_err(|_| SharedError::Reentrant)?;
        s.read_at(offset, buf).map_err(SharedError::Inner)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), Self::Error> {
        let mut s = self.0.try_borrow_mut().map_err(|_| SharedError::Reentrant)?;
        s.write_at(offset, buf).map_err(SharedError::Inner)
    }
    fn write_at_pair(&mut self, offset: u64, a: &[u8], b: &[u8]) -> Result<(), Self::Error> {
        let mut s = self.0.try_borrow_mut().map_err(|_| SharedError::Reentrant)?;
        s.write_at_pair(offset, a, b).map_err(SharedError::Inner)
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        let mut s = self.0.try_borrow_mut().map_err(|_| SharedError::Reentrant)?;
        s.sync().map_err(SharedError::Inner)
    }
    fn size(&mut self) -> Result<u64, Self::Error> {
        let mut s = self.0.try_borrow_mut().map_err(|_| SharedError::Reentrant)?;
        s.size().map_err(SharedError::Inner)
    }
    fn set_len(&mut self, len: u64) -> Result<(), Self::Error> {
        let mut s = self.0.try_borrow_mut().map_err(|_| SharedError::Reentrant)?;
        s.set_len(len).map_err(SharedError::Inner)
    }
}

/// Adapter from an `embedded-io` `Read + Write + Seek` device to [`Storage`].
///
/// `sync` is the device's `flush`. `embedded-io` has no truncate, so the
/// adapter keeps a logical length: shrinking records the new length and
/// zero-fills up to 512 bytes past it (so that a truncated WAL's header is
/// gone even on a device that keeps the old bytes); growing writes zeros.
/// The logical length starts at the device's end (`seek(End(0))`).
#[derive(Debug)]
pub struct IoStorage<D> {
    dev: D,
    len: Option<u64>,
}

impl<D> IoStorage<D> {
    /// Wraps `dev`.
    pub fn new(dev: D) -> Self {
        IoStorage { dev, len: None }
    }
    /// Gives the device back.
    pub fn into_inner(self) -> D {
        self.dev
    }
}

impl<D: ErrorType> ErrorType for IoStorage<D> {
    type Error = D::Error;
}

impl<D: Read + Write + Seek> IoStorage<D> {
    fn logical_len(&mut self) -> Result<u64, D::Error> {
        match self.len {
            Some(l) => Ok(l),
            None => {
                let l = self.dev.seek(SeekFrom::End(0))?;
                self.len = Some(l);
                Ok(l)
            }
        }
    }
    fn write_zeros(&mut self, from: u64, to: u64) -> Result<(), D::Error> {
        let zeros = [0u8; 64];
        let mut at = from;
        self.dev.seek(SeekFrom::Start(at))?;
        while at < to {
            let n = (to - at).min(zeros.len() as u64) as usize;
            self.dev.write_all(&zeros[..n])?;
            at += n as u64;
        }
        Ok(())
    }
}

impl<D: Read + Write + Seek> Storage for IoStorage<D> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let len = self.logical_len()?;
        if offset >= len {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(len - offset) as usize;
        self.dev.seek(SeekFrom::Start(offset))?;
        let mut got = 0;
        while got < want {
            let n = self.dev.read(&mut buf[got..want])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(got)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), Self::Error> {
        let len = self.logical_len()?;
        if offset > len {
            self.write_zeros(len, offset)?;
        }
        self.dev.seek(SeekFrom::Start(offset))?;
        self.dev.write_all(data)?;
        self.len = Some(len.max(offset + data.len() as u64));
        Ok(())
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        self.dev.flush()
    }
    fn size(&mut self) -> Result<u64, Self::Error> {
        self.logical_len()
    }
    fn set_len(&mut self, new_len: u64) -> Result<(), Self::Error> {
        let len = self.logical_len()?;
        if new_len > len {
            self.write_zeros(len, new_len)?;
        } else if new_len < len {
            self.write_zeros(new_len, len.min(new_len + 512))?;
        }
        self.len = Some(new_len);
        Ok(())
    }
}

/// Maps a storage error to the core's [`crate::Error::Io`].
pub(crate) fn io_err<E: embedded_io::Error>(file: crate::FileKind) -> impl Fn(E) -> crate::Error {
    move |e| crate::Error::Io { file, kind: e.kind() }
}
