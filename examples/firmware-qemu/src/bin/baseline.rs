//! The harness without Walden: what `run.sh` subtracts from the
//! `firmware` binary's flash to get Walden's.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use walden_firmware_qemu::{finish, say, stack};

#[entry]
fn main() -> ! {
    stack::paint();
    say!("baseline: no Walden");
    say!("STACK baseline={}", stack::peak());
    finish(true)
}
