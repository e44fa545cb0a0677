//! The simulated power-loss disk itself (`walden_testkit::sim`): pending
//! writes until a sync, what a crash does to them, crash points, injected
//! faults, determinism from the seed, and replay from a log.

use walden_core::storage::Storage;
use walden_core::FileKind::{Database as Db, Wal};
use walden_testkit::sim::{Crash, Fault, SimDisk, SimError, SimOp};

fn write(d: &SimDisk, off: u64, data: &[u8]) {
    d.file(Db).write_at(off, data).expect("write");
}

#[test]
fn writes_are_pending_until_a_sync_and_reads_see_them() {
    let d = SimDisk::new(1);
    write(&d, 0, &[1; 600]);
    let mut buf = [0u8; 600];
    assert_eq!(d.file(Db).read_at(0, &mut buf), Ok(600));
    assert_eq!(buf, [1; 600]);
    assert_eq!(d.durable(Db), Vec::<u8>::new());
    assert_eq!(d.pending(Db), 1);
    d.file(Db).sync().expect("sync");
    assert_eq!(d.durable(Db), vec![1; 600]);
    assert_eq!(d.pending(Db), 0);
    // A sync of one file does not make the other durable.
    d.file(Wal).write_at(0, &[2; 10]).expect("write");
    d.file(Db).sync().expect("sync");
    assert_eq!(d.pending(Wal), 1);
    assert_eq!(d.durable(Wal), Vec::<u8>::new());
}

#[test]
fn a_power_cut_keeps_drops_or_tears_each_pending_write_by_sector() {
    for sector in [512usize, 4096] {
        let (mut kept, mut dropped, mut torn, mut garbage) = (0, 0, 0, 0);
        let mut sector_kinds = [0u32; 4]; // new, old, zero, other
        for seed in 0..300u64 {
            let d = SimDisk::new(seed);
            write(&d, 0, &vec![0xAA; 2 * sector]);
            d.file(Db).sync().expect("sync");
            // Overwrites both sectors and extends the file by two more.
            write(&d, 0, &vec![0x55; 4 * sector]);
            let rep = d.crash(Crash::PowerLoss { sector });
            kept += rep.kept;
            dropped += rep.dropped;
            torn += rep.torn;
            garbage += rep.garbage_extensions;
            let img = d.contents(Db);
            assert_eq!(d.durable(Db), img, "the crash result is durable");
            assert!(
                img.len() == 2 * sector || img.len() == 3 * sector || img.len() == 4 * sector,
                "length {}",
                img.len()
            );
            for s in img.chunks(sector) {
                // Every sector is whole: new, old, zeros or random, never mixed.
                let k = if s.iter().all(|&b| b == 0x55) {
                    0
                } else if s.iter().all(|&b| b == 0xAA) {
                    1
                } else if s.iter().all(|&b| b == 0) {
                    2
                } else {
                    3
                };
                sector_kinds[k] += 1;
            }
            if rep.kept == 1 {
                assert_eq!(img, vec![0x55; 4 * sector]);
            }
            if rep.dropped == 1 && rep.garbage_extensions == 0 {
                assert_eq!(img, vec![0xAA; 2 * sector]);
            }
        }
        assert_eq!(kept + dropped + torn, 300);
        assert!(kept > 50 && dropped > 50 && torn > 50, "{kept} {dropped} {torn}");
        assert!(garbage > 10, "file extensions left with garbage: {garbage}");
        assert!(sector_kinds.iter().all(|&n| n > 20), "sector outcomes {sector_kinds:?}");
    }
}

#[test]
fn a_process_crash_keeps_completed_writes_and_tears_only_the_one_in_flight() {
    for seed in 0..50 {
        let d = SimDisk::new(seed);
        write(&d, 0, &[1; 1024]);
        write(&d, 1024, &[2; 1024]);
        d.crash_at(Some(d.ops() + 1));
        write(&d, 2048, &[3; 1024]);
        assert_eq!(d.file(Db).write_at(3072, &[4; 1024]), Err(SimError::PowerLost));
        assert!(!d.is_powered());
        assert_eq!(d.file(Db).sync(), Err(SimError::PowerLost), "nothing works after the crash point");
        let rep = d.crash(Crash::Process { sector: 512 });
        assert_eq!((rep.kept, rep.dropped, rep.torn), (3, 0, 1));
        let img = d.contents(Db);
        assert_eq!(&img[..3072], &[&[1u8; 1024][..], &[2; 1024], &[3; 1024]].concat()[..]);
        assert!(d.is_powered());
        d.file(Db).write_at(0, &[9]).expect("powered again");
    }
}

