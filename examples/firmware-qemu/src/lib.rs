//! Walden on an emulated Cortex-M4 (QEMU `mps2-an386`): the harness the
//! three binaries share.
//!
//! - `baseline`: this harness alone (runtime, semihosting output, stack
//!   painting): the flash a firmware has without Walden;
//! - `firmware`: the firmware example's workload (`examples/firmware`),
//!   its peak stack and RAM: the binary whose flash is budgeted;
//! - `minimal`: the smallest configuration (4 cache pages, 16 frames, 2
//!   read marks), its peak stack and RAM;
//! - `weather`: the weather-station demo on a block device kept in a host
//!   file: `ingest` (killed mid-way by `run.sh`), then `check`.
//!
//! `run.sh` builds them, measures flash with `arm-none-eabi-size`, runs
//! them under `qemu-system-arm` and checks the budgets of
//! `docs/EMBEDDED.md`.
#![no_std]
#![deny(missing_docs)]

use walden_core::Error;

pub mod stack {
    //! Peak stack by painting: every word between the end of the static
    //! data and the current stack pointer is set to a pattern; the lowest
    //! word no longer holding it is the deepest the stack went.

    use core::ptr::{addr_of, read_volatile, write_volatile};

    const PAINT: u32 = 0x5741_4C44; // "WALD"
    /// Bytes left unpainted below the stack pointer of the caller of
    /// [`paint`] (the painting function's own frame).
    const MARGIN: usize = 256;

    extern "C" {
        // cortex-m-rt's link.x: the end of .bss/.data/.uninit, and the top
        // of the stack (the end of RAM).
        static __sheap: u32;
        static _stack_start: u32;
    }

    fn bottom() -> usize {
        addr_of!(__sheap) as usize
    }

    /// The top of the stack (its first byte past the end).
    pub fn top() -> usize {
        addr_of!(_stack_start) as usize
    }

    /// Paints the free stack below the caller's frame.
    #[inline(never)]
    pub fn paint() {
        let sp = cortex_m::register::msp::read() as usize;
        let mut p = bottom();
        while p + MARGIN < sp {
            // SAFETY: `p` is word-aligned (`__sheap` is 4-aligned) and lies
            // between the end of the static data and MARGIN bytes below the
            // live stack pointer: memory no live object occupies (this
            // function's frame is above it, nothing lives on a heap).
            unsafe { write_volatile(p as *mut u32, PAINT) };
            p += 4;
        }
    }

    /// Bytes of stack used at the deepest point since [`paint`], counted
    /// from the top of the stack (so `main`'s frame and the runtime's are
    /// included).
    pub fn peak() -> usize {
        let mut p = bottom();
        // SAFETY: reads words of RAM from the end of the static data up to
        // the top of the stack, all mapped, word-aligned memory; a read of
        // memory a live frame owns only observes it.
        while p < top() && unsafe { read_volatile(p as *const u32) } == PAINT {
            p += 4;
        }
        top() - p
    }
}

/// Prints a line on the host's standard output (semihosting).
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => { semihosting::println!($($t)*) };
}

/// A short name for an error (its `Display` would link every message).
pub fn error_name(e: &Error) -> &'static str {
    match e {
        Error::Busy => "Busy",
        Error::Corrupt { .. } => "Corrupt",
        Error::Io { .. } => "Io",
        Error::Full { .. } => "Full",
        Error::InvalidArgument(_) => "InvalidArgument",
        _ => "other",
    }
}

/// Exits QEMU with status 0 (`ok`) or 1: the result of the run.
pub fn finish(ok: bool) -> ! {
    say!("RESULT {}", if ok { "OK" } else { "FAILED" });
    semihosting::process::exit(if ok { 0 } else { 1 })
}
