//! Beginning transactions: a read snapshot (retried while the wal-index
//! keeps changing), and a write transaction (this handle's write gate, the
//! checkpoint starvation policy, the write lock).

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::busy::Wait;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::txn::{ReadTxn, Txn, WriteTxn};

impl Database {
    /// Begins a read transaction: a snapshot of the last commit, which later
    /// commits and checkpoints do not change. Never waits for the writer;
    /// when commits and checkpoints keep changing the wal-index under it
    /// (the core gives up with `Protocol` after its bounded spins), it
    /// backs off and tries again for up to the busy timeout, as SQLite's
    /// `walTryBeginRead` sleeps between attempts.
    /// Errors: `Poisoned`, `Protocol`, `Io`.
    pub fn begin_read(&self) -> Result<ReadTxn> {
        let mut c = self.take_conn()?;
        let r = Wait::new(self.inner.opts.busy_timeout).retry(|| c.begin_read(), |e| *e == walden_core::Error::Protocol);
        match r {
            Ok(()) => {
                let id = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut m) = self.inner.readers.lock() {
                    m.insert(id, Instant::now());
                }
                Ok(ReadTxn {
                    txn: Txn {
                        conn: RefCell::new(Some(c)),
                        db: self.clone(),
                    },
                    id,
                })
            }
            Err(e) => {
                self.put_conn(c);
                Err(self.err(e))
            }
        }
    }

    /// Begins the write transaction, waiting up to the busy timeout for the
    /// write lock.
    ///
    /// Checkpoint starvation policy: readers that hold old snapshots stop a
    /// checkpoint from copying the frames after them, so the WAL grows. When
    /// the WAL holds three quarters of its limit (`Stats::wal_limit`, the
    /// wal-index capacity), this first runs a passive checkpoint (the WAL
    /// then restarts at the next write if it could copy everything), and
    /// while the WAL stays that full it waits up to the busy timeout for the
    /// old readers to finish; then it returns `Full` rather than let the WAL
    /// grow silently to its limit (`Stats::oldest_reader_age` shows who
    /// holds it back).
    ///
    /// Archive slot (`walden-archive`): past the lag limit of an archive
    /// slot, this waits up to the busy timeout for the archiver when the
    /// slot asks for back-pressure, and then (or at once otherwise)
    /// returns `ArchiveLag`.
    ///
    /// The wal-index header read while another connection publishes one
    /// (`Protocol` from the core) is retried as the write lock is, within
    /// the busy timeout.
    ///
    /// Errors: `Busy`, `Protocol` (the header stayed torn for the busy
    /// timeout), `Full` (the WAL is held at its soft limit by an old
    /// reader or an archive slot), `ArchiveLag`, `ReadOnly`, `Poisoned`.
    pub fn begin_write(&self) -> Result<WriteTxn> {
        if !self.inner.opts.read_only {
            self.inner.check_not_moved()?;
        }
        let mut c = self.take_conn()?;
        let soft = (self.inner.max_frames as u64 * 3 / 4) as u32;
        // A header torn under a preempted publisher is `Protocol` until it
        // publishes: retried as `begin_read` retries it.
        let frames = Wait::new(self.inner.opts.busy_timeout)
            .retry(|| c.wal_state().map(|(h, _)| h.mx_frame), |e| *e == walden_core::Error::Protocol)
            .map_err(|e| self.err(e));
        if let Ok(f) = frames {
            self.restart_large_wal(&mut c, f);
        }
        if !self.inner.opts.read_only && !matches!(frames, Ok(f) if f < soft) {
            self.put_conn(c);
            frames?;
            self.wait_for_wal_room()?;
            c = self.take_conn()?;
        }
        // Writers of this handle queue on its gate, then contend for the
        // wal-index's write lock with other processes and handles.
        if !self.inner.gate.acquire(self.inner.opts.busy_timeout) {
            self.put_conn(c);
            return Err(Error::Busy(Some(format!(
                "{}: another write transaction of this handle stayed open for the busy timeout",
                self.inner.paths.db.display()
            ))));
        }
        // Back-pressure of an archive slot: wait for the archiver as for
        // the write lock, within the same busy timeout.
        let r = Wait::new(self.inner.opts.busy_timeout).retry(
            || c.begin_write(),
            |e| {
                *e == walden_core::Error::Busy
                    || *e == walden_core::Error::Protocol
                    || matches!(e, walden_core::Error::ArchiveLag { back_pressure: true, .. })
            },
        );
        let r = r.map_err(|e| match e {
            walden_core::Error::Busy => Error::Busy(Some(format!(
                "{}: another connection (in this or another process) holds the write lock (waited {:?}, the busy timeout)",
                self.inner.paths.db.display(),
                self.inner.opts.busy_timeout
            ))),
            e => self.err(e),
        });
        match r {
            Ok(()) => Ok(WriteTxn {
                txn: Txn {
                    conn: RefCell::new(Some(c)),
                    db: self.clone(),
                },
                gated: std::cell::Cell::new(true),
            }),
            Err(e) => {
                self.inner.gate.release();
                self.put_conn(c);
                Err(e)
            }
        }
    }

    /// Runs the integrity check on a snapshot of the last commit: every
    /// tree, overflow chain and the freelist; checksums, key order, pages
    /// owned twice or leaked, header counts. Problems are in the report
    /// (`report.is_ok()`); errors are `Io`, `Poisoned`, `Protocol`.
    pub fn verify(&self) -> Result<walden_core::VerifyReport> {
        let r = self.begin_read()?;
        let pages = r.with(|c| c.header().map(|h| h.page_count)).unwrap_or(0);
        let mut bitmap = vec![0u8; walden_core::verify::bitmap_len(pages)];
        r.with(|c| c.verify(&mut bitmap))
    }
}
