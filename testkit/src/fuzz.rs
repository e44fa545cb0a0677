//! Fuzz harness bodies, shared by the cargo-fuzz targets in `fuzz/`, the
//! exhaustive corruption test (`tests/corrupt.rs`) and its proptest pass.
//!
//! Every harness takes raw bytes and never panics on any input, except when
//! it detects a real engine bug; a panic is the fuzz finding. A bug is:
//!
//! - a panic inside the engine (caught by the fuzzer like any other panic);
//! - wrong data: a read that disagrees with a model, with another read path
//!   of the same snapshot (forward scan, backward scan, point lookup), or
//!   with the committed history the image came from;
//! - an integrity report ([`Connection::verify`]) that says "no problem"
//!   while reads fail, disagree, or count other entries and tables;
//! - recovery keeping another WAL prefix than the format defines
//!   ([`wal_commit_prefix`], written from `docs/FORMAT.md` without the
//!   engine's recovery code);
//! - an operation that the format and the API promise to succeed failing
//!   (for example a write on a database that verified clean).
//!
//! Errors returned by the engine (`Corrupt`, `UnsupportedVersion`, `Full`,
//! ...) are acceptable outcomes of damaged input: the harnesses return them,
//! classified, in small outcome values.
//!
//! The three harnesses:
//!
//! - [`open_image`]: a database image and a WAL image, arbitrary bytes (the
//!   fuzz input is split by [`split_image_input`]).
//! - [`wal_beside_valid_db`]: arbitrary WAL bytes next to a valid database
//!   whose committed history is known ([`wal_beside_base`]).
//! - [`op_sequence`]: bytes decoded into operations ([`decode_ops`]) run
//!   against a database in RAM and a `BTreeMap` model.
//!
//! Seed images (valid database and WAL files after a known history of
//! commits) come from [`seed_images`]; the fuzz corpus files from
//! [`corpus_seeds`].
//!
//! Everything runs in RAM ([`RamStorage`] in a `RefCell`, shared by
//! [`SharedStorage`] so that a database can be reopened from the same
//! storages); nothing touches the file system.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Bound;
use std::sync::OnceLock;

use crate::workload::read_state_in_txn;
use walden_core::format::{self, frame_checksum, frame_offset, FrameHeader, WalHeader, FRAME_HEADER_LEN, WAL_HEADER_LEN};
use walden_core::sync::{AtomicU32, Ordering};
use walden_core::verify::{bitmap_len, Problem};
use walden_core::{
    cache_mem_len, max_key_len, region_words, CheckpointMode, Connection, Cursor, Error, FileKind, Options, RamStorage, SharedStorage,
    SyncMode, Table,
};

pub use crate::workload::{empty_state, Map, State, PAGE_SIZE};

/// Salt seed of every database the harnesses create, so that seed images are
/// reproducible byte for byte.
pub const SALT_SEED: u32 = 0x5eed_f022;

type Ram = RamStorage<Vec<u8>>;
type Conn<'a> = Connection<SharedStorage<'a, Ram>, &'a [AtomicU32], Vec<u8>>;

/// A RAM file holding `content`, with `headroom` bytes to grow into.
/// `vec![0; n]` allocates zeroed memory lazily, so unused headroom costs
/// address space only.
fn ram(content: &[u8], headroom: usize) -> RefCell<Ram> {
    let mut v = vec![0u8; content.len() + headroom];
    v[..content.len()].copy_from_slice(content);
    RefCell::new(RamStorage::with_len(v, content.len()))
}

/// Name of an error's variant, for counting outcomes.
pub fn error_class(e: &Error) -> &'static str {
    match e {
        Error::Busy => "Busy",
        Error::Protocol => "Protocol",
        Error::Corrupt {
            file: FileKind::Database, ..
        } => "Corrupt(database)",
        Error::Corrupt { file: FileKind::Wal, .. } => "Corrupt(WAL)",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        Error::Io { .. } => "Io",
        Error::Full { .. } => "Full",
        Error::InvalidArgument(_) => "InvalidArgument",
        Error::ReadOnly => "ReadOnly",
        Error::Poisoned => "Poisoned",
        Error::NotFound => "NotFound",
        Error::BufferTooSmall { .. } => "BufferTooSmall",
        _ => "other",
    }
}

/// Two database files in RAM, a wal-index region and the options to open
/// them with.
struct Files {
    db: RefCell<Ram>,
    wal: RefCell<Ram>,
    region: Vec<AtomicU32>,
    opts: Options,
    cache_mem: usize,
}

impl Files {
    /// `page_size` sizes the cache (the database's own page size is read
    /// from its header); `frames` is the wal-index capacity.
    fn new(db: &[u8], wal: &[u8], page_size: u32, frames: u32, headroom_pages: usize, cache_pages: u32) -> Files {
        let ps = page_size as usize;
        let frame = FRAME_HEADER_LEN + ps;
        let wal_cap = WAL_HEADER_LEN + (frames as usize + 8) * frame;
        let opts = Options {
            page_size: PAGE_SIZE,
            sync: SyncMode::Full,
            autocheckpoint_frames: 0,
            max_wal_frames: frames,
            read_marks: 4,
            read_only: false,
            create: true,
            salt_seed: SALT_SEED,
            verify_checkpoints: true,
            ..Options::default()
        };
        Files {
            db: ram(db, headroom_pages * ps),
            wal: ram(wal, wal_cap.saturating_sub(wal.len()) + frame),
            region: (0..region_words(frames, opts.read_marks)).map(|_| AtomicU32::new(0)).collect(),
            opts,
            cache_mem: cache_mem_len(page_size, cache_pages),
        }
    }

    /// Opens a connection. The first connection of a fresh region runs
    /// recovery.
    fn open(&self) -> Result<Conn<'_>, Error> {
        Connection::open(
            SharedStorage(&self.db),
            SharedStorage(&self.wal),
            &self.region[..],
            vec![0u8; self.cache_mem],
            self.opts,
        )
    }

    /// Forgets the wal-index (as a process restart does): the next open runs
    /// recovery. Every connection must be closed first.
    fn reset_region(&self) {
        for w in &self.region {
            w.store(0, Ordering::Relaxed);
        }
    }

    fn db_bytes(&self) -> Vec<u8> {
        self.db.borrow().contents().to_vec()
    }
    fn wal_bytes(&self) -> Vec<u8> {
        self.wal.borrow().contents().to_vec()
    }
}

// ---------------------------------------------------------------------
// The WAL's committed prefix, by the format's definition
// ---------------------------------------------------------------------

/// The committed prefix of a WAL as `docs/FORMAT.md` defines it, computed
/// here from the byte layouts alone (not by the engine's recovery code), so
/// that the harnesses can check what recovery kept.
///
/// The WAL is valid up to the first frame that is incomplete, carries other
/// salts than the header, names page 0, breaks the checksum chain or fails
/// its page checksum; of the valid frames, those up to the last commit frame
/// are the committed prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalPrefix {
    /// Frames in the committed prefix: the last valid commit frame's number
    /// (1-based), 0 when there is none (or no valid header).
    pub frames: u32,
    /// Database size in pages recorded by that commit frame (0 if none).
    pub commit_size: u32,
    /// Commit frames of the valid part, in order (frame numbers).
    pub commit_frames: Vec<u32>,
    /// Valid frames, committed or not (the frames after `frames` belong to
    /// a transaction that never committed).
    pub valid_frames: u32,
}

/// Computes the committed prefix of `wal` for a database of `page_size`
/// bytes per page (see [`WalPrefix`]). Never fails: invalid bytes just end
/// the prefix.
///
/// An independent oracle, on purpose: it re-implements the frame validity
/// rule from `docs/FORMAT.md` section 4.3 alone, without the engine's frame
/// reader (`walden_core::wal::frames::FrameReader`), so that the harnesses
/// can check the engine against the specification rather than against
/// itself. A header whose page size differs from `page_size` makes the
/// whole WAL invalid, and so does a page size the format does not allow.
pub fn wal_commit_prefix(wal: &[u8], page_size: u32) -> WalPrefix {
    let mut out = WalPrefix::default();
    let Some((h, seed)) = WalHeader::decode(wal) else { return out };
    if h.page_size != page_size || format::check_page_size(page_size).is_err() {
        return out;
    }
    let ps = page_size as usize;
    let mut prev = seed;
    let mut f = 1u32;
    loop {
        let off = frame_offset(f, page_size) as usize;
        let Some(frame) = wal.get(off..off + FRAME_HEADER_LEN + ps) else {
            break;
        };
        let (fh, page) = frame.split_at(FRAME_HEADER_LEN);
        let hdr = FrameHeader::decode(fh);
        if hdr.salt1 != h.salt1 || hdr.salt2 != h.salt2 || hdr.pgno == 0 {
            break;
        }
        let c = frame_checksum(prev, &fh[..20], page);
        if c != hdr.cksum || format::verify_page(FileKind::Wal, hdr.pgno, page).is_err() {
            break;
        }
        prev = c;
        out.valid_frames = f;
        if hdr.commit_size > 0 {
            out.frames = f;
            out.commit_size = hdr.commit_size;
            out.commit_frames.push(f);
        }
        f += 1;
    }
    out
}

/// The database file a complete checkpoint of `wal`'s committed prefix
/// makes of `db`: the newest committed frame of each page up to the commit's
/// database size written in place, the file cut to that size. `db` is
/// returned unchanged when the prefix is empty.
pub fn apply_wal(db: &[u8], wal: &[u8], page_size: u32) -> Vec<u8> {
    let p = wal_commit_prefix(wal, page_size);
    let mut out = db.to_vec();
    if p.frames == 0 {
        return out;
    }
    let ps = page_size as usize;
    for f in 1..=p.frames {
        let off = frame_offset(f, page_size) as usize;
        let pgno = FrameHeader::decode(&wal[off..off + FRAME_HEADER_LEN]).pgno;
        if pgno > p.commit_size {
            continue;
        }
        let at = (pgno as usize - 1) * ps;
        if out.len() < at + ps {
            out.resize(at + ps, 0);
        }
        out[at..at + ps].copy_from_slice(&wal[off + FRAME_HEADER_LEN..off + FRAME_HEADER_LEN + ps]);
    }
    out.truncate(p.commit_size as usize * ps);
    out
}

// ---------------------------------------------------------------------
// Reading a snapshot every way the API allows
// ---------------------------------------------------------------------

/// How a cursor scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanEnd {
    /// The cursor went past the last (first) entry.
    Complete,
    /// An engine call returned this error; the scan stopped there.
    Error(Error),
    /// The cursor returned a key not strictly after the previous one in the
    /// scan's direction (the scan stopped; a tree shaped as a graph would
    /// otherwise repeat entries without end).
    OutOfOrder,
    /// A value length or entry count no image of this size can hold (the
    /// scan stopped rather than allocate or loop on it).
    Implausible(&'static str),
}

/// The result of a point lookup: the value, `None` if the key is absent.
pub type Lookup = Result<Option<Vec<u8>>, Error>;

/// One table as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRead {
    /// Entries of the forward cursor scan, in order, up to where it ended.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// How the forward scan ended.
    pub end: ScanEnd,
    /// Keys of the backward scan (run only after a complete forward scan;
    /// empty otherwise), in the order returned.
    pub backward: Vec<Vec<u8>>,
    /// How the backward scan ended (`Complete` when it was not run).
    pub backward_end: ScanEnd,
    /// Point lookups ([`Connection::value_len`] then
    /// [`Connection::read_value`]) of every key of the forward scan.
    pub lookups: Vec<(Vec<u8>, Lookup)>,
}

/// The integrity check's verdict on an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// No problem found; the report's entry count (default and named
    /// tables) and named table count.
    Ok {
        /// Entries counted.
        entries: u64,
        /// Named tables counted.
        tables: u32,
    },
    /// Problems found: how many, and the first.
    Problems {
        /// Problems counted.
        count: u32,
        /// The first problem.
        first: Option<Problem>,
    },
    /// `verify` itself returned an error.
    Failed(Error),
    /// Not run: the header could not be read (`pages` 0), or claims more
    /// pages than an image of this size can account for (the bitmap would
    /// be needlessly large).
    Skipped {
        /// Page count claimed by the header (0 if unreadable).
        pages: u32,
    },
}

/// Everything one read transaction could see of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// WAL frames recovery kept ([`walden_core::ConnStats::recovered_frames`]).
    pub recovered_frames: u32,
    /// The catalog's scan: table names and their root page numbers (4 bytes
    /// LE); its lookups are not run.
    pub catalog: TableRead,
    /// Each table read: the default table (empty name) and every table the
    /// catalog scan listed.
    pub tables: BTreeMap<Vec<u8>, TableRead>,
    /// Catalog names [`Connection::table`] rejected (an empty name, a name
    /// longer than the maximum key: no API call writes one), with the error.
    pub unopenable: Vec<(Vec<u8>, Error)>,
    /// The integrity check.
    pub verify: VerifyOutcome,
}

