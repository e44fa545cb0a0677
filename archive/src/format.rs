//! The archive's objects, byte for byte (`docs/FORMAT.md` section 12 is
//! the same description): segments of WAL frames, snapshots (base
//! backups), timeline records, and the keys they are stored under.
//!
//! Every integer is little-endian; every object ends with a CRC-32C
//! (Castagnoli, as the database's page checksums) of all the bytes before
//! it, so a truncated, damaged or foreign object is refused as a whole
//! before anything in it is used.

use walden_core::checksum::crc32c;
use walden_core::format::{frame_checksum, lsn, FrameHeader, WalHeader, FRAME_HEADER_LEN};

use crate::error::{Error, Result};

/// Magic of a segment object.
pub const SEGMENT_MAGIC: [u8; 8] = *b"WALDSEG1";
/// Magic of a snapshot object.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"WALDSNP1";
/// Magic of a timeline record.
pub const TIMELINE_MAGIC: [u8; 8] = *b"WALDTLN1";
/// Version of the three object formats.
pub const ARCHIVE_VERSION: u32 = 1;
/// Bytes of a segment's fixed header.
pub const SEGMENT_HEADER_LEN: usize = 72;
/// Bytes of one entry of a segment's commit table.
pub const COMMIT_ENTRY_LEN: usize = 16;
/// Bytes of a snapshot's header.
pub const SNAPSHOT_HEADER_LEN: usize = 64;
/// Bytes of a timeline record.
pub const TIMELINE_LEN: usize = 44;

/// A commit inside a segment: where a restore may stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitEntry {
    /// The WAL frame number of the commit frame (its LSN is
    /// `lsn(generation, frame)`).
    pub frame: u32,
    /// The database size in pages after the commit.
    pub db_pages: u32,
    /// When the archiver saw the commit published, in milliseconds since
    /// the Unix epoch (never earlier than the commit; within one poll
    /// interval of it while the archiver keeps up).
    pub unix_ms: u64,
}

/// A segment: consecutive committed frames of one WAL generation, ending
/// with a commit frame (commit-aligned, as Litestream's WAL segments and
/// PostgreSQL's archived WAL files carry whole records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The database's id (its header's `db_id`).
    pub db_id: u32,
    /// Page size in bytes.
    pub page_size: u32,
    /// The timeline the segment belongs to.
    pub timeline: u32,
    /// The archive's position just before this segment: the previous
    /// segment's last LSN, or the LSN of the snapshot it continues.
    pub prev_lsn: u64,
    /// The WAL generation (checkpoint sequence).
    pub generation: u32,
    /// The generation's salts.
    pub salt1: u32,
    /// Second salt.
    pub salt2: u32,
    /// The frame checksum chain value before the first frame (the WAL
    /// header's checksum when the first frame is frame 1).
    pub chain_before: u32,
    /// The WAL frame number of the first frame.
    pub first_frame: u32,
    /// The commits, in order; the last one is the last frame.
    pub commits: Vec<CommitEntry>,
    /// The frames as they are in the WAL: `n * (24 + page_size)` bytes.
    pub frames: Vec<u8>,
}

impl Segment {
    /// Frames in the segment.
    pub fn frame_count(&self) -> u32 {
        (self.frames.len() / (FRAME_HEADER_LEN + self.page_size as usize)) as u32
    }
    /// LSN of the first frame.
    pub fn first_lsn(&self) -> u64 {
        lsn(self.generation, self.first_frame)
    }
    /// LSN of the last frame (a commit frame).
    pub fn last_lsn(&self) -> u64 {
        lsn(self.generation, self.first_frame + self.frame_count() - 1)
    }
    /// The frame checksum chain value after the last frame.
    pub fn chain_after(&self) -> u32 {
        let fl = FRAME_HEADER_LEN + self.page_size as usize;
        let last = &self.frames[self.frames.len() - fl..];
        FrameHeader::decode(last).cksum
    }
    /// The frame at index `i` (0-based) of the segment: header and page.
    pub fn frame(&self, i: u32) -> (FrameHeader, &[u8]) {
        let fl = FRAME_HEADER_LEN + self.page_size as usize;
        let b = &self.frames[i as usize * fl..(i as usize + 1) * fl];
        (FrameHeader::decode(b), &b[FRAME_HEADER_LEN..])
    }

