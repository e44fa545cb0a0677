//! The wal-index header and the tip, and the two-copy protocol that
//! publishes them (as SQLite's `walIndexWriteHdr` and `walIndexTryHdr`):
//! copy 1 is written first, then copy 0; a reader takes a value only when
//! both copies are equal and whole.
//!
//! The **header** is what readers see: the last commit made durable (as
//! the sync mode says) and published. The **tip** is the last commit
//! appended to the WAL: with group commit a writer appends its commit,
//! sets the tip and releases the write lock before the WAL is synced, so
//! the next writer builds on the tip while readers still see the header;
//! whoever then syncs the WAL publishes the tip as the new header
//! (`protocol::flush_protocol`). The tip lies in the header's generation;
//! a restart sets both.

use crate::sync::{fence, AtomicU32, Ordering};

/// Words of one copy of the header.
pub(crate) const HDR_WORDS: usize = 12;
/// Words of one copy of the tip.
pub(crate) const TIP_WORDS: usize = 5;

/// The published state of the WAL: what a snapshot is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexHeader {
    /// Incremented by every commit and WAL restart.
    pub change: u32,
    /// Last committed frame (0: the WAL holds no committed frame).
    pub mx_frame: u32,
    /// Database size in pages at the last commit.
    pub n_pages: u32,
    /// Salt 1 of the current WAL generation.
    pub salt1: u32,
    /// Salt 2 of the current WAL generation.
    pub salt2: u32,
    /// Checkpoint sequence of the current WAL generation.
    pub ckpt_seq: u32,
    /// Checksum of the last committed frame (or of the WAL header when
    /// `mx_frame` is 0): the seed of the next frame's checksum.
    pub last_cksum: u32,
    /// Page size in bytes.
    pub page_size: u32,
    /// 1 when the WAL file's header matches this header's salts (so the
    /// writer must not rewrite it before frame 1).
    pub wal_header_valid: u32,
    /// The change counter of the last WAL restart's publication (0: none
    /// since recovery). A connection whose cache reflects the publication
    /// just before it (`restart_change - 1`) keeps its cache across the
    /// restart, which changes no page.
    pub restart_change: u32,
}

impl IndexHeader {
    pub(crate) fn to_words(self) -> [u32; HDR_WORDS] {
        let mut w = [
            self.change,
            self.mx_frame,
            self.n_pages,
            self.salt1,
            self.salt2,
            self.ckpt_seq,
            self.last_cksum,
            self.page_size,
            self.wal_header_valid,
            0x5741_4c48,
            self.restart_change,
            0,
        ];
        w[HDR_WORDS - 1] = words_checksum(&w[..HDR_WORDS - 1]);
        w
    }
    pub(crate) fn from_words(w: &[u32; HDR_WORDS]) -> Option<IndexHeader> {
        if w[9] != 0x5741_4c48 || w[HDR_WORDS - 1] != words_checksum(&w[..HDR_WORDS - 1]) {
            return None;
        }
        Some(IndexHeader {
            change: w[0],
            mx_frame: w[1],
            n_pages: w[2],
            salt1: w[3],
            salt2: w[4],
            ckpt_seq: w[5],
            last_cksum: w[6],
            page_size: w[7],
            wal_header_valid: w[8],
            restart_change: w[10],
        })
    }
}

fn words_checksum(w: &[u32]) -> u32 {
    let mut b = [0u8; 4 * HDR_WORDS];
    let mut n = 0;
    // Whole 4-byte arrays: plain stores, no slice copies (and no call to
    // memcpy under a frame that may be the deepest).
    for (c, x) in b.as_chunks_mut::<4>().0.iter_mut().zip(w) {
        *c = x.to_le_bytes();
        n += 4;
    }
    crate::checksum::crc32c(&[b.get(..n).unwrap_or(&[])])
}

impl IndexHeader {
    /// The header of the tip `t` in this header's generation: its commit,
    /// pages and chain value, with this header's salts and sequence.
    pub(crate) fn with_tip(self, t: Tip) -> IndexHeader {
        IndexHeader {
            change: t.change,
            mx_frame: t.mx_frame,
            n_pages: t.n_pages,
            last_cksum: t.last_cksum,
            wal_header_valid: if t.mx_frame > 0 { 1 } else { self.wal_header_valid },
            ..self
        }
    }
    /// The tip of this header.
    pub(crate) fn tip(&self) -> Tip {
        Tip {
            change: self.change,
            mx_frame: self.mx_frame,
            n_pages: self.n_pages,
            last_cksum: self.last_cksum,
        }
    }
    /// Whether this header is a later publication than `other` (change
    /// counters compared modulo 2^32).
    pub(crate) fn is_after(&self, other: &IndexHeader) -> bool {
        (self.change.wrapping_sub(other.change) as i32) > 0
    }
}