/// Where opening an image failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenStage {
    /// [`Connection::open`] (recovery).
    Open,
    /// [`Connection::begin_read`].
    BeginRead,
}

impl TableRead {
    fn not_read(e: Error) -> TableRead {
        TableRead {
            entries: Vec::new(),
            end: ScanEnd::Error(e),
            backward: Vec::new(),
            backward_end: ScanEnd::Complete,
            lookups: Vec::new(),
        }
    }
}

impl Observation {
    /// Whether the catalog and every table were read to their end.
    pub fn is_complete(&self) -> bool {
        self.catalog.end == ScanEnd::Complete && self.tables.values().all(|t| t.end == ScanEnd::Complete)
    }

    /// The state read, when every table was read completely.
    pub fn state(&self) -> Option<State> {
        self.is_complete().then(|| {
            self.tables
                .iter()
                .map(|(n, t)| (n.clone(), t.entries.iter().cloned().collect::<Map>()))
                .collect()
        })
    }

    /// Disagreements between the read paths of this one snapshot: a forward
    /// scan out of order, a backward scan that is not the forward scan
    /// reversed, a lookup that misses a scanned key or returns another
    /// value, a catalog name `Connection::table` does not find or rejects.
    /// Errors are
    /// not disagreements (a damaged page fails every path that reads it).
    pub fn anomalies(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.catalog.end == ScanEnd::OutOfOrder {
            out.push("catalog scan out of order".to_string());
        }
        for (name, t) in &self.tables {
            let n = String::from_utf8_lossy(name);
            if t.end == ScanEnd::OutOfOrder {
                out.push(format!("table {n:?}: forward scan out of order"));
            }
            if t.backward_end == ScanEnd::OutOfOrder {
                out.push(format!("table {n:?}: backward scan out of order"));
            }
            if t.end == ScanEnd::Complete {
                let fwd: Vec<&Vec<u8>> = t.entries.iter().rev().map(|(k, _)| k).collect();
                let ok = match t.backward_end {
                    ScanEnd::Complete => t.backward.len() == fwd.len() && t.backward.iter().zip(&fwd).all(|(a, b)| a == *b),
                    _ => t.backward.len() <= fwd.len() && t.backward.iter().zip(&fwd).all(|(a, b)| a == *b),
                };
                if !ok {
                    out.push(format!(
                        "table {n:?}: backward scan ({} keys, {:?}) is not the forward scan ({} keys) reversed",
                        t.backward.len(),
                        t.backward_end,
                        fwd.len()
                    ));
                }
            }
            for ((k, v), (lk, got)) in t.entries.iter().zip(&t.lookups) {
                debug_assert_eq!(k, lk);
                match got {
                    Ok(Some(g)) if g == v => {}
                    Ok(Some(g)) => out.push(format!(
                        "table {n:?}: lookup of key {k:02x?} returned {} bytes, the scan {} other bytes",
                        g.len(),
                        v.len()
                    )),
                    Ok(None) => out.push(format!("table {n:?}: lookup misses scanned key {k:02x?}")),
                    Err(_) => {}
                }
            }
        }
        for (name, e) in &self.unopenable {
            out.push(format!("catalog lists {name:02x?}, which table() rejects: {e}"));
        }
        for (name, _) in &self.catalog.entries {
            if !self.tables.contains_key(name) && !self.unopenable.iter().any(|(n, _)| n == name) {
                out.push(format!(
                    "catalog lists {:?}, which table() does not find",
                    String::from_utf8_lossy(name)
                ));
            }
        }
        out
    }

    /// Contradictions between the integrity check and the reads: when
    /// `verify` found no problem, every table must have been read to its
    /// end, every read path must agree ([`Observation::anomalies`]), and
    /// the report must count the entries and named tables read. Empty when
    /// `verify` found problems or did not run.
    pub fn contradictions(&self) -> Vec<String> {
        let VerifyOutcome::Ok { entries, tables } = self.verify else {
            return Vec::new();
        };
        let mut out = self.anomalies();
        if self.catalog.end != ScanEnd::Complete {
            out.push(format!("verify OK but the catalog scan ended with {:?}", self.catalog.end));
        }
        for (name, t) in &self.tables {
            if t.end != ScanEnd::Complete {
                out.push(format!(
                    "verify OK but table {:?}'s scan ended with {:?}",
                    String::from_utf8_lossy(name),
                    t.end
                ));
            }
            if t.backward_end != ScanEnd::Complete {
                out.push(format!(
                    "verify OK but table {:?}'s backward scan ended with {:?}",
                    String::from_utf8_lossy(name),
                    t.backward_end
                ));
            }
            if let Some((k, Err(e))) = t.lookups.iter().find(|(_, r)| r.is_err()) {
                out.push(format!(
                    "verify OK but the lookup of {k:02x?} in {:?} failed: {e}",
                    String::from_utf8_lossy(name)
                ));
            }
        }
        if out.is_empty() {
            let read: u64 = self.tables.values().map(|t| t.entries.len() as u64).sum();
            if read != entries {
                out.push(format!("verify counted {entries} entries, the scans read {read}"));
            }
            let named = self.tables.len() as u32 - 1;
            if named != tables || self.catalog.entries.len() as u32 != tables {
                out.push(format!(
                    "verify counted {tables} named tables, the catalog lists {} ({} opened)",
                    self.catalog.entries.len(),
                    named
                ));
            }
        }
        out
    }

    /// Checks every read against `want`, the state the image must show:
    /// whatever was read before an error must be exactly what `want` holds
    /// there (a prefix of each table in scan order, a prefix of the table
    /// names, the right value for every lookup that succeeded), and a
    /// complete read must be `want` exactly. Errors themselves are
    /// acceptable. Returns a description of the first difference.
    pub fn consistent_with(&self, want: &State) -> Result<(), String> {
        let want_names: Vec<&Vec<u8>> = want.keys().filter(|n| !n.is_empty()).collect();
        let names: Vec<&Vec<u8>> = self.catalog.entries.iter().map(|(n, _)| n).collect();
        let names_ok = match self.catalog.end {
            ScanEnd::Complete => names == want_names,
            ScanEnd::Error(_) => names.len() <= want_names.len() && names.iter().zip(&want_names).all(|(a, b)| a == b),
            _ => false,
        };
        if !names_ok {
            return Err(format!(
                "tables {:?} ({:?}), want {:?}",
                names.iter().map(|n| String::from_utf8_lossy(n)).collect::<Vec<_>>(),
                self.catalog.end,
                want_names.iter().map(|n| String::from_utf8_lossy(n)).collect::<Vec<_>>()
            ));
        }
        for (name, t) in &self.tables {
            let n = String::from_utf8_lossy(name);
            let Some(m) = want.get(name) else {
                return Err(format!("table {n:?} is not in the expected state"));
            };
            let exp: Vec<(&Vec<u8>, &Vec<u8>)> = m.iter().collect();
            let prefix_ok = t.entries.len() <= exp.len() && t.entries.iter().zip(&exp).all(|((k, v), (ek, ev))| k == *ek && v == *ev);
            if !prefix_ok {
                let at = t.entries.iter().zip(&exp).position(|((k, v), (ek, ev))| k != *ek || v != *ev);
                return Err(format!(
                    "table {n:?}: forward scan differs at entry {:?} ({} read, {} expected)",
                    at.unwrap_or(exp.len()),
                    t.entries.len(),
                    exp.len()
                ));
            }
            match t.end {
                ScanEnd::Complete if t.entries.len() != exp.len() => {
                    return Err(format!("table {n:?}: {} entries read, want {}", t.entries.len(), exp.len()));
                }
                ScanEnd::Complete | ScanEnd::Error(_) => {}
                ScanEnd::OutOfOrder | ScanEnd::Implausible(_) => return Err(format!("table {n:?}: scan ended with {:?}", t.end)),
            }
            let rev_ok = t.backward.len() <= exp.len() && t.backward.iter().zip(exp.iter().rev()).all(|(k, (ek, _))| k == *ek);
            if !rev_ok || (t.backward_end == ScanEnd::Complete && !t.backward.is_empty() && t.backward.len() != exp.len()) {
                return Err(format!("table {n:?}: backward scan differs ({} keys read)", t.backward.len()));
            }
            if !matches!(t.backward_end, ScanEnd::Complete | ScanEnd::Error(_)) {
                return Err(format!("table {n:?}: backward scan ended with {:?}", t.backward_end));
            }
            for (k, got) in &t.lookups {
                if let Ok(v) = got {
                    if v.as_ref() != m.get(k) {
                        return Err(format!(
                            "table {n:?}: lookup of {k:02x?} returned {:?} bytes",
                            v.as_ref().map(Vec::len)
                        ));
                    }
                }
            }
        }
        if self.catalog.end == ScanEnd::Complete && self.tables.len() != want.len() {
            return Err(format!("{} tables read, {} expected", self.tables.len(), want.len()));
        }
        Ok(())
    }
}

/// Bounds for reading an image of unknown content.
#[derive(Clone, Copy)]
struct Bounds {
    /// Longest plausible value in bytes (no image can store more).
    value: usize,
    /// Most plausible entries per table.
    entries: usize,
    /// Largest page count worth a verify bitmap.
    pages: u32,
}

impl Bounds {
    fn for_image(bytes: usize) -> Bounds {
        Bounds {
            value: bytes + 65_536,
            entries: bytes / 4 + 64,
            pages: (64 * (bytes / 512 + 8)).min(1 << 24) as u32,
        }
    }
}

/// Scans table `t` forward (reading every value), then backward, then
/// looks up every key.
fn read_table(c: &mut Conn<'_>, t: Table, b: Bounds, lookups: bool) -> TableRead {
    let mut r = TableRead {
        entries: Vec::new(),
        end: ScanEnd::Complete,
        backward: Vec::new(),
        backward_end: ScanEnd::Complete,
        lookups: Vec::new(),
    };
    let mut cur = Cursor::new();
    let mut on = c.cursor_first(&mut cur, t);
    r.end = loop {
        match on {
            Err(e) => break ScanEnd::Error(e),
            Ok(false) => break ScanEnd::Complete,
            Ok(true) => {}
        }
        let Some(k) = cur.key().map(<[u8]>::to_vec) else {
            break ScanEnd::Implausible("cursor on an entry has no key");
        };
        if r.entries.last().is_some_and(|(p, _)| k <= *p) {
            break ScanEnd::OutOfOrder;
        }
        if r.entries.len() >= b.entries {
            break ScanEnd::Implausible("more entries than the image can hold");
        }
        let len = match c.cursor_value_len(&cur) {
            Ok(n) => n,
            Err(e) => break ScanEnd::Error(e),
        };
        if len > b.value {
            break ScanEnd::Implausible("value longer than the image");
        }
        let mut v = vec![0u8; len];
        match c.cursor_value(&cur, 0, &mut v) {
            Ok(n) if n == len => {}
            Ok(_) => break ScanEnd::Implausible("cursor_value copied fewer bytes than cursor_value_len"),
            Err(e) => break ScanEnd::Error(e),
        }
        r.entries.push((k, v));
        on = c.cursor_next(&mut cur);
    };
    if r.end != ScanEnd::Complete {
        return r;
    }
    let mut on = c.cursor_last(&mut cur, t);
    r.backward_end = loop {
        match on {
            Err(e) => break ScanEnd::Error(e),
            Ok(false) => break ScanEnd::Complete,
            Ok(true) => {}
        }
        let Some(k) = cur.key().map(<[u8]>::to_vec) else {
            break ScanEnd::Implausible("cursor on an entry has no key");
        };
        if r.backward.last().is_some_and(|p| k >= *p) {
            break ScanEnd::OutOfOrder;
        }
        if r.backward.len() >= b.entries {
            break ScanEnd::Implausible("more entries than the image can hold");
        }
        r.backward.push(k);
        on = c.cursor_prev(&mut cur);
    };
    if lookups {
        for (k, _) in &r.entries {
            let got = match c.value_len(t, k) {
                Ok(Some(n)) if n <= b.value => {
                    let mut v = vec![0u8; n];
                    match c.read_value(t, k, 0, &mut v) {
                        Ok(Some(m)) if m == n => Ok(Some(v)),
                        Ok(Some(_)) => Err(Error::InvalidArgument("read_value copied fewer bytes than value_len")),
                        Ok(None) => Ok(None),
                        Err(e) => Err(e),
                    }
                }
                Ok(Some(_)) => Err(Error::InvalidArgument("implausible value length")),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            r.lookups.push((k.clone(), got));
        }
    }
    r
}

/// Reads everything one read transaction of `c` sees (see
/// [`Observation`]); the transaction is ended before returning.
fn observe_conn(c: &mut Conn<'_>, b: Bounds) -> Result<Observation, Error> {
    c.begin_read()?;
    let recovered_frames = c.stats().recovered_frames;
    let catalog = match c.catalog() {
        Ok(t) => read_table(c, t, b, false),
        Err(e) => TableRead::not_read(e),
    };
    let mut tables = BTreeMap::new();
    let default = match c.default_table() {
        Ok(t) => read_table(c, t, b, true),
        Err(e) => TableRead::not_read(e),
    };
    tables.insert(Vec::new(), default);
    let mut unopenable = Vec::new();
    for (name, _) in &catalog.entries {
        match c.table(name) {
            Ok(Some(t)) => {
                let r = read_table(c, t, b, true);
                tables.insert(name.clone(), r);
            }
            Ok(None) => {}
            Err(e @ Error::InvalidArgument(_)) => unopenable.push((name.clone(), e)),
            Err(e) => {
                tables.insert(name.clone(), TableRead::not_read(e));
            }
        }
    }
    let verify = match c.header() {
        Err(_) => VerifyOutcome::Skipped { pages: 0 },
        Ok(h) if h.page_count > b.pages => VerifyOutcome::Skipped { pages: h.page_count },
        Ok(h) => {
            let mut bitmap = vec![0u8; bitmap_len(h.page_count)];
            match c.verify(&mut bitmap) {
                Ok(rep) if rep.is_ok() => VerifyOutcome::Ok {
                    entries: rep.entries,
                    tables: rep.tables,
                },
                Ok(rep) => VerifyOutcome::Problems {
                    count: rep.problem_count,
                    first: rep.problems.first().copied(),
                },
                Err(e) => VerifyOutcome::Failed(e),
            }
        }
    };
    c.end_read();
    Ok(Observation {
        recovered_frames,
        catalog,
        tables,
        unopenable,
        verify,
    })
}

/// The page size recovery reads `wal` with, by the format's rules: the
/// database header's when page 1 of `db` is intact (header and page
/// checksum), else the WAL header's (the database then comes from the WAL's
/// newest committed frame of page 1, or is created); `None` when neither
/// header is valid.
pub fn recovery_page_size(db: &[u8], wal: &[u8]) -> Option<u32> {
    if let Ok(h) = format::DbHeader::decode(db) {
        let ps = h.page_size as usize;
        if db.len() >= ps && format::verify_page(FileKind::Database, 1, &db[..ps]).is_ok() {
            return Some(h.page_size);
        }
    }
    WalHeader::decode(wal).map(|(h, _)| h.page_size)
}

/// The largest valid page size either header claims (at least
/// [`PAGE_SIZE`]): the cache is sized for it.
fn claimed_page_size(db: &[u8], wal: &[u8]) -> u32 {
    let from_db = db.get(12..16).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0);
    let from_wal = wal.get(8..12).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0);
    [from_db, from_wal]
        .into_iter()
        .filter(|&p| format::check_page_size(p).is_ok())
        .fold(PAGE_SIZE, u32::max)
}

