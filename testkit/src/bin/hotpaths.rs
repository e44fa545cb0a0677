//! The hot paths of the engine, run for instruction counting: a
//! deterministic program (RAM storage, fixed seeds, no clock, no file
//! system) whose instruction count under `valgrind --tool=callgrind` is the
//! same from run to run, whatever else the machine is doing. `.ci/run`
//! (`scripts/hotpaths.sh`) runs each case twice, with and without the
//! measured part, and fails when the instructions per operation exceed the
//! thresholds in `testkit/hotpaths.thresholds`.
//!
//! `hotpaths CASE [--setup-only]`, CASE one of `point_read`, `range_step`,
//! `cursor_step`, `commit`, `recovery`, `bulk_insert`. Prints the operations it measured.

use std::cell::RefCell;

use std::ops::Bound;
use walden_core::sync::AtomicU32;

use walden_core::{cache_mem_len, region_words, Connection, Cursor, Options, RamStorage, ScanEnd, SharedStorage, SyncMode, ValueRef};
use walden_testkit::sim::SimRng;

/// Keys in the database of the read cases.
const KEYS: usize = 20_000;
/// Bytes of each value.
const VAL: usize = 100;
/// Page size in bytes.
const PS: u32 = 4096;
/// Cache pages: the whole database of the read cases fits.
const CACHE: u32 = 2048;
/// Frames the wal-index holds.
const FRAMES: u32 = 65_536;

type Ram = RamStorage<Vec<u8>>;

struct Files {
    db: RefCell<Ram>,
    wal: RefCell<Ram>,
}

impl Files {
    fn new() -> Files {
        Files {
            db: RefCell::new(RamStorage::new(vec![0u8; 256 << 20])),
            wal: RefCell::new(RamStorage::new(vec![0u8; 512 << 20])),
        }
    }
}

type Conn<'a> = Connection<SharedStorage<'a, Ram>, &'a [AtomicU32], Vec<u8>>;

fn options() -> Options {
    Options {
        page_size: PS,
        sync: SyncMode::Full,
        max_wal_frames: FRAMES,
        autocheckpoint_frames: 1000,
        salt_seed: 7,
        ..Options::default()
    }
}

fn open<'a>(f: &'a Files, region: &'a [AtomicU32]) -> Conn<'a> {
    open_with(f, region, options())
}

fn open_with<'a>(f: &'a Files, region: &'a [AtomicU32], opts: Options) -> Conn<'a> {
    let mem = vec![0u8; cache_mem_len(PS, CACHE)];
    match Connection::open(SharedStorage(&f.db), SharedStorage(&f.wal), region, mem, opts) {
        Ok(c) => c,
        Err(e) => fail(&format!("open: {e}")),
    }
}

fn region() -> Vec<AtomicU32> {
    (0..region_words(FRAMES, options().read_marks)).map(|_| AtomicU32::new(0)).collect()
}

fn key(r: &mut SimRng) -> [u8; 16] {
    let mut k = [0u8; 16];
    r.fill(&mut k);
    k
}

fn fail(what: &str) -> ! {
    eprintln!("hotpaths: {what}");
    std::process::exit(1)
}

fn ok<T>(r: walden_core::Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| fail(&format!("{what}: {e}")))
}

