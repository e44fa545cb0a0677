//! Fuzz target: arbitrary WAL bytes beside a valid database of known
//! history (`walden_testkit::fuzz::wal_beside_valid_db`): the visible state
//! must be the database's own, a committed prefix of its WAL, or (for frames
//! the fuzzer forged with valid checksums) the same as that WAL
//! checkpointed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use walden_testkit::fuzz::wal_beside_valid_db;

fuzz_target!(|data: &[u8]| {
    let _ = wal_beside_valid_db(data);
});