/// Wal-index capacity enough for every frame `wal` can hold, plus room to
/// write.
fn frames_for(wal: &[u8], page_size: u32) -> u32 {
    (wal.len() / (FRAME_HEADER_LEN + page_size as usize)) as u32 + 256
}

/// Opens copies of `db` and `wal` (RAM, with headroom), runs recovery and
/// reads everything one read transaction sees, then runs the integrity
/// check (see [`Observation`]).
///
/// `db` and `wal` are file images in bytes (an empty `db` creates a new
/// database of [`PAGE_SIZE`]-byte pages). Errors: the stage that failed and
/// the engine's error (`Corrupt`, `UnsupportedVersion`, `InvalidArgument`,
/// `Full`...). Panics only if the engine panics.
pub fn observe(db: &[u8], wal: &[u8]) -> Result<Observation, (OpenStage, Error)> {
    let ps = claimed_page_size(db, wal);
    let files = Files::new(db, wal, ps, frames_for(wal, ps), 16, 8);
    let mut c = files.open().map_err(|e| (OpenStage::Open, e))?;
    observe_conn(&mut c, Bounds::for_image(db.len() + wal.len())).map_err(|e| (OpenStage::BeginRead, e))
}

// ---------------------------------------------------------------------
// Harness (a): open an arbitrary image
// ---------------------------------------------------------------------

/// Splits a fuzz input into a database image and a WAL image: the first 4
/// bytes (little-endian `u32`) are the database image's length in bytes,
/// clamped to what follows; the rest is the WAL. Inputs shorter than 4
/// bytes are an empty database and an empty WAL.
pub fn split_image_input(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return (&[], &[]);
    };
    let n = (u32::from_le_bytes(*len) as usize).min(rest.len());
    rest.split_at(n)
}

/// The inverse of [`split_image_input`].
pub fn join_image_input(db: &[u8], wal: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + db.len() + wal.len());
    v.extend_from_slice(&(db.len() as u32).to_le_bytes());
    v.extend_from_slice(db);
    v.extend_from_slice(wal);
    v
}

/// What [`open_image`] made of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenImageOutcome {
    /// `Connection::open` failed (recovery rejected the image).
    OpenFailed(Error),
    /// `begin_read` failed.
    ReadFailed(Error),
    /// Opened and read.
    Opened {
        /// WAL frames recovery kept.
        recovered_frames: u32,
        /// Entries read (all tables).
        entries: usize,
        /// Named tables listed by the catalog.
        tables: usize,
        /// Whether every table was read to its end.
        complete: bool,
        /// The integrity check.
        verify: VerifyOutcome,
        /// Whether the write exercise ran with its results checked (the
        /// image verified clean): its commit, checkpoint and reopen all
        /// succeeded with the modelled content.
        writes_checked: bool,
    },
}

/// Harness (a): opens a database image `db` and a WAL image `wal` (arbitrary
/// bytes) in RAM, reads every table every way (forward scan with values,
/// backward scan, point lookups), runs the integrity check, then exercises
/// writes, checkpoints and a reopen.
///
/// Checked (a panic means an engine bug):
/// - no panic anywhere in the engine;
/// - recovery kept exactly the committed prefix [`wal_commit_prefix`]
///   defines (`recovered_frames`);
/// - no [`Observation::contradictions`]: when `verify` reports no problem,
///   every read succeeded, all read paths agree and the counts match;
/// - when `verify` reports no problem: the same image checkpointed by
///   [`apply_wal`] and opened without a WAL shows the same state; and puts,
///   deletes, a new table, a commit, a `Truncate` checkpoint and a reopen
///   all succeed and show the modelled state, verifying clean;
/// - otherwise the same write exercise runs with every error accepted, and
///   the reopened image must still show no contradiction.
///
/// Errors from the engine are outcomes, never panics.
pub fn open_image(db: &[u8], wal: &[u8]) -> OpenImageOutcome {
    let ps = claimed_page_size(db, wal);
    let bounds = Bounds::for_image(db.len() + wal.len());
    let files = Files::new(db, wal, ps, frames_for(wal, ps), 128, 8);
    let mut c = match files.open() {
        Ok(c) => c,
        Err(e) => return OpenImageOutcome::OpenFailed(e),
    };
    let rps = recovery_page_size(db, wal);
    let want_frames = rps.map_or(0, |p| wal_commit_prefix(wal, p).frames);
    let got_frames = c.stats().recovered_frames;
    assert_eq!(
        got_frames, want_frames,
        "recovery kept {got_frames} WAL frames; the format's committed prefix is {want_frames} frames"
    );
    let obs = match observe_conn(&mut c, bounds) {
        Ok(o) => o,
        Err(e) => return OpenImageOutcome::ReadFailed(e),
    };
    let bad = obs.contradictions();
    assert!(bad.is_empty(), "integrity report contradicts the reads: {bad:?}");
    let clean = matches!(obs.verify, VerifyOutcome::Ok { .. });
    let c_page_size = c.page_size();
    if let (true, Some(rps)) = (clean && (want_frames > 0 || !db.is_empty()), rps) {
        let applied = apply_wal(db, wal, rps);
        let state = obs.state().expect("complete (checked above)");
        match observe(&applied, &[]) {
            Ok(o) => {
                assert!(
                    matches!(o.verify, VerifyOutcome::Ok { .. }),
                    "the image verifies clean through its WAL but not checkpointed: {:?}",
                    o.verify
                );
                assert_eq!(
                    o.state().as_ref(),
                    Some(&state),
                    "the image read through its WAL differs from the same image checkpointed"
                );
            }
            Err(e) => panic!("the image verifies clean through its WAL; checkpointed, it fails to open: {e:?}"),
        }
    }
    let writes_checked = if clean {
        let state = obs.state().expect("complete (checked above)");
        checked_writes(&files, c, state, c_page_size);
        true
    } else {
        blind_writes(&files, c, bounds);
        false
    };
    OpenImageOutcome::Opened {
        recovered_frames: obs.recovered_frames,
        entries: obs.tables.values().map(|t| t.entries.len()).sum(),
        tables: obs.catalog.entries.len(),
        complete: obs.is_complete(),
        verify: obs.verify,
        writes_checked,
    }
}

/// The writes of the open-image exercise, applied to `model` as well when
/// given: two puts (one overflowing) and a delete in the default table, a
/// put in the first named table, a new table `fz` with one entry.
fn exercise_writes(c: &mut Conn<'_>, mut model: Option<&mut State>, page_size: u32) -> Result<(), Error> {
    let big: Vec<u8> = (0..3 * page_size as usize / 2).map(|i| (i * 7 + 3) as u8).collect();
    let t = c.default_table()?;
    c.put(t, b"fz-key-1", b"small value")?;
    c.put(t, b"fz-key-2", &big)?;
    let first = {
        let mut cur = Cursor::new();
        c.cursor_first(&mut cur, t)?;
        cur.key().map(<[u8]>::to_vec)
    };
    if let Some(m) = model.as_deref_mut() {
        let d = m.entry(Vec::new()).or_default();
        d.insert(b"fz-key-1".to_vec(), b"small value".to_vec());
        d.insert(b"fz-key-2".to_vec(), big.clone());
    }
    if let Some(k) = first {
        let was = c.delete(t, &k)?;
        if let Some(m) = model.as_deref_mut() {
            let present = m.entry(Vec::new()).or_default().remove(&k).is_some();
            assert_eq!(was, present, "delete of {k:02x?} returned {was}, the model says {present}");
        }
    }
    let mut cat = Cursor::new();
    let ct = c.catalog()?;
    if c.cursor_first(&mut cat, ct)? {
        let name = cat.key().map(<[u8]>::to_vec).unwrap_or_default();
        if let Some(nt) = c.table(&name)? {
            c.put(nt, b"fz-named", b"v")?;
            if let Some(m) = model.as_deref_mut() {
                m.entry(name).or_default().insert(b"fz-named".to_vec(), b"v".to_vec());
            }
        }
    }
    let nt = c.create_table(b"fz")?;
    c.put(nt, b"k", &big[..40])?;
    if let Some(m) = model {
        m.entry(b"fz".to_vec()).or_default().insert(b"k".to_vec(), big[..40].to_vec());
    }
    Ok(())
}

/// The write exercise on an image that verified clean: every step must
/// succeed and show `model` (a storage too small for the image ends it
/// unjudged: RAM storages fail only when full, as an `Io` error).
fn checked_writes(files: &Files, mut c: Conn<'_>, mut model: State, page_size: u32) {
    let full = |e: &Error| matches!(e, Error::Io { .. });
    let b = Bounds::for_image(files.db.borrow().contents().len() + files.wal.borrow().contents().len() + (1 << 20));
    c.begin_write().expect("begin_write on an image that verified clean");
    match exercise_writes(&mut c, Some(&mut model), page_size) {
        Ok(()) => {}
        Err(e) if full(&e) => return,
        Err(e) => panic!("a write failed on an image that verified clean: {e}"),
    }
    match c.commit() {
        Ok(_) => {}
        Err(e) if full(&e) => return,
        Err(e) => panic!("commit failed on an image that verified clean: {e}"),
    }
    let check = |c: &mut Conn<'_>, when: &str| {
        let o = observe_conn(c, b).unwrap_or_else(|e| panic!("{when}: begin_read failed: {e}"));
        assert!(matches!(o.verify, VerifyOutcome::Ok { .. }), "{when}: verify {:?}", o.verify);
        assert_eq!(o.state().as_ref(), Some(&model), "{when}: the state differs from the model");
    };
    check(&mut c, "after the exercise's commit");
    match c.checkpoint(CheckpointMode::Truncate) {
        Ok(info) => assert_eq!((info.wal_frames, info.backfilled), (0, 0), "Truncate checkpoint left frames"),
        Err(e) if full(&e) => return,
        Err(e) => panic!("Truncate checkpoint failed on an image that verified clean: {e}"),
    }
    assert_eq!(files.wal.borrow().contents().len(), 0, "Truncate checkpoint left a WAL");
    check(&mut c, "after the Truncate checkpoint");
    drop(c);
    files.reset_region();
    let mut c = files.open().expect("reopen after a Truncate checkpoint");
    assert_eq!(c.stats().recovered_frames, 0, "frames recovered from a truncated WAL");
    check(&mut c, "after reopening");
}

