//! Storage on a block device with no file system: the database and its WAL
//! in two regions of one device of 512-byte blocks (an SD card, eMMC, a
//! raw flash partition behind a translation layer), named by a superblock.
//!
//! # Layout
//!
//! | blocks | content |
//! |---|---|
//! | 0, 1 | the superblock, two copies (A/B) |
//! | `wal_start ..+ wal_blocks` | the WAL: its header block, then `wal_frames` frame slots |
//! | `db_start ..+ db_blocks` | the database file, page after page |
//!
//! The superblock (little-endian): magic `WALDNBLK` (8 bytes), version (u32,
//! 1), sequence number (u64), page size (u32), `db_start`, `db_blocks`,
//! `wal_start`, `wal_blocks` (u32 each), the database file's length in
//! bytes (u64), then the CRC-32C of those 48 bytes. [`Volume::mount`] takes
//! the valid copy with the higher sequence number; a new superblock is
//! written to the other copy, so a write torn by a power cut leaves the
//! previous one. It changes only when the database file's length does (a
//! checkpoint that grows or shrinks the file), at that file's `sync`: after
//! the data blocks are flushed, as a file system orders a file's data
//! before its size.
//!
//! # Why the WAL is not a byte stream on the device
//!
//! A block device writes whole blocks and, when the power fails during a
//! write, may leave the block old, new, zeroed or garbage. A WAL laid out
//! as a byte stream shares blocks between consecutive frames (a frame at
//! 512-byte pages is 536 bytes), so appending frame *n + 1* would rewrite
//! the tail of frame *n*, which may be an acknowledged commit. Here each
//! frame owns whole blocks: frame *f* (from 1) of the WAL file, at byte
//! `32 + (f - 1) * (24 + page_size)`, is stored from block
//! `wal_start + 1 + (f - 1) * ceil((24 + page_size) / 512)`; the WAL
//! header owns block `wal_start`. A torn write then damages only the frame
//! being written, which is not yet committed (the file format is
//! unchanged: only where its bytes sit on the device). This is SQLite's
//! answer for devices without powersafe overwrite (`wal.c` pads a
//! transaction to a sector boundary when the VFS lacks
//! `SQLITE_IOCAP_POWERSAFE_OVERWRITE`), by slots instead of padding. It
//! costs space at small pages: 1,024 bytes per 536-byte frame at 512-byte
//! pages, 4,608 per 4,120 at 4 KiB. Database pages are whole blocks (page
//! sizes are multiples of 512), so a page write never touches another page.
//!
//! The WAL file's size is always its region's capacity (as [`crate::IoStorage`]
//! over a fixed partition): the core finds the end of the WAL by its frame
//! checksums, not by the size, and a truncation zeroes the WAL header (the
//! whole WAL is then invalid). The database file's size is the superblock's.
//!
//! # Use
//!
//! [`Volume::format`] a device once (or [`Volume::mount`] it), put the
//! volume in a `RefCell`, and open a connection on [`Volume::files`] with
//! `Options::page_size` set to [`Volume::page_size`] and
//! `Options::max_wal_frames` at most [`Volume::wal_frames`] (a WAL write
//! past the region fails with [`BlockError::OutOfSpace`]). RAM: one
//! 512-byte block buffer and the superblock, about 560 bytes, in the
//! volume. Devices: anything implementing [`BlockDevice`]; with feature
//! `embedded-sdmmc`, any `embedded_sdmmc::BlockDevice` through `blockdev::Sdmmc` (feature `embedded-sdmmc`).

use core::cell::RefCell;

use embedded_io::{ErrorKind, ErrorType};

use crate::checksum::crc32c;
use crate::error::FileKind;
use crate::format::{FRAME_HEADER_LEN, WAL_HEADER_LEN};
use crate::storage::Storage;

/// Bytes in a block.
pub const BLOCK: usize = 512;
/// Blocks the superblock copies take at the start of the device.
pub const SUPERBLOCK_BLOCKS: u32 = 2;
const MAGIC: &[u8; 8] = b"WALDNBLK";
const VERSION: u32 = 1;
const SB_LEN: usize = 48;

