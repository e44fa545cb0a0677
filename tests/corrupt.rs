//! Corrupt input, exhaustively and at random.
//!
//! (a) Exhaustive: database and WAL images with a known history of commits
//! ([`seed_images`]) are damaged one way at a time, every way of a kind:
//! each byte inverted (`^ 0xFF`), each byte with one bit flipped, each
//! 512-byte sector zeroed, the WAL cut at every frame boundary and inside
//! every frame. Each damaged pair is opened, read every way and verified
//! ([`observe`]). Acceptable:
//!
//! - WAL damage: recovery keeps the committed prefix that ends before the
//!   damage, so the state is exactly that of one commit of the history
//!   (which one is known from the damaged offset), verifying clean; never
//!   an error.
//! - Database file damage: an error (at open, at a read, or problems found
//!   by `verify`), or the final committed state, exactly; everything read
//!   before an error is exactly the final state's.
//!
//! Never acceptable: a panic (caught and reported), a hang (a watchdog fails
//! the test when no case finishes for 60 s), wrong data, or an integrity
//! report that contradicts the reads. The outcome classes are counted and
//! printed (`cargo test --test corrupt -- --nocapture`).
//!
//! A second pass measures the known limit of damage to a WAL whose frames
//! are already backfilled ([`SeedImage::backfilled`]): there the state may
//! be one of no commit, but still never a panic or a contradiction.
//!
//! (b) Proptest: the fuzz harnesses of `walden_testkit::fuzz` (the bodies
//! of the cargo-fuzz targets in `fuzz/`) on random multi-byte damage of the
//! seed images and on random operation sequences, with a fixed seed, so
//! that the harnesses run in CI and cannot rot. The committed seed corpus
//! and any reproducer in `fuzz/regressions/` are replayed too.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use walden::engine::format::{frame_offset, FRAME_HEADER_LEN};
use walden_testkit::fuzz::{
    corpus_seeds, decode_ops, error_class, first_difference, observe, op_sequence, open_image, seed_image, seed_images, split_image_input,
    wal_beside_base, wal_beside_valid_db, Observation, OpenImageOutcome, OpenStage, ScanEnd, SeedImage, State, VerifyOutcome,
    WalBesideOutcome, PAGE_SIZE,
};

const PS: usize = PAGE_SIZE as usize;
const FRAME: usize = FRAME_HEADER_LEN + PS;

// ---------------------------------------------------------------------
// Running cases: panics caught, hangs detected, outcomes counted
// ---------------------------------------------------------------------

thread_local! {
    static IN_CASE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Silences the message of a panic inside a case (the case reports it);
/// other panics print as usual.
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

/// Runs `f` with panics caught: `Err` describes the panic.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    IN_CASE.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    IN_CASE.with(|c| c.set(false));
    r.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("PANIC: {msg}")
    })
}

/// Outcome counts of a set of cases, by seed image and class, and the
/// failures.
#[derive(Default)]
struct Tally {
    cases: usize,
    /// `(seed, class)` -> cases.
    classes: BTreeMap<(String, String), usize>,
    failures: Vec<String>,
}

impl Tally {
    /// Counts a case named `<seed>: <damage>` in `class`.
    fn count(&mut self, case: &str, class: String) {
        self.cases += 1;
        let seed = case.split(':').next().unwrap_or_default().to_string();
        *self.classes.entry((seed, class)).or_default() += 1;
    }
    fn fail(&mut self, case: &str, why: String) {
        self.count(case, "FAILURE".into());
        self.failures.push(format!("{case}: {why}"));
    }
    /// Cases in `class`, all seeds.
    fn class(&self, class: &str) -> usize {
        self.classes.iter().filter(|((_, c), _)| c == class).map(|(_, n)| n).sum()
    }
    fn print(&self, title: &str) {
        println!("{title}: {} cases", self.cases);
        let mut last = "";
        for ((seed, c), n) in &self.classes {
            if seed != last {
                let total: usize = self.classes.iter().filter(|((s, _), _)| s == seed).map(|(_, n)| n).sum();
                println!("  {seed}: {total} cases");
                last = seed;
            }
            println!("    {n:>7}  {c}");
        }
    }
}

/// One case: its description and a closure that classifies its outcome
/// (`Err`: a failure).
type Case = (String, Box<dyn FnOnce() -> Result<String, String> + Send>);