/// The write exercise on a damaged image: every error is accepted; the
/// reopened image must show no contradiction.
fn blind_writes(files: &Files, mut c: Conn<'_>, b: Bounds) {
    if c.begin_write().is_ok() {
        let ps = c.page_size();
        let r = exercise_writes(&mut c, None, ps);
        if r.is_ok() {
            let _ = c.commit();
        } else {
            c.abort();
        }
    }
    let _ = c.checkpoint(CheckpointMode::Passive);
    let _ = c.checkpoint(CheckpointMode::Restart);
    drop(c);
    files.reset_region();
    if let Ok(mut c) = files.open() {
        if let Ok(o) = observe_conn(&mut c, b) {
            let bad = o.contradictions();
            assert!(
                bad.is_empty(),
                "after writes to a damaged image, verify contradicts the reads: {bad:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------
// Seed images: valid files after a known history
// ---------------------------------------------------------------------

/// A database image, its WAL image, and the history of commits that made
/// them.
#[derive(Debug, Clone)]
pub struct SeedImage {
    /// Short name (also the corpus file name).
    pub name: &'static str,
    /// The database file, bytes.
    pub db: Vec<u8>,
    /// The WAL file, bytes (possibly empty).
    pub wal: Vec<u8>,
    /// `states[j]` is the content after the first `j` commits; `states[0]`
    /// is the new, empty database; the last is the committed state the
    /// images show.
    pub states: Vec<State>,
    /// Commits already in the database file when the WAL's current
    /// generation began: the state the database file alone shows (for an
    /// empty database file, 0: recovery creates a new, empty database).
    pub in_db: usize,
    /// Commit frames of the WAL's current generation, in order, with the
    /// index in `states` of the state each commits. A new database is
    /// created by a first commit in the WAL, of `states[0]`.
    pub wal_commits: Vec<(u32, usize)>,
    /// The WAL's frames are already copied into the database file (a `Full`
    /// checkpoint without restart): a damaged frame then leaves the database
    /// file's newer pages under older WAL frames, a state of no commit (a
    /// known limit of WAL designs, SQLite's included). No exact expectation
    /// exists for WAL damage of such an image.
    pub backfilled: bool,
}

impl SeedImage {
    /// The committed state the undamaged images show.
    pub fn final_state(&self) -> &State {
        self.states.last().expect("states[0] always exists")
    }

    /// The state recovery must show when the WAL differs from this image's
    /// WAL first at byte `first_diff` (`None`: identical; a shorter WAL
    /// differs at its length): the state of the last commit whose commit frame
    /// lies entirely before `first_diff`, else the database file's. `None` for a
    /// backfilled image (see [`SeedImage::backfilled`]).
    pub fn state_after_wal_change(&self, first_diff: Option<usize>) -> Option<&State> {
        if self.backfilled {
            return None;
        }
        let Some(d) = first_diff else { return Some(self.final_state()) };
        let fsz = FRAME_HEADER_LEN + PAGE_SIZE as usize;
        let last = self
            .wal_commits
            .iter()
            .rev()
            .find(|&&(f, _)| frame_offset(f, PAGE_SIZE) as usize + fsz <= d)
            .map_or(self.in_db, |&(_, j)| j);
        Some(&self.states[last])
    }

    /// The images as one [`open_image`] fuzz input ([`join_image_input`]).
    pub fn open_image_input(&self) -> Vec<u8> {
        join_image_input(&self.db, &self.wal)
    }
}

/// The first byte where `a` differs from `b` (a shorter slice differs at
/// its end), or `None` if they are equal.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// A value of `len` bytes whose content depends on `seed`.
pub fn value_bytes(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(seed.wrapping_mul(17))
                .wrapping_add(len as u32) as u8
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Step {
    Commit,
    Checkpoint(CheckpointMode),
    /// A write transaction too large for the cache (its dirty pages spill
    /// to the WAL as uncommitted frames), then aborted.
    SpillAbort,
}

/// Commit number `g` (0-based) of the seed history: creates tables `alpha`
/// (commit 0) and `beta` (commit 2), drops `alpha` (commit 4), puts values
/// of 0 to 700 bytes (700: an overflow chain) and a key of the maximum
/// length, deletes.
fn seed_commit(c: &mut Conn<'_>, st: &mut State, g: u32) {
    c.begin_write().unwrap();
    if g == 0 {
        c.create_table(b"alpha").unwrap();
        st.insert(b"alpha".to_vec(), Map::new());
    }
    if g == 2 {
        c.create_table(b"beta").unwrap();
        st.insert(b"beta".to_vec(), Map::new());
    }
    if g == 4 {
        assert!(c.drop_table(b"alpha").unwrap());
        st.remove(b"alpha".as_slice());
    }
    for i in 0..4u32 {
        let k = format!("key{:03}", (g * 7 + i * 3) % 40).into_bytes();
        let len = [0, 20, 90, 700, 150][((g + i) % 5) as usize];
        let v = value_bytes(g * 100 + i, len);
        let name: &[u8] = [b"".as_slice(), b"alpha", b"beta"][(i % 3) as usize];
        let name = if st.contains_key(name) { name } else { b"".as_slice() };
        let t = if name.is_empty() {
            c.default_table().unwrap()
        } else {
            c.table(name).unwrap().unwrap()
        };
        c.put(t, &k, &v).unwrap();
        st.get_mut(name).unwrap().insert(k, v);
    }
    if g == 1 {
        let k = vec![b'M'; c.max_key_len()];
        let t = c.default_table().unwrap();
        c.put(t, &k, b"longest key").unwrap();
        st.get_mut(b"".as_slice()).unwrap().insert(k, b"longest key".to_vec());
    }
    let k = format!("key{:03}", (g * 5) % 40).into_bytes();
    let t = c.default_table().unwrap();
    let was = c.delete(t, &k).unwrap();
    assert_eq!(was, st.get_mut(b"".as_slice()).unwrap().remove(&k).is_some());
    c.commit().unwrap();
}

fn build_seed(name: &'static str, steps: &[Step]) -> SeedImage {
    let files = Files::new(&[], &[], PAGE_SIZE, 256, 2048, 16);
    let mut c = files.open().unwrap();
    let mut st = empty_state();
    let mut states = vec![st.clone()];
    let (mut in_db, mut backfilled) = (0, false);
    // State indexes of the commits of the WAL's current generation: the
    // creation of the database first.
    let mut gen: Vec<usize> = vec![0];
    for s in steps {
        match *s {
            Step::Commit => {
                if backfilled {
                    // begin_write restarts a fully backfilled WAL.
                    backfilled = false;
                    in_db = states.len() - 1;
                    gen.clear();
                }
                seed_commit(&mut c, &mut st, states.len() as u32 - 1);
                states.push(st.clone());
                gen.push(states.len() - 1);
            }
            Step::Checkpoint(m) => {
                c.checkpoint(m).unwrap();
                in_db = states.len() - 1;
                backfilled = matches!(m, CheckpointMode::Full | CheckpointMode::Passive);
                if !backfilled {
                    gen.clear();
                }
            }
            Step::SpillAbort => {
                c.begin_write().unwrap();
                let t = c.default_table().unwrap();
                for i in 0..30u32 {
                    c.put(t, format!("spill{i:03}").as_bytes(), &value_bytes(i, 200)).unwrap();
                }
                c.abort();
            }
        }
    }
    drop(c);
    let (db, wal) = (files.db_bytes(), files.wal_bytes());
    let p = wal_commit_prefix(&wal, PAGE_SIZE);
    assert_eq!(p.commit_frames.len(), gen.len(), "seed {name}: commit frames in the WAL");
    let img = SeedImage {
        name,
        db,
        wal,
        states,
        in_db,
        wal_commits: p.commit_frames.into_iter().zip(gen).collect(),
        backfilled,
    };
    // The seed reads back as its final state.
    let o = observe(&img.db, &img.wal).unwrap_or_else(|e| panic!("seed {name}: {e:?}"));
    assert!(matches!(o.verify, VerifyOutcome::Ok { .. }), "seed {name}: {:?}", o.verify);
    assert_eq!(o.state().as_ref(), Some(img.final_state()), "seed {name}");
    img
}

/// The seed images, built deterministically (same bytes on every run) with
/// 512-byte pages:
///
/// | name | history | database file | WAL |
/// |---|---|---|---|
/// | `fresh` | none | empty | the creation commit |
/// | `wal_only` | 2 commits | empty | the creation and 2 commits |
/// | `checkpointed` | 3 commits, `Truncate`, 3 commits | 3 commits | 3 commits (the exhaustive test's main image) |
/// | `restarted` | 3 commits, `Restart`, 1 commit | 3 commits | 1 commit, then stale frames of the old generation |
/// | `spill_abort` | 1 commit, an aborted transaction that spilled | empty | the creation and 1 commit, then uncommitted frames |
/// | `all_in_db` | 3 commits, `Truncate` | 3 commits | empty |
/// | `backfilled` | 2 commits, `Full` | 2 commits | the creation and 2 commits, all backfilled |
///
/// A new database is created by a first commit in the WAL (the database
/// file stays empty until a checkpoint).
///
/// The histories create and drop named tables, write empty, small, large
/// (overflow) values and a key of the maximum length, and delete.
pub fn seed_images() -> &'static [SeedImage] {
    static SEEDS: OnceLock<Vec<SeedImage>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        use CheckpointMode::*;
        use Step::*;
        vec![
            build_seed("fresh", &[]),
            build_seed("wal_only", &[Commit, Commit]),
            build_seed(
                "checkpointed",
                &[Commit, Commit, Commit, Checkpoint(Truncate), Commit, Commit, Commit],
            ),
            build_seed("restarted", &[Commit, Commit, Commit, Checkpoint(Restart), Commit]),
            build_seed("spill_abort", &[Commit, SpillAbort]),
            build_seed("all_in_db", &[Commit, Commit, Commit, Checkpoint(Truncate)]),
            build_seed("backfilled", &[Commit, Commit, Checkpoint(Full)]),
        ]
    })
}

/// The seed image named `name` (see [`seed_images`]). Panics if there is no
/// such seed.
pub fn seed_image(name: &str) -> &'static SeedImage {
    seed_images()
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no seed image {name:?}"))
}

// ---------------------------------------------------------------------
// Harness (b): arbitrary WAL bytes beside a valid database
// ---------------------------------------------------------------------

/// The database [`wal_beside_valid_db`] opens every WAL beside: 2 commits
/// checkpointed (`Truncate`), then 2 more in its own WAL (`wal`), which
/// pairs with it.
pub fn wal_beside_base() -> &'static SeedImage {
    static BASE: OnceLock<SeedImage> = OnceLock::new();
    BASE.get_or_init(|| {
        use Step::*;
        build_seed(
            "wal_beside_base",
            &[Commit, Commit, Checkpoint(CheckpointMode::Truncate), Commit, Commit],
        )
    })
}

/// What [`wal_beside_valid_db`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalBesideOutcome {
    /// The WAL has no committed frame: the database's own state, exactly.
    BaseState,
    /// The WAL's committed prefix is a prefix of the base's own WAL: the
    /// state after that many of its commits, exactly.
    FixturePrefix {
        /// Commits of the base's WAL kept.
        commits: usize,
    },
    /// The WAL carries committed frames of its own making (valid salts and
    /// checksums): checked against the same image checkpointed by
    /// [`apply_wal`] when it verifies clean.
    CraftedCommit {
        /// Frames in the committed prefix.
        frames: u32,
        /// Whether the resulting snapshot verified clean.
        verified: bool,
    },
    /// The WAL's header is valid for the database's page size but carries
    /// another database id (`docs/FORMAT.md` section 4.1): the WAL of
    /// another database, which the open refuses with `Corrupt` naming the
    /// WAL rather than replay it.
    ForeignWal,
}