#[test]
fn the_same_seed_gives_the_same_crash_and_another_seed_another() {
    let run = |seed| {
        let d = SimDisk::new(seed);
        for i in 0..40u64 {
            write(&d, i * 700, &vec![i as u8; 700]);
            if i % 9 == 0 {
                d.file(Db).sync().expect("sync");
            }
        }
        d.crash(Crash::PowerLoss { sector: 512 });
        d.contents(Db)
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
    // A fork replays the parent's future exactly when given the same seed.
    let d = SimDisk::new(5);
    write(&d, 0, &[7; 5000]);
    let (a, b) = (d.fork(99), d.fork(99));
    a.crash(Crash::PowerLoss { sector: 4096 });
    b.crash(Crash::PowerLoss { sector: 4096 });
    assert_eq!(a.contents(Db), b.contents(Db));
    assert_eq!(d.pending(Db), 1, "forks are independent of their parent");
}

#[test]
fn injected_failures_fire_once_or_from_n_on_and_change_nothing() {
    let d = SimDisk::new(3);
    d.inject(Some(Fault::FailAt {
        call: 1,
        persistent: false,
    }));
    write(&d, 0, b"a");
    assert_eq!(d.file(Db).write_at(0, b"b"), Err(SimError::Injected));
    write(&d, 1, b"c");
    assert_eq!(d.contents(Db), b"ac");
    assert_eq!(d.faults_hit(), 1);
    d.inject(Some(Fault::FailAt { call: 1, persistent: true }));
    assert_eq!(d.file(Db).size(), Ok(2));
    assert_eq!(d.file(Db).size(), Err(SimError::Injected));
    assert_eq!(d.file(Wal).sync(), Err(SimError::Injected));
    assert_eq!(d.file(Db).read_at(0, &mut [0; 2]), Err(SimError::Injected));
    d.inject(None);
    assert_eq!(d.file(Db).size(), Ok(2));
}

#[test]
fn a_bit_flip_on_read_damages_the_data_returned_not_the_file() {
    let d = SimDisk::new(4);
    write(&d, 0, &[0u8; 512]);
    d.inject(Some(Fault::FlipOnRead { read: 1 }));
    let mut a = [0u8; 512];
    d.file(Db).read_at(0, &mut a).expect("read");
    assert_eq!(a, [0u8; 512], "read 0 is clean");
    d.file(Db).read_at(0, &mut a).expect("read");
    assert_eq!(a.iter().map(|b| b.count_ones()).sum::<u32>(), 1, "read 1 has one bit flipped");
    d.file(Db).read_at(0, &mut a).expect("read");
    assert_eq!(a, [0u8; 512]);
    assert_eq!(d.contents(Db), vec![0u8; 512]);
}

#[test]
fn a_misdirected_write_lands_elsewhere() {
    let d = SimDisk::new(5);
    write(&d, 0, &[1; 1024]);
    d.inject(Some(Fault::Misdirect { write: 0, delta: 512 }));
    write(&d, 0, &[2; 512]);
    let img = d.contents(Db);
    assert_eq!(&img[..512], &[1; 512][..], "the target keeps its old bytes");
    assert_eq!(&img[512..1024], &[2; 512][..], "the data went one sector further");
    assert_eq!(d.faults_hit(), 1);
}

#[test]
fn a_recorded_log_replays_to_the_same_files() {
    let d = SimDisk::new(6);
    d.record(true);
    write(&d, 0, &[1; 100]);
    d.file(Wal).write_at(0, &[2; 50]).expect("write");
    d.file(Wal).sync().expect("sync");
    d.file(Db).set_len(40).expect("set_len");
    let log = d.take_log();
    assert_eq!(log.len(), 4);
    assert_eq!(log[2], SimOp::Sync { file: Wal });
    let r = SimDisk::new(6);
    for op in &log {
        r.apply(op);
    }
    assert_eq!(r.ops(), d.ops());
    for f in [Db, Wal] {
        assert_eq!(r.contents(f), d.contents(f));
        assert_eq!(r.durable(f), d.durable(f));
        assert_eq!(r.pending(f), d.pending(f));
    }
    // `begin` leaves the operation in flight: a process crash tears it.
    let r2 = SimDisk::new(6);
    r2.begin(&SimOp::Write {
        file: Db,
        offset: 0,
        data: vec![3; 1024],
    });
    assert!(!r2.is_powered());
    let rep = r2.crash(Crash::Process { sector: 512 });
    assert_eq!(rep.torn, 1);
}