/// Runs `cases` (a description and a closure classifying one case) on a
/// worker thread; fails the test if no case finishes for 60 s (a hang),
/// naming the case.
fn run_cases(cases: Vec<Case>) -> Tally {
    quiet_panics();
    let done = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let current = Arc::new(Mutex::new(String::new()));
    let (d, f, cur) = (done.clone(), finished.clone(), current.clone());
    let worker = std::thread::spawn(move || {
        let mut t = Tally::default();
        for (name, case) in cases {
            *cur.lock().unwrap() = name.clone();
            match caught(case) {
                Ok(Ok(class)) => t.count(&name, class),
                Ok(Err(why)) | Err(why) => t.fail(&name, why),
            }
            d.fetch_add(1, Ordering::Relaxed);
        }
        f.store(true, Ordering::Release);
        t
    });
    let (mut last, mut since) = (0, Instant::now());
    while !finished.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(20));
        let n = done.load(Ordering::Relaxed);
        if n != last {
            (last, since) = (n, Instant::now());
        } else if since.elapsed() > Duration::from_secs(60) {
            panic!("HANG: no case finished for 60 s; stuck in {}", current.lock().unwrap());
        }
    }
    worker.join().expect("the worker catches every panic")
}

fn case(name: String, f: impl FnOnce() -> Result<String, String> + Send + 'static) -> Case {
    (name, Box::new(f))
}

// ---------------------------------------------------------------------
// Classifying one damaged image
// ---------------------------------------------------------------------

/// Damage to the WAL of a seed that is not backfilled: exactly the state of
/// the last commit before the damage, verifying clean.
fn wal_damage_case(seed: &'static SeedImage, wal: Vec<u8>) -> Result<String, String> {
    let want = seed
        .state_after_wal_change(first_difference(&wal, &seed.wal))
        .expect("not backfilled");
    let obs = observe(&seed.db, &wal).map_err(|(stage, e)| format!("{stage:?} failed: {e}"))?;
    no_contradiction(&obs)?;
    if !matches!(obs.verify, VerifyOutcome::Ok { .. }) {
        return Err(format!("a committed prefix does not verify: {:?}", obs.verify));
    }
    let got = obs
        .state()
        .ok_or_else(|| format!("a committed prefix is not fully readable: {}", read_errors(&obs)))?;
    if &got != want {
        let j = seed.states.iter().position(|s| *s == got);
        return Err(format!(
            "state of commit {j:?}, want commit {:?}",
            seed.states.iter().position(|s| s == want)
        ));
    }
    let j = seed.states.iter().position(|s| s == want).expect("a state of the history");
    let last = seed.states.len() - 1;
    Ok(if j == last {
        "final state (damage after the last commit frame)".into()
    } else if j == seed.in_db && !seed.wal_commits.iter().any(|&(_, s)| s == j) {
        "database file's state (no WAL commit kept)".into()
    } else {
        format!("earlier committed state ({} commits lost)", last - j)
    })
}

/// Damage to the database file: an error, or the final state exactly;
/// everything read before an error is the final state's.
fn db_damage_case(seed: &'static SeedImage, db: Vec<u8>, wal: &'static [u8]) -> Result<String, String> {
    let want = seed.final_state();
    match observe(&db, wal) {
        Err((OpenStage::Open, e)) => Ok(format!("open: {}", error_class(&e))),
        Err((OpenStage::BeginRead, e)) => Ok(format!("begin_read: {}", error_class(&e))),
        Ok(obs) => {
            no_contradiction(&obs)?;
            obs.consistent_with(want).map_err(|e| format!("wrong data: {e}"))?;
            let read_error = !obs.is_complete() || obs.tables.values().any(|t| t.backward_end != ScanEnd::Complete);
            let lookup_error = obs.tables.values().any(|t| t.lookups.iter().any(|(_, r)| r.is_err()));
            Ok(match (&obs.verify, read_error || lookup_error) {
                (VerifyOutcome::Ok { .. }, false) => "no effect: final state, verifies clean".into(),
                (VerifyOutcome::Ok { .. }, true) => unreachable!("no_contradiction checked it"),
                (VerifyOutcome::Problems { .. }, true) => "read error, verify finds problems".into(),
                (VerifyOutcome::Problems { .. }, false) => "reads intact, verify finds problems".into(),
                (v, _) => format!("verify not run or failed: {v:?}"),
            })
        }
    }
}

fn no_contradiction(obs: &Observation) -> Result<(), String> {
    let c = obs.contradictions();
    if c.is_empty() {
        Ok(())
    } else {
        Err(format!("integrity report contradicts the reads: {c:?}"))
    }
}

fn read_errors(obs: &Observation) -> String {
    let mut v: Vec<String> = obs
        .tables
        .iter()
        .filter(|(_, t)| t.end != ScanEnd::Complete)
        .map(|(n, t)| format!("{:?}: {:?}", String::from_utf8_lossy(n), t.end))
        .collect();
    if obs.catalog.end != ScanEnd::Complete {
        v.push(format!("catalog: {:?}", obs.catalog.end));
    }
    v.join(", ")
}