/// Harness (b): opens the valid database of [`wal_beside_base`] with `wal`
/// (arbitrary bytes) as its WAL.
///
/// Checked (a panic means an engine bug): a WAL whose header is valid
/// for the database's page size but names another database id is refused
/// by the open with `Corrupt` naming the WAL ([`WalBesideOutcome::ForeignWal`]);
/// otherwise open and `begin_read` succeed (the database is valid; a WAL
/// can only be ignored, never make the database unreadable); recovery keeps exactly the committed prefix of
/// [`wal_commit_prefix`]; then
/// - no committed frame: the state is exactly the database's own committed
///   state (`states[in_db]`), verifying clean;
/// - a committed prefix whose bytes are those of the base's own WAL: the
///   state is exactly that of the last commit in it, verifying clean (WAL
///   bytes that pass salts and checksums are, short of a CRC collision,
///   frames the writer wrote: arbitrary bytes cannot show another state);
/// - frames of another making that pass every check (the fuzzer can forge
///   CRCs it sees compared): no contradiction between verify and reads, and
///   when the snapshot verifies clean, the same state as [`apply_wal`]'s
///   checkpointed image opened without a WAL.
///
/// In every case a `Truncate` checkpoint and a reopen keep a clean
/// snapshot's state.
pub fn wal_beside_valid_db(wal: &[u8]) -> WalBesideOutcome {
    let base = wal_beside_base();
    let files = Files::new(&base.db, wal, PAGE_SIZE, frames_for(wal, PAGE_SIZE), 128, 8);
    let bounds = Bounds::for_image(base.db.len() + wal.len());
    // The format's rule, from docs/FORMAT.md alone: a valid WAL header of
    // the database's page size whose database id is not the database's.
    let db_id = u32::from_le_bytes([base.db[52], base.db[53], base.db[54], base.db[55]]);
    if let Some((h, _)) = WalHeader::decode(wal) {
        if h.page_size == PAGE_SIZE && h.db_id != db_id {
            match files.open() {
                Err(Error::Corrupt { file: FileKind::Wal, .. }) => return WalBesideOutcome::ForeignWal,
                Err(e) => panic!("the WAL of another database gave {e}, not Corrupt naming the WAL"),
                Ok(_) => panic!("the WAL of another database (id {:08x}, not {db_id:08x}) was not refused", h.db_id),
            }
        }
    }
    let mut c = files
        .open()
        .unwrap_or_else(|e| panic!("a valid database failed to open beside a WAL: {e}"));
    let prefix = wal_commit_prefix(wal, PAGE_SIZE);
    assert_eq!(
        c.stats().recovered_frames,
        prefix.frames,
        "recovery kept another WAL prefix than the format defines"
    );
    let obs = observe_conn(&mut c, bounds).unwrap_or_else(|e| panic!("begin_read failed beside a WAL: {e}"));
    let bad = obs.contradictions();
    assert!(bad.is_empty(), "integrity report contradicts the reads: {bad:?}");
    let clean = matches!(obs.verify, VerifyOutcome::Ok { .. });
    let fsz = FRAME_HEADER_LEN + PAGE_SIZE as usize;
    let end = |f: u32| frame_offset(f, PAGE_SIZE) as usize + fsz;
    let outcome = if prefix.frames == 0 {
        let want = &base.states[base.in_db];
        assert!(clean, "no committed frame, yet the database does not verify: {:?}", obs.verify);
        assert_eq!(
            obs.state().as_ref(),
            Some(want),
            "no committed frame, yet not the database's own state"
        );
        WalBesideOutcome::BaseState
    } else if base.wal.len() >= end(prefix.frames) && wal[..end(prefix.frames)] == base.wal[..end(prefix.frames)] {
        let j = base
            .wal_commits
            .iter()
            .position(|&(f, _)| f == prefix.frames)
            .expect("the base WAL's committed frames are its commit frames");
        let want = &base.states[base.wal_commits[j].1];
        assert!(clean, "a prefix of the base's WAL does not verify: {:?}", obs.verify);
        assert_eq!(obs.state().as_ref(), Some(want), "a prefix of the base's WAL shows another state");
        WalBesideOutcome::FixturePrefix { commits: j + 1 }
    } else {
        if clean {
            let applied = apply_wal(&base.db, wal, PAGE_SIZE);
            let o = observe(&applied, &[]).unwrap_or_else(|e| panic!("clean through the WAL, checkpointed it fails to open: {e:?}"));
            assert!(
                matches!(o.verify, VerifyOutcome::Ok { .. }),
                "clean through the WAL, not checkpointed"
            );
            assert_eq!(
                o.state(),
                obs.state(),
                "read through the WAL differs from the same image checkpointed"
            );
        }
        WalBesideOutcome::CraftedCommit {
            frames: prefix.frames,
            verified: clean,
        }
    };
    if clean {
        let state = obs.state();
        match c.checkpoint(CheckpointMode::Truncate) {
            Ok(_) => {}
            Err(e) => panic!("Truncate checkpoint of a clean snapshot failed: {e}"),
        }
        drop(c);
        files.reset_region();
        let mut c = files.open().expect("reopen after a checkpoint");
        let o = observe_conn(&mut c, bounds).expect("begin_read after a checkpoint");
        assert!(matches!(o.verify, VerifyOutcome::Ok { .. }), "after a checkpoint: {:?}", o.verify);
        assert_eq!(o.state(), state, "a checkpoint and a reopen changed the state");
    }
    outcome
}

// ---------------------------------------------------------------------
// Harness (c): operation sequences against a model
// ---------------------------------------------------------------------

/// Configuration of an [`op_sequence`] run (the input's first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpConfig {
    /// Cache pages of each connection (4, 5, 8 or 16: small caches spill
    /// dirty pages to the WAL mid-transaction).
    pub cache_pages: u32,
    /// Automatic checkpoint threshold in frames (0: off).
    pub autocheckpoint: u32,
}

impl OpConfig {
    fn decode(b: u8) -> OpConfig {
        OpConfig {
            cache_pages: [4, 5, 8, 16][(b & 3) as usize],
            autocheckpoint: [0, 8, 40, 200][((b >> 2) & 3) as usize],
        }
    }
    fn encode(&self) -> u8 {
        let c = [4, 5, 8, 16].iter().position(|&x| x == self.cache_pages).unwrap_or(0) as u8;
        let a = [0, 8, 40, 200].iter().position(|&x| x == self.autocheckpoint).unwrap_or(0) as u8;
        c | (a << 2)
    }
}

/// One operation of [`op_sequence`]. Operand bytes select tables, keys and
/// values (see [`table_name`], [`key_for`], [`value_len_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `begin_write` (ends a read transaction first; misuse inside a write
    /// transaction must be rejected).
    BeginWrite,
    /// Put into a table (a write transaction is begun if none is open).
    Put {
        /// Table selector.
        table: u8,
        /// Key selector.
        key: u8,
        /// Value selector.
        value: u8,
    },
    /// Delete a key.
    Delete {
        /// Table selector.
        table: u8,
        /// Key selector.
        key: u8,
    },
    /// Put `count % 64 + 1` keys (selectors `key`, `key + 1`...).
    Fill {
        /// Table selector.
        table: u8,
        /// Number of keys, less one, modulo 64.
        count: u8,
        /// Value selector.
        value: u8,
    },
    /// Commit the write transaction (misuse outside one).
    Commit,
    /// Abort the write transaction.
    Abort,
    /// Checkpoint: mode `Passive`, `Full`, `Restart`, `Truncate` by the
    /// operand modulo 4.
    Checkpoint(u8),
    /// Create a named table.
    CreateTable(u8),
    /// Drop a named table.
    DropTable(u8),
    /// Point reads of a key: `value_len`, `get` (exact and too small a
    /// buffer), `read_value` at an offset (`offset * 13` bytes).
    Get {
        /// Table selector.
        table: u8,
        /// Key selector.
        key: u8,
        /// Offset selector.
        offset: u8,
    },
    /// Full cursor scan.
    Scan {
        /// Table selector.
        table: u8,
        /// Direction.
        backward: bool,
    },
    /// `cursor_seek` then up to 40 steps.
    Seek {
        /// Table selector.
        table: u8,
        /// Key selector of the seek key.
        key: u8,
        /// Direction of the steps.
        backward: bool,
    },
    /// A cursor walk that deletes, rewrites or inserts (the successor key)
    /// at the current entry as it goes (2 bits of `pattern` per entry).
    EditWhileScanning {
        /// Table selector.
        table: u8,
        /// Actions.
        pattern: u8,
        /// Direction.
        backward: bool,
    },
    /// `begin_read` on the main connection.
    BeginRead,
    /// `end_read` on the main connection.
    EndRead,
    /// A second connection begins a read transaction (a snapshot that later
    /// commits and checkpoints must not disturb).
    SnapshotBegin,
    /// The second connection reads everything and compares with its
    /// snapshot.
    SnapshotCheck,
    /// The second connection ends its read transaction.
    SnapshotEnd,
    /// The integrity check, plus a full read compared with the model.
    Verify,
    /// Close every connection, forget the wal-index, reopen (recovery).
    Reopen,
    /// API misuse that must be rejected without side effects (kind by the
    /// operand modulo 5).
    Misuse(u8),
}

/// Named tables of [`op_sequence`] (selector `1..=4`; selector 0 is the
/// default table): short names and one of the maximum key length.
pub fn table_name(sel: u8) -> Option<Vec<u8>> {
    match sel % 5 {
        0 => None,
        1 => Some(b"alpha".to_vec()),
        2 => Some(b"beta".to_vec()),
        3 => Some(b"g".to_vec()),
        _ => Some(vec![b'T'; max_key_len(PAGE_SIZE)]),
    }
}

/// The key for a key selector: the low 5 bits choose the content, the high
/// 3 bits the length (0, 1, 2, 6, 16, 40, max - 1, max bytes at 512-byte
/// pages). Keys of one content and different lengths are prefixes of one
/// another.
pub fn key_for(sel: u8) -> Vec<u8> {
    let max = max_key_len(PAGE_SIZE);
    let len = [0, 1, 2, 6, 16, 40, max - 1, max][(sel >> 5) as usize];
    let c = (sel & 31).wrapping_mul(8);
    (0..len).map(|i| c ^ (i % 3) as u8).collect()
}

/// The value length for a value selector: the high 3 bits choose a class
/// (empty; 1-32; 40-133; 140-171 around the inline limit; 480-542 around
/// the page size; 600-1530; 1500-3050; 4000-7100 bytes), the low 5 bits
/// the length within it.
pub fn value_len_for(sel: u8) -> usize {
    let f = (sel & 31) as usize;
    match sel >> 5 {
        0 => 0,
        1 => 1 + f,
        2 => 40 + 3 * f,
        3 => 140 + f,
        4 => 480 + 2 * f,
        5 => 600 + 30 * f,
        6 => 1500 + 50 * f,
        _ => 4000 + 100 * f,
    }
}

const OPCODES: [u8; 32] = [
    0, 0, 0, 0, 0, 0, // Put
    1, 1, // Delete
    2, // Fill
    3, 3, // Commit
    4, 5, 6, 7, 8, // Abort, BeginWrite, Checkpoint, CreateTable, DropTable
    9, 9,  // Get
    10, // Scan
    11, // Seek
    12, // EditWhileScanning
    13, 14, 15, 16, 17, 18, 19, 20, // BeginRead .. Misuse
    0, 1, 3, // Put, Delete, Commit
];

/// Decodes fuzz bytes into a configuration (the first byte) and operations
/// (an opcode byte, taken modulo 32, then 0 to 3 operand bytes; missing
/// operands are 0). At most 4,000 operations.
pub fn decode_ops(bytes: &[u8]) -> (OpConfig, Vec<Op>) {
    let Some(&cfg) = bytes.first() else {
        return (OpConfig::decode(0), Vec::new());
    };
    let mut i = 1;
    let take = |i: &mut usize| -> u8 {
        let b = bytes.get(*i).copied().unwrap_or(0);
        *i += 1;
        b
    };
    let mut ops = Vec::new();
    while i < bytes.len() && ops.len() < 4000 {
        let code = OPCODES[(take(&mut i) % 32) as usize];
        let op = match code {
            0 => Op::Put {
                table: take(&mut i),
                key: take(&mut i),
                value: take(&mut i),
            },
            1 => Op::Delete {
                table: take(&mut i),
                key: take(&mut i),
            },
            2 => Op::Fill {
                table: take(&mut i),
                count: take(&mut i),
                value: take(&mut i),
            },
            3 => Op::Commit,
            4 => Op::Abort,
            5 => Op::BeginWrite,
            6 => Op::Checkpoint(take(&mut i)),
            7 => Op::CreateTable(take(&mut i)),
            8 => Op::DropTable(take(&mut i)),
            9 => Op::Get {
                table: take(&mut i),
                key: take(&mut i),
                offset: take(&mut i),
            },
            10 => Op::Scan {
                table: take(&mut i),
                backward: take(&mut i) & 1 == 1,
            },
            11 => Op::Seek {
                table: take(&mut i),
                key: take(&mut i),
                backward: take(&mut i) & 1 == 1,
            },
            12 => Op::EditWhileScanning {
                table: take(&mut i),
                pattern: take(&mut i),
                backward: take(&mut i) & 1 == 1,
            },
            13 => Op::BeginRead,
            14 => Op::EndRead,
            15 => Op::SnapshotBegin,
            16 => Op::SnapshotCheck,
            17 => Op::SnapshotEnd,
            18 => Op::Verify,
            19 => Op::Reopen,
            _ => Op::Misuse(take(&mut i)),
        };
        ops.push(op);
    }
    (OpConfig::decode(cfg), ops)
}