    /// The object's bytes (layout in the module documentation of
    /// `docs/FORMAT.md` section 12.2).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(SEGMENT_HEADER_LEN + self.commits.len() * COMMIT_ENTRY_LEN + self.frames.len() + 4);
        b.extend_from_slice(&SEGMENT_MAGIC);
        for v in [ARCHIVE_VERSION, self.db_id, self.page_size, self.timeline] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.prev_lsn, self.first_lsn(), self.last_lsn()] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            self.generation,
            self.salt1,
            self.salt2,
            self.chain_before,
            self.frame_count(),
            self.commits.len() as u32,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for c in &self.commits {
            b.extend_from_slice(&c.frame.to_le_bytes());
            b.extend_from_slice(&c.db_pages.to_le_bytes());
            b.extend_from_slice(&c.unix_ms.to_le_bytes());
        }
        b.extend_from_slice(&self.frames);
        let c = crc32c(&[&b]);
        b.extend_from_slice(&c.to_le_bytes());
        b
    }

    /// Decodes and checks a segment object: its checksum, its header, that
    /// its frames form an unbroken chain of one generation from
    /// `chain_before` (each frame valid by the WAL's rule: salts, page
    /// number, chained checksum, page checksum), that the commit table
    /// names exactly its commit frames and ends at its last frame, and
    /// that a segment starting at frame 1 chains from the WAL header of its
    /// generation. `key` names the object in errors. Errors: `Corrupt`.
    pub fn decode(key: &str, b: &[u8]) -> Result<Segment> {
        let bad = |what: String| Error::Corrupt {
            key: key.to_string(),
            what,
        };
        let body = check_object(key, b, &SEGMENT_MAGIC, SEGMENT_HEADER_LEN)?;
        let page_size = u32_at(body, 16);
        walden_core::format::check_page_size(page_size).map_err(|_| bad(format!("page size {page_size}")))?;
        let (first_lsn, last_lsn) = (u64_at(body, 32), u64_at(body, 40));
        let n = u32_at(body, 64) as usize;
        let nc = u32_at(body, 68) as usize;
        let fl = FRAME_HEADER_LEN + page_size as usize;
        let want = SEGMENT_HEADER_LEN as u128 + nc as u128 * COMMIT_ENTRY_LEN as u128 + n as u128 * fl as u128;
        if want != body.len() as u128 || n == 0 || nc == 0 {
            return Err(bad(format!("{} bytes for {n} frames and {nc} commits", body.len())));
        }
        let mut s = Segment {
            db_id: u32_at(body, 12),
            page_size,
            timeline: u32_at(body, 20),
            prev_lsn: u64_at(body, 24),
            generation: u32_at(body, 48),
            salt1: u32_at(body, 52),
            salt2: u32_at(body, 56),
            chain_before: u32_at(body, 60),
            first_frame: first_lsn as u32,
            commits: Vec::with_capacity(nc),
            frames: Vec::new(),
        };
        for i in 0..nc {
            let o = SEGMENT_HEADER_LEN + i * COMMIT_ENTRY_LEN;
            s.commits.push(CommitEntry {
                frame: u32_at(body, o),
                db_pages: u32_at(body, o + 4),
                unix_ms: u64_at(body, o + 8),
            });
        }
        s.frames = body[SEGMENT_HEADER_LEN + nc * COMMIT_ENTRY_LEN..].to_vec();
        if (first_lsn >> 32) as u32 != s.generation || s.first_frame == 0 || s.last_lsn() != last_lsn {
            return Err(bad(format!(
                "LSNs {first_lsn:x}..{last_lsn:x} disagree with generation {} and {n} frames",
                s.generation
            )));
        }
        if s.first_frame == 1 {
            let wh = WalHeader {
                page_size,
                ckpt_seq: s.generation,
                salt1: s.salt1,
                salt2: s.salt2,
                db_id: s.db_id,
            };
            if wh.encode(&mut [0; walden_core::format::WAL_HEADER_LEN]) != s.chain_before {
                return Err(bad("frame 1 does not chain from its generation's WAL header".into()));
            }
        }
        // The frames, by the WAL's own rule; the commit table must list
        // exactly the commit frames.
        let mut prev = s.chain_before;
        let mut commits = s.commits.iter();
        let mut last_size = 0;
        for i in 0..n as u32 {
            let (fh, page) = s.frame(i);
            let f = s.first_frame + i;
            if fh.salt1 != s.salt1 || fh.salt2 != s.salt2 || fh.pgno == 0 {
                return Err(bad(format!("frame {f}: salts or page number")));
            }
            let raw = &s.frames[i as usize * fl..i as usize * fl + 20];
            if frame_checksum(prev, raw, page) != fh.cksum {
                return Err(bad(format!("frame {f}: the frame checksum chain breaks")));
            }
            walden_core::format::verify_page(walden_core::FileKind::Wal, fh.pgno, page)
                .map_err(|_| bad(format!("frame {f}: page {} fails its checksum", fh.pgno)))?;
            prev = fh.cksum;
            if fh.commit_size != 0 {
                match commits.next() {
                    Some(c) if c.frame == f && c.db_pages == fh.commit_size => last_size = f,
                    _ => return Err(bad(format!("frame {f}: a commit the commit table does not list"))),
                }
            }
        }
        if commits.next().is_some() || last_size != s.first_frame + n as u32 - 1 {
            return Err(bad("the commit table or the last frame is not a commit".into()));
        }
        if s.commits.windows(2).any(|w| w[1].unix_ms < w[0].unix_ms) {
            return Err(bad("commit times go backwards".into()));
        }
        Ok(s)
    }
}

