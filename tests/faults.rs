//! Device faults of the simulated disk that checksums must catch
//! (`walden_testkit::sim::Fault`): a bit flipped in the data a read returns,
//! and a write that lands at the wrong offset. The rule for both: the
//! engine returns a `Corrupt` error or the integrity check reports the
//! damage, or the data is right; never wrong data that passes every check.

use walden_core::{CheckpointMode, Error, SyncMode};
use walden_testkit::exec::{recover, run, History, Outcome};
use walden_testkit::sim::{Fault, SimDisk};
use walden_testkit::workload::{catalogue, open, options, read_state, verify, Workload, PAGE_SIZE};

fn workload(name: &str) -> Workload {
    catalogue().into_iter().find(|w| w.name == name).expect("workload in the catalogue")
}

fn completed(w: &Workload) -> (SimDisk, History) {
    let disk = SimDisk::new(7);
    let (h, out) = run(w, &disk, SyncMode::Full);
    assert_eq!(out, Outcome::Completed, "{}", w.name);
    (disk, h)
}

/// Every read after recovery, in turn, returns one flipped bit: the read
/// transaction fails with `Corrupt` or returns exactly the committed state,
/// and a checkpoint never copies a flipped page into the database file.
#[test]
fn bit_flips_on_read_are_detected() {
    let (mut cases, mut detected) = (0u64, 0u64);
    for name in ["overflow", "mixed_a", "several_tables", "spill"] {
        let w = workload(name);
        let (disk, h) = completed(&w);
        let want = h.states.last().expect("a state").clone();
        // Reads one full pass needs, with no fault.
        let mut c = open(&disk, w.cache_pages, options(&w, SyncMode::Full)).expect("open");
        disk.inject(Some(Fault::FailAt {
            call: u64::MAX,
            persistent: false,
        }));
        assert_eq!(read_state(&mut c).expect("read"), want);
        let reads = disk.calls();
        drop(c);
        assert!(reads > 5, "{name}: {reads} reads");
        for r in 0..reads {
            let d = disk.fork(r);
            // A fresh connection (its cache empty), then the fault.
            let mut c = open(&d, w.cache_pages, options(&w, SyncMode::Full)).expect("open");
            d.inject(Some(Fault::FlipOnRead { read: r }));
            cases += 1;
            match read_state(&mut c) {
                Ok(s) => assert_eq!(s, want, "{name}: flip on read {r}: wrong data"),
                Err(Error::Corrupt { .. }) => detected += 1,
                Err(e) => panic!("{name}: flip on read {r}: {e}, want Corrupt or the data"),
            }
            drop(c);
            // The same flip under a checkpoint: copied pages are checked
            // first, so the database file never receives the flipped page.
            let d = disk.fork(r);
            let mut c = open(&d, w.cache_pages, options(&w, SyncMode::Full)).expect("open");
            d.inject(Some(Fault::FlipOnRead { read: r }));
            match c.checkpoint(CheckpointMode::Truncate) {
                Ok(_) | Err(Error::Corrupt { .. }) | Err(Error::Busy) => {}
                Err(e) => panic!("{name}: flip on read {r} in a checkpoint: {e}"),
            }
            drop(c);
            d.inject(None);
            assert_eq!(
                recover(&d, &w, SyncMode::Full).as_ref(),
                Ok(&want),
                "{name}: after a checkpoint with a flip on read {r}"
            );
        }
    }
    println!("bit flips on read: {cases} cases, {detected} detected as Corrupt, the rest read correct data");
    assert!(detected > cases / 2, "{detected} of {cases}");
}

/// Every write of a workload, in turn, lands one page or one frame away
/// from its target. After a reopen, the state is a committed one, or the
/// open, the reads or the integrity check report the damage.
#[test]
fn misdirected_writes_are_detected() {
    let frame = (24 + PAGE_SIZE) as i64;
    let (mut cases, mut harmless, mut reported) = (0u64, 0u64, 0u64);
    for name in ["checkpoint_full", "truncate_checkpoint", "overflow", "mixed_a", "autocheckpoint"] {
        let w = workload(name);
        let (disk, h) = completed(&w);
        let writes = disk.ops();
        for n in 0..writes {
            for delta in [PAGE_SIZE as i64, -(PAGE_SIZE as i64), frame, -frame] {
                let d = SimDisk::new(7);
                d.inject(Some(Fault::Misdirect { write: n, delta }));
                let (_, _) = run(&w, &d, SyncMode::Full);
                if d.faults_hit() == 0 {
                    continue;
                }
                d.inject(None);
                cases += 1;
                let Ok(mut c) = open(&d, w.cache_pages, options(&w, SyncMode::Full)) else {
                    reported += 1;
                    continue;
                };
                let state = read_state(&mut c);
                let check = verify(&mut c);
                match (state, check) {
                    (Ok(s), Ok(_)) => {
                        assert!(
                            h.states.contains(&s),
                            "{name}: write {n} misdirected by {delta}: wrong data passed every check"
                        );
                        harmless += 1;
                    }
                    _ => reported += 1,
                }
            }
        }
    }
    println!("misdirected writes: {cases} cases, {harmless} left a committed state, {reported} reported");
    assert!(cases > 500 && reported > 0, "{cases} cases, {reported} reported");
}
