//! Power cuts at every storage operation.
//!
//! A workload (transactions that spill, aborts, overflow values, checkpoints
//! of every mode, automatic checkpoints) runs on a storage that logs every
//! write, truncation and sync. Then, for each point of the log, the files
//! are rebuilt as a crash there would leave them, in two models:
//!
//! - *prefix*: every operation before the crash reached the disk;
//! - *lost unsynced*: for each file, everything after its last sync is
//!   lost (what a power cut may do to writes still in the OS cache).
//!
//! Recovery must open the files, pass the integrity check, and show
//! exactly the state of one commit: in the prefix model at least every
//! commit acknowledged before the crash (whatever the sync mode: nothing
//! was lost); in the lost-unsynced model with `SyncMode::Full` the same;
//! with `SyncMode::Normal` some commit, consistently.

use std::cell::RefCell;
use std::collections::BTreeMap;

use walden_core::storage::Storage;
use walden_core::sync::AtomicU32;
use walden_core::{cache_mem_len, region_words, CheckpointMode, Connection, Cursor, Options, RamStorage, SharedStorage, SyncMode};

#[derive(Debug, Clone)]
enum Rec {
    Write(usize, u64, Vec<u8>),
    SetLen(usize, u64),
    Sync(usize),
}

#[derive(Default)]
struct Log {
    files: [Vec<u8>; 2],
    ops: Vec<Rec>,
}

fn apply(files: &mut [Vec<u8>; 2], r: &Rec) {
    match r {
        Rec::Write(f, off, data) => {
            let (f, off) = (*f, *off as usize);
            if files[f].len() < off + data.len() {
                files[f].resize(off + data.len(), 0);
            }
            files[f][off..off + data.len()].copy_from_slice(data);
        }
        Rec::SetLen(f, len) => files[*f].resize(*len as usize, 0),
        Rec::Sync(_) => {}
    }
}

/// File `f` (0 database, 1 WAL) of a logged pair.
struct Logged<'a> {
    log: &'a RefCell<Log>,
    f: usize,
}

impl embedded_io::ErrorType for Logged<'_> {
    type Error = embedded_io::ErrorKind;
}

impl Storage for Logged<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let l = self.log.borrow();
        let file = &l.files[self.f];
        let off = offset as usize;
        if off >= file.len() {
            return Ok(0);
        }
        let n = buf.len().min(file.len() - off);
        buf[..n].copy_from_slice(&file[off..off + n]);
        Ok(n)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), Self::Error> {
        let mut l = self.log.borrow_mut();
        let r = Rec::Write(self.f, offset, data.to_vec());
        apply(&mut l.files, &r);
        l.ops.push(r);
        Ok(())
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        self.log.borrow_mut().ops.push(Rec::Sync(self.f));
        Ok(())
    }
    fn size(&mut self) -> Result<u64, Self::Error> {
        Ok(self.log.borrow().files[self.f].len() as u64)
    }
    fn set_len(&mut self, len: u64) -> Result<(), Self::Error> {
        let mut l = self.log.borrow_mut();
        let r = Rec::SetLen(self.f, len);
        apply(&mut l.files, &r);
        l.ops.push(r);
        Ok(())
    }
}

const FRAMES: u32 = 2048;
const PS: u32 = 512;

fn region() -> Vec<AtomicU32> {
    (0..region_words(FRAMES, 4)).map(|_| AtomicU32::new(0)).collect()
}

