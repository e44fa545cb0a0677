//! Bad input: damaged database and WAL files, invalid options, oversized
//! keys, writes where they are not allowed. The engine must return an error
//! (or, for damage in the WAL, the committed prefix), never panic, and never
//! return wrong data.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use walden::engine::format::{frame_offset, seal_page, FRAME_HEADER_LEN};
use walden::{CheckpointMode, Database, Error, Options, SyncMode};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;
/// Table name ("" = default table) -> content.
type State = BTreeMap<String, Map>;

const PS: u32 = 512;

fn opts() -> Options {
    Options {
        page_size: PS,
        cache_pages: 8,
        sync: SyncMode::Off,
        autocheckpoint_frames: 0,
        ..Options::default()
    }
}

fn wal_of(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

fn val(i: u32, gen: u32) -> Vec<u8> {
    let len = match i % 10 {
        0 => 3000, // overflow chain
        1 => 0,
        _ => 10 + (i as usize * 7) % 90,
    };
    (0..len).map(|j| (i as usize * 13 + j + gen as usize * 101) as u8).collect()
}

/// Applies commit `gen` to the database and to `state`.
fn apply(db: &Database, state: &mut State, gen: u32) {
    let w = db.begin_write().unwrap();
    for i in 0..60u32 {
        let i = (i * 7 + gen * 13) % 150;
        let (name, k) = (["", "alpha", "beta"][(i % 3) as usize], format!("key{i:04}"));
        let v = val(i, gen);
        if name.is_empty() {
            w.put(k.as_bytes(), &v).unwrap();
        } else {
            w.table(name).unwrap().put(k.as_bytes(), &v).unwrap();
        }
        state.entry(name.to_string()).or_default().insert(k.into_bytes(), v);
    }
    // Some deletes too.
    for i in (gen % 5..150).step_by(11) {
        let (name, k) = (["", "alpha", "beta"][(i % 3) as usize], format!("key{i:04}"));
        if let Some(m) = state.get_mut(name) {
            if m.remove(k.as_bytes()).is_some() {
                let t = if name.is_empty() { w.default_table() } else { w.open_table(name) };
                assert!(t.unwrap().delete(k.as_bytes()).unwrap());
            }
        }
    }
    w.commit().unwrap();
}

/// Checks every read against `want`: an error is acceptable, wrong data is
/// not. With `exact`, errors are not acceptable either.
fn verify(db: &Database, want: &State, exact: bool) -> Result<(), String> {
    let r = match db.begin_read() {
        Ok(r) => r,
        Err(_) if !exact => return Ok(()),
        Err(e) => return Err(format!("begin_read: {e}")),
    };
    for (name, m) in want {
        let t = if name.is_empty() { r.default_table() } else { r.table(name) };
        let t = match t {
            Ok(t) => t,
            Err(Error::NotFound { .. }) => return Err(format!("table {name:?} not found")),
            Err(e) if !exact => {
                let _ = e;
                continue;
            }
            Err(e) => return Err(format!("table {name:?}: {e}")),
        };
        // Point reads of present and absent keys.
        for i in 0..155u32 {
            let k = format!("key{i:04}").into_bytes();
            match t.get(&k) {
                Ok(v) if v.as_ref() == m.get(&k) => {}
                Ok(v) => {
                    return Err(format!(
                        "table {name:?} key {i}: got {:?} bytes, want {:?}",
                        v.map(|v| v.len()),
                        m.get(&k).map(|v| v.len())
                    ))
                }
                Err(e) if exact => return Err(format!("get: {e}")),
                Err(_) => {}
            }
        }
        // Scans: the items before an error are a prefix (suffix) of the
        // content.
        let fwd: Vec<_> = m.iter().collect();
        for (dir, expect) in [(true, fwd.clone()), (false, fwd.iter().rev().copied().collect::<Vec<_>>())] {
            let it = match t.iter() {
                Ok(it) => it,
                Err(e) if exact => return Err(format!("iter: {e}")),
                Err(_) => continue,
            };
            let items: Box<dyn Iterator<Item = _>> = if dir { Box::new(it) } else { Box::new(it.rev()) };
            let mut n = 0;
            for item in items {
                match item {
                    Ok((k, v)) => {
                        match expect.get(n) {
                            Some((ek, ev)) if **ek == k && **ev == v => {}
                            _ => {
                                return Err(format!(
                                    "table {name:?} scan (fwd {dir}) item {n}: wrong entry (key {:?})",
                                    String::from_utf8_lossy(&k)
                                ))
                            }
                        }
                        n += 1;
                    }
                    Err(e) if exact => return Err(format!("scan: {e}")),
                    Err(_) => break,
                }
            }
            if exact && n != expect.len() {
                return Err(format!("table {name:?} scan (fwd {dir}): {n} entries, want {}", expect.len()));
            }
        }
    }
    if exact {
        let mut names = r.list_tables().map_err(|e| e.to_string())?;
        names.insert(0, String::new());
        let want_names: Vec<String> = want.keys().cloned().collect();
        if names != want_names {
            return Err(format!("tables {names:?}, want {want_names:?}"));
        }
    }
    Ok(())
}

/// Then exercises writes and checkpoints on the damaged database: errors are
/// fine, panics are not (the caller catches them).
fn exercise_writes(db: &Database) {
    if let Ok(w) = db.begin_write() {
        for i in 0..20u32 {
            let _ = w.put(format!("key{:04}", i * 7).as_bytes(), val(i, 99));
            let _ = w.delete(format!("key{:04}", i * 5).as_bytes());
        }
        if let Ok(t) = w.table("alpha") {
            let _ = t.put(b"key0001", [1; 2000]);
            let _ = t.delete(b"key0003");
        }
        let _ = w.drop_table("beta");
        let _ = w.commit();
    }
    let _ = db.checkpoint(CheckpointMode::Passive);
    let _ = db.checkpoint(CheckpointMode::Restart);
    if let Ok(r) = db.begin_read() {
        if let Ok(t) = r.default_table() {
            if let Ok(it) = t.iter() {
                for e in it {
                    if e.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

/// Reads every table to the end (or the first error), checking nothing
/// but the absence of panics.
fn read_everything(db: &Database) {
    let Ok(r) = db.begin_read() else { return };
    let mut names = r.list_tables().unwrap_or_default();
    names.insert(0, String::new());
    for name in names {
        let t = if name.is_empty() { r.default_table() } else { r.table(&name) };
        let Ok(t) = t else { continue };
        if let Ok(it) = t.iter() {
            for e in it.rev() {
                let Ok((k, _)) = e else { break };
                let _ = t.get(&k);
            }
        }
    }
}

/// The files of a database plus the state after each commit.
struct Fixture {
    db: Vec<u8>,
    wal: Vec<u8>,
    /// `states[i]` is the content after the first `i` commits.
    states: Vec<State>,
    /// Commit frame numbers of the WAL, in order, and the number of
    /// commits already in the database file.
    commit_frames: Vec<u32>,
    in_db: usize,
}

fn empty_state() -> State {
    State::from([(String::new(), Map::new())])
}

/// `n` commits; the first `checkpointed` are copied into the database file
/// and the WAL restarted; the rest stay in the WAL only.
fn fixture(n: u32, checkpointed: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.db");
    let db = Database::open(&p, opts()).unwrap();
    let mut states = vec![empty_state()];
    let mut st = empty_state();
    for g in 0..n {
        apply(&db, &mut st, g);
        states.push(st.clone());
        if g + 1 == checkpointed {
            db.checkpoint(CheckpointMode::Truncate).unwrap();
        }
    }
    verify(&db, &st, true).unwrap();
    drop(db);
    let wal = std::fs::read(wal_of(&p)).unwrap();
    let mut commit_frames = Vec::new();
    let mut f = 1;
    while frame_offset(f, PS) + FRAME_HEADER_LEN as u64 + PS as u64 <= wal.len() as u64 {
        let off = frame_offset(f, PS) as usize;
        if u32::from_le_bytes(wal[off + 4..off + 8].try_into().unwrap()) > 0 {
            commit_frames.push(f);
        }
        f += 1;
    }
    assert_eq!(commit_frames.len() as u32, n - checkpointed);
    Fixture {
        db: std::fs::read(&p).unwrap(),
        wal,
        states,
        commit_frames,
        in_db: checkpointed as usize,
    }
}

impl Fixture {
    /// The state recovery must reach when the WAL differs from the original
    /// first at byte `first_diff` (None: no difference).
    fn expected(&self, first_diff: Option<usize>) -> &State {
        let Some(d) = first_diff else { return self.states.last().unwrap() };
        if d < 32 {
            return &self.states[self.in_db];
        }
        let whole = self
            .commit_frames
            .iter()
            .filter(|&&f| (frame_offset(f, PS) + FRAME_HEADER_LEN as u64 + PS as u64) as usize <= d)
            .count();
        &self.states[self.in_db + whole]
    }
}

/// Opens a copy of (`db`, `wal`) inside `catch_unwind`, runs `check`, then
/// the write exercise; returns a description of a panic, if any.
fn run_case(db: &[u8], wal: &[u8], check: impl FnOnce(walden::Result<Database>) -> Result<(), String>) -> Result<(), String> {
    // Writes, checkpoints and a reopen on every third case (they cost more
    // than the reads).
    let writes = CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(3);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.db");
    std::fs::write(&p, db).unwrap();
    std::fs::write(wal_of(&p), wal).unwrap();
    IN_CASE.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(|| {
        let d = Database::open(&p, opts());
        let d2 = d.as_ref().ok().cloned();
        check(d)?;
        if let (Some(d), true) = (d2, writes) {
            exercise_writes(&d);
            drop(d);
            // Reopening after all that must not panic either.
            if let Ok(d) = Database::open(&p, opts()) {
                read_everything(&d);
            }
        }
        Ok(())
    }));
    IN_CASE.with(|c| c.set(false));
    match r {
        Ok(r) => r,
        Err(p) => Err(format!(
            "PANIC: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// Cases run (by every test of this file).
static CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    static IN_CASE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Silences the panic message of a panic inside a case (it is reported by
/// the test instead); other panics print as usual.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CASE.with(|c| c.get()) {
                default(info);
            }
        }));
    });
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Offsets spread over `len` bytes, plus header, first-slot and checksum
/// bytes of every page (two per page, rotating over the kinds).
fn offsets(len: usize, step: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..len).step_by(step).collect();
    for (i, p) in (0..len).step_by(PS as usize).enumerate() {
        let kinds = [
            [0, PS as usize - 1],
            [2, 12],
            [1, PS as usize - 4],
            [4, 13],
            [8, 3],
            [14, PS as usize - 2],
        ];
        v.extend(kinds[i % kinds.len()].iter().map(|o| p + o));
    }
    v.retain(|&o| o < len);
    v.sort_unstable();
    v.dedup();
    v
}

// ---------------------------------------------------------------------
// Database file damage
// ---------------------------------------------------------------------

#[test]
fn bit_flipped_database_file() {
    quiet_panics();
    let fx = fixture(4, 4); // everything in the database file, WAL empty
    assert!(fx.wal.is_empty());
    let want = fx.states.last().unwrap();
    let mut failures = Vec::new();
    for (n, off) in offsets(fx.db.len(), 307).into_iter().enumerate() {
        {
            let bit = [0u8, 5, 7][n % 3];
            let mut db = fx.db.clone();
            db[off] ^= 1 << bit;
            if let Err(e) = run_case(&db, &[], |d| match d {
                Ok(d) => verify(&d, want, false),
                Err(_) => Ok(()),
            }) {
                failures.push(format!("db byte {off} bit {bit}: {e}"));
            }
        }
    }
    report(failures);
}

#[test]
fn truncated_database_file() {
    quiet_panics();
    let fx = fixture(4, 4);
    let want = fx.states.last().unwrap();
    let mut failures = Vec::new();
    let mut lens: Vec<usize> = (0..fx.db.len())
        .step_by(PS as usize)
        .flat_map(|p| [p, p + 1, p + 48, p + PS as usize - 1])
        .collect();
    lens.extend([1, 8, 16, 44, 47, 100]);
    lens.retain(|&l| l < fx.db.len());
    lens.sort_unstable();
    lens.dedup();
    for len in lens {
        if let Err(e) = run_case(&fx.db[..len], &[], |d| match d {
            Ok(d) => {
                // An empty file is a new database; anything else is damaged.
                if len == 0 {
                    verify(&d, &empty_state(), true)
                } else {
                    verify(&d, want, false)
                }
            }
            Err(_) => Ok(()),
        }) {
            failures.push(format!("db truncated to {len}: {e}"));
        }
    }
    report(failures);
}

#[test]
fn zeroed_sectors_in_database_file() {
    quiet_panics();
    let fx = fixture(4, 4);
    let want = fx.states.last().unwrap();
    let mut failures = Vec::new();
    for s in 0..fx.db.len() / 512 {
        let mut db = fx.db.clone();
        db[s * 512..(s + 1) * 512].fill(0);
        if let Err(e) = run_case(&db, &[], |d| match d {
            Ok(d) => verify(&d, want, false),
            Err(_) => Ok(()),
        }) {
            failures.push(format!("db sector {s} zeroed: {e}"));
        }
    }
    // The whole file zeroed.
    let db = vec![0u8; fx.db.len()];
    if let Err(e) = run_case(&db, &[], |d| match d {
        Ok(d) => verify(&d, want, false),
        Err(_) => Ok(()),
    }) {
        failures.push(format!("db all zeros: {e}"));
    }
    report(failures);
}

/// Damage that passes the page checksum (the byte is changed and the page
/// resealed), as a crafted file or a bug elsewhere would produce: the B+tree
/// code must still not panic. Wrong data cannot be detected here, so only
/// panics count.
#[test]
fn crafted_pages_with_valid_checksums() {
    quiet_panics();
    let fx = fixture(4, 4);
    let mut failures = Vec::new();
    let pages = fx.db.len() / PS as usize;
    let mut n = 0usize;
    for pg in (2..=pages).filter(|p| *p < 8 || p % 7 == 0) {
        let base = (pg - 1) * PS as usize;
        // Header bytes, the first slots, and a spread of cell bytes.
        let mut offs: Vec<usize> = vec![0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 14, 15];
        offs.extend((16..PS as usize - 4).step_by(97));
        for off in offs {
            n += 1;
            {
                let x = [0x01u8, 0x80, 0xFF][n % 3];
                let mut db = fx.db.clone();
                db[base + off] ^= x;
                seal_page(pg as u32, &mut db[base..base + PS as usize]);
                if let Err(e) = run_case(&db, &[], |d| {
                    if let Ok(d) = d {
                        let _ = verify(&d, fx.states.last().unwrap(), false);
                    }
                    Ok(())
                }) {
                    failures.push(format!("page {pg} byte {off} ^ {x:#x}: {e}"));
                }
            }
        }
    }
    report(failures);
}

// ---------------------------------------------------------------------
// WAL damage: always the committed prefix, exactly
// ---------------------------------------------------------------------

impl Fixture {
    /// Frames worth damaging: the first ones, each commit frame and its
    /// neighbours, and a sample of the rest.
    fn frames_of_interest(&self) -> Vec<u32> {
        let total = ((self.wal.len() - 32) / (FRAME_HEADER_LEN + PS as usize)) as u32;
        let mut v: Vec<u32> = vec![1, 2, 3];
        for &c in &self.commit_frames {
            v.extend([c - 1, c, c + 1]);
        }
        v.extend((1..=total).step_by(23));
        v.retain(|&f| f >= 1 && f <= total);
        v.sort_unstable();
        v.dedup();
        v
    }
}

fn wal_case(fx: &Fixture, wal: &[u8]) -> Result<(), String> {
    let first_diff = wal
        .iter()
        .zip(&fx.wal)
        .position(|(a, b)| a != b)
        .or((wal.len() < fx.wal.len()).then_some(wal.len()));
    let want = fx.expected(first_diff);
    run_case(&fx.db, wal, |d| match d {
        Ok(d) => verify(&d, want, true),
        Err(e) => Err(format!("open failed: {e}")),
    })
}

#[test]
fn bit_flipped_wal() {
    quiet_panics();
    let fx = fixture(6, 2);
    let mut failures = Vec::new();
    let mut offs: Vec<usize> = (0..32).collect();
    for f in fx.frames_of_interest() {
        let o = frame_offset(f, PS) as usize;
        offs.extend([
            o,
            o + 3,
            o + 4,
            o + 7,
            o + 8,
            o + 12,
            o + 16,
            o + 20,
            o + 23,
            o + 24,
            o + 100,
            o + FRAME_HEADER_LEN + PS as usize - 1,
        ]);
    }
    offs.retain(|&o| o < fx.wal.len());
    offs.sort_unstable();
    offs.dedup();
    for off in offs {
        let mut wal = fx.wal.clone();
        wal[off] ^= 0x10;
        if let Err(e) = wal_case(&fx, &wal) {
            failures.push(format!("WAL byte {off} flipped: {e}"));
        }
    }
    report(failures);
}

#[test]
fn truncated_wal() {
    quiet_panics();
    let fx = fixture(6, 2);
    let mut failures = Vec::new();
    let fsz = FRAME_HEADER_LEN + PS as usize;
    let mut lens: Vec<usize> = vec![0, 1, 31, 32, 33, fx.wal.len()];
    for f in fx.frames_of_interest() {
        let o = frame_offset(f, PS) as usize;
        lens.extend([o, o + 1, o + 24, o + fsz / 2, o + fsz - 1, o + fsz]);
    }
    lens.retain(|&l| l <= fx.wal.len());
    lens.sort_unstable();
    lens.dedup();
    for len in lens {
        if let Err(e) = wal_case(&fx, &fx.wal[..len]) {
            failures.push(format!("WAL truncated to {len}: {e}"));
        }
    }
    report(failures);
}

#[test]
fn zeroed_sectors_in_wal() {
    quiet_panics();
    let fx = fixture(6, 2);
    let mut failures = Vec::new();
    for s in (0..fx.wal.len().div_ceil(512)).filter(|s| s % 3 == 0) {
        let mut wal = fx.wal.clone();
        let end = ((s + 1) * 512).min(wal.len());
        wal[s * 512..end].fill(0);
        if let Err(e) = wal_case(&fx, &wal) {
            failures.push(format!("WAL sector {s} zeroed: {e}"));
        }
    }
    let wal = vec![0u8; fx.wal.len()];
    if let Err(e) = wal_case(&fx, &wal) {
        failures.push(format!("WAL all zeros: {e}"));
    }
    report(failures);
}

/// A WAL whose header page size differs from the database's is ignored.
#[test]
fn wal_of_another_page_size_is_ignored() {
    let fx = fixture(3, 1);
    let mut wal = fx.wal.clone();
    wal[8..12].copy_from_slice(&1024u32.to_le_bytes());
    let c = walden::engine::format::crc32c(&[&wal[..28]]);
    wal[28..32].copy_from_slice(&c.to_le_bytes());
    run_case(&fx.db, &wal, |d| verify(&d.map_err(|e| e.to_string())?, &fx.states[1], true)).unwrap();
}

/// A database of format version 1 (before the database id) is refused with
/// `UnsupportedVersion { found: 1 }`, not taken for damage.
#[test]
fn a_version_1_database_is_unsupported_not_corrupt() {
    let fx = fixture(2, 2);
    let mut db = fx.db.clone();
    db[8..12].copy_from_slice(&1u32.to_le_bytes());
    db[52..56].fill(0);
    let c = walden::engine::format::crc32c(&[&db[..48]]);
    db[48..52].copy_from_slice(&c.to_le_bytes());
    seal_page(1, &mut db[..PS as usize]);
    run_case(&db, &[], |d| match d {
        Err(Error::UnsupportedVersion { found: 1, .. }) => Ok(()),
        other => Err(format!("a version 1 database gave {other:?}")),
    })
    .unwrap();
}

/// The WAL of another database beside a database (swapped `-wal` files):
/// the open fails with `Corrupt` naming the WAL instead of replaying a mix
/// of both, and either database opens with its own WAL. (Beside an empty
/// database file, a WAL is the whole database: there is nothing to mix.)
#[test]
fn the_wal_of_another_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    for (p, n) in [(&a, 30u32), (&b, 20)] {
        // Half checkpointed into the database file, half in the WAL.
        let d = Database::open(p, opts()).unwrap();
        for half in 0..2 {
            let w = d.begin_write().unwrap();
            for i in half * n / 2..(half + 1) * n / 2 {
                w.put(format!("{}{i:03}", p.file_stem().unwrap().to_str().unwrap()).as_bytes(), b"v")
                    .unwrap();
            }
            w.commit().unwrap();
            if half == 0 {
                d.checkpoint(CheckpointMode::Truncate).unwrap();
            }
        }
    }
    let (wa, wb) = (std::fs::read(wal_of(&a)).unwrap(), std::fs::read(wal_of(&b)).unwrap());
    for (db, wal) in [(&a, &wb), (&b, &wa)] {
        let db_bytes = std::fs::read(db).unwrap();
        run_case(&db_bytes, wal, |d| match d {
            Err(Error::Corrupt { ref path, reason, .. })
                if path.to_string_lossy().ends_with("-wal") && reason.contains("another database") =>
            {
                Ok(())
            }
            Err(e) => Err(format!("a swapped WAL gave {e}")),
            Ok(d) => Err(format!(
                "a swapped WAL was accepted ({} keys)",
                d.begin_read().unwrap().default_table().unwrap().len().unwrap()
            )),
        })
        .unwrap();
    }
    for (p, n) in [(&a, 30usize), (&b, 20)] {
        let d = Database::open(p, opts()).unwrap();
        assert_eq!(d.begin_read().unwrap().default_table().unwrap().len().unwrap(), n as u64);
    }
}

/// Frames that reference pages far beyond the database size, with valid
/// checksums: recovery accepts them (they are well formed) but reads and
/// checkpoints must not panic.
#[test]
fn garbage_database_file_of_wrong_kind() {
    quiet_panics();
    let mut failures = Vec::new();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("text", b"hello, this is not a database file at all\n".repeat(40)),
        ("sqlite header", {
            let mut v = b"SQLite format 3\0".to_vec();
            v.resize(4096, 0);
            v
        }),
        ("walden magic only", {
            let mut v = b"WALDENDB".to_vec();
            v.resize(512, 0xFF);
            v
        }),
    ];
    for (name, db) in cases {
        if let Err(e) = run_case(&db, &[], |d| match d {
            Ok(_) => Err("opened a file that is not a database".into()),
            Err(Error::Corrupt { .. }) => Ok(()),
            Err(e) => Err(format!("unexpected error {e:?}")),
        }) {
            failures.push(format!("{name}: {e}"));
        }
    }
    report(failures);
}

// ---------------------------------------------------------------------
// Invalid arguments and misuse
// ---------------------------------------------------------------------

#[test]
fn invalid_options_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("o.db");
    let bad = [
        Options {
            page_size: 1000,
            ..Options::default()
        },
        Options {
            page_size: 256,
            ..Options::default()
        },
        Options {
            page_size: 131_072,
            ..Options::default()
        },
        Options {
            page_size: 0,
            ..Options::default()
        },
        Options {
            cache_pages: 1,
            ..Options::default()
        },
        Options {
            cache_pages: 0,
            ..Options::default()
        },
        Options {
            cache_pages: 3,
            ..Options::default()
        },
        Options {
            read_marks: 1,
            ..Options::default()
        },
        Options {
            read_marks: 0,
            ..Options::default()
        },
        Options {
            read_marks: 65,
            ..Options::default()
        },
        Options {
            read_marks: 100,
            ..Options::default()
        },
    ];
    for o in bad {
        let r = Database::open(&p, o.clone());
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{o:?}: {r:?}");
        assert!(!p.exists(), "a rejected open must not create the file ({o:?})");
    }
    // The limits themselves are fine.
    for o in [
        Options {
            page_size: 512,
            cache_pages: 4,
            read_marks: 2,
            ..Options::default()
        },
        Options {
            page_size: 65_536,
            cache_pages: 4,
            read_marks: 64,
            ..Options::default()
        },
    ] {
        let _ = std::fs::remove_file(&p);
        let _ = std::fs::remove_file(wal_of(&p));
        let db = Database::open(&p, o.clone()).unwrap();
        assert_eq!(db.page_size(), o.page_size);
        let w = db.begin_write().unwrap();
        w.put(b"k", b"v").unwrap();
        w.commit().unwrap();
    }
}