/// A snapshot (base backup): every page of the database at one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The database's id.
    pub db_id: u32,
    /// Page size in bytes.
    pub page_size: u32,
    /// The timeline.
    pub timeline: u32,
    /// The LSN of the state the pages hold: its last commit's, or
    /// `(generation, 0)` right after a WAL restart.
    pub lsn: u64,
    /// The WAL generation's salts at that LSN.
    pub salt1: u32,
    /// Second salt.
    pub salt2: u32,
    /// The frame checksum chain value at the LSN (0 when its frame is 0).
    pub chain: u32,
    /// When the snapshot was taken (Unix milliseconds).
    pub unix_ms: u64,
    /// The pages, `page_count * page_size` bytes, as in a database file.
    pub pages: Vec<u8>,
}

impl Snapshot {
    /// Pages in the snapshot.
    pub fn page_count(&self) -> u32 {
        (self.pages.len() / self.page_size as usize) as u32
    }
    /// The object's bytes (`docs/FORMAT.md` section 12.3).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(SNAPSHOT_HEADER_LEN + self.pages.len() + 4);
        b.extend_from_slice(&SNAPSHOT_MAGIC);
        for v in [ARCHIVE_VERSION, self.db_id, self.page_size, self.timeline] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&self.lsn.to_le_bytes());
        for v in [(self.lsn >> 32) as u32, self.salt1, self.salt2, self.chain, self.page_count(), 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&self.unix_ms.to_le_bytes());
        b.extend_from_slice(&self.pages);
        let c = crc32c(&[&b]);
        b.extend_from_slice(&c.to_le_bytes());
        b
    }
    /// The header fields alone (no pages) from the first
    /// [`SNAPSHOT_HEADER_LEN`] bytes (for listings and retention, which
    /// need the time but not the pages; the checksum is not checked).
    /// Errors: `Corrupt`.
    pub fn decode_header(key: &str, b: &[u8]) -> Result<Snapshot> {
        if b.len() < SNAPSHOT_HEADER_LEN || b[..8] != SNAPSHOT_MAGIC || u32_at(b, 8) != ARCHIVE_VERSION {
            return Err(Error::Corrupt {
                key: key.to_string(),
                what: "not a snapshot of this format".into(),
            });
        }
        Ok(Snapshot {
            db_id: u32_at(b, 12),
            page_size: u32_at(b, 16),
            timeline: u32_at(b, 20),
            lsn: u64_at(b, 24),
            salt1: u32_at(b, 36),
            salt2: u32_at(b, 40),
            chain: u32_at(b, 44),
            unix_ms: u64_at(b, 56),
            pages: Vec::new(),
        })
    }
    /// Decodes and checks a whole snapshot object (checksum, header, size,
    /// and every page's own checksum). Errors: `Corrupt`.
    pub fn decode(key: &str, b: &[u8]) -> Result<Snapshot> {
        let bad = |what: String| Error::Corrupt {
            key: key.to_string(),
            what,
        };
        let body = check_object(key, b, &SNAPSHOT_MAGIC, SNAPSHOT_HEADER_LEN)?;
        let mut s = Snapshot::decode_header(key, body)?;
        walden_core::format::check_page_size(s.page_size).map_err(|_| bad(format!("page size {}", s.page_size)))?;
        let n = u32_at(body, 48) as usize;
        if u32_at(body, 32) != (s.lsn >> 32) as u32 || body.len() - SNAPSHOT_HEADER_LEN != n * s.page_size as usize || n == 0 {
            return Err(bad(format!("{} bytes of pages for {n} pages", body.len() - SNAPSHOT_HEADER_LEN)));
        }
        s.pages = body[SNAPSHOT_HEADER_LEN..].to_vec();
        for (i, p) in s.pages.chunks(s.page_size as usize).enumerate() {
            walden_core::format::verify_page(walden_core::FileKind::Database, i as u32 + 1, p)
                .map_err(|_| bad(format!("page {} fails its checksum", i + 1)))?;
        }
        Ok(s)
    }
}

/// A timeline record: who the timeline belongs to and where it branched
/// off (as PostgreSQL's timeline history files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineInfo {
    /// The database's id.
    pub db_id: u32,
    /// The timeline's number (1 for the first history of a database).
    pub timeline: u32,
    /// The timeline it branched from (0: none).
    pub parent: u32,
    /// The parent's LSN the new history starts from (0: none).
    pub branch_lsn: u64,
    /// When the record was written (Unix milliseconds).
    pub unix_ms: u64,
}

