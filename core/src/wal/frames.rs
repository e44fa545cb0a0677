//! Frames in and out of the WAL file: the frame writer of the write
//! transaction, and the one verified frame reader that recovery, the
//! checkpoint and `walden waldump` use, so that "is this frame valid" is
//! answered in one place.
//!
//! # When a frame is valid
//!
//! Frame `f` of a WAL generation is valid when, in this order:
//! 1. it lies wholly inside the file (`32 + f * (24 + page_size)` bytes);
//! 2. its two salts equal the WAL header's;
//! 3. its page number is not 0;
//! 4. its chained checksum equals CRC-32 (ISO-HDLC) of the previous frame's
//!    checksum (the WAL header's checksum for frame 1), its first 20 header
//!    bytes and its whole page image ([`format::frame_checksum`]);
//! 5. its page image passes its own page checksum as that page number
//!    ([`format::verify_page`]), so a frame torn only in its last bytes ends
//!    the log.
//!
//! The log is the run of valid frames from frame 1; the first invalid frame
//! ends it, and nothing after it is trusted even if it looks valid. The
//! committed log is that run up to its last commit frame (a frame whose
//! header carries a nonzero database size). `docs/FORMAT.md` section 4.3
//! states the same rule; the test kit keeps an independent oracle of it
//! (`walden_testkit::fuzz::wal_commit_prefix`).

use crate::error::{Error, FileKind, Result};
use crate::format::{self, FrameHeader, WalHeader, FRAME_HEADER_LEN, WAL_HEADER_LEN};
use crate::storage::{io_err, Storage};
use crate::wal::index::{Index, IndexHeader};

/// Why a frame is not valid: the reason the log ends before it (see the
/// module documentation for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFault {
    /// The file ends exactly before the frame.
    EndOfFile,
    /// The file ends inside the frame: `present` of its bytes exist (a torn
    /// append).
    Truncated {
        /// Bytes of the frame present in the file (1 to `24 + page_size - 1`).
        present: u64,
    },
    /// The frame's salts differ from the WAL header's: a frame of an earlier
    /// WAL generation, space never written, or foreign data.
    Salt {
        /// The frame's salt 1.
        salt1: u32,
        /// The frame's salt 2.
        salt2: u32,
    },
    /// The frame's page number is 0.
    PageZero,
    /// The chained frame checksum does not match: a torn or damaged frame,
    /// or one left over from a transaction that was rolled back.
    Checksum {
        /// The checksum in the frame header.
        stored: u32,
        /// The checksum computed from the chain and the frame.
        computed: u32,
    },
    /// The page image fails its own page checksum (its last bytes torn or
    /// damaged) although the frame checksum matches.
    PageChecksum {
        /// The frame's page number.
        pgno: u32,
    },
}

impl core::fmt::Display for FrameFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameFault::EndOfFile => f.write_str("end of file"),
            FrameFault::Truncated { present } => write!(f, "the file ends after {present} bytes of the frame (a torn append)"),
            FrameFault::Salt { salt1, salt2 } => write!(f, "salts {salt1:08x}/{salt2:08x} differ from the WAL header's"),
            FrameFault::PageZero => f.write_str("page number 0"),
            FrameFault::Checksum { stored, computed } => {
                write!(f, "frame checksum mismatch (stored {stored:08x}, computed {computed:08x})")
            }
            FrameFault::PageChecksum { pgno } => write!(f, "the image of page {pgno} fails its page checksum"),
        }
    }
}

/// Reads consecutive frames of one WAL generation and verifies each by the
/// rule of this module. Recovery, the checkpoint's chain check and `walden
/// waldump` all read frames through it.
///
/// ```text
/// let mut r = FrameReader::new(&wal_header, header_checksum, wal_len);
/// while let Ok(fh) = r.next(&mut wal, &mut buf)? { /* frame r.frame() - 1 is valid */ }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameReader {
    page_size: u32,
    salt1: u32,
    salt2: u32,
    /// Chain value the next frame's checksum must extend.
    prev: u32,
    /// Number of the next frame to read (1-based).
    next: u32,
    wal_len: u64,
}

impl FrameReader {
    /// A reader from frame 1 of a WAL whose header is `h`, with `seed` the
    /// header's checksum (as [`WalHeader::decode`] returns it) and `wal_len`
    /// the file's length in bytes.
    pub fn new(h: &WalHeader, seed: u32, wal_len: u64) -> Self {
        FrameReader {
            page_size: h.page_size,
            salt1: h.salt1,
            salt2: h.salt2,
            prev: seed,
            next: 1,
            wal_len,
        }
    }

