//! Continuous archiving of a Walden database to object storage, base
//! backups, point-in-time restore and read replicas: PostgreSQL's
//! `archive_command`, base backups, PITR and timelines, on an object store
//! as Litestream ships SQLite's WAL.
//!
//! # The archive
//!
//! Under a prefix of an [`object_store`] store: a directory and memory
//! always, S3 and S3-compatible stores with this crate's `s3` feature
//! (tested against moto's S3 server, `tests/s3.rs`), and any other store
//! `object_store` builds (GCS, Azure) through [`Store::new`]:
//!
//! ```text
//! <prefix>/<timeline>/timeline                       who the timeline belongs to, where it branched
//! <prefix>/<timeline>/snapshots/<lsn>                every page of the database at a commit
//! <prefix>/<timeline>/wal/<first-lsn>-<last-lsn>     committed WAL frames, commit-aligned
//! <prefix>/<timeline>/notes/<lsn>                    text: a gap, a new timeline
//! ```
//!
//! timelines in 8 and LSNs in 16 zero-padded hex digits, so that keys sort
//! by LSN. Byte layouts in [`mod@format`] and `docs/FORMAT.md` section 12.
//! Every object is immutable and written put-if-absent
//! (`PutMode::Create`): two archivers racing on one prefix never overwrite
//! each other; a put whose response was lost is found again as the same
//! bytes, anything else is a [`Error::Conflict`].
//!
//! # Archiving ([`Archiver`])
//!
//! The archiver is a reader of the WAL like any other process: it reads the
//! published wal-index header (the last durable commit), reads the frames
//! after its position from the `-wal` file, checks each by the WAL's rule
//! (salts, chained checksum, page checksum) and puts them as a segment that
//! ends at a commit frame, with a timestamp per commit. It then raises its
//! **archive slot** in the wal-index (`walden_core::connection::archive`):
//! the WAL never restarts before every committed frame of its generation is
//! shipped, as a PostgreSQL replication slot keeps WAL for its consumer.
//! Checkpoints still copy frames into the database file; only the restart,
//! which would reuse frame numbers, waits. The lag (frames, bytes, time)
//! shows in `walden_std::Stats`; past the slot's limits
//! ([`ArchiverOptions::limits`]) writers get `ArchiveLag`, at once or after
//! waiting for the archiver (back-pressure).
//!
//! The slot lives in the wal-index, which the first process to open a
//! database rebuilds; an archiver that starts when the slot did not hold the
//! WAL (the archiver was off and every process closed, or the slot was
//! dropped) checks that the WAL still continues the archive: the same
//! generation and salts, with the chain value of its last archived frame;
//! or the next generation, when page 1 records that the generation before
//! it ended exactly at the archive's end (frame and chain value:
//! `walden_std::Database::prior_generation`, which the first commit of
//! every generation writes from what the restart left in the wal-index,
//! so that a restart the slot held survives the death of every process).
//! If not (the WAL restarted meanwhile, or the record is unknown) it takes
//! a new snapshot, writes a note and reports the gap ([`ShipReport::gap`]):
//! a restore can never cross it.
//!
//! # Snapshots
//!
//! A snapshot is every page of one read snapshot of the database (taken
//! without stopping writers, as `walden_std::Database::backup_to`), at its
//! LSN: at the start of an archive, after a gap, on a new timeline, on
//! demand ([`Archiver::snapshot`]) and on a schedule
//! ([`ArchiverOptions::snapshot_every`]).
//!
//! # Restore ([`restore()`]) and timelines
//!
//! To the latest commit, an LSN or a time: the newest snapshot at or before
//! the target, then the segments that continue it without a break (same
//! generation and chain value, or frame 1 of a later generation written
//! right after), every object's checksum and every frame verified, applied
//! commit by commit and stopped exactly at the target commit. The copy is
//! verified (`Database::verify`). An archiver started on a restored copy
//! writes a **new timeline** branching off the old one at the restored LSN
//! (its timeline record says so), so that the two histories never share a
//! key; every timeline starts with a snapshot.
//!
//! # Retention ([`retain`]), replicas ([`Replica`])
//!
//! Retention keeps snapshots by count and by age and deletes the segments
//! before the oldest snapshot kept. A replica is a database of its own,
//! restored from the archive and then following it: each archived commit
//! becomes one commit of the replica (its page images, written through
//! `WriteTxn::put_page_image`), so its readers see whole commits in order;
//! [`Replica::wait_for_lsn`] gives read-your-writes.
//!
//! # Blocking
//!
//! The API blocks: `object_store` is async, and [`Store`] runs its calls on
//! a current-thread Tokio runtime of its own, each bounded by a timeout
//! ([`Store::with_timeout`], [`DEFAULT_TIMEOUT`]): a store that stops
//! answering is an error, which the archiver's next attempt retries.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod archiver;
mod catalog;
mod error;
pub mod format;
mod replica;
mod restore;
mod store;

pub use archiver::{Archiver, ArchiverOptions, ShipReport};
pub use catalog::{retain, Catalog, RetainReport, Retention, TimelineEntry};
pub use error::{Error, Result};
pub use replica::{PollReport, Replica};
pub use restore::{restore, RestoreInfo, Target};
pub use store::{Put, Store, DEFAULT_TIMEOUT};
pub use walden_std::ArchiveLimits;

/// A wall clock in Unix milliseconds (the archive's timestamps).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system's wall clock in Unix milliseconds.
pub fn system_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `<db>-archive-fork`: written by [`restore()`] beside the copy, naming the
/// timeline and LSN it was restored from; the next [`Archiver`] of the copy
/// starts a new timeline from it and removes the file.
pub fn fork_marker_path(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-archive-fork", db.display()))
}

pub(crate) fn write_fork_marker(path: &Path, tl: u32, at: u64) -> Result<()> {
    replica::write_state(path, tl, at)
}

pub(crate) fn read_fork_marker(path: &Path) -> Result<Option<(u32, u64)>> {
    match std::fs::read_to_string(path) {
        Ok(s) => replica::parse_state(&s)
            .map(Some)
            .ok_or_else(|| Error::InvalidArgument(format!("{}: not a fork marker", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}
