//! Fuzz target: an arbitrary database image and WAL image.
//!
//! Input: 4 bytes (little-endian length of the database image), the database
//! image, then the WAL image (`walden_testkit::fuzz::split_image_input`).
//! The harness (`walden_testkit::fuzz::open_image`) opens, reads every table
//! every way, verifies, writes, checkpoints and reopens; it panics only on
//! an engine bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use walden_testkit::fuzz::{open_image, split_image_input};

fuzz_target!(|data: &[u8]| {
    let (db, wal) = split_image_input(data);
    let _ = open_image(db, wal);
});