// ---------------------------------------------------------------------
// Damage generators
// ---------------------------------------------------------------------

/// Every single-byte damage of `img`: inverted, one bit flipped (bit
/// `offset % 8`), and every 512-byte sector zeroed.
fn damages(img: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::with_capacity(2 * img.len() + img.len() / 512 + 1);
    for off in 0..img.len() {
        for (what, x) in [("inverted", 0xFFu8), ("bit flipped", 1 << (off % 8))] {
            let mut v = img.to_vec();
            v[off] ^= x;
            out.push((format!("byte {off} {what}"), v));
        }
    }
    for s in 0..img.len().div_ceil(512) {
        let mut v = img.to_vec();
        let end = ((s + 1) * 512).min(v.len());
        v[s * 512..end].fill(0);
        if v != img {
            out.push((format!("sector {s} zeroed"), v));
        }
    }
    out
}

/// The WAL cut at every frame boundary, one byte either side, and in the
/// middle of every frame.
fn truncations(wal: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut lens = vec![0, 1, 31, 32, 33];
    let mut f = 1;
    while (frame_offset(f, PAGE_SIZE) as usize) < wal.len() {
        let o = frame_offset(f, PAGE_SIZE) as usize;
        lens.extend([o - 1, o + 1, o + FRAME / 2, o + FRAME - 1, o + FRAME]);
        f += 1;
    }
    lens.retain(|&l| l < wal.len());
    lens.sort_unstable();
    lens.dedup();
    lens.into_iter().map(|l| (format!("cut to {l} bytes"), wal[..l].to_vec())).collect()
}

// ---------------------------------------------------------------------
// (a) Exhaustive passes
// ---------------------------------------------------------------------

/// Seeds whose WAL is damaged every way: the main image (3 commits in the
/// database file, 3 in the WAL), a WAL with a stale tail from an older
/// generation after a restart, a new database still entirely in its WAL.
const WAL_SEEDS: [&str; 3] = ["checkpointed", "restarted", "wal_only"];
/// Seeds whose database file is damaged every way: with its WAL (pages of
/// the file superseded by frames), and alone.
const DB_SEEDS: [&str; 2] = ["checkpointed", "all_in_db"];