impl TimelineInfo {
    /// The object's bytes (`docs/FORMAT.md` section 12.4).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(TIMELINE_LEN);
        b.extend_from_slice(&TIMELINE_MAGIC);
        for v in [ARCHIVE_VERSION, self.db_id, self.timeline, self.parent] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&self.branch_lsn.to_le_bytes());
        b.extend_from_slice(&self.unix_ms.to_le_bytes());
        let c = crc32c(&[&b]);
        b.extend_from_slice(&c.to_le_bytes());
        b
    }
    /// Decodes and checks a timeline record. Errors: `Corrupt`.
    pub fn decode(key: &str, b: &[u8]) -> Result<TimelineInfo> {
        let body = check_object(key, b, &TIMELINE_MAGIC, TIMELINE_LEN - 4)?;
        if body.len() != TIMELINE_LEN - 4 {
            return Err(Error::Corrupt {
                key: key.to_string(),
                what: format!("{} bytes", b.len()),
            });
        }
        Ok(TimelineInfo {
            db_id: u32_at(body, 12),
            timeline: u32_at(body, 16),
            parent: u32_at(body, 20),
            branch_lsn: u64_at(body, 24),
            unix_ms: u64_at(body, 32),
        })
    }
}

/// Checks the magic, version, minimum length and trailing CRC-32C of an
/// object; returns the bytes before the CRC.
fn check_object<'a>(key: &str, b: &'a [u8], magic: &[u8; 8], min: usize) -> Result<&'a [u8]> {
    let bad = |what: &str| Error::Corrupt {
        key: key.to_string(),
        what: what.to_string(),
    };
    if b.len() < min + 4 {
        return Err(bad("shorter than its header"));
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if body[..8] != magic[..] {
        return Err(bad("wrong magic: not an object of this kind"));
    }
    if u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) != crc32c(&[body]) {
        return Err(bad("the object's checksum does not match (damaged or truncated)"));
    }
    if u32_at(body, 8) != ARCHIVE_VERSION {
        return Err(bad("unknown format version"));
    }
    Ok(body)
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from(u32_at(b, o)) | u64::from(u32_at(b, o + 4)) << 32
}

/// Keys of the archive under its prefix (`<prefix>/` is the store's).
pub mod keys {
    /// The folder of timeline `tl`: eight hex digits.
    pub fn timeline_dir(tl: u32) -> String {
        format!("{tl:08x}")
    }
    /// The timeline record of `tl`.
    pub fn timeline(tl: u32) -> String {
        format!("{tl:08x}/timeline")
    }
    /// A segment's key: `<tl>/wal/<first-lsn>-<last-lsn>`, LSNs in 16 hex
    /// digits, so that keys sort by LSN.
    pub fn segment(tl: u32, first: u64, last: u64) -> String {
        format!("{tl:08x}/wal/{first:016x}-{last:016x}")
    }
    /// A snapshot's key: `<tl>/snapshots/<lsn>`.
    pub fn snapshot(tl: u32, lsn: u64) -> String {
        format!("{tl:08x}/snapshots/{lsn:016x}")
    }
    /// A note's key: `<tl>/notes/<lsn>` (UTF-8 text: a gap, a new timeline).
    pub fn note(tl: u32, lsn: u64) -> String {
        format!("{tl:08x}/notes/{lsn:016x}")
    }
    /// What a key (relative to the prefix) names.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Key {
        /// A timeline record.
        Timeline(u32),
        /// A segment: timeline, first and last LSN.
        Segment(u32, u64, u64),
        /// A snapshot: timeline and LSN.
        Snapshot(u32, u64),
        /// A note: timeline and LSN.
        Note(u32, u64),
    }
    /// Parses a key relative to the prefix; `None` for anything else.
    pub fn parse(k: &str) -> Option<Key> {
        let mut it = k.split('/');
        let tl = hex32(it.next()?)?;
        let kind = it.next()?;
        let rest = it.next();
        if it.next().is_some() {
            return None;
        }
        match (kind, rest) {
            ("timeline", None) => Some(Key::Timeline(tl)),
            ("wal", Some(r)) => {
                let (a, b) = r.split_once('-')?;
                Some(Key::Segment(tl, hex64(a)?, hex64(b)?))
            }
            ("snapshots", Some(r)) => Some(Key::Snapshot(tl, hex64(r)?)),
            ("notes", Some(r)) => Some(Key::Note(tl, hex64(r)?)),
            _ => None,
        }
    }
    fn hex32(s: &str) -> Option<u32> {
        (s.len() == 8).then(|| u32::from_str_radix(s, 16).ok()).flatten()
    }
    fn hex64(s: &str) -> Option<u64> {
        (s.len() == 16).then(|| u64::from_str_radix(s, 16).ok()).flatten()
    }
}