/// The last commit appended to the WAL (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tip {
    pub change: u32,
    pub mx_frame: u32,
    pub n_pages: u32,
    pub last_cksum: u32,
}

const TIP_MAGIC: u32 = 0x5741_4c54;

impl Tip {
    pub(crate) fn to_words(self) -> [u32; TIP_WORDS] {
        let mut w = [self.change, self.mx_frame, self.n_pages, self.last_cksum, 0];
        w[TIP_WORDS - 1] = words_checksum(&w[..TIP_WORDS - 1]) ^ TIP_MAGIC;
        w
    }
    pub(crate) fn from_words(w: &[u32; TIP_WORDS]) -> Option<Tip> {
        if w[TIP_WORDS - 1] != words_checksum(&w[..TIP_WORDS - 1]) ^ TIP_MAGIC {
            return None;
        }
        Some(Tip {
            change: w[0],
            mx_frame: w[1],
            n_pages: w[2],
            last_cksum: w[3],
        })
    }
}

/// Reads the two copies at `at` (copy 0, then copy 1): `Some` when equal.
#[inline]
pub(crate) fn read_two<const N: usize>(w: &[AtomicU32], at: usize) -> Option<[u32; N]> {
    let (c0, rest) = w.get(at..)?.split_first_chunk::<N>()?;
    let c1 = rest.first_chunk::<N>()?;
    let mut a = [0u32; N];
    for (x, v) in a.iter_mut().zip(c0) {
        // Acquire: pairs with the writer's Release stores of copy 0, so that
        // whatever the writer wrote before publishing (hash entries, frames)
        // is visible once this copy is.
        *x = v.load(Ordering::Acquire);
    }
    // Acquire fence: copy 1 is read after copy 0 (the writer writes them in
    // the opposite order).
    fence(Ordering::Acquire);
    // Copy 1 is compared word by word as it is read (no second array on
    // the stack); the first difference ends the read.
    for (x, v) in a.iter().zip(c1) {
        // Relaxed: ordered after copy 0 by the fence above.
        if v.load(Ordering::Relaxed) != *x {
            return None;
        }
    }
    Some(a)
}

/// Both copies at `at` as they are (for a repair by the lock holder, while
/// nothing is being written).
#[cfg(feature = "multi-process")]
pub(crate) fn copies<const N: usize>(w: &[AtomicU32], at: usize) -> ([u32; N], [u32; N]) {
    let (mut c0, mut c1) = ([0u32; N], [0u32; N]);
    // Past the region (never: the words are fixed ones): zeros, which no
    // copy's check word accepts.
    let Some((w0, rest)) = w.get(at..).and_then(|r| r.split_first_chunk::<N>()) else {
        return (c0, c1);
    };
    let Some(w1) = rest.first_chunk::<N>() else { return (c0, c1) };
    for (x, v) in c0.iter_mut().zip(w0).chain(c1.iter_mut().zip(w1)) {
        // Acquire: as read_two's copy 0.
        *x = v.load(Ordering::Acquire);
    }
    (c0, c1)
}

/// Writes `words` at `at`: copy 1, a fence, copy 0.
pub(crate) fn write_two<const N: usize>(w: &[AtomicU32], at: usize, words: &[u32; N]) {
    // The words are fixed ones of the region (never past it).
    let Some((w0, rest)) = w.get(at..).and_then(|r| r.split_first_chunk::<N>()) else {
        return;
    };
    let Some(w1) = rest.first_chunk::<N>() else { return };
    for (v, x) in w1.iter().zip(words) {
        // Relaxed: ordered before copy 0 by the Release fence below.
        v.store(*x, Ordering::Relaxed);
    }
    // Release fence: copy 1 is visible before any word of copy 0.
    fence(Ordering::Release);
    for (v, x) in w0.iter().zip(words) {
        // Release: everything written before publishing (hash entries)
        // happens-before a reader's Acquire load of this word.
        v.store(*x, Ordering::Release);
    }
}