#[test]
fn core_invalid_options_are_rejected() {
    use std::cell::RefCell;
    use walden::engine::sync::AtomicU32;
    use walden::engine::{cache_mem_len, region_words, Connection, Options as CoreOptions, RamStorage, SharedStorage};
    let db = RefCell::new(RamStorage::new(vec![0u8; 1 << 20]));
    let wal = RefCell::new(RamStorage::new(vec![0u8; 1 << 20]));
    let region: Vec<AtomicU32> = (0..region_words(1024, 64)).map(|_| AtomicU32::new(0)).collect();
    for o in [
        CoreOptions {
            page_size: 1000,
            ..CoreOptions::default()
        },
        CoreOptions {
            page_size: 256,
            ..CoreOptions::default()
        },
        CoreOptions {
            page_size: 131_072,
            ..CoreOptions::default()
        },
        CoreOptions {
            read_marks: 1,
            max_wal_frames: 1024,
            ..CoreOptions::default()
        },
        CoreOptions {
            read_marks: 100,
            max_wal_frames: 1024,
            ..CoreOptions::default()
        },
        CoreOptions {
            max_wal_frames: 15,
            ..CoreOptions::default()
        },
        CoreOptions {
            max_wal_frames: 2048,
            ..CoreOptions::default()
        }, // region too small
        CoreOptions {
            create: false,
            max_wal_frames: 1024,
            ..CoreOptions::default()
        }, // empty storage
    ] {
        let r = Connection::open(
            SharedStorage(&db),
            SharedStorage(&wal),
            &region[..],
            vec![0u8; cache_mem_len(65_536, 8)],
            o,
        );
        assert!(matches!(r, Err(walden::engine::Error::InvalidArgument(_))), "{o:?}: {:?}", r.err());
        assert!(
            region.iter().all(|w| w.load(std::sync::atomic::Ordering::Relaxed) == 0),
            "rejected open initialised the region"
        );
        assert_eq!(db.borrow().contents().len(), 0, "rejected open wrote the database");
    }
}