/// Encodes a configuration and operations as [`decode_ops`] reads them
/// (`decode_ops(&encode_ops(cfg, ops)) == (cfg, ops)` for configurations
/// [`decode_ops`] can produce).
pub fn encode_ops(cfg: OpConfig, ops: &[Op]) -> Vec<u8> {
    let mut v = vec![cfg.encode()];
    for op in ops {
        match *op {
            Op::Put { table, key, value } => v.extend([0, table, key, value]),
            Op::Delete { table, key } => v.extend([6, table, key]),
            Op::Fill { table, count, value } => v.extend([8, table, count, value]),
            Op::Commit => v.push(9),
            Op::Abort => v.push(11),
            Op::BeginWrite => v.push(12),
            Op::Checkpoint(m) => v.extend([13, m]),
            Op::CreateTable(t) => v.extend([14, t]),
            Op::DropTable(t) => v.extend([15, t]),
            Op::Get { table, key, offset } => v.extend([16, table, key, offset]),
            Op::Scan { table, backward } => v.extend([18, table, u8::from(backward)]),
            Op::Seek { table, key, backward } => v.extend([19, table, key, u8::from(backward)]),
            Op::EditWhileScanning { table, pattern, backward } => v.extend([20, table, pattern, u8::from(backward)]),
            Op::BeginRead => v.push(21),
            Op::EndRead => v.push(22),
            Op::SnapshotBegin => v.push(23),
            Op::SnapshotCheck => v.push(24),
            Op::SnapshotEnd => v.push(25),
            Op::Verify => v.push(26),
            Op::Reopen => v.push(27),
            Op::Misuse(k) => v.extend([28, k]),
        }
    }
    v
}

/// What an [`op_sequence`] run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpSequenceReport {
    /// Operations run.
    pub ops: usize,
    /// Commits that succeeded.
    pub commits: usize,
    /// Transactions ended by `Error::Full` (the wal-index is full until a
    /// checkpoint; a snapshot may hold it back).
    pub full: usize,
    /// Reads in a write transaction refused with `Error::Full` (every cached
    /// page dirty, and no room in the wal-index to spill one); the
    /// transaction stays usable.
    pub full_reads: usize,
    /// Checkpoints refused with `Busy` (a snapshot of the second connection
    /// needed the WAL).
    pub busy: usize,
    /// Reopens (each followed by a full check and `verify`), the final one
    /// included.
    pub reopens: usize,
    /// Entries in every table at the end.
    pub entries: usize,
    /// Named tables at the end.
    pub tables: usize,
}

/// The main connection's transaction, as the model sees it.
enum Txn {
    Idle,
    Read,
    Write {
        /// The transaction's state so far.
        state: State,
        /// An operation failed (`Full`): only abort remains.
        failed: bool,
    },
}

struct Run<'f> {
    files: &'f Files,
    a: Option<Conn<'f>>,
    b: Option<Conn<'f>>,
    committed: State,
    txn: Txn,
    snap: Option<State>,
    seq: u32,
    rep: OpSequenceReport,
    step: usize,
    op: Option<Op>,
}

