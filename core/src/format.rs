//! Byte layouts of every on-disk structure (see `docs/FORMAT.md`).
//!
//! All integers are little-endian. Page, header and WAL-header checksums are
//! CRC-32C (Castagnoli, `CRC_32_ISCSI`); the chained frame checksum is
//! CRC-32 (`CRC_32_ISO_HDLC`, zlib's), see [`frame_checksum`]. Both come
//! from [`crate::checksum`], whose implementation a cargo feature chooses.
//!
//! Database file: pages of `page_size` bytes, page `n` (1-based) at byte
//! offset `(n - 1) * page_size`. The last 4 bytes of every page are the
//! page checksum: CRC-32C of the page number (4 bytes LE) followed by the
//! first `page_size - 4` bytes of the page. Including the page number makes a
//! page written to the wrong place fail its check. Page 1 is the header page.
//!
//! WAL file: a 32-byte header, then frames of `24 + page_size` bytes.
//!
//! This module holds the file-level structures only: the database header,
//! the WAL header, the frame header, the checksums and the LSN. The B+tree
//! page format is `btree::page`'s; when a frame is valid is `wal::frames`'
//! (the one frame reader). It imports nothing of the crate but `error` and
//! `checksum`.

pub use crate::checksum::{crc32, crc32c};
use crate::error::{corrupt, Error, FileKind, Result};

/// The on-disk format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// Magic at offset 0 of the database file.
pub const DB_MAGIC: [u8; 8] = *b"WALDENDB";
/// Magic at offset 0 of the WAL file (0x57414C57, bytes `57 4C 41 57` on disk).
pub const WAL_MAGIC: u32 = 0x5741_4c57;
/// Smallest page size in bytes.
pub const MIN_PAGE_SIZE: u32 = 512;
/// Largest page size in bytes.
pub const MAX_PAGE_SIZE: u32 = 65_536;
/// Default page size in bytes.
pub const DEFAULT_PAGE_SIZE: u32 = 4096;
/// Size of the WAL header in bytes.
pub const WAL_HEADER_LEN: usize = 32;
/// Size of a WAL frame header in bytes.
pub const FRAME_HEADER_LEN: usize = 24;
/// Bytes at the end of every page holding its checksum.
pub const PAGE_TRAILER: usize = 4;
/// Checks that `page_size` is a power of two in 512..=65536.
pub fn check_page_size(page_size: u32) -> Result<()> {
    if page_size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) {
        Ok(())
    } else {
        Err(Error::InvalidArgument("page size must be a power of two from 512 to 65536 bytes"))
    }
}

// The fixed-width accessors below never panic: every caller checks its
// offsets against the buffer first (an offset past it would be a bug,
// caught by the debug assertions in tests); out of range, a read gives 0
// and a write does nothing, and no panic path (with its location data) is
// linked into a firmware.
#[inline]
pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    let a = b.get(at..).and_then(|s| s.first_chunk::<2>());
    debug_assert!(a.is_some(), "get_u16 past the buffer");
    a.map_or(0, |a| u16::from_le_bytes(*a))
}
#[inline]
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    let a = b.get_mut(at..).and_then(|s| s.first_chunk_mut::<2>());
    debug_assert!(a.is_some(), "put_u16 past the buffer");
    if let Some(a) = a {
        *a = v.to_le_bytes();
    }
}
#[inline]
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    let a = b.get(at..).and_then(|s| s.first_chunk::<4>());
    debug_assert!(a.is_some(), "get_u32 past the buffer");
    a.map_or(0, |a| u32::from_le_bytes(*a))
}
#[inline]
pub(crate) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    let a = b.get_mut(at..).and_then(|s| s.first_chunk_mut::<4>());
    debug_assert!(a.is_some(), "put_u32 past the buffer");
    if let Some(a) = a {
        *a = v.to_le_bytes();
    }
}
#[inline]
pub(crate) fn get_u64(b: &[u8], at: usize) -> u64 {
    let a = b.get(at..).and_then(|s| s.first_chunk::<8>());
    debug_assert!(a.is_some(), "get_u64 past the buffer");
    a.map_or(0, |a| u64::from_le_bytes(*a))
}
#[inline]
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    let a = b.get_mut(at..).and_then(|s| s.first_chunk_mut::<8>());
    debug_assert!(a.is_some(), "put_u64 past the buffer");
    if let Some(a) = a {
        *a = v.to_le_bytes();
    }
}