/// A device of 512-byte blocks numbered from 0.
///
/// `write_block` may leave its block torn if the power fails during it;
/// after `flush` returns `Ok`, every block written before it must survive a
/// power cut (a device whose writes are durable when they return, as an SD
/// card driven over SPI, flushes nothing).
pub trait BlockDevice {
    /// The device's error.
    type Error: core::fmt::Debug;
    /// Reads block `lba` into `buf`.
    fn read_block(&mut self, lba: u32, buf: &mut [u8; BLOCK]) -> Result<(), Self::Error>;
    /// Writes `buf` to block `lba`.
    fn write_block(&mut self, lba: u32, buf: &[u8; BLOCK]) -> Result<(), Self::Error>;
    /// Makes every completed write durable.
    fn flush(&mut self) -> Result<(), Self::Error>;
    /// The number of blocks of the device.
    fn block_count(&mut self) -> Result<u32, Self::Error>;
}

/// Errors of a [`Volume`] and its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockError<E> {
    /// The device failed.
    Device(E),
    /// A write or extension past the end of its region.
    OutOfSpace,
    /// No valid superblock on the device ([`Volume::mount`]).
    NotFormatted,
    /// A layout that does not fit the device, or a bad page size.
    BadGeometry,
    /// The volume's `RefCell` was already borrowed (the core never does it).
    Reentrant,
}

impl<E: core::fmt::Debug> embedded_io::Error for BlockError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            BlockError::Device(_) | BlockError::Reentrant => ErrorKind::Other,
            BlockError::OutOfSpace => ErrorKind::OutOfMemory,
            BlockError::NotFormatted => ErrorKind::InvalidData,
            BlockError::BadGeometry => ErrorKind::InvalidInput,
        }
    }
}

/// The superblock's content (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superblock {
    /// Sequence number: the copy with the higher one is current.
    pub seq: u64,
    /// Page size of the database, in bytes.
    pub page_size: u32,
    /// First block of the database region.
    pub db_start: u32,
    /// Blocks of the database region.
    pub db_blocks: u32,
    /// First block of the WAL region.
    pub wal_start: u32,
    /// Blocks of the WAL region.
    pub wal_blocks: u32,
    /// Length of the database file, in bytes.
    pub db_len: u64,
}

