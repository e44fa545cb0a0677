//! The block-device storage (`walden_core::blockdev`): a database and its
//! WAL in two regions of one device of 512-byte blocks, on the simulated
//! disk (`walden_testkit::blocks::SimBlocks`) and on an `embedded-sdmmc`
//! device.
//!
//! - the superblock: two copies, the newer valid one wins, a torn copy
//!   leaves the other, an unformatted device or an impossible layout is
//!   refused;
//! - crash-point enumeration, as `tests/crash_points.rs` does for files: a
//!   workload (overflow values, deletes, a named table, truncating and
//!   passive checkpoints, automatic checkpoints and WAL restarts) runs once
//!   while the disk logs every block write and flush; then for every one of
//!   them the disk is rebuilt with that operation in flight and crashed
//!   (power loss tearing 512- and 4,096-byte sectors, or a process crash),
//!   the volume mounted, the database opened and checked: integrity check
//!   clean, every acknowledged commit there under `Full`, a prefix of the
//!   commits under `Normal`, and the database writable again.
//!
//! Replay one failure: `WALDEN_CRASH_ONLY=<op>:<sample> cargo test --test
//! block_device <test>`.

use std::cell::RefCell;

use walden::engine::blockdev::{blocks_needed, blocks_per_frame, BlockDevice, BlockError, BlockFile, Volume, BLOCK};
use walden::engine::sync::AtomicU32;
use walden::engine::{cache_mem_len, region_words, verify, CheckpointMode, Connection, Error, Options, SyncMode};
use walden_testkit::blocks::SimBlocks;
use walden_testkit::crash::{sample_seed, Config};
use walden_testkit::sim::{Crash, SimDisk, SimOp};
use walden_testkit::workload::{read_state_in_txn, State};

const PS: u32 = 512;
const FRAMES: u32 = 64;
const DB_PAGES: u32 = 256;
const MARKS: u32 = 2;
const CACHE_PAGES: u32 = 4;

type Conn<'v, D> = Connection<BlockFile<'v, D>, Vec<AtomicU32>, Vec<u8>>;

fn device_blocks() -> u32 {
    blocks_needed(PS, FRAMES, DB_PAGES) as u32
}

fn options(sync: SyncMode) -> Options {
    Options {
        page_size: PS,
        sync,
        max_wal_frames: FRAMES,
        read_marks: MARKS,
        autocheckpoint_frames: 24,
        ..Options::default()
    }
}

fn open<D: BlockDevice>(vol: &RefCell<Volume<D>>, sync: SyncMode) -> Result<Conn<'_, D>, Error> {
    let (db, wal) = Volume::files(vol);
    let region = (0..region_words(FRAMES, MARKS)).map(|_| AtomicU32::new(0)).collect();
    Connection::open(db, wal, region, vec![0u8; cache_mem_len(PS, CACHE_PAGES)], options(sync))
}

fn formatted(seed: u64) -> SimDisk {
    let disk = SimDisk::new(seed);
    Volume::format(SimBlocks::new(&disk, device_blocks()), PS, FRAMES, DB_PAGES).expect("format");
    disk
}

