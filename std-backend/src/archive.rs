//! What continuous archiving, base backups and replicas need of a
//! database (the `walden-archive` crate builds on these): the published
//! wal-index header, the archive slot that holds WAL restarts back until
//! the archiver has shipped every frame (`walden_core::connection::archive`),
//! one archiver at a time, the pages of a read snapshot, page images
//! written back physically, and the online backup
//! ([`Database::backup_to`], as SQLite's backup API).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use walden_core::{ArchiveLimits, ArchiveSlot, IndexHeader, PriorGeneration};

use crate::db::Database;
use crate::error::{Error, Result};
use crate::file::sync_dir;
use crate::shm::SharedRegion;
use crate::txn::{Txn, WriteTxn};

/// What [`Database::backup_to`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupInfo {
    /// The LSN of the last commit in the backup (`format::lsn`).
    pub lsn: u64,
    /// Pages copied (the database size at that commit).
    pub pages: u32,
    /// Bytes written (`pages * page_size`).
    pub bytes: u64,
}

/// The archiver lock of a database ([`Database::lock_archiver`]): released
/// when dropped, and by the kernel when its process dies.
#[derive(Debug)]
pub struct ArchiverLock {
    db: Database,
}

impl Drop for ArchiverLock {
    fn drop(&mut self) {
        match &self.db.inner.region {
            SharedRegion::Shm(n) => n.unlock_archiver(),
            SharedRegion::Heap(_) => self.db.inner.archiver.store(false, Ordering::Release),
        }
    }
}

impl Database {
    /// The published wal-index header (the last durable, visible commit):
    /// its LSN is `format::lsn(ckpt_seq, mx_frame)`, its salts and chain
    /// value (`last_cksum`) those of the WAL generation in use. Errors:
    /// `Protocol`, `Poisoned`.
    pub fn wal_header(&self) -> Result<IndexHeader> {
        self.with_conn(|c| c.wal_state().map(|(h, _)| h))
    }

    /// Where the WAL generation before the current one ended, as page 1
    /// records it: `(snapshot, record)`, the published wal-index header of
    /// a read snapshot taken now and, when known, the record
    /// ([`PriorGeneration`]: the previous generation's checkpoint sequence,
    /// always `snapshot.ckpt_seq - 1`; its last commit frame, a frame
    /// number, never 0; the chain value of that frame, as
    /// `IndexHeader::last_cksum`). The first commit of every WAL generation
    /// writes it into page 1 from what the WAL restart that began the
    /// generation left in the wal-index; it is durable with that commit and
    /// survives every process (the wal-index and its archive slot do not).
    /// `None` when the snapshot's generation has no commit yet, or when the
    /// restart that began it was not seen by this wal-index: the first
    /// commit came after a recovery (a crash, or every handle closed, in
    /// between), or the database is new or was written by a build without
    /// the record. `None` claims nothing: a caller must then assume a gap.
    ///
    /// An archiver whose archive ends exactly at the recorded frame and
    /// chain value of the recorded generation knows that the WAL in use
    /// continues it, even after the slot that held the WAL was lost with
    /// the `-shm`: as PostgreSQL's timeline history files and
    /// `pg_control`'s prior checkpoint tie a new WAL segment to where the
    /// old one ended. Errors: `Corrupt`, `Io`, `Protocol`, `Poisoned`.
    pub fn prior_generation(&self) -> Result<(IndexHeader, Option<PriorGeneration>)> {
        let r = self.begin_read()?;
        let h = r.snapshot_header()?;
        Ok((h, r.prior_generation()?))
    }

    /// The archive slot, if there is one (see
    /// `walden_core::connection::archive`). Errors: `InvalidArgument` (a
    /// damaged region).
    pub fn archive_slot(&self) -> Result<Option<ArchiveSlot>> {
        self.with_conn(|c| c.archive_slot())
    }

    /// Creates or takes over the archive slot: the WAL then restarts only
    /// once the first `shipped` frames of the current generation, and every
    /// later one, are shipped ([`Database::advance_archive_slot`]). `tag`
    /// names the archive; `expected` is the slot's count as last read
    /// (`None`: no slot). Returns false when the slot moved meanwhile.
    /// The slot outlives the archiver (it keeps the WAL for its return, as
    /// a PostgreSQL replication slot) until [`Database::drop_archive_slot`]
    /// or until no process has the database open. Errors: `ReadOnly`,
    /// `InvalidArgument`.
    pub fn claim_archive_slot(&self, tag: u32, limits: ArchiveLimits, expected: Option<u32>, shipped: u32) -> Result<bool> {
        self.with_conn(|c| c.claim_archive_slot(tag, limits, expected, shipped))
    }

    /// Records that the first `shipped` frames of the current generation are
    /// shipped (from `expected`); `caught_up`: they were every published
    /// commit. False when the slot no longer held `expected` (a WAL restart
    /// reset it to 0 shipped, or it was dropped). Errors: as
    /// [`Database::claim_archive_slot`].
    pub fn advance_archive_slot(&self, expected: u32, shipped: u32, caught_up: bool) -> Result<bool> {
        self.with_conn(|c| c.advance_archive_slot(expected, shipped, caught_up))
    }

    /// Ends the archive slot: the WAL restarts again whatever was shipped
    /// (an archiver that comes back then finds a gap and takes a new base
    /// backup). Errors: `ReadOnly`.
    pub fn drop_archive_slot(&self) -> Result<()> {
        self.with_conn(|c| c.drop_archive_slot())
    }