impl Superblock {
    fn encode(&self, b: &mut [u8; BLOCK]) {
        b.fill(0);
        b[..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..20].copy_from_slice(&self.seq.to_le_bytes());
        for (i, v) in [self.page_size, self.db_start, self.db_blocks, self.wal_start, self.wal_blocks]
            .iter()
            .enumerate()
        {
            b[20 + 4 * i..24 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        b[40..48].copy_from_slice(&self.db_len.to_le_bytes());
        let c = crc32c(&[&b[..SB_LEN]]);
        b[SB_LEN..SB_LEN + 4].copy_from_slice(&c.to_le_bytes());
    }

    fn decode(b: &[u8; BLOCK], blocks: u32) -> Option<Superblock> {
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
        if &b[..8] != MAGIC || u32_at(8) != VERSION || u32_at(SB_LEN) != crc32c(&[&b[..SB_LEN]]) {
            return None;
        }
        let sb = Superblock {
            seq: u64_at(12),
            page_size: u32_at(20),
            db_start: u32_at(24),
            db_blocks: u32_at(28),
            wal_start: u32_at(32),
            wal_blocks: u32_at(36),
            db_len: u64_at(40),
        };
        sb.is_sane(blocks).then_some(sb)
    }

    /// Page size valid, regions inside the device after the superblocks,
    /// not overlapping, the WAL holding its header block and one frame, the
    /// database length inside its region.
    fn is_sane(&self, blocks: u32) -> bool {
        let end = |s: u32, n: u32| s.checked_add(n).filter(|&e| e <= blocks);
        let (Some(db_end), Some(wal_end)) = (end(self.db_start, self.db_blocks), end(self.wal_start, self.wal_blocks)) else {
            return false;
        };
        valid_page_size(self.page_size)
            && self.db_start >= SUPERBLOCK_BLOCKS
            && self.wal_start >= SUPERBLOCK_BLOCKS
            && (db_end <= self.wal_start || wal_end <= self.db_start)
            && self.wal_blocks > blocks_per_frame(self.page_size)
            && self.db_len <= u64::from(self.db_blocks) * BLOCK as u64
    }
}

const fn valid_page_size(ps: u32) -> bool {
    ps.is_power_of_two() && ps >= 512 && ps <= 65_536
}

/// Blocks a WAL frame slot takes at page size `page_size`: `ceil((24 +
/// page_size) / 512)` (2 at 512-byte pages, 9 at 4 KiB).
pub const fn blocks_per_frame(page_size: u32) -> u32 {
    (FRAME_HEADER_LEN as u32 + page_size).div_ceil(BLOCK as u32)
}

/// Blocks a volume needs for a WAL of `wal_frames` frames and a database of
/// `db_pages` pages at `page_size`: the two superblocks, the WAL's header
/// block and frame slots, the database pages.
pub const fn blocks_needed(page_size: u32, wal_frames: u32, db_pages: u32) -> u64 {
    SUPERBLOCK_BLOCKS as u64
        + 1
        + wal_frames as u64 * blocks_per_frame(page_size) as u64
        + db_pages as u64 * (page_size as u64 / BLOCK as u64)
}

/// A formatted device: the superblock, one block buffer, the device. Share
/// it as a `RefCell<Volume<D>>` between its two files ([`Volume::files`]).
#[derive(Debug)]
pub struct Volume<D> {
    dev: D,
    sb: Superblock,
    /// The database length changed since the superblock was written.
    dirty: bool,
    buf: [u8; BLOCK],
}

type Res<T, D> = Result<T, BlockError<<D as BlockDevice>::Error>>;

impl<D: BlockDevice> Volume<D> {
    /// Lays out a new volume on `dev`: a WAL region of `wal_frames` frame
    /// slots at `page_size`, then a database region of `db_pages` pages
    /// (0: the rest of the device). Erases any database the device held
    /// (the WAL header and both superblocks are rewritten).
    ///
    /// Errors: `BadGeometry` (a page size that is not a power of two from
    /// 512 to 65,536, no frame, or more blocks than the device has),
    /// `Device`.
    pub fn format(mut dev: D, page_size: u32, wal_frames: u32, db_pages: u32) -> Res<Self, D> {
        let blocks = dev.block_count().map_err(BlockError::Device)?;
        if !valid_page_size(page_size) || wal_frames == 0 {
            return Err(BlockError::BadGeometry);
        }
        let wal_blocks = u64::from(wal_frames) * u64::from(blocks_per_frame(page_size)) + 1;
        let db_start = u64::from(SUPERBLOCK_BLOCKS) + wal_blocks;
        let per_page = u64::from(page_size) / BLOCK as u64;
        let db_blocks = match db_pages {
            0 => u64::from(blocks).saturating_sub(db_start) / per_page * per_page,
            n => u64::from(n) * per_page,
        };
        if db_blocks == 0 || db_start + db_blocks > u64::from(blocks) {
            return Err(BlockError::BadGeometry);
        }
        let sb = Superblock {
            seq: 1,
            page_size,
            db_start: db_start as u32,
            db_blocks: db_blocks as u32,
            wal_start: SUPERBLOCK_BLOCKS,
            wal_blocks: wal_blocks as u32,
            db_len: 0,
        };
        let mut v = Volume {
            dev,
            sb,
            dirty: false,
            buf: [0; BLOCK],
        };
        // No WAL header, then both copies (an older format's copy with a
        // higher sequence number must not win).
        v.buf.fill(0);
        v.dev.write_block(sb.wal_start, &v.buf).map_err(BlockError::Device)?;
        v.dev.flush().map_err(BlockError::Device)?;
        v.write_superblock()?;
        v.write_superblock()?;
        Ok(v)
    }

    /// Opens the volume on `dev` from its current superblock.
    ///
    /// Errors: `NotFormatted` (no valid copy), `Device`.
    pub fn mount(mut dev: D) -> Res<Self, D> {
        let blocks = dev.block_count().map_err(BlockError::Device)?;
        let mut buf = [0u8; BLOCK];
        let mut best: Option<Superblock> = None;
        for lba in 0..SUPERBLOCK_BLOCKS {
            dev.read_block(lba, &mut buf).map_err(BlockError::Device)?;
            if let Some(sb) = Superblock::decode(&buf, blocks) {
                if best.is_none_or(|b| sb.seq > b.seq) {
                    best = Some(sb);
                }
            }
        }
        let sb = best.ok_or(BlockError::NotFormatted)?;
        Ok(Volume {
            dev,
            sb,
            dirty: false,
            buf,
        })
    }

    /// The current superblock (the database length as of the last sync
    /// that changed it, or as written since: see [`Volume::files`]).
    pub fn superblock(&self) -> Superblock {
        self.sb
    }
    /// The page size the volume was formatted for (`Options::page_size`).
    pub fn page_size(&self) -> u32 {
        self.sb.page_size
    }
    /// WAL frame slots (the most `Options::max_wal_frames` can use).
    pub fn wal_frames(&self) -> u32 {
        (self.sb.wal_blocks - 1) / blocks_per_frame(self.sb.page_size)
    }
    /// Pages the database region holds.
    pub fn db_pages(&self) -> u32 {
        self.sb.db_blocks / (self.sb.page_size / BLOCK as u32)
    }
    /// Flushes the device and writes the superblock if the database's
    /// length changed since it was written. The core does this at each
    /// sync of the database file; under `SyncMode::Off` (no syncs), call it
    /// before a planned reset, or the database file keeps its older length.
    ///
    /// Errors: `Device`.
    pub fn flush(&mut self) -> Res<(), D> {
        self.sync(FileKind::Database)
    }
    /// The device back.
    pub fn into_inner(self) -> D {
        self.dev
    }

    /// The database file and the WAL of the volume, as two storages for
    /// `Connection::open`. Several pairs may exist (one per connection).
    pub fn files(vol: &RefCell<Self>) -> (BlockFile<'_, D>, BlockFile<'_, D>) {
        (
            BlockFile {
                vol,
                kind: FileKind::Database,
            },
            BlockFile { vol, kind: FileKind::Wal },
        )
    }

    fn write_superblock(&mut self) -> Res<(), D> {
        self.sb.seq += 1;
        self.sb.encode(&mut self.buf);
        let lba = (self.sb.seq % u64::from(SUPERBLOCK_BLOCKS)) as u32;
        self.dev.write_block(lba, &self.buf).map_err(BlockError::Device)?;
        self.dev.flush().map_err(BlockError::Device)?;
        self.dirty = false;
        Ok(())
    }

    /// Logical length of a file: the database's from the superblock, the
    /// WAL's its region's capacity.
    fn len(&self, kind: FileKind) -> u64 {
        match kind {
            FileKind::Database => self.sb.db_len,
            FileKind::Wal => WAL_HEADER_LEN as u64 + u64::from(self.wal_frames()) * self.frame_len(),
        }
    }

    fn frame_len(&self) -> u64 {
        (FRAME_HEADER_LEN as u32 + self.sb.page_size) as u64
    }

    /// Where byte `off` of a file lies: (block, offset in the block, bytes
    /// from there to the end of the block's slot, bytes of the block in use
    /// from its start: the rest is padding).
    fn place(&self, kind: FileKind, off: u64) -> (u32, usize, usize, usize) {
        match kind {
            FileKind::Database => {
                let b = (off / BLOCK as u64) as u32;
                let o = (off % BLOCK as u64) as usize;
                (self.sb.db_start + b, o, BLOCK - o, BLOCK)
            }
            FileKind::Wal if off < WAL_HEADER_LEN as u64 => {
                let o = off as usize;
                (self.sb.wal_start, o, WAL_HEADER_LEN - o, WAL_HEADER_LEN)
            }
            FileKind::Wal => {
                let fl = self.frame_len();
                let (f, r) = ((off - WAL_HEADER_LEN as u64) / fl, (off - WAL_HEADER_LEN as u64) % fl);
                let bpf = u64::from(blocks_per_frame(self.sb.page_size));
                let b = 1 + f * bpf + r / BLOCK as u64;
                let o = (r % BLOCK as u64) as usize;
                let used = (fl - (r - o as u64)).min(BLOCK as u64) as usize;
                (self.sb.wal_start + b as u32, o, used - o, used)
            }
        }
    }

    fn read_at(&mut self, kind: FileKind, offset: u64, out: &mut [u8]) -> Res<usize, D> {
        let len = self.len(kind);
        if offset >= len {
            return Ok(0);
        }
        let n = (out.len() as u64).min(len - offset) as usize;
        let mut done = 0;
        while done < n {
            let (lba, o, room, _) = self.place(kind, offset + done as u64);
            let k = room.min(n - done);
            let dst = &mut out[done..done + k];
            match <&mut [u8; BLOCK]>::try_from(&mut *dst) {
                Ok(whole) => self.dev.read_block(lba, whole).map_err(BlockError::Device)?,
                Err(_) => {
                    self.dev.read_block(lba, &mut self.buf).map_err(BlockError::Device)?;
                    dst.copy_from_slice(&self.buf[o..o + k]);
                }
            }
            done += k;
        }
        Ok(n)
    }

    /// Writes `a` then `b` contiguously at `offset` (a WAL frame's header
    /// and page in one pass: each block is written once).
    fn write_at(&mut self, kind: FileKind, offset: u64, a: &[u8], b: &[u8]) -> Res<(), D> {
        let cap = match kind {
            FileKind::Database => u64::from(self.sb.db_blocks) * BLOCK as u64,
            FileKind::Wal => self.len(kind),
        };
        let n = a.len() + b.len();
        let end = offset.checked_add(n as u64).filter(|&e| e <= cap).ok_or(BlockError::OutOfSpace)?;
        if kind == FileKind::Database && offset > self.sb.db_len {
            self.zero(kind, self.sb.db_len, offset)?;
        }
        let mut done = 0;
        while done < n {
            let at = offset + done as u64;
            let (lba, o, room, used) = self.place(kind, at);
            let k = room.min(n - done);
            self.put(kind, at, lba, o, used, Src::Pair(a, b, done), k)?;
            done += k;
        }
        if kind == FileKind::Database && end > self.sb.db_len {
            self.sb.db_len = end;
            self.dirty = true;
        }
        Ok(())
    }

    /// Writes `k` bytes of `src` at byte `o` of block `lba` (file offset
    /// `at`); the block's other bytes in use are read first unless the
    /// write covers them (bytes past the database's end count as zeros;
    /// WAL padding is zeroed).
    #[allow(clippy::too_many_arguments)]
    fn put(&mut self, kind: FileKind, at: u64, lba: u32, o: usize, used: usize, src: Src<'_>, k: usize) -> Res<(), D> {
        if let Some(whole) = src.whole_block(k) {
            return self.dev.write_block(lba, whole).map_err(BlockError::Device);
        }
        let block_start = at - o as u64;
        let live = match kind {
            FileKind::Database => self.sb.db_len.saturating_sub(block_start).min(BLOCK as u64) as usize,
            FileKind::Wal => used,
        };
        if (o == 0 && k >= live) || live == 0 {
            self.buf.fill(0);
        } else {
            self.dev.read_block(lba, &mut self.buf).map_err(BlockError::Device)?;
            self.buf[live.max(o + k)..].fill(0);
            if live < o {
                self.buf[live..o].fill(0);
            }
        }
        src.copy_to(&mut self.buf[o..o + k]);
        self.dev.write_block(lba, &self.buf).map_err(BlockError::Device)
    }

    /// Writes zeros over bytes `from..to` of a file.
    fn zero(&mut self, kind: FileKind, from: u64, to: u64) -> Res<(), D> {
        let mut at = from;
        while at < to {
            let (lba, o, room, used) = self.place(kind, at);
            let k = (room as u64).min(to - at) as usize;
            self.put(kind, at, lba, o, used, Src::Zeros, k)?;
            at += k as u64;
        }
        Ok(())
    }

    fn set_len(&mut self, kind: FileKind, new_len: u64) -> Res<(), D> {
        match kind {
            FileKind::Database => {
                if new_len > u64::from(self.sb.db_blocks) * BLOCK as u64 {
                    return Err(BlockError::OutOfSpace);
                }
                if new_len > self.sb.db_len {
                    self.zero(kind, self.sb.db_len, new_len)?;
                }
                if new_len != self.sb.db_len {
                    self.sb.db_len = new_len;
                    self.dirty = true;
                }
                Ok(())
            }
            // The WAL keeps its size; a truncation below the header erases
            // the header, which invalidates every frame.
            FileKind::Wal if new_len < WAL_HEADER_LEN as u64 => self.zero(kind, new_len, WAL_HEADER_LEN as u64),
            FileKind::Wal => Ok(()),
        }
    }

    fn sync(&mut self, kind: FileKind) -> Res<(), D> {
        self.dev.flush().map_err(BlockError::Device)?;
        if kind == FileKind::Database && self.dirty {
            self.write_superblock()?;
        }
        Ok(())
    }
}

/// The bytes a block write takes.
#[derive(Clone, Copy)]
enum Src<'a> {
    /// Zeros.
    Zeros,
    /// The concatenation of two slices, from byte `.2` on.
    Pair(&'a [u8], &'a [u8], usize),
}

impl Src<'_> {
    /// The next `k` bytes as one whole block, when they are 512 bytes of
    /// one slice (written without a copy).
    fn whole_block(&self, k: usize) -> Option<&[u8; BLOCK]> {
        let Src::Pair(a, b, from) = *self else { return None };
        let s = if from + k <= a.len() {
            a.get(from..from + k)?
        } else if from >= a.len() {
            b.get(from - a.len()..from - a.len() + k)?
        } else {
            return None;
        };
        s.try_into().ok()
    }

