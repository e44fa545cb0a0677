//! Fuzz target: bytes decoded into operations (puts, deletes, commits,
//! aborts, checkpoints, tables, cursors, snapshots, reopens, misuse) run
//! against a database in RAM and a model (`walden_testkit::fuzz::op_sequence`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use walden_testkit::fuzz::op_sequence;

fuzz_target!(|data: &[u8]| {
    let _ = op_sequence(data);
});
