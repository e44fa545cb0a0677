//! Recovery: rebuilding the wal-index from the files when the first
//! connection of a region opens, as SQLite's `walIndexRecover`. Recovery
//! writes nothing to either file.
//!
//! # Steps (`recover`)
//!
//! 1. **Database header** (`read_db_header`). If the database file is not
//!    empty, decode its header (magic, checksum, version, page size, field
//!    ranges) and verify all of page 1. `UnsupportedVersion`,
//!    `InvalidArgument` (too little memory) and `Io` end the open; an empty
//!    file or a damaged page 1 does not: page 1 of the database file is only
//!    written by a checkpoint copying a frame of it, and the WAL keeps that
//!    frame until the copy is synced and read back, so the WAL has a copy at
//!    least as new (step 5). A new database has nothing in its file until
//!    its first checkpoint.
//! 2. **WAL header** (`choose_wal`). The WAL counts only if its header is
//!    valid and its page size is the database header's (or, without a
//!    database header, one the cache memory can hold: never ignore a WAL
//!    that may hold the database). The page size is the database header's,
//!    else the WAL's, else `Options::page_size` (a new database).
//! 3. **Frame scan** (`scan`). From frame 1, frames are read with the frame
//!    reader ([`crate::wal::frames`]) and indexed while valid; the first
//!    invalid frame ends the log. Entries after the last commit frame are
//!    removed again: a torn or uncommitted tail is ignored. More valid
//!    frames than the region can index is `Full`.
//! 4. **Generation** (`start_generation`, `scan`). With a commit, the header
//!    takes the last commit frame, its database size and checksum, the WAL's
//!    salts and the checkpoint sequence `max(WAL's, wal_seq)`. Without one,
//!    the next writer starts a new generation: new salts (from the seed, the
//!    WAL's first bytes and length, so that they differ from stale frames)
//!    and a checkpoint sequence above both the WAL's and `wal_seq`
//!    (the database header's WAL generation floor, so LSNs never go back).
//! 5. **Header from the WAL** (`header_from_wal`). Without a valid database
//!    header, the newest committed frame of page 1 supplies it (checked as
//!    in step 1, errors naming the WAL). With an empty database file and no
//!    committed frame there is no database yet: recovery reports `fresh` and
//!    the connection creates one as its first commit.
//! 6. **Publish** (`publish_recovered`): read marks reset, `nbackfill` 0
//!    (frames copied before a crash are simply copied again), the header
//!    published and the region marked initialised.

use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::{self, check_page_size, DbHeader, WalHeader, FRAME_HEADER_LEN, WAL_HEADER_LEN};
use crate::options::Options;
use crate::storage::{io_err, Storage};
use crate::wal::frames::{read_wal_header, FrameReader};
use crate::wal::index::{Index, IndexHeader};
use crate::wal::protocol::{mix, publish_recovered};

/// Recovery's memory (the cache memory) below a page and a frame header:
/// the check at its start; the slices below cannot fail after it.
const SHORT_MEM: Error = Error::InvalidArgument("cache memory below cache_mem_len(page_size, 4)");

/// What recovery found.
pub(crate) struct Recovered {
    /// Page size of the database in bytes.
    pub page_size: u32,
    /// Committed frames indexed.
    pub frames: u32,
    /// Neither file holds a database: the caller creates one (through the
    /// WAL, as the first commit).
    pub fresh: bool,
}