    /// Copies the next `dst.len()` bytes into `dst`.
    fn copy_to(&self, dst: &mut [u8]) {
        match *self {
            Src::Zeros => dst.fill(0),
            Src::Pair(a, b, from) => {
                let from_a = a.len().saturating_sub(from).min(dst.len());
                if from_a > 0 {
                    dst[..from_a].copy_from_slice(&a[from..from + from_a]);
                }
                let rest = dst.len() - from_a;
                if rest > 0 {
                    // Here `from + from_a` has reached the end of `a`.
                    let from_b = from + from_a - a.len();
                    dst[from_a..].copy_from_slice(&b[from_b..from_b + rest]);
                }
            }
        }
    }
}

/// One file of a [`Volume`] (the database or the WAL): a [`Storage`].
#[derive(Debug)]
pub struct BlockFile<'v, D> {
    vol: &'v RefCell<Volume<D>>,
    kind: FileKind,
}

impl<D: BlockDevice> ErrorType for BlockFile<'_, D> {
    type Error = BlockError<D::Error>;
}

impl<D: BlockDevice> BlockFile<'_, D> {
    fn with<T>(&self, f: impl FnOnce(&mut Volume<D>, FileKind) -> Res<T, D>) -> Res<T, D> {
        let mut v = self.vol.try_borrow_mut().map_err(|_| BlockError::Reentrant)?;
        f(&mut v, self.kind)
    }
}