#[test]
fn layout_and_superblock() {
    assert_eq!(blocks_per_frame(512), 2);
    assert_eq!(blocks_per_frame(4096), 9);
    assert_eq!(blocks_needed(512, 64, 256), 2 + 1 + 128 + 256);
    let disk = formatted(1);
    let dev = SimBlocks::new(&disk, device_blocks());
    let vol = Volume::mount(dev.clone()).expect("mount");
    assert_eq!((vol.page_size(), vol.wal_frames(), vol.db_pages()), (PS, FRAMES, DB_PAGES));
    let sb = vol.superblock();
    assert_eq!(
        (sb.wal_start, sb.wal_blocks, sb.db_start, sb.db_blocks, sb.db_len),
        (2, 129, 131, 256, 0)
    );

    // A database, checkpointed into its region: the superblock records the
    // database file's length, in the copy the older one was not in.
    let vol = RefCell::new(vol);
    {
        let mut c = open(&vol, SyncMode::Full).unwrap();
        c.begin_write().unwrap();
        let t = c.default_table().unwrap();
        for i in 0..50u32 {
            c.put(t, &i.to_be_bytes(), &[7u8; 40]).unwrap();
        }
        c.commit().unwrap();
        c.checkpoint(CheckpointMode::Truncate).unwrap();
    }
    let after = vol.borrow().superblock();
    assert!(after.db_len >= 4 * PS as u64 && after.db_len.is_multiple_of(PS as u64), "{after:?}");
    assert!(after.seq > sb.seq);
    assert_eq!(Volume::mount(dev.clone()).unwrap().superblock(), after);

    // The current copy damaged: mount falls back to the previous one, as
    // after a superblock write torn by a power cut (the sync that wrote it
    // had not returned, so the WAL still held the pages).
    let mut d = dev.clone();
    let cur = (after.seq % 2) as u32;
    d.write_block(cur, &[0xA5; BLOCK]).unwrap();
    let prev = Volume::mount(dev.clone()).unwrap().superblock();
    assert_eq!(prev.seq, after.seq - 1);
    // Both copies gone: not formatted.
    d.write_block(1 - cur, &[0; BLOCK]).unwrap();
    assert!(matches!(Volume::mount(dev.clone()), Err(BlockError::NotFormatted)));
    // A blank device; impossible layouts.
    let blank = SimDisk::new(2);
    assert!(matches!(Volume::mount(SimBlocks::new(&blank, 64)), Err(BlockError::NotFormatted)));
    for (ps, frames, pages, blocks) in [(1000, 4, 4, 64), (512, 0, 4, 64), (512, 8, 100, 64), (512, 40, 0, 64)] {
        assert!(
            matches!(
                Volume::format(SimBlocks::new(&blank, blocks), ps, frames, pages),
                Err(BlockError::BadGeometry)
            ),
            "{ps} {frames} {pages} {blocks}"
        );
    }
}

/// Each WAL frame owns whole blocks: the frame header of WAL frame `f`
/// sits at the start of block `wal_start + 1 + (f - 1) * 2` on the device.
#[test]
fn wal_frames_start_on_their_own_blocks() {
    let disk = formatted(3);
    let vol = RefCell::new(Volume::mount(SimBlocks::new(&disk, device_blocks())).unwrap());
    let mut c = open(&vol, SyncMode::Full).unwrap();
    for i in 0..5u32 {
        c.begin_write().unwrap();
        let t = c.default_table().unwrap();
        c.put(t, &i.to_be_bytes(), b"value").unwrap();
        c.commit().unwrap();
    }
    drop(c);
    let (_, mut wal) = Volume::files(&vol);
    let img = disk.contents(walden::engine::FileKind::Database);
    let sb = vol.borrow().superblock();
    use walden::engine::Storage;
    for f in 1..=5u64 {
        let mut hdr = [0u8; 24];
        wal.read_at(32 + (f - 1) * (24 + PS as u64), &mut hdr).unwrap();
        let at = (sb.wal_start as usize + 1 + (f as usize - 1) * 2) * BLOCK;
        assert_eq!(&img[at..at + 24], &hdr, "frame {f}");
        assert_ne!(hdr, [0u8; 24]);
    }
}

/// A state and when it was acknowledged.
struct Commit {
    /// Disk operations completed when `commit` returned.
    ops: u64,
    state: State,
}

fn put(state: &mut State, table: &[u8], k: &[u8], v: &[u8]) {
    state.entry(table.to_vec()).or_default().insert(k.to_vec(), v.to_vec());
}

/// The workload; returns the states of its commits in order (the first is
/// the new database's).
fn workload(disk: &SimDisk, sync: SyncMode) -> Vec<Commit> {
    let vol = RefCell::new(Volume::mount(SimBlocks::new(disk, device_blocks())).unwrap());
    let mut c = open(&vol, sync).unwrap();
    let mut state = State::from([(Vec::new(), Default::default())]);
    let mut out = vec![Commit {
        ops: disk.ops(),
        state: state.clone(),
    }];
    for i in 0..36u32 {
        c.begin_write().unwrap();
        let t = c.default_table().unwrap();
        let key = format!("reading-{:04}", i * 7 % 36);
        let len = if i % 6 == 5 { 1500 } else { 20 + i as usize };
        let value: Vec<u8> = (0..len).map(|j| (i as usize * 31 + j) as u8).collect();
        c.put(t, key.as_bytes(), &value).unwrap();
        put(&mut state, b"", key.as_bytes(), &value);
        if i % 5 == 4 {
            let old = format!("reading-{:04}", (i - 2) * 7 % 36);
            c.delete(t, old.as_bytes()).unwrap();
            state.get_mut(&Vec::new()).unwrap().remove(old.as_bytes());
        }
        if i == 10 {
            let n = c.create_table(b"events").unwrap();
            c.put(n, b"boot", b"1").unwrap();
            put(&mut state, b"events", b"boot", b"1");
        }
        c.commit().unwrap();
        out.push(Commit {
            ops: disk.ops(),
            state: state.clone(),
        });
        match i {
            14 => {
                c.checkpoint(CheckpointMode::Truncate).unwrap();
            }
            25 => {
                c.checkpoint(CheckpointMode::Passive).unwrap();
            }
            _ => {}
        }
    }
    out
}