impl<'f> Run<'f> {
    fn fail(&self, msg: impl std::fmt::Display) -> ! {
        panic!("op_sequence: operation #{} {:?}: {msg}", self.step, self.op)
    }
    fn a(&mut self) -> &mut Conn<'f> {
        self.a.as_mut().expect("the main connection is open between operations")
    }
    fn ok<T>(&self, r: Result<T, Error>, what: &str) -> T {
        r.unwrap_or_else(|e| self.fail(format_args!("{what}: unexpected error {e:?}")))
    }
    /// A read's result. In a write transaction a read may need a cache slot
    /// while every cached page is dirty, spill one to the WAL and find the
    /// wal-index full: `Full`, after which the transaction stays usable (the
    /// engine does not fail it). `None` then, and the operation stops; any
    /// other error is a bug.
    fn rd<T>(&mut self, r: Result<T, Error>, what: &str) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(Error::Full { .. }) if matches!(self.txn, Txn::Write { .. }) => {
                self.rep.full_reads += 1;
                None
            }
            Err(e) => self.fail(format_args!("{what}: unexpected error {e:?}")),
        }
    }
    fn expect_err<T: std::fmt::Debug>(&self, r: Result<T, Error>, want: fn(&Error) -> bool, what: &str) {
        match r {
            Err(e) if want(&e) => {}
            other => self.fail(format_args!("{what}: got {other:?}, want a rejection")),
        }
    }
    fn view(&self) -> &State {
        match &self.txn {
            Txn::Write { state, .. } => state,
            _ => &self.committed,
        }
    }
    fn failed(&self) -> bool {
        matches!(self.txn, Txn::Write { failed: true, .. })
    }
    fn model_mut(&mut self) -> &mut State {
        match &mut self.txn {
            Txn::Write { state, .. } => state,
            _ => unreachable!("model_mut outside a write transaction"),
        }
    }
    /// Begins a write transaction unless one is open (ending a read).
    fn begin_write_if_needed(&mut self) {
        match self.txn {
            Txn::Write { .. } => return,
            Txn::Read => {
                self.a().end_read();
                self.txn = Txn::Idle;
            }
            Txn::Idle => {}
        }
        let r = self.a().begin_write();
        self.ok(r, "begin_write");
        self.txn = Txn::Write {
            state: self.committed.clone(),
            failed: false,
        };
    }
    /// Begins a read transaction unless one is open.
    fn ensure_txn(&mut self) {
        if matches!(self.txn, Txn::Idle) {
            let r = self.a().begin_read();
            self.ok(r, "begin_read");
            self.txn = Txn::Read;
        }
    }
    /// In a failed write transaction every table access is refused.
    fn check_failed_txn(&mut self) {
        let r = self.a().default_table();
        self.expect_err(
            r,
            |e| matches!(e, Error::InvalidArgument(_)),
            "table access in a failed transaction",
        );
    }
    /// An error of a write operation: `Full` fails the transaction; anything
    /// else is a bug.
    fn write_error(&mut self, e: Error, what: &str) {
        if !matches!(e, Error::Full { .. }) {
            self.fail(format_args!("{what}: unexpected error {e:?}"));
        }
        if let Txn::Write { failed, .. } = &mut self.txn {
            *failed = true;
        }
        self.rep.full += 1;
    }
    /// The handle of table `sel`, checking that it exists exactly when the
    /// model has it.
    fn handle(&mut self, sel: u8) -> Option<(Table, Vec<u8>)> {
        match table_name(sel) {
            None => {
                let r = self.a().default_table();
                Some((self.rd(r, "default_table")?, Vec::new()))
            }
            Some(n) => {
                let r = self.a().table(&n);
                let t = self.rd(r, "table")?;
                let model = self.view().contains_key(&n);
                if t.is_some() != model {
                    self.fail(format_args!(
                        "table {:?} exists: {}, model: {model}",
                        String::from_utf8_lossy(&n),
                        t.is_some()
                    ));
                }
                t.map(|t| (t, n))
            }
        }
    }
    fn check_in_transaction(&mut self) {
        let want = match self.txn {
            Txn::Idle => None,
            Txn::Read => Some(false),
            Txn::Write { .. } => Some(true),
        };
        let got = self.a().in_transaction();
        if got != want {
            self.fail(format_args!("in_transaction() is {got:?}, model {want:?}"));
        }
    }
    fn next_value(&mut self, sel: u8) -> Vec<u8> {
        self.seq = self.seq.wrapping_add(1);
        value_bytes(self.seq, value_len_for(sel))
    }

    fn put(&mut self, table: u8, key: Vec<u8>, v: Vec<u8>) -> bool {
        let Some((t, name)) = self.handle(table) else { return true };
        let r = self.a().put(t, &key, &v);
        match r {
            Ok(()) => {
                self.model_mut().entry(name).or_default().insert(key, v);
                true
            }
            Err(e) => {
                self.write_error(e, "put");
                false
            }
        }
    }

    fn full_check(&mut self, who: &str) {
        let want = self.view().clone();
        let c = self.a();
        let got = read_state_in_txn(c);
        let hdr = c.header();
        let Some(got) = self.rd(got, "reading every table") else { return };
        let Some(h) = self.rd(hdr, "header") else { return };
        let mut bitmap = vec![0u8; bitmap_len(h.page_count)];
        let r = self.a().verify(&mut bitmap);
        let Some(rep) = self.rd(r, "verify") else { return };
        if got != want {
            self.fail(format_args!("{who}: the database differs from the model: {}", diff(&got, &want)));
        }
        if !rep.is_ok() {
            self.fail(format_args!(
                "{who}: verify found {} problems: {:?}",
                rep.problem_count, rep.problems
            ));
        }
        let entries: usize = want.values().map(Map::len).sum();
        if rep.entries != entries as u64 || rep.tables as usize != want.len() - 1 {
            self.fail(format_args!(
                "{who}: verify counted {} entries and {} tables, model {entries} and {}",
                rep.entries,
                rep.tables,
                want.len() - 1
            ));
        }
    }

    fn reopen(&mut self) {
        self.a = None;
        self.b = None;
        self.snap = None;
        self.txn = Txn::Idle;
        self.files.reset_region();
        let c = self.files.open();
        self.a = Some(self.ok(c, "reopen"));
        self.rep.reopens += 1;
        let want = wal_commit_prefix(&self.files.wal_bytes(), PAGE_SIZE).frames;
        let got = self.a().stats().recovered_frames;
        if got != want {
            self.fail(format_args!("recovery kept {got} frames, the format's committed prefix is {want}"));
        }
        let r = self.a().begin_read();
        self.ok(r, "begin_read after reopen");
        self.txn = Txn::Read;
        self.full_check("after reopen");
        self.a().end_read();
        self.txn = Txn::Idle;
    }

    fn commit(&mut self) {
        let r = self.a().commit();
        match std::mem::replace(&mut self.txn, Txn::Idle) {
            Txn::Write { failed: true, .. } => {
                self.expect_err(r, |e| matches!(e, Error::InvalidArgument(_)), "commit of a failed transaction")
            }
            Txn::Write { state, .. } => match r {
                Ok(lsn) => {
                    if lsn.is_none() && state != self.committed {
                        self.fail("commit wrote nothing, yet the transaction changed the content");
                    }
                    self.committed = state;
                    self.rep.commits += 1;
                }
                Err(Error::Full { .. }) => self.rep.full += 1,
                Err(e) => self.fail(format_args!("commit: unexpected error {e:?}")),
            },
            Txn::Read => {
                self.expect_err(r, |e| matches!(e, Error::ReadOnly), "commit in a read transaction");
                self.txn = Txn::Read;
            }
            Txn::Idle => self.expect_err(r, |e| matches!(e, Error::InvalidArgument(_)), "commit without a transaction"),
        }
    }

    fn checkpoint(&mut self, m: u8) {
        let mode = [
            CheckpointMode::Passive,
            CheckpointMode::Full,
            CheckpointMode::Restart,
            CheckpointMode::Truncate,
        ][(m % 4) as usize];
        let r = self.a().checkpoint(mode);
        if !matches!(self.txn, Txn::Idle) {
            return self.expect_err(r, |e| matches!(e, Error::InvalidArgument(_)), "checkpoint inside a transaction");
        }
        match r {
            Ok(info) => {
                let ok = match mode {
                    CheckpointMode::Passive => info.backfilled <= info.wal_frames,
                    CheckpointMode::Full => info.backfilled == info.wal_frames,
                    _ => info.backfilled == 0 && info.wal_frames == 0,
                };
                if !ok {
                    self.fail(format_args!("{mode:?} checkpoint returned {info:?}"));
                }
                if mode == CheckpointMode::Truncate && !self.files.wal.borrow().contents().is_empty() {
                    self.fail("Truncate checkpoint left a WAL file");
                }
            }
            Err(Error::Busy) if self.snap.is_some() && mode != CheckpointMode::Passive => self.rep.busy += 1,
            Err(e) => self.fail(format_args!("{mode:?} checkpoint: unexpected error {e:?}")),
        }
    }

    fn get(&mut self, table: u8, key: u8, offset: u8) {
        self.ensure_txn();
        if self.failed() {
            return self.check_failed_txn();
        }
        let Some((t, name)) = self.handle(table) else { return };
        let k = key_for(key);
        let want = self.view().get(&name).and_then(|m| m.get(&k)).cloned();
        let r = self.a().value_len(t, &k);
        let Some(len) = self.rd(r, "value_len") else { return };
        if len != want.as_ref().map(Vec::len) {
            self.fail(format_args!(
                "value_len of {k:02x?} is {len:?}, model {:?}",
                want.as_ref().map(Vec::len)
            ));
        }
        let n = want.as_ref().map_or(0, Vec::len);
        let mut out = vec![0u8; n];
        let r = self.a().get(t, &k, &mut out);
        let Some(got) = self.rd(r, "get") else { return };
        if got != want.as_ref().map(Vec::len) || (want.is_some() && Some(&out) != want.as_ref()) {
            self.fail(format_args!("get of {k:02x?} returned other bytes than the model"));
        }
        if n > 0 {
            let r = self.a().get(t, &k, &mut vec![0u8; n - 1]);
            if matches!(r, Err(Error::Full { .. })) && self.rd(r, "get").is_none() {
                return;
            }
            if r != Err(Error::BufferTooSmall { needed: n }) {
                self.fail(format_args!("get into a {}-byte buffer of a {n}-byte value returned {r:?}", n - 1));
            }
        }
        let off = offset as usize * 13;
        let mut part = [0u8; 17];
        let r = self.a().read_value(t, &k, off, &mut part);
        let Some(got) = self.rd(r, "read_value") else { return };
        let exp = want
            .as_ref()
            .map(|v| v.get(off.min(v.len())..).map_or(&[][..], |s| &s[..s.len().min(17)]));
        if got != exp.map(<[u8]>::len) || exp.is_some_and(|e| part[..e.len()] != *e) {
            self.fail(format_args!(
                "read_value of {k:02x?} at {off} returned {got:?}, model {:?}",
                exp.map(<[u8]>::len)
            ));
        }
    }

    fn scan(&mut self, table: u8, backward: bool) {
        self.ensure_txn();
        if self.failed() {
            return self.check_failed_txn();
        }
        let Some((t, name)) = self.handle(table) else { return };
        let want: Vec<(Vec<u8>, Vec<u8>)> = self.view().get(&name).map(|m| m.clone().into_iter().collect()).unwrap_or_default();
        let mut got = Vec::new();
        let mut cur = Cursor::new();
        let c = self.a.as_mut().expect("open");
        let mut on = if backward {
            c.cursor_last(&mut cur, t)
        } else {
            c.cursor_first(&mut cur, t)
        };
        loop {
            let Some(o) = self.rd(on, "cursor step") else { return };
            if !o || got.len() > want.len() {
                break;
            }
            let k = cur.key().map(<[u8]>::to_vec).unwrap_or_default();
            let r = self.a().cursor_value_len(&cur);
            let Some(n) = self.rd(r, "cursor_value_len") else { return };
            let mut v = vec![0u8; n];
            let r = self.a().cursor_value(&cur, 0, &mut v);
            if self.rd(r, "cursor_value").is_none() {
                return;
            }
            got.push((k, v));
            let c = self.a.as_mut().expect("open");
            on = if backward {
                c.cursor_prev(&mut cur)
            } else {
                c.cursor_next(&mut cur)
            };
        }
        if backward {
            got.reverse();
        }
        if got != want {
            self.fail(format_args!(
                "scan (backward: {backward}) of {:?} read {} entries, model {}; first difference at {:?}",
                String::from_utf8_lossy(&name),
                got.len(),
                want.len(),
                got.iter().zip(&want).position(|(a, b)| a != b)
            ));
        }
    }

    fn seek(&mut self, table: u8, key: u8, backward: bool) {
        self.ensure_txn();
        if self.failed() {
            return self.check_failed_txn();
        }
        let Some((t, name)) = self.handle(table) else { return };
        let k = key_for(key);
        let m = self.view().get(&name).cloned().unwrap_or_default();
        let mut cur = Cursor::new();
        let r = self.a().cursor_seek(&mut cur, t, &k);
        let Some(on) = self.rd(r, "cursor_seek") else { return };
        let at = m.range(k.clone()..).next();
        if on != at.is_some() || (on && cur.key() != at.map(|(k, _)| k.as_slice())) {
            self.fail(format_args!(
                "cursor_seek({k:02x?}) is at {:02x?}, model {:02x?}",
                cur.key(),
                at.map(|e| e.0)
            ));
        }
        if let Some((ak, av)) = at {
            let mut v = vec![0u8; av.len()];
            let r = self.a().cursor_value(&cur, 0, &mut v);
            let Some(n) = self.rd(r, "cursor_value") else { return };
            if n != av.len() || v != *av {
                self.fail(format_args!("value under the cursor at {ak:02x?} differs from the model"));
            }
        }
        let mut expect: Box<dyn Iterator<Item = &Vec<u8>>> = match (at, backward) {
            (None, _) => Box::new(std::iter::empty()),
            (Some((ak, _)), false) => Box::new(m.range::<Vec<u8>, _>((Bound::Excluded(ak), Bound::Unbounded)).map(|e| e.0)),
            (Some((ak, _)), true) => Box::new(m.range::<Vec<u8>, _>(..ak).rev().map(|e| e.0)),
        };
        for _ in 0..40 {
            let r = if backward {
                self.a().cursor_prev(&mut cur)
            } else {
                self.a().cursor_next(&mut cur)
            };
            let Some(on) = self.rd(r, "cursor step after seek") else { return };
            let e = expect.next();
            if on != e.is_some() || (on && cur.key() != e.map(Vec::as_slice)) {
                self.fail(format_args!("step after seek is at {:02x?}, model {:02x?}", cur.key(), e));
            }
            if !on {
                break;
            }
        }
    }

    fn edit_while_scanning(&mut self, table: u8, pattern: u8, backward: bool) {
        self.begin_write_if_needed();
        if self.failed() {
            return self.check_failed_txn();
        }
        let Some((t, name)) = self.handle(table) else { return };
        let max = self.a().max_key_len();
        let mut cur = Cursor::new();
        let r = if backward {
            self.a().cursor_last(&mut cur, t)
        } else {
            self.a().cursor_first(&mut cur, t)
        };
        let Some(mut on) = self.rd(r, "cursor_first/last") else { return };
        let model = |s: &Self| s.view().get(&name).cloned().unwrap_or_default();
        let mut expect = {
            let m = model(self);
            if backward {
                m.keys().next_back().cloned()
            } else {
                m.keys().next().cloned()
            }
        };
        for i in 0..300 {
            if on != expect.is_some() || (on && cur.key() != expect.as_deref()) {
                self.fail(format_args!(
                    "edit-while-scanning step {i}: cursor at {:02x?}, model {:02x?}",
                    cur.key(),
                    expect
                ));
            }
            let Some(k) = expect.clone() else { break };
            let want_v = model(self).get(&k).cloned().unwrap_or_default();
            let mut v = vec![0u8; want_v.len()];
            let r = self.a().cursor_value(&cur, 0, &mut v);
            if self.rd(r, "cursor_value").is_none() {
                return;
            }
            if v != want_v {
                self.fail(format_args!("value under the cursor at {k:02x?} differs from the model"));
            }
            match (pattern >> ((i % 4) * 2)) & 3 {
                1 => {
                    let r = self.a().delete(t, &k);
                    match r {
                        Ok(true) => {
                            self.model_mut().entry(name.clone()).or_default().remove(&k);
                        }
                        Ok(false) => self.fail(format_args!("delete of the key under the cursor {k:02x?} found nothing")),
                        Err(e) => return self.write_error(e, "delete under a cursor"),
                    }
                }
                2 => {
                    let v = self.next_value(0x45);
                    if !self.put(table, k.clone(), v) {
                        return;
                    }
                }
                3 if k.len() < max => {
                    let mut s = k.clone();
                    s.push(0);
                    let v = self.next_value(0x22);
                    if !self.put(table, s, v) {
                        return;
                    }
                }
                _ => {}
            }
            let r = if backward {
                self.a().cursor_prev(&mut cur)
            } else {
                self.a().cursor_next(&mut cur)
            };
            let Some(o) = self.rd(r, "cursor step after an edit") else { return };
            on = o;
            let m = model(self);
            expect = if backward {
                m.range::<Vec<u8>, _>(..&k).next_back().map(|e| e.0.clone())
            } else {
                m.range::<Vec<u8>, _>((Bound::Excluded(&k), Bound::Unbounded))
                    .next()
                    .map(|e| e.0.clone())
            };
        }
    }

    fn misuse(&mut self, kind: u8) {
        let too_long = vec![b'x'; max_key_len(PAGE_SIZE) + 1];
        let inv = |e: &Error| matches!(e, Error::InvalidArgument(_));
        let ro = |e: &Error| matches!(e, Error::ReadOnly);
        match kind % 5 {
            0 => {
                self.begin_write_if_needed();
                if self.failed() {
                    return self.check_failed_txn();
                }
                let r = self.a().default_table();
                let Some(t) = self.rd(r, "default_table") else { return };
                let r = self.a().put(t, &too_long, b"v");
                self.expect_err(r, inv, "put of a key longer than max_key_len");
                let r = self.a().delete(t, &too_long);
                self.expect_err(r, inv, "delete of a key longer than max_key_len");
                let r = self.a().create_table(b"");
                self.expect_err(r, inv, "create_table with an empty name");
                // The transaction is still usable.
                let r = self.a().value_len(t, b"");
                self.rd(r, "value_len after rejected arguments");
            }
            1 => {
                if !matches!(self.txn, Txn::Write { .. }) {
                    self.commit();
                }
            }
            2 => {
                if matches!(self.txn, Txn::Write { .. }) {
                    return;
                }
                self.ensure_txn();
                let r = self.a().default_table();
                let t = self.ok(r, "default_table");
                let r = self.a().put(t, b"k", b"v");
                self.expect_err(r, ro, "put in a read transaction");
                let r = self.a().delete(t, b"k");
                self.expect_err(r, ro, "delete in a read transaction");
                let r = self.a().create_table(b"never");
                self.expect_err(r, ro, "create_table in a read transaction");
                let r = self.a().drop_table(b"alpha");
                self.expect_err(r, ro, "drop_table in a read transaction");
                let r = self.a().checkpoint(CheckpointMode::Passive);
                self.expect_err(r, inv, "checkpoint inside a read transaction");
            }
            3 => {
                if !matches!(self.txn, Txn::Idle) {
                    return;
                }
                let r = self.a().begin_read();
                self.ok(r, "begin_read");
                let r = self.a().default_table();
                let t = self.ok(r, "default_table");
                self.a().end_read();
                let r = self.a().begin_read();
                self.ok(r, "begin_read");
                let r = self.a().value_len(t, b"k");
                self.expect_err(r, inv, "a table handle of an ended transaction");
                let mut cur = Cursor::new();
                let r = self.a().cursor_first(&mut cur, t);
                self.expect_err(r, inv, "a cursor on a table handle of an ended transaction");
                self.a().end_read();
            }
            _ => {
                self.ensure_txn();
                if self.failed() {
                    return self.check_failed_txn();
                }
                let r = self.a().default_table();
                let t = self.ok(r, "default_table");
                let r = self.a().value_len(t, &too_long);
                self.expect_err(r, inv, "value_len of a key longer than max_key_len");
                let mut cur = Cursor::new();
                let r = self.a().cursor_seek(&mut cur, t, &too_long);
                self.expect_err(r, inv, "cursor_seek to a key longer than max_key_len");
                let r = self.a().table(b"");
                self.expect_err(r, inv, "table with an empty name");
            }
        }
    }

    fn run_op(&mut self, op: Op) {
        match op {
            Op::BeginWrite => {
                if matches!(self.txn, Txn::Write { .. }) {
                    let r = self.a().begin_write();
                    self.expect_err(
                        r,
                        |e| matches!(e, Error::InvalidArgument(_)),
                        "begin_write inside a write transaction",
                    );
                } else {
                    self.begin_write_if_needed();
                }
            }
            Op::Put { table, key, value } => {
                self.begin_write_if_needed();
                if self.failed() {
                    return self.check_failed_txn();
                }
                let v = self.next_value(value);
                self.put(table, key_for(key), v);
            }
            Op::Delete { table, key } => {
                self.begin_write_if_needed();
                if self.failed() {
                    return self.check_failed_txn();
                }
                let Some((t, name)) = self.handle(table) else { return };
                let k = key_for(key);
                let r = self.a().delete(t, &k);
                match r {
                    Ok(was) => {
                        let had = self.model_mut().entry(name).or_default().remove(&k).is_some();
                        if was != had {
                            self.fail(format_args!("delete of {k:02x?} returned {was}, model {had}"));
                        }
                    }
                    Err(e) => self.write_error(e, "delete"),
                }
            }
            Op::Fill { table, count, value } => {
                self.begin_write_if_needed();
                for i in 0..=(count % 64) {
                    if self.failed() {
                        return self.check_failed_txn();
                    }
                    let sel = (value & 0xE0) | (count.wrapping_add(i) & 31);
                    let v = self.next_value(value);
                    if !self.put(table, key_for(sel), v) {
                        return;
                    }
                }
            }
            Op::Commit => self.commit(),
            Op::Abort => {
                self.a().abort();
                if matches!(self.txn, Txn::Write { .. }) {
                    self.txn = Txn::Idle;
                }
            }
            Op::Checkpoint(m) => self.checkpoint(m),
            Op::CreateTable(sel) => {
                let Some(n) = table_name(sel) else { return };
                self.begin_write_if_needed();
                if self.failed() {
                    return self.check_failed_txn();
                }
                let r = self.a().create_table(&n);
                match r {
                    Ok(_) => {
                        self.model_mut().entry(n).or_default();
                    }
                    Err(e) => self.write_error(e, "create_table"),
                }
            }
            Op::DropTable(sel) => {
                let Some(n) = table_name(sel) else { return };
                self.begin_write_if_needed();
                if self.failed() {
                    return self.check_failed_txn();
                }
                let r = self.a().drop_table(&n);
                match r {
                    Ok(was) => {
                        let had = self.model_mut().remove(&n).is_some();
                        if was != had {
                            self.fail(format_args!("drop_table returned {was}, model {had}"));
                        }
                    }
                    Err(e) => self.write_error(e, "drop_table"),
                }
            }
            Op::Get { table, key, offset } => self.get(table, key, offset),
            Op::Scan { table, backward } => self.scan(table, backward),
            Op::Seek { table, key, backward } => self.seek(table, key, backward),
            Op::EditWhileScanning { table, pattern, backward } => self.edit_while_scanning(table, pattern, backward),
            Op::BeginRead => {
                let r = self.a().begin_read();
                if matches!(self.txn, Txn::Idle) {
                    self.ok(r, "begin_read");
                    self.txn = Txn::Read;
                } else {
                    self.expect_err(r, |e| matches!(e, Error::InvalidArgument(_)), "begin_read inside a transaction");
                }
            }
            Op::EndRead => {
                self.a().end_read();
                if matches!(self.txn, Txn::Read) {
                    self.txn = Txn::Idle;
                }
            }
            Op::SnapshotBegin => {
                if self.b.is_none() {
                    let c = self.files.open();
                    self.b = Some(self.ok(c, "opening a second connection"));
                }
                let r = self.b.as_mut().expect("just opened").begin_read();
                if self.snap.is_some() {
                    self.expect_err(r, |e| matches!(e, Error::InvalidArgument(_)), "begin_read twice");
                } else {
                    self.ok(r, "begin_read (second connection)");
                    self.snap = Some(self.committed.clone());
                }
            }
            Op::SnapshotCheck => {
                if let (Some(b), Some(want)) = (self.b.as_mut(), self.snap.as_ref()) {
                    let got = read_state_in_txn(b);
                    let got = self.ok(got, "reading the snapshot");
                    if &got != want {
                        self.fail(format_args!("the snapshot changed: {}", diff(&got, want)));
                    }
                }
            }
            Op::SnapshotEnd => {
                if let Some(b) = self.b.as_mut() {
                    b.end_read();
                }
                self.snap = None;
            }
            Op::Verify => {
                self.ensure_txn();
                if self.failed() {
                    return self.check_failed_txn();
                }
                self.full_check("verify operation");
            }
            Op::Reopen => self.reopen(),
            Op::Misuse(k) => self.misuse(k),
        }
    }
}