/// Recovers the wal-index `idx` from the database file `db` and the WAL
/// `wal` (see the module documentation), using `mem` as scratch memory.
/// `min_mem(page_size)` is the cache memory a connection needs at a page
/// size (the pager's `cache_mem_len(page_size, MIN_CACHE_PAGES)`).
///
/// Errors: `Io`; `UnsupportedVersion`; `Corrupt` (no valid database header
/// and none in the WAL, an empty database file whose WAL lacks page 1);
/// `InvalidArgument` (too little memory for the page size, an empty database
/// without `create`); `Full` (the WAL holds more frames than the region).
pub(crate) fn recover<S: Storage>(
    db: &mut S,
    wal: &mut S,
    idx: &Index<'_>,
    mem: &mut [u8],
    opts: &Options,
    min_mem: fn(u32) -> usize,
) -> Result<Recovered> {
    let db_len = db.size().map_err(io_err(FileKind::Database))?;
    let db_header = match read_db_header(db, db_len, mem) {
        Err(e @ (Error::Io { .. } | Error::InvalidArgument(_) | Error::UnsupportedVersion { .. })) => return Err(e),
        r => r,
    };
    let wal_len = wal.size().map_err(io_err(FileKind::Wal))?;
    let mut raw = [0u8; WAL_HEADER_LEN];
    let wh = choose_wal(
        read_wal_header(wal, wal_len, &mut raw)?,
        db_header.as_ref().ok(),
        mem.len(),
        min_mem,
    )?;
    let page_size = match (&db_header, &wh) {
        (Ok(d), _) => d.page_size,
        (Err(_), Some((h, _))) => h.page_size,
        (Err(_), None) => opts.page_size,
    };
    let floor = db_header.as_ref().map(|d| d.wal_seq).unwrap_or(0);
    let mut hdr = start_generation(opts, &raw, wal_len, page_size, db_header.is_ok(), floor);
    if let Some((h, seed)) = wh {
        scan(wal, idx, mem, &h, seed, wal_len, floor, opts.salt_seed, &mut hdr)?;
    }
    let dbh = match db_header {
        Ok(d) => d,
        Err(e) => match header_from_wal(wal, idx, mem, &mut hdr, page_size, wh.map(|(h, _)| h.db_id).unwrap_or(0))? {
            Some(d) => d,
            None if db_len == 0 && hdr.mx_frame == 0 => {
                if opts.read_only || !opts.create {
                    return Err(Error::InvalidArgument("database file is empty and creation is off"));
                }
                check_page_size(page_size)?;
                if mem.len() < min_mem(page_size) {
                    return Err(Error::InvalidArgument("cache memory below cache_mem_len(page_size, 4)"));
                }
                // A new database: a new identity for it and its WALs.
                idx.set_db_id(mix(opts.salt_seed ^ hdr.salt2 ^ 0xD8DB_1D5E).max(1));
                publish_recovered(idx, &hdr);
                return Ok(Recovered {
                    page_size,
                    frames: 0,
                    fresh: true,
                });
            }
            None if db_len == 0 => {
                return Err(corrupt(
                    FileKind::Database,
                    1,
                    "database file is empty and the WAL does not hold page 1",
                ));
            }
            None => return Err(e),
        },
    };
    if hdr.mx_frame == 0 {
        hdr.n_pages = dbh.page_count;
    }
    idx.set_db_id(dbh.db_id);
    publish_recovered(idx, &hdr);
    Ok(Recovered {
        page_size,
        frames: hdr.mx_frame,
        fresh: false,
    })
}

/// Step 1: reads and checks page 1 of the database file; `Err` when the
/// file is empty, too short, or page 1 is damaged.
fn read_db_header<S: Storage>(db: &mut S, db_len: u64, mem: &mut [u8]) -> Result<DbHeader> {
    if db_len == 0 {
        return Err(corrupt(FileKind::Database, 1, "database file is empty"));
    }
    let mut hb = [0u8; DbHeader::LEN];
    let n = db.read_at(0, &mut hb).map_err(io_err(FileKind::Database))?;
    if n < DbHeader::LEN {
        return Err(corrupt(FileKind::Database, 1, "database file shorter than its header"));
    }
    let dbh = DbHeader::decode(&hb)?;
    let ps = dbh.page_size as usize;
    if mem.len() < ps + FRAME_HEADER_LEN {
        return Err(SHORT_MEM);
    }
    let page = mem.get_mut(..ps).ok_or(SHORT_MEM)?;
    let n = db.read_at(0, page).map_err(io_err(FileKind::Database))?;
    if n < ps {
        return Err(corrupt(FileKind::Database, 1, "database file shorter than one page"));
    }
    format::verify_page(FileKind::Database, 1, page)?;
    Ok(dbh)
}

/// Step 2: whether the WAL header `wh` counts beside the database header
/// `db` (a WAL of another page size is ignored). Without a database header
/// a WAL the memory cannot hold is an error, never ignored.
fn choose_wal(
    wh: Option<(WalHeader, u32)>,
    db: Option<&DbHeader>,
    mem_len: usize,
    min_mem: fn(u32) -> usize,
) -> Result<Option<(WalHeader, u32)>> {
    match (db, wh) {
        (Some(d), Some((h, _))) if h.page_size == d.page_size && h.db_id != d.db_id => Err(corrupt(
            FileKind::Wal,
            0,
            "the WAL belongs to another database (another database id); move it away to open the database without it",
        )),
        (Some(d), Some((h, seed))) if h.page_size == d.page_size => Ok(Some((h, seed))),
        (Some(_), _) => Ok(None),
        (None, Some((h, _))) if mem_len < min_mem(h.page_size) => Err(Error::InvalidArgument(
            "cache memory below cache_mem_len(page_size, 4) for the WAL's page size",
        )),
        (None, w) => Ok(w),
    }
}