/// Mounts, opens, checks and reads the crashed disk; then commits once
/// more and reads that back.
fn recover(disk: &SimDisk, sync: SyncMode) -> Result<State, String> {
    let vol = RefCell::new(Volume::mount(SimBlocks::new(disk, device_blocks())).map_err(|e| format!("mount: {e:?}"))?);
    let mut c = open(&vol, sync).map_err(|e| format!("open: {e}"))?;
    c.begin_read().map_err(|e| format!("begin_read: {e}"))?;
    let state = read_state_in_txn(&mut c).map_err(|e| format!("read: {e}"))?;
    let pages = c.header().map_err(|e| format!("header: {e}"))?.page_count;
    let mut bitmap = vec![0u8; verify::bitmap_len(pages)];
    let rep = c.verify(&mut bitmap).map_err(|e| format!("verify: {e}"))?;
    c.end_read();
    if !rep.is_ok() {
        return Err(format!("integrity check: {rep:?}"));
    }
    let again = (|| {
        c.begin_write()?;
        let t = c.default_table()?;
        c.put(t, b"after-recovery", b"ok")?;
        c.commit()?;
        c.begin_read()?;
        let t = c.default_table()?;
        let mut v = [0u8; 2];
        let n = c.get(t, b"after-recovery", &mut v)?;
        c.end_read();
        Ok::<_, Error>((n, v))
    })();
    match again {
        Ok((Some(2), v)) if &v == b"ok" => Ok(state),
        r => Err(format!("write after recovery: {r:?}")),
    }
}

fn crash_kind(sync: SyncMode, s: u32) -> Crash {
    match (sync, s % 3) {
        (SyncMode::Off, _) | (_, 2) => Crash::Process { sector: BLOCK },
        (_, 0) => Crash::PowerLoss { sector: BLOCK },
        _ => Crash::PowerLoss { sector: 4096 },
    }
}

fn enumerate(sync: SyncMode) {
    let cfg = Config {
        samples: 6,
        ..Config::default()
    };
    let only = std::env::var("WALDEN_CRASH_ONLY").ok().map(|v| {
        let (k, s) = v.split_once(':').expect("WALDEN_CRASH_ONLY=<op>:<sample>");
        (k.parse::<u64>().expect("op"), s.parse::<u32>().expect("sample"))
    });
    let start = formatted(cfg.seed);
    let disk = start.fork(cfg.seed);
    disk.record(true);
    let base_ops = disk.ops();
    let commits = workload(&disk, sync);
    let log = disk.take_log();
    let n = log.len() as u64;
    assert!(n > 150, "only {n} crash points");
    assert!(
        log.iter()
            .all(|op| !matches!(op, SimOp::Write { data, offset, .. } if data.len() != BLOCK || !offset.is_multiple_of(BLOCK as u64))),
        "every device write is one aligned block"
    );
    let replay = start.fork(cfg.seed);
    let (mut failures, mut crashes, mut torn) = (Vec::new(), 0u64, 0u64);
    for k in 0..=n {
        if only.is_none_or(|(ok, _)| ok == k) {
            let base = replay.fork(cfg.seed);
            if k < n {
                base.begin(&log[k as usize]);
            }
            for s in 0..cfg.samples {
                if only.is_some_and(|(_, os)| os != s) {
                    continue;
                }
                let seed = sample_seed(&cfg, k, s);
                let d = base.fork(seed);
                let rep = d.crash(crash_kind(sync, s));
                crashes += 1;
                torn += rep.torn as u64;
                let what = format!(
                    "{sync:?}: crash at op {k}/{n} ({:?}), sample {s} (seed {seed:#x}, {rep:?})",
                    log.get(k as usize).map(op_name)
                );
                let acked = commits.iter().rposition(|c| c.ops - base_ops <= k);
                match recover(&d, sync) {
                    Ok(state) => {
                        let lo = if sync == SyncMode::Normal { 0 } else { acked.unwrap_or(0) };
                        if !commits[lo..].iter().any(|c| c.state == state) {
                            failures.push(format!(
                                "{what}: recovered state is no commit from {lo} on (acknowledged: {acked:?}); {} tables, {} entries",
                                state.len(),
                                state.values().map(|m| m.len()).sum::<usize>()
                            ));
                        }
                    }
                    Err(e) => failures.push(format!("{what}: {e}")),
                }
            }
        }
        if k < n {
            replay.apply(&log[k as usize]);
        }
    }
    println!(
        "{sync:?}: {} crash points, {crashes} crashes, {torn} torn writes, {} commits",
        n + 1,
        commits.len()
    );
    assert!(only.is_some() || torn > 0, "no crash tore a write");
    assert!(
        failures.is_empty(),
        "{} failures, first 10:\n{}",
        failures.len(),
        failures.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}

fn op_name(op: &SimOp) -> String {
    match op {
        SimOp::Write { offset, .. } => format!("write block {}", offset / BLOCK as u64),
        SimOp::SetLen { len, .. } => format!("set_len {len}"),
        SimOp::Sync { .. } => "flush".into(),
    }
}

#[test]
fn crash_at_every_block_write_and_flush_full() {
    enumerate(SyncMode::Full);
}

#[test]
fn crash_at_every_block_write_and_flush_normal() {
    enumerate(SyncMode::Normal);
}

// ---------------------------------------------------------------------
// embedded-sdmmc's BlockDevice through the adapter.
// ---------------------------------------------------------------------

#[derive(Debug)]
struct RamCardError;
impl std::fmt::Display for RamCardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("block out of range")
    }
}
impl std::error::Error for RamCardError {}