/// Loads `KEYS` random keys in one transaction.
fn load(c: &mut Conn<'_>) {
    let mut r = SimRng(1);
    ok(c.begin_write(), "begin_write");
    let t = ok(c.default_table(), "table");
    for _ in 0..KEYS {
        let k = key(&mut r);
        ok(c.put(t, &k, &[0x5a; VAL]), "put");
    }
    ok(c.commit(), "commit");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map(String::as_str).unwrap_or("");
    let setup_only = args.iter().any(|a| a == "--setup-only");
    let files = Files::new();
    let reg = region();
    let ops = match case {
        "point_read" => {
            let mut c = open(&files, &reg);
            load(&mut c);
            ok(c.begin_read(), "begin_read");
            let t = ok(c.default_table(), "table");
            // Warm the cache, then measure lookups of every key.
            let mut n = 0;
            for pass in 0..2 {
                if pass == 1 && setup_only {
                    break;
                }
                let mut r = SimRng(1);
                for _ in 0..KEYS {
                    let k = key(&mut r);
                    match ok(c.lookup(t, &k), "lookup") {
                        Some(ValueRef::Inline(v)) if v.len() == VAL => n += 1,
                        other => fail(&format!("lookup found {other:?}")),
                    }
                }
            }
            n - KEYS
        }
        "range_step" => {
            // A scan of every entry (Connection::scan, the fast path).
            let mut c = open(&files, &reg);
            load(&mut c);
            ok(c.begin_read(), "begin_read");
            let t = ok(c.default_table(), "table");
            let mut cur = Cursor::new();
            let mut n = 0;
            for pass in 0..2 {
                if pass == 1 && setup_only {
                    break;
                }
                ok(c.cursor_first(&mut cur, t), "first");
                let end = ok(
                    c.scan(&mut cur, Bound::Unbounded, |_, v| {
                        n += usize::from(v.len() == VAL);
                        true
                    }),
                    "scan",
                );
                if end != ScanEnd::Done {
                    fail(&format!("scan ended with {end:?}"));
                }
            }
            n - KEYS
        }
        "cursor_step" => {
            // The same through the cursor: a step and a value per entry.
            let mut c = open(&files, &reg);
            load(&mut c);
            ok(c.begin_read(), "begin_read");
            let t = ok(c.default_table(), "table");
            let mut cur = Cursor::new();
            let mut n = 0;
            for pass in 0..2 {
                if pass == 1 && setup_only {
                    break;
                }
                let mut on = ok(c.cursor_first(&mut cur, t), "first");
                while on {
                    n += usize::from(ok(c.cursor_value_ref(&cur), "value").len() == VAL);
                    on = ok(c.cursor_next(&mut cur), "next");
                }
            }
            n - KEYS
        }
        "commit" => {
            let mut c = open(&files, &reg);
            load(&mut c);
            let mut r = SimRng(2);
            let n = if setup_only { 0 } else { 2000 };
            for _ in 0..n {
                let k = key(&mut r);
                ok(c.begin_write(), "begin_write");
                let t = ok(c.default_table(), "table");
                ok(c.put(t, &k, &[1; VAL]), "put");
                ok(c.commit(), "commit");
            }
            n
        }
        "recovery" => {
            {
                // No automatic checkpoint: the WAL keeps every frame.
                let opts = Options {
                    autocheckpoint_frames: 0,
                    ..options()
                };
                let mut c = open_with(&files, &reg, opts);
                let mut r = SimRng(3);
                for _ in 0..200 {
                    ok(c.begin_write(), "begin_write");
                    let t = ok(c.default_table(), "table");
                    for _ in 0..20 {
                        let k = key(&mut r);
                        ok(c.put(t, &k, &[2; VAL]), "put");
                    }
                    ok(c.commit(), "commit");
                }
            }
            if setup_only {
                0
            } else {
                // A fresh region: the open recovers from the WAL.
                let reg2 = region();
                let c = open(&files, &reg2);
                let frames = c.stats().recovered_frames as usize;
                if frames < 1000 {
                    fail(&format!("recovered only {frames} frames"));
                }
                frames
            }
        }
        "bulk_insert" => {
            let mut c = open(&files, &reg);
            if !setup_only {
                load(&mut c);
                ok(c.begin_read(), "begin_read");
                let h = ok(c.header(), "header");
                eprintln!("bulk_insert: {} keys in {} pages", KEYS, h.page_count);
                c.end_read();
            }
            if setup_only {
                0
            } else {
                KEYS
            }
        }
        other => fail(&format!(
            "unknown case {other:?} (point_read, range_step, cursor_step, commit, recovery, bulk_insert)"
        )),
    };
    println!("{case}: {ops} operations");
}