#[test]
fn oversized_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for ps in [512u32, 4096, 16384] {
        let p = dir.path().join(format!("k{ps}.db"));
        let db = Database::open(
            &p,
            Options {
                page_size: ps,
                ..Options::default()
            },
        )
        .unwrap();
        let max = db.max_key_len();
        assert_eq!(max, walden::engine::max_key_len(ps));
        if ps == 4096 {
            assert_eq!(max, 1347);
        }
        if ps == 512 {
            assert_eq!(max, 152);
        }
        if ps == 16384 {
            assert_eq!(max, walden::engine::MAX_KEY_CAP);
        }
        let ok = vec![b'k'; max];
        let long = vec![b'k'; max + 1];
        let w = db.begin_write().unwrap();
        assert!(matches!(w.put(&long, b"v"), Err(Error::KeyTooLong { .. })));
        assert!(matches!(w.get(&long), Err(Error::KeyTooLong { .. })));
        assert!(matches!(w.delete(&long), Err(Error::KeyTooLong { .. })));
        let t = w.table("t").unwrap();
        assert!(matches!(t.put(&long, b"v"), Err(Error::KeyTooLong { .. })));
        assert!(matches!(t.range(&long[..]..).unwrap().next(), Some(Err(Error::InvalidArgument(_)))));
        // A rejected key does not fail the transaction.
        w.put(&ok, b"max").unwrap();
        t.put(&ok, vec![7; 10_000]).unwrap();
        assert!(matches!(
            w.table(std::str::from_utf8(&vec![b'n'; max + 1]).unwrap()),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(w.table(""), Err(Error::InvalidArgument(_))));
        w.commit().unwrap();
        let r = db.begin_read().unwrap();
        assert_eq!(r.get(&ok).unwrap().as_deref(), Some(&b"max"[..]));
        assert!(matches!(r.get(&long), Err(Error::KeyTooLong { .. })));
        assert_eq!(r.table("t").unwrap().get(&ok).unwrap(), Some(vec![7; 10_000]));
    }
}

