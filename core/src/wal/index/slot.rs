//! The archive slot's words of the wal-index (words 59..64; the protocol
//! is in `crate::connection::archive` and `wal::protocol::try_restart`),
//! and the generation the last WAL restart retired (words 64..67), which
//! the first commit of the next generation records in page 1
//! ([`crate::format::PriorGeneration`]).

use super::Index;
use crate::sync::Ordering;

/// The archive slot (see [`crate::connection::archive`]): 0 none, else 1 +
/// frames of this generation shipped.
const W_ARCHIVE: usize = 59;
/// The archive slot's owner tag.
const W_ARCHIVE_TAG: usize = 60;
/// When the archiver last had every published commit shipped (clock ms).
const W_ARCHIVE_CAUGHT_UP: usize = 61;
/// The lag limit in frames (bits 0 to 30) and the back-pressure flag (bit 31).
const W_ARCHIVE_MAX_FRAMES: usize = 62;
/// The lag limit in milliseconds.
const W_ARCHIVE_MAX_MS: usize = 63;
/// The generation the last WAL restart retired: checkpoint sequence, last
/// commit frame, chain value (words 64, 65, 66; 0 since recovery).
#[cfg(feature = "lineage")]
const W_RETIRED: usize = 64;

impl Index<'_> {
    /// The archive slot word: 0 when there is no slot, else 1 + the frames
    /// of the current WAL generation the archiver has shipped.
    pub(crate) fn archive_hold(&self) -> u32 {
        // Acquire: pairs with the archiver's AcqRel exchange, so a restarter
        // that sees the archiver's progress also sees what came before it.
        self.f[W_ARCHIVE].load(Ordering::Acquire)
    }
    /// Compare-and-swap of the archive slot word (the archiver advancing
    /// or claiming it, a restart resetting it to 1, a drop to 0).
    pub(crate) fn cas_archive_hold(&self, old: u32, new: u32) -> bool {
        // AcqRel: the word orders the archiver's shipping against a
        // restarter's decision; one total order per word is all it needs.
        self.f[W_ARCHIVE]
            .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
    /// The archive slot's other words: owner tag, caught-up time, lag limit
    /// in frames with the back-pressure flag, lag limit in milliseconds.
    pub(crate) fn archive_words(&self) -> [u32; 4] {
        // Relaxed: descriptive words, each consistent on its own; the slot
        // word above carries the protocol.
        core::array::from_fn(|i| self.f[W_ARCHIVE_TAG + i].load(Ordering::Relaxed))
    }
    /// Sets the owner tag and the lag limits (the archiver, when it claims
    /// the slot).
    pub(crate) fn set_archive_words(&self, tag: u32, max_frames: u32, max_ms: u32) {
        // Relaxed: as archive_words().
        self.f[W_ARCHIVE_TAG].store(tag, Ordering::Relaxed);
        self.f[W_ARCHIVE_MAX_FRAMES].store(max_frames, Ordering::Relaxed);
        self.f[W_ARCHIVE_MAX_MS].store(max_ms, Ordering::Relaxed);
    }
    /// Records when the archiver last had every published commit shipped.
    pub(crate) fn set_archive_caught_up(&self, ms: u32) {
        // Relaxed: a time stamp for the lag figures and the time limit.
        self.f[W_ARCHIVE_CAUGHT_UP].store(ms, Ordering::Relaxed);
    }
    /// The generation the last WAL restart retired: `[checkpoint sequence,
    /// last commit frame, chain value]`, zeros when none did since the
    /// region was recovered.
    #[cfg(feature = "lineage")]
    pub(crate) fn retired(&self) -> [u32; 3] {
        // Relaxed: read under the write lock, after the header whose
        // Acquire load follows the restarter's Release publication, which
        // came after these stores (see set_retired).
        core::array::from_fn(|i| self.f[W_RETIRED + i].load(Ordering::Relaxed))
    }
    /// Records the generation a restart retires (`hdr`'s: the restarter
    /// holds the write lock and publishes the new header after this), or
    /// zeros (recovery).
    #[cfg(feature = "lineage")]
    pub(crate) fn set_retired(&self, words: [u32; 3]) {
        for (i, v) in words.iter().enumerate() {
            // Relaxed: published by the Release stores of the header
            // publication that follows.
            self.f[W_RETIRED + i].store(*v, Ordering::Relaxed);
        }
    }
}