/// The page checksum of `page` as page number `pgno`.
#[inline]
pub fn page_checksum(pgno: u32, page: &[u8]) -> u32 {
    let body = page.len().saturating_sub(PAGE_TRAILER);
    crc32c(&[&pgno.to_le_bytes(), page.get(..body).unwrap_or(&[])])
}

/// Writes the page checksum into the last 4 bytes of `page` (and, for page
/// 1, the header checksum first).
pub fn seal_page(pgno: u32, page: &mut [u8]) {
    if pgno == 1 {
        let c = crc32c(&[page.get(..DbHeader::CKSUM_AT).unwrap_or(&[])]);
        put_u32(page, DbHeader::CKSUM_AT, c);
    }
    let c = page_checksum(pgno, page);
    let n = page.len();
    put_u32(page, n - PAGE_TRAILER, c);
}

/// Verifies the page checksum of `page` as page `pgno` of `file`.
#[inline]
pub fn verify_page(file: FileKind, pgno: u32, page: &[u8]) -> Result<()> {
    let n = page.len();
    if get_u32(page, n - PAGE_TRAILER) != page_checksum(pgno, page) {
        return Err(corrupt(file, pgno, "page checksum mismatch"));
    }
    Ok(())
}

/// The database header: the first 56 bytes of page 1.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `WALDENDB` |
/// | 8 | 4 | format version |
/// | 12 | 4 | page size in bytes |
/// | 16 | 4 | page count (database size in pages) |
/// | 20 | 4 | freelist head: first freelist trunk page, 0 if none |
/// | 24 | 4 | freelist count: free pages, trunks included |
/// | 28 | 4 | catalog root page (the tree of named tables) |
/// | 32 | 4 | default table root page |
/// | 36 | 8 | change counter: commits in which page 1 was dirty |
/// | 44 | 4 | WAL generation floor: the checkpoint sequence the next WAL starts at, at least |
/// | 48 | 4 | header checksum: CRC-32C of bytes 0..48 |
/// | 52 | 4 | database id: a value chosen at creation, which every WAL header of the database carries (covered by the page trailer, not the header checksum, so that every version keeps the checksum at 48) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbHeader {
    /// Page size in bytes.
    pub page_size: u32,
    /// Pages in the database.
    pub page_count: u32,
    /// First freelist trunk page, 0 when the freelist is empty.
    pub freelist_head: u32,
    /// Free pages, trunk pages included.
    pub freelist_count: u32,
    /// Root page of the catalog tree (table name -> root page).
    pub catalog_root: u32,
    /// Root page of the default (unnamed) table.
    pub default_root: u32,
    /// Incremented by every commit in which page 1 is dirty.
    pub change_counter: u64,
    /// The WAL generation floor: the checkpoint sequence of the last commit
    /// that wrote page 1 (the first commit of every WAL generation does).
    /// Recovery of an empty WAL starts at `wal_seq + 1`, so that the LSN
    /// never goes backwards even when the WAL file is gone.
    pub wal_seq: u32,
    /// The database's identity, chosen at creation: every WAL header of the
    /// database carries it (and so, through the chain, every frame), and
    /// recovery refuses a WAL with another (the WAL of another database).
    pub db_id: u32,
}

impl DbHeader {
    /// Offset of the header checksum in page 1.
    pub const CKSUM_AT: usize = 48;
    /// Bytes of page 1 the header occupies.
    pub const LEN: usize = 56;

    /// Encodes into the start of page 1 (the checksum is written by
    /// [`seal_page`]).
    pub fn encode(&self, page: &mut [u8]) {
        if let Some(m) = page.first_chunk_mut::<8>() {
            *m = DB_MAGIC;
        }
        put_u32(page, 8, FORMAT_VERSION);
        put_u32(page, 12, self.page_size);
        put_u32(page, 16, self.page_count);
        put_u32(page, 20, self.freelist_head);
        put_u32(page, 24, self.freelist_count);
        put_u32(page, 28, self.catalog_root);
        put_u32(page, 32, self.default_root);
        put_u64(page, 36, self.change_counter);
        put_u32(page, 44, self.wal_seq);
        put_u32(page, 52, self.db_id);
    }