#[test]
fn writes_in_read_transactions_are_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ro.db");
    let db = Database::open(&p, Options::default()).unwrap();
    let w = db.begin_write().unwrap();
    w.table("t").unwrap().put(b"a", b"1").unwrap();
    w.put(b"d", b"2").unwrap();
    w.commit().unwrap();
    let r = db.begin_read().unwrap();
    assert!(matches!(r.table("t").unwrap().put(b"b", b"2"), Err(Error::ReadOnly)));
    assert!(matches!(r.table("t").unwrap().delete(b"a"), Err(Error::ReadOnly)));
    assert!(matches!(r.default_table().unwrap().put(b"x", b"2"), Err(Error::ReadOnly)));
    assert!(matches!(r.default_table().unwrap().delete(b"d"), Err(Error::ReadOnly)));
    assert_eq!(r.table("t").unwrap().get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(r.get(b"d").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(r.get(b"x").unwrap(), None);
    drop(r);
    drop(db);

    // A read-only database: reads work, writes are refused.
    let db = Database::open(
        &p,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(matches!(db.begin_write(), Err(Error::ReadOnly)));
    let r = db.begin_read().unwrap();
    assert_eq!(r.table("t").unwrap().get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
    assert!(matches!(r.default_table().unwrap().put(b"x", b"2"), Err(Error::ReadOnly)));
    drop(r);
    // A checkpoint would write the database file: refused, and the handle
    // keeps working.
    let c = db.checkpoint(CheckpointMode::Passive);
    assert!(matches!(c, Err(Error::ReadOnly)), "{c:?}");
    assert_eq!(db.begin_read().unwrap().get(b"d").unwrap().as_deref(), Some(&b"2"[..]));
    assert!(matches!(db.begin_write(), Err(Error::ReadOnly)));
    drop(db);
    // Read-only with no WAL file: reads the database file, creates nothing.
    {
        let db = Database::open(&p, Options::default()).unwrap();
        db.checkpoint(CheckpointMode::Truncate).unwrap();
    }
    std::fs::remove_file(wal_of(&p)).unwrap();
    let db = Database::open(
        &p,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(
        db.begin_read().unwrap().table("t").unwrap().get(b"a").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert!(matches!(db.begin_write(), Err(Error::ReadOnly)));
    drop(db);
    assert!(!wal_of(&p).exists(), "a read-only open created the WAL");
    // A read-only open of a missing database fails without creating it.
    let missing = dir.path().join("missing.db");
    assert!(matches!(
        Database::open(
            &missing,
            Options {
                read_only: true,
                ..Options::default()
            }
        ),
        Err(Error::Io(_))
    ));
    assert!(!missing.exists());
    assert!(matches!(
        Database::open(
            &missing,
            Options {
                create_if_missing: false,
                ..Options::default()
            }
        ),
        Err(Error::Io(_))
    ));
    assert!(!missing.exists());
}