    /// A reader from frame `next` of a generation with salts
    /// `salt1`/`salt2`, where `prev` is the checksum of frame `next - 1`
    /// (the WAL header's checksum when `next` is 1).
    pub fn resume(page_size: u32, salt1: u32, salt2: u32, next: u32, prev: u32, wal_len: u64) -> Self {
        FrameReader {
            page_size,
            salt1,
            salt2,
            prev,
            next,
            wal_len,
        }
    }

    /// Number of the frame the next call reads (1-based); after a run of
    /// valid frames, one more than the last valid frame.
    pub fn frame(&self) -> u32 {
        self.next
    }

    /// The checksum of the last valid frame read (the chain value).
    pub fn chain(&self) -> u32 {
        self.prev
    }

    /// Bytes of the buffer [`FrameReader::next`] needs: `24 + page_size`.
    pub fn frame_len(&self) -> usize {
        FRAME_HEADER_LEN + self.page_size as usize
    }

    /// Reads the next frame into `buf` (its first [`FrameReader::frame_len`]
    /// bytes: the 24-byte frame header, then the page image) and checks it.
    /// `Ok(Ok(header))` when it is valid (the reader then moves on);
    /// `Ok(Err(fault))` when it is not (the log ends before it; the reader
    /// stays there; with a fault other than `EndOfFile` and `Truncated` the
    /// frame's bytes are in `buf`). `Err` is the storage's error.
    ///
    /// Panics never; a `buf` shorter than `frame_len` reads as `Truncated`.
    pub fn next<S: Storage>(
        &mut self,
        wal: &mut S,
        buf: &mut [u8],
    ) -> core::result::Result<core::result::Result<FrameHeader, FrameFault>, S::Error> {
        let len = self.frame_len();
        let off = format::frame_offset(self.next, self.page_size);
        if off >= self.wal_len {
            return Ok(Err(FrameFault::EndOfFile));
        }
        if off + len as u64 > self.wal_len || buf.len() < len {
            return Ok(Err(FrameFault::Truncated {
                present: (self.wal_len - off).min(len as u64),
            }));
        }
        let buf = &mut buf[..len];
        let got = wal.read_at(off, buf)?;
        if got < len {
            return Ok(Err(FrameFault::Truncated { present: got as u64 }));
        }
        Ok(self.next_from(buf))
    }

    /// Checks the next frame from its bytes, read by the caller from the
    /// frame's offset (so that recovery can read many frames at once): as
    /// [`FrameReader::next`], `bytes` holding what the file has there (fewer
    /// bytes than a frame only at the end of the file).
    pub fn next_from(&mut self, bytes: &[u8]) -> core::result::Result<FrameHeader, FrameFault> {
        let len = self.frame_len();
        let off = format::frame_offset(self.next, self.page_size);
        if off >= self.wal_len {
            return Err(FrameFault::EndOfFile);
        }
        if off + len as u64 > self.wal_len || bytes.len() < len {
            return Err(FrameFault::Truncated {
                present: (self.wal_len - off).min(bytes.len() as u64).min(len as u64),
            });
        }
        let r = self.check(&bytes[..len]);
        if let Ok(fh) = r {
            self.prev = fh.cksum;
            self.next += 1;
        }
        r
    }

    /// The validity rule (steps 2 to 5) on a frame's bytes.
    fn check(&self, frame: &[u8]) -> core::result::Result<FrameHeader, FrameFault> {
        let (hb, page) = frame.split_at(FRAME_HEADER_LEN);
        let fh = FrameHeader::decode(hb);
        if fh.salt1 != self.salt1 || fh.salt2 != self.salt2 {
            return Err(FrameFault::Salt {
                salt1: fh.salt1,
                salt2: fh.salt2,
            });
        }
        if fh.pgno == 0 {
            return Err(FrameFault::PageZero);
        }
        let computed = format::frame_checksum(self.prev, &hb[..20], page);
        if computed != fh.cksum {
            return Err(FrameFault::Checksum {
                stored: fh.cksum,
                computed,
            });
        }
        if format::verify_page(FileKind::Wal, fh.pgno, page).is_err() {
            return Err(FrameFault::PageChecksum { pgno: fh.pgno });
        }
        Ok(fh)
    }
}

/// Reads and decodes the WAL header: `Ok(Some((header, checksum)))` for a
/// valid one, `Ok(None)` for a WAL shorter than a header or with an invalid
/// header (recovery then ignores the WAL). Errors: `Io`.
pub(crate) fn read_wal_header<S: Storage>(wal: &mut S, wal_len: u64, raw: &mut [u8; WAL_HEADER_LEN]) -> Result<Option<(WalHeader, u32)>> {
    if wal_len < WAL_HEADER_LEN as u64 {
        return Ok(None);
    }
    let got = wal.read_at(0, raw).map_err(io_err(FileKind::Wal))?;
    Ok(if got == WAL_HEADER_LEN { WalHeader::decode(raw) } else { None })
}