#[test]
fn exhaustive_wal_damage_recovers_a_committed_prefix() {
    let t0 = Instant::now();
    let mut cases = Vec::new();
    for name in WAL_SEEDS {
        let seed = seed_image(name);
        for (what, wal) in damages(&seed.wal).into_iter().chain(truncations(&seed.wal)) {
            cases.push(case(format!("{name}: WAL {what}"), move || wal_damage_case(seed, wal)));
        }
    }
    let n = cases.len();
    let t = run_cases(cases);
    t.print(&format!("WAL damage ({})", WAL_SEEDS.join(", ")));
    println!("    in {:.1} s", t0.elapsed().as_secs_f64());
    assert!(
        t.failures.is_empty(),
        "{} failing cases:\n{}",
        t.failures.len(),
        t.failures.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(t.cases, n);
    // Every kind of outcome the history allows happened.
    assert!(t.class("final state (damage after the last commit frame)") > 0);
    assert!(t.class("database file's state (no WAL commit kept)") > 0);
    assert!(t.classes.keys().any(|(_, c)| c.starts_with("earlier committed state")));
}

#[test]
fn exhaustive_database_damage_is_detected_or_harmless() {
    let t0 = Instant::now();
    let mut cases = Vec::new();
    for name in DB_SEEDS {
        let seed = seed_image(name);
        assert!(!seed.db.is_empty());
        for (what, db) in damages(&seed.db) {
            cases.push(case(format!("{name}: database file {what}"), move || {
                db_damage_case(seed, db, &seed.wal)
            }));
        }
    }
    let n = cases.len();
    let t = run_cases(cases);
    t.print(&format!("Database file damage ({})", DB_SEEDS.join(", ")));
    println!("    in {:.1} s", t0.elapsed().as_secs_f64());
    assert!(
        t.failures.is_empty(),
        "{} failing cases:\n{}",
        t.failures.len(),
        t.failures.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(t.cases, n);
    let detected: usize = t
        .classes
        .iter()
        .filter(|((_, c), _)| !c.starts_with("no effect"))
        .map(|(_, n)| n)
        .sum();
    assert!(detected > n / 2, "only {detected} of {n} damaged images were detected");
}

/// The known limit: damage to a WAL whose frames are already in the
/// database file. Recovery keeps the prefix before the damage, read over a
/// database file that already holds later commits: a state of no commit is
/// possible (SQLite's WAL has the same limit). Never a panic, never a
/// contradiction between `verify` and the reads; the outcomes are counted.
#[test]
fn exhaustive_backfilled_wal_damage_never_panics() {
    let seed = seed_image("backfilled");
    assert!(seed.backfilled);
    let mut cases = Vec::new();
    for (what, wal) in damages(&seed.wal) {
        cases.push(case(format!("backfilled: WAL {what}"), move || {
            let obs = observe(&seed.db, &wal).map_err(|(s, e)| format!("{s:?} failed: {e}"))?;
            no_contradiction(&obs)?;
            let clean = matches!(obs.verify, VerifyOutcome::Ok { .. });
            Ok(match obs.state().and_then(|s| seed.states.iter().position(|x| *x == s)) {
                Some(j) if j + 1 == seed.states.len() => "final state".to_string(),
                Some(_) => "an earlier committed state".to_string(),
                None if clean => "a state of no commit, verifying clean (the known limit)".to_string(),
                None => "a state of no commit, verify finds problems".to_string(),
            })
        }));
    }
    let n = cases.len();
    let t = run_cases(cases);
    t.print("Backfilled WAL damage (known limit)");
    assert!(t.failures.is_empty(), "{:?}", &t.failures[..t.failures.len().min(20)]);
    assert_eq!(t.cases, n);
}

// ---------------------------------------------------------------------
// (b) The fuzz harnesses under proptest
// ---------------------------------------------------------------------

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// Up to 8 (offset fraction, xor byte) pairs: random multi-byte damage.
fn damage_strategy() -> impl Strategy<Value = Vec<(f64, u8)>> {
    prop::collection::vec((0.0..1.0f64, 1..=255u8), 1..8)
}

fn apply_damage(img: &[u8], d: &[(f64, u8)]) -> Vec<u8> {
    let mut v = img.to_vec();
    if !v.is_empty() {
        for &(at, x) in d {
            let i = ((at * v.len() as f64) as usize).min(v.len() - 1);
            v[i] ^= x;
        }
    }
    v
}

proptest! {
    #![proptest_config(config(384, 0x5eed_0001))]

    /// Random multi-byte damage of a seed's database file: `open_image`
    /// (with its own checks and write exercise) never panics, and whatever
    /// is read is the final state's.
    #[test]
    fn prop_database_damage(seed in 0..seed_images().len(), d in damage_strategy()) {
        let s = &seed_images()[seed];
        prop_assume!(!s.db.is_empty());
        let db = apply_damage(&s.db, &d);
        // A clean verdict after damage means the damage missed every live
        // page: the entries are the final state's.
        if let OpenImageOutcome::Opened { verify: VerifyOutcome::Ok { .. }, complete, entries, .. } = open_image(&db, &s.wal) {
            let want: usize = s.final_state().values().map(|m| m.len()).sum();
            prop_assert!(complete, "verified clean but not completely read");
            prop_assert_eq!(entries, want);
        }
        if let Ok(obs) = observe(&db, &s.wal) {
            prop_assert_eq!(obs.contradictions(), Vec::<String>::new());
            prop_assert_eq!(obs.consistent_with(s.final_state()), Ok(()));
        }
    }

    /// Random multi-byte damage of a seed's WAL: exactly the committed
    /// prefix before the first damaged byte; `open_image` never panics.
    #[test]
    fn prop_wal_damage(seed in 0..seed_images().len(), d in damage_strategy(), cut in prop::option::of(0.0..1.0f64)) {
        let s = &seed_images()[seed];
        prop_assume!(!s.wal.is_empty() && !s.backfilled);
        let mut wal = apply_damage(&s.wal, &d);
        if let Some(c) = cut {
            wal.truncate((c * wal.len() as f64) as usize);
        }
        let _ = open_image(&s.db, &wal);
        let want = s.state_after_wal_change(first_difference(&wal, &s.wal)).expect("not backfilled");
        let obs = observe(&s.db, &wal).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert!(matches!(obs.verify, VerifyOutcome::Ok { .. }), "verify: {:?}", obs.verify);
        let got = obs.state();
        prop_assert_eq!(got.as_ref(), Some(want));
    }

    /// Random damage of the base WAL beside its valid database: the
    /// harness's own checks hold, and damaged bytes never make a commit of
    /// their own (that would take a CRC collision).
    #[test]
    fn prop_wal_beside_valid_db(d in damage_strategy(), cut in prop::option::of(0.0..1.0f64), junk in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut wal = apply_damage(&wal_beside_base().wal, &d);
        if let Some(c) = cut {
            wal.truncate((c * wal.len() as f64) as usize);
        }
        wal.extend_from_slice(&junk);
        let out = wal_beside_valid_db(&wal);
        prop_assert!(matches!(out, WalBesideOutcome::BaseState | WalBesideOutcome::FixturePrefix { .. }), "{:?}", out);
        prop_assert_eq!(wal_beside_valid_db(&junk), WalBesideOutcome::BaseState);
    }

    /// Arbitrary bytes as a database and WAL image: never a panic.
    #[test]
    fn prop_open_image_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..3000)) {
        let (db, wal) = split_image_input(&data);
        if let OpenImageOutcome::Opened { complete, verify: VerifyOutcome::Ok { .. }, .. } = open_image(db, wal) {
            prop_assert!(complete, "verified clean but not completely read");
        }
    }
}