fn opts(sync: SyncMode) -> Options {
    Options {
        page_size: PS,
        sync,
        autocheckpoint_frames: 40,
        max_wal_frames: FRAMES,
        read_marks: 4,
        ..Options::default()
    }
}

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// The workload's history: the state after each commit, and where in the
/// log each commit started and was acknowledged.
struct History {
    log: Log,
    /// `states[0]` is the empty database; `states[j]` after commit j.
    states: Vec<Map>,
    /// Log length when commit j (1-based) was called / returned.
    started: Vec<usize>,
    acked: Vec<usize>,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn run_workload(seed: u64, sync: SyncMode, txns: u32) -> History {
    let log = RefCell::new(Log::default());
    let reg = region();
    let mut rng = Rng(seed);
    let mut states = vec![Map::new()];
    let (mut started, mut acked) = (vec![0], vec![0]);
    {
        let mut c = Connection::open(
            Logged { log: &log, f: 0 },
            Logged { log: &log, f: 1 },
            &reg[..],
            vec![0u8; cache_mem_len(PS, 4)],
            opts(sync),
        )
        .unwrap();
        let mut cur = Map::new();
        for t in 0..txns {
            c.begin_write().unwrap();
            let table = c.default_table().unwrap();
            let mut next = cur.clone();
            for _ in 0..1 + rng.below(25) {
                let k = format!("k{:03}", rng.below(90)).into_bytes();
                if rng.below(4) == 0 {
                    c.delete(table, &k).unwrap();
                    next.remove(&k);
                } else {
                    let len = match rng.below(10) {
                        0 => 600 + rng.below(2500) as usize,
                        _ => rng.below(120) as usize,
                    };
                    let v: Vec<u8> = (0..len).map(|i| (i as u64 + t as u64 * 7) as u8).collect();
                    c.put(table, &k, &v).unwrap();
                    next.insert(k, v);
                }
            }
            if rng.below(8) == 0 {
                c.abort();
            } else {
                started.push(log.borrow().ops.len());
                let lsn = c.commit().unwrap();
                if lsn.is_some() || next != cur {
                    cur = next;
                    states.push(cur.clone());
                    acked.push(log.borrow().ops.len());
                } else {
                    started.pop();
                }
            }
            match rng.below(12) {
                0 => drop(c.checkpoint(CheckpointMode::Passive)),
                1 => drop(c.checkpoint(CheckpointMode::Full)),
                2 => drop(c.checkpoint(CheckpointMode::Restart)),
                3 => drop(c.checkpoint(CheckpointMode::Truncate)),
                _ => {}
            }
        }
    }
    History {
        log: log.into_inner(),
        states,
        started,
        acked,
    }
}

/// Opens the files, checks integrity, and returns the default table.
fn recover(db: &[u8], wal: &[u8], sync: SyncMode) -> Result<Map, String> {
    let mk = |b: &[u8]| {
        let mut v = b.to_vec();
        let len = v.len();
        v.resize(len + (64 << 10), 0);
        RefCell::new(RamStorage::with_len(v, len))
    };
    let (dbs, wals) = (mk(db), mk(wal));
    let reg = region();
    let mut c = Connection::open(
        SharedStorage(&dbs),
        SharedStorage(&wals),
        &reg[..],
        vec![0u8; cache_mem_len(PS, 8)],
        opts(sync),
    )
    .map_err(|e| format!("open: {e}"))?;
    c.begin_read().map_err(|e| e.to_string())?;
    let pages = c.header().map_err(|e| e.to_string())?.page_count;
    let mut bitmap = vec![0u8; walden_core::verify::bitmap_len(pages)];
    let rep = c.verify(&mut bitmap).map_err(|e| format!("verify: {e}"))?;
    if !rep.is_ok() {
        return Err(format!("integrity: {rep:?}"));
    }
    let t = c.default_table().map_err(|e| e.to_string())?;
    let mut m = Map::new();
    let mut cur = Cursor::new();
    let mut ok = c.cursor_first(&mut cur, t).map_err(|e| e.to_string())?;
    while ok {
        let k = cur.key().unwrap().to_vec();
        let n = c.cursor_value_len(&cur).map_err(|e| e.to_string())?;
        let mut v = vec![0u8; n];
        c.cursor_value(&cur, 0, &mut v).map_err(|e| e.to_string())?;
        m.insert(k, v);
        ok = c.cursor_next(&mut cur).map_err(|e| e.to_string())?;
    }
    if rep.entries != m.len() as u64 {
        return Err(format!("verify counted {} entries, scan {}", rep.entries, m.len()));
    }
    Ok(m)
}

fn crash_everywhere(seed: u64, sync: SyncMode, txns: u32) {
    let h = run_workload(seed, sync, txns);
    let n = h.log.ops.len();
    assert!(h.states.len() > txns as usize / 2, "commits: {}", h.states.len());
    assert!(n > 200, "log of {n} operations");
    let mut failures = Vec::new();
    let mut prefix: [Vec<u8>; 2] = Default::default();
    // Each file's content at its last sync, and what recovery makes of that
    // pair (it changes only at a sync).
    let mut synced: [Vec<u8>; 2] = Default::default();
    let mut synced_result: Option<Result<Map, String>> = None;
    let describe = |k: usize| match h.log.ops.get(k.wrapping_sub(1)) {
        Some(Rec::Write(f, o, d)) => format!("after write f{f} @{o} +{}", d.len()),
        Some(Rec::SetLen(f, l)) => format!("after set_len f{f} {l}"),
        Some(Rec::Sync(f)) => format!("after sync f{f}"),
        None => "before any operation".into(),
    };
    let mut check = |model: &str, k: usize, r: &Result<Map, String>, floor: usize, started: usize| match r {
        Ok(m) => match h.states.iter().position(|s| s == m) {
            Some(j) if j >= floor && j <= started.max(floor) => {}
            Some(j) => failures.push(format!(
                "{model} crash at op {k}/{n} ({}): state of commit {j}, want {floor}..={started}",
                describe(k)
            )),
            None => failures.push(format!(
                "{model} crash at op {k}/{n} ({}): state of no commit ({} keys)",
                describe(k),
                m.len()
            )),
        },
        Err(e) => failures.push(format!("{model} crash at op {k}/{n} ({}): {e}", describe(k))),
    };
    for k in 0..=n {
        if k > 0 {
            let r = &h.log.ops[k - 1];
            apply(&mut prefix, r);
            if let Rec::Sync(f) = r {
                synced[*f] = prefix[*f].clone();
                synced_result = None;
            }
        }
        let acked = h.acked[1..].iter().filter(|&&a| a <= k).count();
        let started = h.started[1..].iter().filter(|&&s| s < k).count();
        check("prefix", k, &recover(&prefix[0], &prefix[1], sync), acked, started);
        // A torn write: of a WAL write that spans several 512-byte sectors,
        // only the first sector, or only the later ones, reached the disk.
        if let Some(Rec::Write(1, off, data)) = h.log.ops.get(k) {
            let cut = (512 - (*off as usize % 512)) % 512;
            if cut > 0 && cut < data.len() {
                for (name, part) in [
                    ("torn (first sector)", Rec::Write(1, *off, data[..cut].to_vec())),
                    ("torn (later sectors)", Rec::Write(1, off + cut as u64, data[cut..].to_vec())),
                ] {
                    let mut files = prefix.clone();
                    apply(&mut files, &part);
                    check(name, k + 1, &recover(&files[0], &files[1], sync), acked, started + 1);
                }
            }
        }
        if sync != SyncMode::Off {
            let r = synced_result.get_or_insert_with(|| recover(&synced[0], &synced[1], sync));
            let floor = if sync == SyncMode::Full { acked } else { 0 };
            let r = r.clone();
            check("lost unsynced", k, &r, floor, started);
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed} {sync:?}: {} failures:\n{}",
        failures.len(),
        failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn crash_at_every_operation_sync_full() {
    crash_everywhere(0x9E37_79B9_7F4A_7C15, SyncMode::Full, 24);
}

#[test]
fn crash_at_every_operation_sync_normal() {
    crash_everywhere(0xD1B5_4A32_D192_ED03, SyncMode::Normal, 24);
}

#[test]
fn crash_at_every_operation_sync_off_prefix() {
    crash_everywhere(0x2545_F491_4F6C_DD1D, SyncMode::Off, 24);
}