    /// Takes the archiver lock: one archiver per database at a time, in
    /// every process (a byte lock of the `-shm` file, `docs/FORMAT.md`
    /// section 11, which dies with its process; a flag of the handle in
    /// the exclusive locking mode). Errors: `Busy` (another archiver runs),
    /// `ReadOnly`, `Io`.
    pub fn lock_archiver(&self) -> Result<ArchiverLock> {
        if self.inner.opts.read_only {
            return Err(Error::ReadOnly);
        }
        let got = match &self.inner.region {
            SharedRegion::Shm(n) => n.try_lock_archiver()?,
            SharedRegion::Heap(_) => !self.inner.archiver.swap(true, Ordering::AcqRel),
        };
        if !got {
            return Err(Error::Busy(Some(format!(
                "{}: another archiver (in this or another process) is archiving this database",
                self.inner.paths.db.display()
            ))));
        }
        Ok(ArchiverLock { db: self.clone() })
    }

    /// The connections' clock (`CLOCK_MONOTONIC`, milliseconds), the one
    /// the archive slot's caught-up time is kept by.
    pub fn clock_ms(&self) -> u64 {
        crate::options::monotonic_ms()
    }

    /// Copies a consistent snapshot of the database to a new database file
    /// at `path`, without stopping writers (a read transaction, as SQLite's
    /// online backup reads under a read lock): every page of the snapshot,
    /// checksum-verified, into `<path>.tmp`, fsynced, renamed to `path`,
    /// and the directory fsynced. The copy is a database on its own (no
    /// WAL) with this database's id and LSNs: opening it continues above
    /// the snapshot's LSN. Returns the snapshot's LSN and size: the LSN of
    /// its last commit, or `(generation << 32) | 0` when the snapshot
    /// began right after a WAL restart with no commit since (the state of
    /// the previous generation's last commit).
    ///
    /// Errors: `Io` (`AlreadyExists` when `path`, `<path>-wal` or
    /// `<path>-shm` exists: a WAL left there would be replayed over the
    /// copy), `Corrupt` (a page failed its checksum; nothing is left at
    /// `path`), `Protocol`, `Poisoned`.
    pub fn backup_to(&self, path: impl AsRef<Path>) -> Result<BackupInfo> {
        let path = path.as_ref();
        for p in [path.to_path_buf(), crate::wal_path(path), crate::shm_path(path)] {
            if p.symlink_metadata().is_ok() {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{}: exists; a backup is written to a new path", p.display()),
                )));
            }
        }
        let tmp = PathBuf::from(format!("{}.tmp", path.display()));
        let r = self.backup_into(&tmp);
        match r {
            Ok(info) => {
                fs_err::rename(&tmp, path)?;
                sync_dir(path, &self.inner.io)?;
                Ok(info)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn backup_into(&self, tmp: &Path) -> Result<BackupInfo> {
        let r = self.begin_read()?;
        let h = r.snapshot_header()?;
        let mut f = std::io::BufWriter::new(fs_err::File::create_new(tmp)?);
        let mut page = Vec::new();
        for pgno in 1..=h.n_pages {
            r.read_page(pgno, &mut page)?;
            f.write_all(&page)?;
        }
        let f = f.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        f.sync_all()?;
        Ok(BackupInfo {
            lsn: walden_core::format::lsn(h.ckpt_seq, h.mx_frame),
            pages: h.n_pages,
            bytes: h.n_pages as u64 * h.page_size as u64,
        })
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut crate::open::Conn) -> walden_core::Result<T>) -> Result<T> {
        let mut c = self.take_conn()?;
        let r = f(&mut c);
        self.put_conn(c);
        r.map_err(|e| self.err(e))
    }
}

impl Txn {
    /// The wal-index header of this transaction's snapshot: its LSN is
    /// `format::lsn(ckpt_seq, mx_frame)`, its page count `n_pages`.
    pub fn snapshot_header(&self) -> Result<IndexHeader> {
        self.with(|c| c.snapshot_header())
    }

    /// Where the WAL generation before the snapshot's ended, when page 1
    /// of the snapshot records it for the snapshot's generation: see
    /// [`Database::prior_generation`]. Errors: `Corrupt`, `Io`.
    pub fn prior_generation(&self) -> Result<Option<PriorGeneration>> {
        self.with(|c| c.prior_generation())
    }

    /// Page `pgno` of the snapshot, exactly as it belongs in the database
    /// file (checksum verified), into `buf` (resized to the page size).
    /// Errors: `InvalidArgument` (`pgno` outside 1..=the page count),
    /// `Corrupt`, `Io`.
    pub fn read_page(&self, pgno: u32, buf: &mut Vec<u8>) -> Result<()> {
        self.with(|c| {
            let p = c.read_page(pgno)?;
            buf.clear();
            buf.extend_from_slice(p);
            Ok(())
        })
    }
}

impl WriteTxn {
    /// Writes `image`, a page of another copy of this database (an
    /// archived WAL frame's page image, a base backup's page), as page
    /// `pgno`: how a replica applies archived frames (see
    /// `walden_core::Connection::put_page_image`). Errors: `InvalidArgument`
    /// (another page size), `Corrupt` (the image fails its checksum as page
    /// `pgno`), `Io`, `Full`.
    pub fn put_page_image(&self, pgno: u32, image: &[u8]) -> Result<()> {
        self.with(|c| c.put_page_image(pgno, image))
    }
}