/// Counters of the frame writer, since the connection opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WriterStats {
    /// Frames written (spilled or committed).
    pub frames: u64,
    /// WAL header syncs (one per new WAL generation, unless `Off`).
    pub header_syncs: u64,
}

/// The WAL-append state of one write transaction.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FrameWriter {
    /// Last frame written (spilled or committed).
    pub last_frame: u32,
    /// Checksum of `last_frame` (chain seed).
    cksum: u32,
    /// The last committed frame when the transaction began: frames above it
    /// are this transaction's.
    base: u32,
    /// The chain value of frame `base` (the published `last_cksum`).
    base_cksum: u32,
    /// The first frame rewritten in place since the chain was last sealed
    /// (0: none): the chain from it on must be re-sealed before the commit.
    reseal_from: u32,
    pub salt1: u32,
    pub salt2: u32,
    pub ckpt_seq: u32,
    /// Whether the WAL file header for this generation is written.
    header_written: bool,
    /// Sync the WAL right after writing its header (every sync mode but
    /// `Off`), as SQLite's `syncHeader`: frames of the new generation
    /// never reach the disk before the header whose salts retire the old
    /// generation's frames. Without it, a power cut could keep new frames
    /// but lose the new header, and recovery would replay a prefix of the
    /// old generation over a database file that is already newer.
    sync_header: bool,
    /// Frames spilled in this transaction (non-commit frames written
    /// before the commit).
    pub spilled: u32,
    /// The database id the WAL header carries.
    db_id: u32,
}

impl FrameWriter {
    /// The writer of a transaction that starts from the published header
    /// `hdr`. `sync_header`: sync a new generation's WAL header before its
    /// first frame (every sync mode but `Off`); `db_id`: the database id a
    /// new WAL header carries.
    pub(crate) fn new(hdr: &IndexHeader, sync_header: bool, db_id: u32) -> Self {
        FrameWriter {
            last_frame: hdr.mx_frame,
            cksum: hdr.last_cksum,
            base: hdr.mx_frame,
            base_cksum: hdr.last_cksum,
            reseal_from: 0,
            salt1: hdr.salt1,
            salt2: hdr.salt2,
            ckpt_seq: hdr.ckpt_seq,
            header_written: hdr.mx_frame > 0,
            sync_header,
            spilled: 0,
            db_id,
        }
    }

    /// Checksum of the last frame written (the chain value a commit
    /// publishes).
    pub(crate) fn chain(&self) -> u32 {
        self.cksum
    }

    /// The last committed frame when the transaction began; frames above
    /// it are this transaction's.
    pub(crate) fn base_frame(&self) -> u32 {
        self.base
    }

    /// Rewrites frame `frame`, which this transaction wrote earlier for page
    /// `pgno`, with the new image `page` (sealed here), as SQLite rewrites a
    /// page's frame in the uncommitted part of the WAL. Its checksum is left
    /// stale until [`FrameWriter::reseal`]: the frame stays invalid, like
    /// every uncommitted frame, until the commit re-seals the chain, which
    /// checks the image against the header's copy of its trailer.
    /// Errors: `Io`.
    pub(crate) fn rewrite<S: Storage>(
        &mut self,
        wal: &mut S,
        frame: u32,
        pgno: u32,
        page: &mut [u8],
        stats: &mut WriterStats,
    ) -> Result<()> {
        let ps = page.len();
        format::seal_page(pgno, page);
        let mut fh = [0u8; FRAME_HEADER_LEN];
        // The header's trailer copy (bytes 16..20) is what the re-seal
        // checks the image it reads back against.
        FrameHeader::encode(pgno, 0, self.salt1, self.salt2, 0, page, &mut fh);
        // Not a valid chain value: re-sealed at the commit.
        fh[20..24].fill(0);
        let off = format::frame_offset(frame, ps as u32);
        wal.write_at_pair(off, &fh, page).map_err(io_err(FileKind::Wal))?;
        if self.reseal_from == 0 || frame < self.reseal_from {
            self.reseal_from = frame;
        }
        stats.frames += 1;
        Ok(())
    }