    /// Decodes the fields without checking the checksum (page 1 in the
    /// cache is checked when it is read and sealed when it is written).
    pub fn decode_unchecked(page: &[u8]) -> DbHeader {
        DbHeader {
            page_size: get_u32(page, 12),
            page_count: get_u32(page, 16),
            freelist_head: get_u32(page, 20),
            freelist_count: get_u32(page, 24),
            catalog_root: get_u32(page, 28),
            default_root: get_u32(page, 32),
            change_counter: get_u64(page, 36),
            wal_seq: get_u32(page, 44),
            db_id: get_u32(page, 52),
        }
    }

    /// Decodes and validates the first [`DbHeader::LEN`] bytes of a database
    /// file: magic, version, page size, header checksum, field ranges.
    ///
    /// Errors: `Corrupt` (bad magic, checksum or field), `UnsupportedVersion`.
    pub fn decode(b: &[u8]) -> Result<DbHeader> {
        let bad = |r| corrupt(FileKind::Database, 1, r);
        if b.len() < Self::LEN {
            return Err(bad("database header truncated"));
        }
        if b[0..8] != DB_MAGIC {
            return Err(bad("not a Walden database (bad magic)"));
        }
        if get_u32(b, Self::CKSUM_AT) != crc32c(&[&b[..Self::CKSUM_AT]]) {
            return Err(bad("database header checksum mismatch"));
        }
        let version = get_u32(b, 8);
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let h = Self::decode_unchecked(b);
        if check_page_size(h.page_size).is_err() {
            return Err(bad("invalid page size in header"));
        }
        h.check()?;
        Ok(h)
    }

    /// Range checks of the fields against each other.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |r| corrupt(FileKind::Database, 1, r);
        let n = self.page_count;
        if n < 3 {
            return Err(bad("page count too small"));
        }
        for p in [self.catalog_root, self.default_root] {
            if p < 2 || p > n {
                return Err(bad("root page out of range"));
            }
        }
        if self.freelist_head > n || self.freelist_count >= n {
            return Err(bad("freelist out of range"));
        }
        Ok(())
    }
}

/// Where the WAL generation before page 1's ended: bytes 56..68 of page 1
/// (section 3.1 of `docs/FORMAT.md`), covered by the page trailer.
///
/// The first commit of each WAL generation (the one that raises the
/// header's `wal_seq`, [`DbHeader::wal_seq`]) writes it from the wal-index,
/// where the WAL restart that retired the previous generation left that
/// generation's checkpoint sequence, last commit frame and chain value;
/// later commits of the generation keep it (page 1 is copied forward).
/// All zero means unknown: the generation did not follow a restart this
/// wal-index saw (recovery, a new database, a crash between a restart and
/// the first commit after it). What it is for: an archiver that lost its
/// hold on the WAL (the wal-index died with every process) proves that the
/// generation in use directly follows the archived one, as PostgreSQL's
/// timeline history and `pg_control`'s prior checkpoint tie a new WAL
/// segment to the old one.
///
/// | offset | size | field |
/// |---|---|---|
/// | 56 | 4 | checkpoint sequence of the previous generation |
/// | 60 | 4 | its last commit frame (never 0 when known: a WAL restarts only after a commit) |
/// | 64 | 4 | the chain value (frame checksum) of that commit frame |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PriorGeneration {
    /// The previous generation's checkpoint sequence: page 1's `wal_seq`
    /// is the next one.
    pub ckpt_seq: u32,
    /// Its last commit frame (0: the record is unknown).
    pub last_frame: u32,
    /// The chain value (checksum) of that frame, as `IndexHeader::last_cksum`.
    pub last_cksum: u32,
}

impl PriorGeneration {
    /// Offset of the record in page 1.
    pub const AT: usize = DbHeader::LEN;
    /// Its length in bytes.
    pub const LEN: usize = 12;

    /// The record for the first commit of generation `seq`, from the
    /// wal-index words of the last restart (`[generation, frame, chain]`):
    /// unknown (all zero) unless that restart retired generation `seq - 1`.
    #[cfg(feature = "lineage")]
    pub(crate) fn for_generation(retired: [u32; 3], seq: u32) -> PriorGeneration {
        if retired[1] != 0 && retired[0].wrapping_add(1) == seq {
            PriorGeneration {
                ckpt_seq: retired[0],
                last_frame: retired[1],
                last_cksum: retired[2],
            }
        } else {
            PriorGeneration::default()
        }
    }