/// A short description of how two states differ.
fn diff(got: &State, want: &State) -> String {
    let mut s = String::new();
    for name in got.keys().chain(want.keys()).collect::<std::collections::BTreeSet<_>>() {
        let n = String::from_utf8_lossy(name);
        match (got.get(name), want.get(name)) {
            (Some(g), Some(w)) if g == w => {}
            (Some(g), Some(w)) => {
                let extra = g.keys().filter(|k| !w.contains_key(*k)).count();
                let missing = w.keys().filter(|k| !g.contains_key(*k)).count();
                let changed = g.iter().filter(|(k, v)| w.get(*k).is_some_and(|wv| wv != *v)).count();
                let _ = write!(s, "table {n:?}: {extra} extra, {missing} missing, {changed} changed; ");
            }
            (Some(_), None) => {
                let _ = write!(s, "table {n:?} should not exist; ");
            }
            (None, _) => {
                let _ = write!(s, "table {n:?} is missing; ");
            }
        }
    }
    s
}

/// Harness (c): decodes `bytes` ([`decode_ops`]) and runs the operations
/// against a database in RAM (512-byte pages, the configured cache of 4 to
/// 16 pages, a wal-index of 64 to 2,048 frames sized to the operations)
/// and a `BTreeMap` model of every table, then commits what is open, reopens and checks everything.
///
/// Every read is compared with the model; `verify` must find no problem and
/// count the model's entries and tables; recovery after each reopen must
/// keep exactly [`wal_commit_prefix`]'s frames and show the last committed
/// state; a second connection's snapshot must not change under later
/// commits and checkpoints; misuse must be rejected with the documented
/// error and no side effect. The only errors accepted are `Full` (the
/// wal-index is full: the transaction fails, as documented) and `Busy` from
/// a checkpoint while the snapshot is open. Any other difference panics
/// (the fuzz finding) naming the operation.
pub fn op_sequence(bytes: &[u8]) -> OpSequenceReport {
    let (cfg, ops) = decode_ops(bytes);
    run_ops(cfg, &ops)
}

/// Pages the operations can make the database file grow to, at most: every
/// put allocates at most its overflow pages and one page per tree level
/// split (8 levels are more than 512-byte pages reach with these keys).
fn page_budget(ops: &[Op]) -> usize {
    let put = |len: usize| len.div_ceil(500) + 9;
    let mut pages = 64;
    for op in ops {
        pages += match *op {
            Op::Put { value, .. } => put(value_len_for(value)),
            Op::Fill { count, value, .. } => (count as usize % 64 + 1) * put(value_len_for(value)),
            Op::EditWhileScanning { .. } => 300 * put(value_len_for(0x45)),
            Op::CreateTable(_) => 12,
            _ => 0,
        };
    }
    pages
}

/// Runs decoded operations (see [`op_sequence`]).
pub fn run_ops(cfg: OpConfig, ops: &[Op]) -> OpSequenceReport {
    // Storage for the largest database the operations can make; a
    // wal-index of 2 frames per such page, 64 to 2,048 (a full index is
    // `Error::Full`, which the model expects).
    let pages = page_budget(ops);
    let frames = (2 * pages).clamp(64, 2048) as u32;
    let mut files = Files::new(&[], &[], PAGE_SIZE, frames, pages, cfg.cache_pages);
    files.opts.autocheckpoint_frames = cfg.autocheckpoint;
    let files = files;
    let first = files.open().expect("creating a database in RAM");
    let mut run = Run {
        files: &files,
        a: Some(first),
        b: None,
        committed: empty_state(),
        txn: Txn::Idle,
        snap: None,
        seq: 0,
        rep: OpSequenceReport::default(),
        step: 0,
        op: None,
    };
    for (i, &op) in ops.iter().enumerate() {
        run.step = i;
        run.op = Some(op);
        run.run_op(op);
        run.check_in_transaction();
        run.rep.ops += 1;
    }
    run.step = ops.len();
    run.op = None;
    match run.txn {
        Txn::Write { failed: false, .. } => run.commit(),
        Txn::Write { failed: true, .. } => {
            run.a().abort();
            run.txn = Txn::Idle;
        }
        Txn::Read => {
            run.a().end_read();
            run.txn = Txn::Idle;
        }
        Txn::Idle => {}
    }
    run.reopen();
    run.rep.entries = run.committed.values().map(Map::len).sum();
    run.rep.tables = run.committed.len() - 1;
    run.rep
}

// ---------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------

/// The seed corpus of the fuzz targets: `(target, file name, bytes)`. For
/// `open_image`, every seed image of [`seed_images`] as one input; for
/// `wal_beside_db`, the base's WAL whole, cut after its first commit, its
/// header alone, empty, with its last byte changed, and a WAL of another
/// database; for `op_sequence`, hand-written sequences covering every
/// operation.
pub fn corpus_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for s in seed_images() {
        out.push(("open_image", format!("seed-{}", s.name), s.open_image_input()));
    }
    let base = wal_beside_base();
    let fsz = FRAME_HEADER_LEN + PAGE_SIZE as usize;
    let first_commit = frame_offset(base.wal_commits[0].0, PAGE_SIZE) as usize + fsz;
    let mut flipped = base.wal.clone();
    if let Some(b) = flipped.last_mut() {
        *b ^= 0x40;
    }
    for (name, wal) in [
        ("whole", base.wal.clone()),
        ("first-commit", base.wal[..first_commit].to_vec()),
        ("header-only", base.wal[..WAL_HEADER_LEN].to_vec()),
        ("empty", Vec::new()),
        ("last-byte-changed", flipped),
        ("foreign", seed_image("restarted").wal.clone()),
    ] {
        out.push(("wal_beside_db", format!("seed-{name}"), wal));
    }
    let small = OpConfig {
        cache_pages: 4,
        autocheckpoint: 0,
    };
    let auto = OpConfig {
        cache_pages: 8,
        autocheckpoint: 40,
    };
    let seqs: [(&str, OpConfig, Vec<Op>); 5] = [
        (
            "basic",
            auto,
            vec![
                Op::Put {
                    table: 0,
                    key: 0x21,
                    value: 0x25,
                },
                Op::Put {
                    table: 0,
                    key: 0x42,
                    value: 0x65,
                },
                Op::Put {
                    table: 0,
                    key: 0xE3,
                    value: 0xC4,
                },
                Op::Put {
                    table: 0,
                    key: 0x00,
                    value: 0x00,
                },
                Op::Commit,
                Op::Get {
                    table: 0,
                    key: 0x42,
                    offset: 3,
                },
                Op::Scan { table: 0, backward: true },
                Op::Delete { table: 0, key: 0x21 },
                Op::Commit,
                Op::Verify,
                Op::Reopen,
                Op::Scan { table: 0, backward: false },
            ],
        ),
        (
            "tables",
            auto,
            vec![
                Op::CreateTable(1),
                Op::CreateTable(2),
                Op::CreateTable(3),
                Op::CreateTable(4),
                Op::Fill {
                    table: 1,
                    count: 20,
                    value: 0x44,
                },
                Op::Fill {
                    table: 4,
                    count: 10,
                    value: 0xA4,
                },
                Op::Commit,
                Op::DropTable(2),
                Op::Put {
                    table: 3,
                    key: 0xFF,
                    value: 0x30,
                },
                Op::Commit,
                Op::Scan { table: 1, backward: false },
                Op::Verify,
                Op::DropTable(1),
                Op::Abort,
                Op::Reopen,
            ],
        ),
        (
            "snapshots",
            auto,
            vec![
                Op::Fill {
                    table: 0,
                    count: 30,
                    value: 0x50,
                },
                Op::Commit,
                Op::SnapshotBegin,
                Op::Fill {
                    table: 0,
                    count: 12,
                    value: 0x90,
                },
                Op::Commit,
                Op::Checkpoint(1),
                Op::Checkpoint(2),
                Op::Checkpoint(3),
                Op::SnapshotCheck,
                Op::SnapshotEnd,
                Op::Checkpoint(3),
                Op::Checkpoint(0),
                Op::Reopen,
            ],
        ),
        (
            "spill-and-edit",
            small,
            vec![
                Op::Fill {
                    table: 0,
                    count: 40,
                    value: 0xE8,
                },
                Op::Abort,
                Op::Fill {
                    table: 0,
                    count: 63,
                    value: 0x88,
                },
                Op::Commit,
                Op::EditWhileScanning {
                    table: 0,
                    pattern: 0b1110_0100,
                    backward: false,
                },
                Op::EditWhileScanning {
                    table: 0,
                    pattern: 0b0111_1001,
                    backward: true,
                },
                Op::Verify,
                Op::Commit,
                Op::Seek {
                    table: 0,
                    key: 0x90,
                    backward: true,
                },
                Op::Reopen,
            ],
        ),
        (
            "misuse",
            auto,
            vec![
                Op::Misuse(0),
                Op::Misuse(1),
                Op::Commit,
                Op::Misuse(1),
                Op::Misuse(2),
                Op::Misuse(3),
                Op::EndRead,
                Op::Misuse(3),
                Op::Misuse(4),
                Op::BeginWrite,
                Op::BeginWrite,
                Op::BeginRead,
                Op::Abort,
                Op::BeginRead,
                Op::BeginRead,
                Op::EndRead,
            ],
        ),
    ];
    for (name, cfg, ops) in seqs {
        out.push(("op_sequence", format!("seed-{name}"), encode_ops(cfg, &ops)));
    }
    out
}
