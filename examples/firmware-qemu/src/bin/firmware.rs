//! The firmware example's workload (`examples/firmware`: 8 cache pages,
//! 64 WAL frames, 4 read marks, 512-byte pages) on the emulated Cortex-M4:
//! 288 readings, one commit each, a checkpoint, a reading left in the WAL,
//! a reboot, recovery, a scan and a range query; then its peak stack and
//! RAM.
//!
//! This is the binary whose flash `run.sh` checks against the budget
//! (minus `baseline`): what the firmware example links. The smallest
//! configuration is the `minimal` binary; the integrity check and the
//! block-device storage are in `weather`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use static_cell::ConstStaticCell;
use walden_core::{cache_mem_len, region_words, Error};
use walden_firmware_example as fw;
use walden_firmware_qemu::{error_name, finish, say, stack};

const DB_BYTES: usize = 64 * 1024;
static DB: ConstStaticCell<[u8; DB_BYTES]> = ConstStaticCell::new([0; DB_BYTES]);
static WAL: ConstStaticCell<[u8; DB_BYTES]> = ConstStaticCell::new([0; DB_BYTES]);
static CACHE: ConstStaticCell<[u8; cache_mem_len(fw::PAGE_SIZE, fw::CACHE_PAGES)]> =
    ConstStaticCell::new([0; cache_mem_len(fw::PAGE_SIZE, fw::CACHE_PAGES)]);

#[entry]
fn main() -> ! {
    stack::paint();
    let r = fw::run(DB.take(), WAL.take(), CACHE.take());
    let fw_stack = stack::peak();
    report(r, fw_stack)
}

/// Prints the results and the figures, and exits: out of `main`, whose
/// frame is on the stack during the measured run (formatting needs room).
#[inline(never)]
fn report(r: Result<fw::Summary, Error>, fw_stack: usize) -> ! {
    let mut ok = true;
    match r {
        Ok(s) => {
            say!(
                "firmware: readings={} recovered_frames={} morning={} max={}.{:02} C",
                s.readings,
                s.recovered_frames,
                s.morning,
                s.max_centi_c / 100,
                s.max_centi_c % 100
            );
            ok &= s.readings == fw::READINGS + 1 && s.recovered_frames > 0 && s.morning == 72 && s.max_centi_c == 2400;
        }
        Err(e) => {
            say!("firmware: error: {}", error_name(&e));
            ok = false;
        }
    }
    let fw_static = 4 * region_words(fw::MAX_FRAMES, fw::READ_MARKS) + cache_mem_len(fw::PAGE_SIZE, fw::CACHE_PAGES);
    say!("STACK firmware={}", fw_stack);
    say!("RAM firmware static={} total={}", fw_static, fw_static + fw_stack);
    finish(ok)
}
