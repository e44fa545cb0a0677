//! # walden-testkit
//!
//! The machinery of Walden's reliability suite (issue: power loss, I/O
//! faults and corrupt input), shared by the integration tests, the
//! cargo-fuzz targets in `fuzz/` and anyone who wants to run the same checks
//! against their own workloads.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blocks;
pub mod crash;
pub mod exec;
pub mod fuzz;
pub mod ioerr;
pub mod sim;
pub mod workload;

/// Generates the tests of a suite that runs every workload of
/// [`workload::catalogue`]: a module per workload with one `#[test]` per
/// `test_name => sync_mode` pair, each calling `run(workload_name, mode)`,
/// and a test that the list below is exactly the catalogue. `run` and the
/// modes' paths must be in scope at the call site.
///
/// ```text
/// walden_testkit::catalogue_tests!(run; full => SyncMode::Full, normal => SyncMode::Normal);
/// ```
#[macro_export]
macro_rules! catalogue_tests {
    ($run:ident; $($test:ident => $mode:expr),+ $(,)?) => {
        $crate::catalogue_tests!(@each $run; [$($test => $mode),+];
            single_puts, hot_key, spill, spill_abort, overflow, overflow_shrink, deletes_free_pages,
            delete_all_reinsert, several_tables, drop_table_overflow, checkpoint_passive, checkpoint_full,
            wal_restart, truncate_checkpoint, autocheckpoint, aborts_mixed, reopen_cycles, reverse_inserts,
            mixed_a, mixed_b, max_keys, no_op_commits, grow_shrink_truncate, group_commit, budgeted_checkpoints,
            time_budgeted_checkpoints);
    };
    (@each $run:ident; $modes:tt; $($name:ident),*) => {
        $( $crate::catalogue_tests!(@one $run; $name; $modes); )*

        #[test]
        fn every_workload_of_the_catalogue_has_tests() {
            let mut names: Vec<&str> = $crate::workload::catalogue().iter().map(|w| w.name).collect();
            let mut tested = vec![$(stringify!($name)),*];
            names.sort();
            tested.sort();
            assert_eq!(names, tested);
            assert!(names.len() >= 20);
        }
    };
    (@one $run:ident; $name:ident; [$($test:ident => $mode:expr),+]) => {
        mod $name {
            use super::*;
            $(
                #[test]
                fn $test() {
                    $run(stringify!($name), $mode)
                }
            )+
        }
    };
}
