//! The one place the core takes its atomics from.
//!
//! Every atomic in the wal-index (header copies, read marks, locks, hash
//! slots) is a [`AtomicU32`] from this module, so that building with
//! `RUSTFLAGS="--cfg loom"` swaps them for `loom`'s model-checked atomics
//! without touching any other file (the pattern of tokio's `loom` facade).
//! Only 32-bit atomics are used: many microcontrollers (Cortex-M0/M3/M4)
//! have no 64-bit atomics.

#[cfg(loom)]
pub use loom::sync::atomic::{fence, AtomicU32, Ordering};

#[cfg(not(loom))]
pub use core::sync::atomic::{fence, AtomicU32, Ordering};

/// Called inside bounded retry loops (read-mark acquisition, lock spins):
/// a CPU spin hint normally, a yield point under loom so that the model
/// checker can schedule the other thread.
#[inline]
pub fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}
