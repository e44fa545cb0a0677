//! I/O-error injection over the workloads of `walden_testkit::workload`
//! (SQLite's method): fail the Nth I/O call, once and from N on, for every
//! N until the workload runs untouched. See `walden_testkit::ioerr` for the
//! checks, docs/RELIABILITY.md for the figures.

use walden_core::SyncMode;
use walden_testkit::ioerr::campaign;
use walden_testkit::workload::catalogue;

fn run(name: &str, sync: SyncMode) {
    let w = catalogue().into_iter().find(|w| w.name == name).expect("workload in the catalogue");
    match campaign(&w, sync, 0x10E_5EED) {
        Ok(s) => {
            println!("{name} {sync:?}: {s:?}");
            assert!(s.calls > 20, "{name}: only {} I/O calls", s.calls);
            // Every call failed once and persistently: at least one run each.
            assert!(s.runs >= 2 * s.calls, "{name}: {s:?}");
            assert!(s.injected >= s.runs);
        }
        Err(f) => panic!(
            "{} failures, first 10:\n{}",
            f.len(),
            f.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
        ),
    }
}

walden_testkit::catalogue_tests!(run; full => SyncMode::Full, normal => SyncMode::Normal);