/// An SD card in RAM, as embedded-sdmmc's trait sees one (`&self`).
struct RamCard(RefCell<Vec<[u8; BLOCK]>>);

impl embedded_sdmmc::BlockDevice for RamCard {
    type Error = RamCardError;
    fn read(&self, blocks: &mut [embedded_sdmmc::Block], start: embedded_sdmmc::BlockIdx) -> Result<(), RamCardError> {
        let card = self.0.borrow();
        for (i, b) in blocks.iter_mut().enumerate() {
            b.contents = *card.get(start.0 as usize + i).ok_or(RamCardError)?;
        }
        Ok(())
    }
    fn write(&self, blocks: &[embedded_sdmmc::Block], start: embedded_sdmmc::BlockIdx) -> Result<(), RamCardError> {
        let mut card = self.0.borrow_mut();
        for (i, b) in blocks.iter().enumerate() {
            *card.get_mut(start.0 as usize + i).ok_or(RamCardError)? = b.contents;
        }
        Ok(())
    }
    fn num_blocks(&self) -> Result<embedded_sdmmc::BlockCount, RamCardError> {
        Ok(embedded_sdmmc::BlockCount(self.0.borrow().len() as u32))
    }
}

#[test]
fn embedded_sdmmc_device_through_the_adapter() {
    use walden::engine::blockdev::Sdmmc;
    let card = RamCard(RefCell::new(vec![[0u8; BLOCK]; device_blocks() as usize]));
    let vol = RefCell::new(Volume::format(Sdmmc(card), PS, FRAMES, 0).unwrap());
    assert_eq!(vol.borrow().db_pages(), DB_PAGES);
    {
        let mut c = open(&vol, SyncMode::Full).unwrap();
        for i in 0..100u32 {
            c.begin_write().unwrap();
            let t = c.default_table().unwrap();
            c.put(t, &i.to_be_bytes(), &i.to_le_bytes()).unwrap();
            c.commit().unwrap();
        }
    }
    // Power cycle: only the card's blocks remain.
    let card = vol.into_inner().into_inner().0;
    let vol = RefCell::new(Volume::mount(Sdmmc(card)).unwrap());
    let mut c = open(&vol, SyncMode::Full).unwrap();
    assert!(c.stats().recovered_frames > 0);
    c.begin_read().unwrap();
    let t = c.default_table().unwrap();
    let mut v = [0u8; 4];
    for i in 0..100u32 {
        assert_eq!(c.get(t, &i.to_be_bytes(), &mut v).unwrap(), Some(4));
        assert_eq!(v, i.to_le_bytes());
    }
    // Out of the card: the adapter passes the card's error on.
    let mut d = Sdmmc(RamCard(RefCell::new(vec![[0u8; BLOCK]; 4])));
    assert!(d.read_block(9, &mut [0u8; BLOCK]).is_err());
}