    /// Writes the record into page 1 (sealed later by [`seal_page`]).
    pub fn encode(&self, page: &mut [u8]) {
        put_u32(page, Self::AT, self.ckpt_seq);
        put_u32(page, Self::AT + 4, self.last_frame);
        put_u32(page, Self::AT + 8, self.last_cksum);
    }

    /// Reads the record of page 1: `None` when unknown (a zero frame).
    pub fn decode(page: &[u8]) -> Option<PriorGeneration> {
        let r = PriorGeneration {
            ckpt_seq: get_u32(page, Self::AT),
            last_frame: get_u32(page, Self::AT + 4),
            last_cksum: get_u32(page, Self::AT + 8),
        };
        (r.last_frame != 0).then_some(r)
    }
}

/// The WAL header: the first 32 bytes of the WAL file.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | magic `0x57414c57` |
/// | 4 | 4 | format version |
/// | 8 | 4 | page size in bytes |
/// | 12 | 4 | checkpoint sequence: WAL generations since creation |
/// | 16 | 4 | salt 1 (incremented at each WAL restart) |
/// | 20 | 4 | salt 2 (fresh at each restart) |
/// | 24 | 4 | database id (the database header's): whose WAL this is |
/// | 28 | 4 | header checksum: CRC-32C of bytes 0..28 |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalHeader {
    /// Page size in bytes (must equal the database's).
    pub page_size: u32,
    /// Checkpoint sequence number of this WAL generation.
    pub ckpt_seq: u32,
    /// First salt: copied into every frame of this generation.
    pub salt1: u32,
    /// Second salt.
    pub salt2: u32,
    /// The database id of the database the WAL belongs to.
    pub db_id: u32,
}

impl WalHeader {
    /// Encodes into 32 bytes; returns the header checksum, which seeds the
    /// frame checksum chain.
    pub fn encode(&self, b: &mut [u8; WAL_HEADER_LEN]) -> u32 {
        put_u32(b, 0, WAL_MAGIC);
        put_u32(b, 4, FORMAT_VERSION);
        put_u32(b, 8, self.page_size);
        put_u32(b, 12, self.ckpt_seq);
        put_u32(b, 16, self.salt1);
        put_u32(b, 20, self.salt2);
        put_u32(b, 24, self.db_id);
        let c = crc32c(&[&b[..28]]);
        put_u32(b, 28, c);
        c
    }
    /// Decodes and validates; returns the header and its checksum, or `None`
    /// for a header that is not valid (recovery then ignores the WAL).
    pub fn decode(b: &[u8]) -> Option<(WalHeader, u32)> {
        if b.len() < WAL_HEADER_LEN || get_u32(b, 0) != WAL_MAGIC || get_u32(b, 4) != FORMAT_VERSION {
            return None;
        }
        let c = get_u32(b, 28);
        if c != crc32c(&[&b[..28]]) {
            return None;
        }
        let h = WalHeader {
            page_size: get_u32(b, 8),
            ckpt_seq: get_u32(b, 12),
            salt1: get_u32(b, 16),
            salt2: get_u32(b, 20),
            db_id: get_u32(b, 24),
        };
        // A header with a valid checksum but an impossible page size (a
        // crafted file) is no header.
        check_page_size(h.page_size).ok()?;
        Some((h, c))
    }
}

/// A WAL frame header (24 bytes), followed in the file by one page image.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | page number |
/// | 4 | 4 | for a commit frame, the database size in pages after the commit; 0 otherwise |
/// | 8 | 4 | salt 1 |
/// | 12 | 4 | salt 2 |
/// | 16 | 4 | trailer copy: the page image's last 4 bytes, its trailer (checked by the commit's re-seal of frames rewritten in place; recovery does not read it; 0 in WALs of earlier builds) |
/// | 20 | 4 | checksum: CRC-32 (ISO-HDLC, [`crc32`]) of the previous checksum (4 bytes LE; the WAL header checksum for frame 1), bytes 0..20 of this header, and the whole page image ([`frame_checksum`]) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Page number the frame holds.
    pub pgno: u32,
    /// Database size in pages for a commit frame, 0 otherwise.
    pub commit_size: u32,
    /// Salts of the WAL generation the frame belongs to.
    pub salt1: u32,
    /// Second salt.
    pub salt2: u32,
    /// Chained checksum.
    pub cksum: u32,
}