proptest! {
    #![proptest_config(config(256, 0x5eed_0002))]

    /// Random operation sequences against the model: every operation runs
    /// and every check inside `op_sequence` holds.
    #[test]
    fn prop_op_sequence(bytes in prop::collection::vec(any::<u8>(), 1..400)) {
        let rep = op_sequence(&bytes);
        prop_assert_eq!(rep.ops, decode_ops(&bytes).1.len());
        prop_assert!(rep.reopens >= 1);
    }
}

// ---------------------------------------------------------------------
// The committed corpus and regressions
// ---------------------------------------------------------------------

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs one fuzz input through its target's harness; `Err` on a panic.
fn run_target(target: &str, bytes: &[u8]) -> Result<String, String> {
    caught(|| match target {
        "open_image" => {
            let (db, wal) = split_image_input(bytes);
            format!("{:?}", open_image(db, wal))
        }
        "wal_beside_db" => format!("{:?}", wal_beside_valid_db(bytes)),
        "op_sequence" => format!("{:?}", op_sequence(bytes)),
        t => panic!("unknown fuzz target {t}"),
    })
}

/// Every file of the committed seed corpus (`fuzz/corpus/<target>/`) and of
/// the reproducers (`fuzz/regressions/<target>/`) runs through its harness
/// without a finding; every seed [`corpus_seeds`] generates is committed.
#[test]
fn fuzz_corpus_and_regressions_replay() {
    quiet_panics();
    let mut failures = Vec::new();
    let mut n = 0;
    for kind in ["corpus", "regressions"] {
        for target in ["open_image", "wal_beside_db", "op_sequence"] {
            let dir = fuzz_dir().join(kind).join(target);
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
            files.sort();
            for f in files {
                n += 1;
                let bytes = std::fs::read(&f).unwrap();
                if let Err(e) = run_target(target, &bytes) {
                    failures.push(format!("{}: {e}", f.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        n >= corpus_seeds().len(),
        "{n} files replayed; the seed corpus has {}",
        corpus_seeds().len()
    );
}

/// The committed seed corpus is exactly what [`corpus_seeds`] generates
/// from the current format. After a format change, regenerate it with
/// `WALDEN_WRITE_FUZZ_CORPUS=1 cargo test --test corrupt fuzz_seed_corpus`.
#[test]
fn fuzz_seed_corpus_is_current() {
    let seeds = corpus_seeds();
    let write = std::env::var_os("WALDEN_WRITE_FUZZ_CORPUS").is_some();
    let mut stale = Vec::new();
    for (target, name, bytes) in &seeds {
        let dir = fuzz_dir().join("corpus").join(target);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        if std::fs::read(dir.join(name)).ok().as_ref() != Some(bytes) {
            stale.push(dir.join(name).display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale seeds (regenerate: WALDEN_WRITE_FUZZ_CORPUS=1 cargo test --test corrupt fuzz_seed_corpus): {stale:#?}"
    );
}

/// The state each seed shows is the last of its history (a sanity check of
/// the fixtures the exhaustive passes rely on).
#[test]
fn seed_images_show_their_history() {
    for s in seed_images() {
        let o = observe(&s.db, &s.wal).unwrap();
        assert_eq!(o.state().as_ref(), Some(s.final_state()), "{}", s.name);
        let want: State = s.final_state().clone();
        assert_eq!(o.consistent_with(&want), Ok(()));
        // A WAL cut before its first commit shows the database file's state.
        if !s.backfilled {
            let w = s.state_after_wal_change(Some(0)).unwrap();
            let o = observe(&s.db, &[]).unwrap();
            assert_eq!(o.state().as_ref(), Some(w), "{}", s.name);
        }
    }
}