    /// Recomputes the checksum chain from the first frame rewritten in place
    /// to the last frame written, reading each frame back through `buf` (at
    /// least a page), and rewrites the checksums that changed (SQLite's
    /// `walRewriteChecksums`). A no-op when nothing was rewritten. Every
    /// frame must read back with the trailer its header copies (bytes
    /// 16..20): a lost or misdirected write, of a rewrite or of any frame
    /// after it, leaves an older image there (of the same page, from an
    /// earlier transaction or generation, correctly sealed), which the
    /// re-chained checksum would otherwise vouch for.
    /// Errors: `Io`, `Corrupt` (a frame reads back short, or a rewritten
    /// frame's image is not the one written: a lost or misdirected write).
    pub(crate) fn reseal<S: Storage>(&mut self, wal: &mut S, page_size: u32, buf: &mut [u8]) -> Result<()> {
        if self.reseal_from == 0 {
            return Ok(());
        }
        let ps = page_size as usize;
        let first = self.reseal_from;
        let mut fh = [0u8; FRAME_HEADER_LEN];
        let mut prev = if first - 1 == self.base {
            self.base_cksum
        } else {
            let off = format::frame_offset(first - 1, page_size);
            if wal.read_at(off, &mut fh).map_err(io_err(FileKind::Wal))? < FRAME_HEADER_LEN {
                return Err(crate::error::corrupt(FileKind::Wal, 0, "WAL truncated under a frame"));
            }
            FrameHeader::decode(&fh).cksum
        };
        let page = &mut buf[..ps];
        for f in first..=self.last_frame {
            let off = format::frame_offset(f, page_size);
            let a = wal.read_at(off, &mut fh).map_err(io_err(FileKind::Wal))?;
            let b = wal.read_at(off + FRAME_HEADER_LEN as u64, page).map_err(io_err(FileKind::Wal))?;
            if a < FRAME_HEADER_LEN || b < ps {
                return Err(crate::error::corrupt(FileKind::Wal, 0, "WAL truncated under a frame"));
            }
            if format::get_u32(&fh, 16) != format::get_u32(page, ps - 4) {
                return Err(crate::error::corrupt(
                    FileKind::Wal,
                    FrameHeader::decode(&fh).pgno,
                    "lost or misdirected rewrite of a frame",
                ));
            }
            let c = format::frame_checksum(prev, &fh[..20], page);
            if FrameHeader::decode(&fh).cksum != c {
                wal.write_at(off + 20, &c.to_le_bytes()).map_err(io_err(FileKind::Wal))?;
            }
            prev = c;
        }
        self.cksum = prev;
        self.reseal_from = 0;
        Ok(())
    }

    /// Appends `page` (sealed here: page checksum, and for page 1 the
    /// header checksum) as the next frame for page `pgno`, a commit frame
    /// when `commit_size` > 0; writes (and syncs) the WAL header first for
    /// a new generation; records the frame in the wal-index. Returns the
    /// frame number.
    ///
    /// Errors: `Full` (the wal-index holds `max_wal_frames` frames), `Io`.
    pub(crate) fn append<S: Storage>(
        &mut self,
        wal: &mut S,
        idx: &Index<'_>,
        pgno: u32,
        commit_size: u32,
        page: &mut [u8],
        stats: &mut WriterStats,
    ) -> Result<u32> {
        // Work on a copy: the writer moves on only once the frame is
        // written and indexed.
        let mut w = *self;
        let ps = page.len() as u32;
        let frame = w.last_frame + 1;
        if frame > idx.capacity() {
            return Err(Error::Full {
                what: "WAL frames (max_wal_frames); checkpoint or raise the limit",
            });
        }
        if frame == 1 && !w.header_written {
            let mut hb = [0u8; WAL_HEADER_LEN];
            let wh = WalHeader {
                page_size: ps,
                ckpt_seq: w.ckpt_seq,
                salt1: w.salt1,
                salt2: w.salt2,
                db_id: w.db_id,
            };
            w.cksum = wh.encode(&mut hb);
            // Frame 1's chain starts from the new header's checksum.
            w.base_cksum = w.cksum;
            wal.write_at(0, &hb).map_err(io_err(FileKind::Wal))?;
            if w.sync_header {
                stats.header_syncs += 1;
                wal.sync().map_err(io_err(FileKind::Wal))?;
            }
            w.header_written = true;
        }
        format::seal_page(pgno, page);
        let mut fh = [0u8; FRAME_HEADER_LEN];
        w.cksum = FrameHeader::encode(pgno, commit_size, w.salt1, w.salt2, w.cksum, page, &mut fh);
        let off = format::frame_offset(frame, ps);
        wal.write_at_pair(off, &fh, page).map_err(io_err(FileKind::Wal))?;
        idx.insert(frame, pgno)?;
        w.last_frame = frame;
        *self = w;
        stats.frames += 1;
        Ok(frame)
    }
}
