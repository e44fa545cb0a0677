//! The hash index of the wal-index: page number to WAL frame (the page
//! number of each frame, then linear-probing hash slots; the module
//! documentation of [`super`] has the layout and the protocol). Every word
//! is reached through `get`: the layout was checked when the view was made,
//! so no access falls outside the region, and none can panic.

use super::{Index, W_HWM};
use crate::error::{Error, Result};
use crate::sync::{AtomicU32, Ordering};

impl Index<'_> {
    #[inline]
    fn hash(&self, pgno: u32) -> u32 {
        pgno.wrapping_mul(383) & self.hash_mask
    }
    #[inline]
    fn pgno_word(&self, frame: u32) -> Option<&AtomicU32> {
        self.w.get(self.pgno_at + frame as usize)
    }
    #[inline]
    fn slot_word(&self, i: u32) -> Option<&AtomicU32> {
        self.w.get(self.hash_at + i as usize)
    }

    /// Records that `frame` holds `pgno`. Frames are inserted in increasing
    /// order by the write-lock holder. Error `Full` past the capacity.
    pub(crate) fn insert(&self, frame: u32, pgno: u32) -> Result<()> {
        let full = Error::Full {
            what: "wal-index frame capacity (max_wal_frames)",
        };
        let Some(p) = self.pgno_word(frame).filter(|_| frame != 0 && frame <= self.capacity) else {
            return Err(full);
        };
        // Relaxed: published by the Release store of the hash slot below.
        p.store(pgno, Ordering::Relaxed);
        // The high-water mark first: a writer killed before the slot store
        // leaves a mark that covers it, so the next writer's `truncate`
        // removes whatever it got to store.
        let hwm = &self.f[W_HWM];
        // Relaxed: only the write-lock holder uses the high-water mark.
        if hwm.load(Ordering::Relaxed) < frame {
            hwm.store(frame, Ordering::Relaxed);
        }
        let mut i = self.hash(pgno);
        loop {
            // The hash slots lie in the region (its layout was checked):
            // `None` never happens.
            let Some(slot) = self.slot_word(i) else { return Err(full) };
            // Relaxed: only the write-lock holder writes slots.
            if slot.load(Ordering::Relaxed) == 0 {
                // Release: the page number above is visible to a reader that
                // Acquire-loads this slot.
                slot.store(frame, Ordering::Release);
                break;
            }
            i = (i + 1) & self.hash_mask;
        }
        Ok(())
    }

    /// The newest frame at or below `max_frame` that holds `pgno`.
    pub(crate) fn lookup(&self, pgno: u32, max_frame: u32) -> Option<u32> {
        if max_frame == 0 {
            return None;
        }
        let mut best = 0;
        let mut i = self.hash(pgno);
        for _ in 0..=self.hash_mask {
            // Acquire: pairs with insert's Release, so the frame's page
            // number is visible.
            let f = self.slot_word(i).map_or(0, |w| w.load(Ordering::Acquire));
            if f == 0 {
                break;
            }
            // Relaxed: ordered by the Acquire load of the slot.
            if f <= max_frame && f > best && self.frame_pgno(f) == pgno {
                best = f;
            }
            i = (i + 1) & self.hash_mask;
        }
        (best != 0).then_some(best)
    }

    /// The page number stored for `frame`.
    #[inline]
    pub(crate) fn frame_pgno(&self, frame: u32) -> u32 {
        // Relaxed: callers only ask for frames at or below a published
        // header they Acquire-loaded.
        self.pgno_word(frame).map_or(0, |w| w.load(Ordering::Relaxed))
    }

    /// Removes every entry for frames above `keep`, newest first.
    pub(crate) fn truncate(&self, keep: u32) {
        let hwm = self.f[W_HWM].load(Ordering::Relaxed); // Relaxed: writer-only word.
        let mut f = hwm;
        while f > keep {
            let pgno = self.frame_pgno(f);
            let mut i = self.hash(pgno);
            for _ in 0..=self.hash_mask {
                let Some(slot) = self.slot_word(i) else { break };
                let v = slot.load(Ordering::Relaxed); // Relaxed: writer-only.
                if v == 0 {
                    break;
                }
                if v == f {
                    // Release: harmless; readers ignore frames above their
                    // snapshot, and removal keeps older probe paths intact.
                    slot.store(0, Ordering::Release);
                    break;
                }
                i = (i + 1) & self.hash_mask;
            }
            f -= 1;
        }
        if hwm > keep {
            self.f[W_HWM].store(keep, Ordering::Relaxed); // Relaxed: writer-only word.
        }
    }
}