/// Step 4, the values of a new WAL generation: salts from the seed, the
/// WAL's first 32 bytes and its length (so that they differ from any stale
/// frames left in it); the checkpoint sequence above the floor of an
/// existing database (0 for a new one).
fn start_generation(opts: &Options, raw: &[u8; WAL_HEADER_LEN], wal_len: u64, page_size: u32, has_db: bool, floor: u32) -> IndexHeader {
    let stale = format::crc32c(&[raw]) ^ wal_len as u32;
    IndexHeader {
        change: 1,
        mx_frame: 0,
        n_pages: 0,
        salt1: mix(opts.salt_seed ^ stale),
        salt2: mix(opts.salt_seed ^ 0x5555_5555 ^ stale.rotate_left(16)),
        ckpt_seq: if has_db { floor.wrapping_add(1) } else { 0 },
        last_cksum: 0,
        page_size,
        wal_header_valid: 0,
        restart_change: 0,
    }
}

/// Steps 3 and 4: indexes the committed prefix of the WAL whose header is
/// `h` (checksum `seed`) and sets `hdr` from its last commit frame, or to
/// a new generation after it when it has none.
#[allow(clippy::too_many_arguments)]
fn scan<S: Storage>(
    wal: &mut S,
    idx: &Index<'_>,
    mem: &mut [u8],
    h: &WalHeader,
    seed: u32,
    wal_len: u64,
    floor: u32,
    salt_seed: u32,
    hdr: &mut IndexHeader,
) -> Result<()> {
    let mut reader = FrameReader::new(h, seed, wal_len);
    let mut last_commit = (0u32, 0u32, seed);
    // Frames are read in batches as large as the memory holds (up to
    // 1 MiB): fewer, larger reads than one per frame.
    let fl = reader.frame_len();
    let batch = (mem.len() / fl).min(((1 << 20) / fl).max(1)).max(1);
    'scan: loop {
        let off = format::frame_offset(reader.frame(), h.page_size);
        if off >= wal_len {
            break;
        }
        let want = ((wal_len - off) as usize).min(batch * fl);
        let got = wal
            .read_at(off, mem.get_mut(..want).ok_or(SHORT_MEM)?)
            .map_err(io_err(FileKind::Wal))?;
        let mut at = 0;
        while at < got {
            let f = reader.frame();
            let Ok(fh) = reader.next_from(mem.get(at..got).ok_or(SHORT_MEM)?) else {
                break 'scan;
            };
            if f > idx.capacity() {
                return Err(Error::Full {
                    what: "the WAL holds more frames than max_wal_frames",
                });
            }
            idx.insert(f, fh.pgno)?;
            if fh.commit_size > 0 {
                last_commit = (f, fh.commit_size, fh.cksum);
            }
            at += fl;
        }
        if got < want || got < fl {
            break;
        }
    }
    idx.truncate(last_commit.0);
    if last_commit.0 > 0 {
        hdr.mx_frame = last_commit.0;
        hdr.n_pages = last_commit.1;
        hdr.last_cksum = last_commit.2;
        hdr.wal_header_valid = 1;
        hdr.salt1 = h.salt1;
        hdr.salt2 = h.salt2;
        hdr.ckpt_seq = h.ckpt_seq.max(floor);
    } else {
        // No committed frame: the next writer starts a new generation.
        hdr.salt1 = h.salt1.wrapping_add(1);
        hdr.salt2 = mix(h.salt2 ^ salt_seed);
        hdr.ckpt_seq = h.ckpt_seq.wrapping_add(1).max(floor.wrapping_add(1));
    }
    Ok(())
}

/// Step 5: the database header from the newest committed frame of page 1,
/// or `None` when the committed WAL does not hold page 1. Raises the
/// checkpoint sequence to the header's `wal_seq`.
fn header_from_wal<S: Storage>(
    wal: &mut S,
    idx: &Index<'_>,
    mem: &mut [u8],
    hdr: &mut IndexHeader,
    page_size: u32,
    wal_db_id: u32,
) -> Result<Option<DbHeader>> {
    let Some(f) = (if hdr.mx_frame > 0 { idx.lookup(1, hdr.mx_frame) } else { None }) else {
        return Ok(None);
    };
    let ps = page_size as usize;
    let page = mem.get_mut(..ps).ok_or(SHORT_MEM)?;
    let off = format::frame_offset(f, page_size) + FRAME_HEADER_LEN as u64;
    if wal.read_at(off, page).map_err(io_err(FileKind::Wal))? < ps {
        return Err(corrupt(FileKind::Wal, 1, "WAL truncated under a frame"));
    }
    format::verify_page(FileKind::Wal, 1, page)?;
    let d = DbHeader::decode(page).map_err(|e| match e {
        Error::Corrupt { page, reason, .. } => Error::Corrupt {
            file: FileKind::Wal,
            page,
            reason,
        },
        e => e,
    })?;
    if d.page_size != page_size {
        return Err(corrupt(FileKind::Wal, 1, "page size in the header differs from the WAL's"));
    }
    if d.db_id != wal_db_id {
        return Err(corrupt(FileKind::Wal, 1, "the database id in page 1 differs from the WAL header's"));
    }
    hdr.ckpt_seq = hdr.ckpt_seq.max(d.wal_seq);
    Ok(Some(d))
}