impl FrameHeader {
    /// Computes the chained checksum of a frame and encodes the header
    /// (bytes 16..20: a copy of `page`'s trailer).
    pub fn encode(pgno: u32, commit_size: u32, salt1: u32, salt2: u32, prev: u32, page: &[u8], out: &mut [u8; FRAME_HEADER_LEN]) -> u32 {
        put_u32(out, 0, pgno);
        put_u32(out, 4, commit_size);
        put_u32(out, 8, salt1);
        put_u32(out, 12, salt2);
        put_u32(out, 16, page.len().checked_sub(4).map_or(0, |t| get_u32(page, t)));
        let c = frame_checksum(prev, &out[..20], page);
        put_u32(out, 20, c);
        c
    }
    /// Decodes the fields (no validation).
    pub fn decode(b: &[u8]) -> FrameHeader {
        FrameHeader {
            pgno: get_u32(b, 0),
            commit_size: get_u32(b, 4),
            salt1: get_u32(b, 8),
            salt2: get_u32(b, 12),
            cksum: get_u32(b, 20),
        }
    }
}

/// The chained frame checksum: CRC-32 (ISO-HDLC, [`crc32`]) of the
/// previous checksum (4 bytes LE), the first 20 bytes of the frame header
/// and the whole page image.
///
/// Not CRC-32C, the checksum inside every page image: a CRC over a message
/// followed by the same CRC of that message is one value for every message,
/// so a CRC-32C chain would not depend on bytes that end with their own
/// CRC-32C. Two such runs exist: the page trailer, and in page 1 the
/// database header (bytes 0..52, checksum at 48). With CRC-32C here, a torn
/// frame whose header was new but whose body still held an older sealed
/// image of the page (a reused WAL, an aborted transaction), or an older
/// image of page 1 that differed only in its header, passed the check.
/// Found by the crash-point suite (`tests/crash_points.rs`, workload
/// `checkpoint_full`); regression tests in `tests/recovery.rs`.
pub fn frame_checksum(prev: u32, header20: &[u8], page: &[u8]) -> u32 {
    crc32(&[&prev.to_le_bytes(), header20, page])
}

/// Byte offset of frame `frame` (1-based) in a WAL of `page_size` pages.
#[inline]
pub const fn frame_offset(frame: u32, page_size: u32) -> u64 {
    WAL_HEADER_LEN as u64 + (frame as u64 - 1) * (FRAME_HEADER_LEN as u64 + page_size as u64)
}

/// The log sequence number of a frame: the checkpoint sequence (WAL
/// generation) in the high 32 bits and the 1-based frame index in the low
/// 32 bits. It orders every frame ever written and never goes backwards,
/// as PostgreSQL's LSN, though counted in frames rather than bytes.
pub const fn lsn(ckpt_seq: u32, frame: u32) -> u64 {
    ((ckpt_seq as u64) << 32) | frame as u64
}

/// The page size of a database as its files' first bytes announce it,
/// without any other check: the database header's (the first 16 bytes of
/// the database file, magic and page size), else the WAL header's (the
/// first 32 bytes of the WAL, fully checked), else `None`. Used to size
/// memory before a connection opens; recovery then checks everything.
pub fn page_size_hint(db_head: &[u8], wal_head: &[u8]) -> Option<u32> {
    let from_db = (db_head.len() >= 16 && db_head[..8] == DB_MAGIC)
        .then(|| get_u32(db_head, 12))
        .filter(|&ps| check_page_size(ps).is_ok());
    // A database whose pages are all still in the WAL (every new one, until
    // its first checkpoint) has an empty file: the WAL header says.
    from_db.or_else(|| WalHeader::decode(wal_head).map(|(h, _)| h.page_size))
}

/// Frames a WAL file of `wal_len` bytes can hold at `page_size` (complete
/// frames after the 32-byte header; 0 for a shorter file).
pub const fn wal_frames_in(wal_len: u64, page_size: u32) -> u64 {
    if wal_len < WAL_HEADER_LEN as u64 {
        return 0;
    }
    (wal_len - WAL_HEADER_LEN as u64) / (FRAME_HEADER_LEN as u64 + page_size as u64)
}