impl<D: BlockDevice> Storage for BlockFile<'_, D> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.with(|v, k| v.read_at(k, offset, buf))
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), Self::Error> {
        self.with(|v, k| v.write_at(k, offset, buf, &[]))
    }
    fn write_at_pair(&mut self, offset: u64, a: &[u8], b: &[u8]) -> Result<(), Self::Error> {
        self.with(|v, k| v.write_at(k, offset, a, b))
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        self.with(|v, k| v.sync(k))
    }
    fn size(&mut self) -> Result<u64, Self::Error> {
        self.with(|v, k| Ok(v.len(k)))
    }
    fn set_len(&mut self, len: u64) -> Result<(), Self::Error> {
        self.with(|v, k| v.set_len(k, len))
    }
}

/// An `embedded_sdmmc::BlockDevice` (its `SdCard` over SPI, or any other
/// implementation) as a [`BlockDevice`] (feature `embedded-sdmmc`).
///
/// `flush` does nothing: embedded-sdmmc's `SdCard` returns from a write
/// once the card reports it done (its busy signal), and that crate's
/// trait has no flush. A block is copied through a 512-byte
/// `embedded_sdmmc::Block` on the stack for each read and write.
#[cfg(feature = "embedded-sdmmc")]
#[derive(Debug)]
pub struct Sdmmc<T>(pub T);

#[cfg(feature = "embedded-sdmmc")]
impl<T: embedded_sdmmc::BlockDevice> BlockDevice for Sdmmc<T> {
    type Error = T::Error;
    fn read_block(&mut self, lba: u32, buf: &mut [u8; BLOCK]) -> Result<(), T::Error> {
        let mut b = [embedded_sdmmc::Block::new()];
        self.0.read(&mut b, embedded_sdmmc::BlockIdx(lba))?;
        buf.copy_from_slice(&b[0].contents);
        Ok(())
    }
    fn write_block(&mut self, lba: u32, buf: &[u8; BLOCK]) -> Result<(), T::Error> {
        let mut b = [embedded_sdmmc::Block::new()];
        b[0].contents.copy_from_slice(buf);
        self.0.write(&b, embedded_sdmmc::BlockIdx(lba))
    }
    fn flush(&mut self) -> Result<(), T::Error> {
        Ok(())
    }
    fn block_count(&mut self) -> Result<u32, T::Error> {
        Ok(self.0.num_blocks()?.0)
    }
}
