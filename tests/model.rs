//! Model-based test: random sequences of operations on a real database (std
//! API, real files) checked step by step against a `BTreeMap` model.
//!
//! Operations: put, delete, get, range scans forward, backward and from both
//! ends with arbitrary bounds, create and drop named tables, commit, abort,
//! checkpoint in each mode, close and reopen. Values range from empty to tens
//! of KB (overflow chains); keys from one byte to `max_key_len()`. Small
//! pages (512 bytes) and small caches (4..16 pages) force splits, merges and
//! spills of dirty pages to the WAL.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

use proptest::prelude::*;
use walden::{CheckpointMode, Database, Error, Options, SyncMode};

/// Table names: index 0 is the default table.
const TABLES: [&str; 4] = ["", "t1", "t2", "t3"];

type Map = BTreeMap<Vec<u8>, Vec<u8>>;
/// Table name -> content; "" is the default table, always present.
type Model = BTreeMap<String, Map>;

#[derive(Debug, Clone, Copy)]
struct KeySpec {
    idx: u8,
    len: u8,
}

#[derive(Debug, Clone, Copy)]
struct ValSpec {
    seed: u8,
    len: u32,
}

#[derive(Debug, Clone)]
enum Op {
    Put {
        t: usize,
        k: KeySpec,
        v: ValSpec,
    },
    Delete {
        t: usize,
        k: KeySpec,
    },
    Get {
        t: usize,
        k: KeySpec,
    },
    Range {
        t: usize,
        lo: Bound<KeySpec>,
        hi: Bound<KeySpec>,
        dir: Dir,
    },
    Create {
        t: usize,
    },
    Drop {
        t: usize,
    },
    Commit,
    Abort,
    Checkpoint(CheckpointMode),
    Reopen,
    /// Begin (or replace) a long-lived read transaction on the committed state.
    BeginReader,
    /// Compare the long-lived reader's whole view with its snapshot.
    CheckReader,
    EndReader,
    /// In the write transaction: scan a table from `from`, and after each
    /// entry returned apply the next action (put or delete); the scan must
    /// continue from the last key returned in the changed table.
    ScanMutate {
        t: usize,
        from: Bound<KeySpec>,
        rev: bool,
        actions: Vec<(KeySpec, Option<ValSpec>)>,
    },
}

#[derive(Debug, Clone, Copy)]
enum Dir {
    Forward,
    Backward,
    /// Alternating `next` and `next_back`.
    Both,
}

#[derive(Debug, Clone)]
struct Config {
    page_size: u32,
    cache_pages: u32,
    autocheckpoint: u32,
    sync: SyncMode,
}

/// Key bytes: deterministic from the spec, length class 0..5 maps to 1, 3,
/// 24, max_key_len - 1 and max_key_len bytes.
fn key(k: KeySpec, max: usize) -> Vec<u8> {
    let len = match k.len {
        0 => 1,
        1 => 3,
        2 => 24,
        3 => max - 1,
        _ => max,
    };
    (0..len)
        .map(|i| {
            if i == 0 {
                k.idx.wrapping_mul(8)
            } else {
                (k.idx as usize * 7 + i * 13) as u8
            }
        })
        .collect()
}

fn value(v: ValSpec) -> Vec<u8> {
    (0..v.len as usize)
        .map(|i| {
            (v.seed as usize)
                .wrapping_mul(31)
                .wrapping_add(i.wrapping_mul(7))
                .wrapping_add(i >> 8) as u8
        })
        .collect()
}

fn key_spec() -> impl Strategy<Value = KeySpec> {
    (0u8..24, prop_oneof![6 => 0u8..3, 1 => 3u8..5]).prop_map(|(idx, len)| KeySpec { idx, len })
}

fn val_spec() -> impl Strategy<Value = ValSpec> {
    let len = prop_oneof![
        8 => 0u32..64,
        3 => 64u32..1200,
        2 => 1200u32..5000,
        1 => 5000u32..40_000,
    ];
    (any::<u8>(), len).prop_map(|(seed, len)| ValSpec { seed, len })
}

fn bound() -> impl Strategy<Value = Bound<KeySpec>> {
    prop_oneof![
        2 => key_spec().prop_map(Bound::Included),
        2 => key_spec().prop_map(Bound::Excluded),
        1 => Just(Bound::Unbounded),
    ]
}

fn table_idx() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(0usize), 2 => 1usize..4]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (table_idx(), key_spec(), val_spec()).prop_map(|(t, k, v)| Op::Put { t, k, v }),
        8 => (table_idx(), key_spec()).prop_map(|(t, k)| Op::Delete { t, k }),
        6 => (table_idx(), key_spec()).prop_map(|(t, k)| Op::Get { t, k }),
        5 => (table_idx(), bound(), bound(), prop_oneof![Just(Dir::Forward), Just(Dir::Backward), Just(Dir::Both)])
            .prop_map(|(t, lo, hi, dir)| Op::Range { t, lo, hi, dir }),
        2 => (1usize..4).prop_map(|t| Op::Create { t }),
        2 => (1usize..4).prop_map(|t| Op::Drop { t }),
        7 => Just(Op::Commit),
        2 => Just(Op::Abort),
        3 => prop_oneof![
            Just(CheckpointMode::Passive),
            Just(CheckpointMode::Full),
            Just(CheckpointMode::Restart),
            Just(CheckpointMode::Truncate)
        ]
        .prop_map(Op::Checkpoint),
        2 => Just(Op::Reopen),
        2 => Just(Op::BeginReader),
        2 => Just(Op::CheckReader),
        1 => Just(Op::EndReader),
        3 => (table_idx(), bound(), any::<bool>(), proptest::collection::vec((key_spec(), proptest::option::weighted(0.6, val_spec())), 0..8))
            .prop_map(|(t, from, rev, actions)| Op::ScanMutate { t, from, rev, actions }),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (
        prop_oneof![3 => Just(512u32), 1 => Just(1024u32), 2 => Just(4096u32)],
        prop_oneof![2 => 4u32..17, 1 => Just(64u32)],
        prop_oneof![Just(0u32), Just(8u32), Just(40u32), Just(1000u32)],
        prop_oneof![3 => Just(SyncMode::Off), 1 => Just(SyncMode::Normal), 1 => Just(SyncMode::Full)],
    )
        .prop_map(|(page_size, cache_pages, autocheckpoint, sync)| Config {
            page_size,
            cache_pages,
            autocheckpoint,
            sync,
        })
}

fn open(path: &Path, c: &Config) -> Database {
    let opts = Options {
        page_size: c.page_size,
        cache_pages: c.cache_pages,
        autocheckpoint_frames: c.autocheckpoint,
        sync: c.sync,
        // Single-threaded: a `Busy` the model expects comes at once.
        busy_timeout: std::time::Duration::ZERO,
        ..Options::default()
    };
    Database::open(path, opts).expect("open")
}

fn in_bounds(k: &[u8], lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    let lo_ok = match lo {
        Bound::Included(b) => k >= b.as_slice(),
        Bound::Excluded(b) => k > b.as_slice(),
        Bound::Unbounded => true,
    };
    let hi_ok = match hi {
        Bound::Included(b) => k <= b.as_slice(),
        Bound::Excluded(b) => k < b.as_slice(),
        Bound::Unbounded => true,
    };
    lo_ok && hi_ok
}

fn map_bound(b: &Bound<KeySpec>, max: usize) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(key(*k, max)),
        Bound::Excluded(k) => Bound::Excluded(key(*k, max)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn as_slice_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// A short description of a value for assertion messages.
fn show(v: &Option<Vec<u8>>) -> String {
    match v {
        None => "None".into(),
        Some(v) => format!("Some({} bytes, head {:?})", v.len(), &v[..v.len().min(8)]),
    }
}

/// Full content of the database as seen by a new read transaction.
fn dump_read(db: &Database) -> Model {
    dump_txn(&db.begin_read().expect("begin_read"))
}

/// The integrity check finds no problem, and counts what the model holds.
fn check_integrity(db: &Database, m: &Model, ctx: &str) {
    let rep = db.verify().expect("verify");
    assert!(rep.is_ok(), "{ctx}: integrity check: {rep:?}");
    assert_eq!(rep.entries, m.values().map(|t| t.len() as u64).sum::<u64>(), "{ctx}: entries");
    assert_eq!(rep.tables as usize, m.len() - 1, "{ctx}: tables");
}

/// Full content of the database as seen by a read transaction.
fn dump_txn(r: &walden::ReadTxn) -> Model {
    let mut m = Model::new();
    let d: Map = r.default_table().unwrap().iter().unwrap().map(|e| e.unwrap()).collect();
    m.insert(String::new(), d);
    for name in r.list_tables().unwrap() {
        let t = r.table(&name).unwrap();
        let content: Map = t.iter().unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(content.len() as u64, t.len().unwrap());
        m.insert(name, content);
    }
    m
}

fn assert_same(got: &Model, want: &Model, ctx: &str) {
    let gk: Vec<_> = got.keys().collect();
    let wk: Vec<_> = want.keys().collect();
    assert_eq!(gk, wk, "{ctx}: table names");
    for (name, w) in want {
        let g = &got[name];
        if g != w {
            let gkeys: Vec<_> = g.keys().map(|k| (k.len(), k.first().copied())).collect();
            let wkeys: Vec<_> = w.keys().map(|k| (k.len(), k.first().copied())).collect();
            assert_eq!(gkeys, wkeys, "{ctx}: keys of table {name:?}");
            for (k, v) in w {
                assert!(
                    g[k] == *v,
                    "{ctx}: value of key {:?} (len {}) in table {name:?}: got {} want {}",
                    &k[..k.len().min(4)],
                    k.len(),
                    g[k].len(),
                    v.len()
                );
            }
        }
    }
}

fn run(cfg: Config, ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.db");
    let mut db = Some(open(&path, &cfg));
    let max = db.as_ref().unwrap().max_key_len();
    assert_eq!(max, walden::engine::max_key_len(cfg.page_size));
    let mut committed: Model = Model::from([(String::new(), Map::new())]);
    let mut pending: Option<Model> = None;
    let mut w: Option<walden::WriteTxn> = None;
    let mut reader: Option<(walden::ReadTxn, Model)> = None;

    for (step, op) in ops.iter().enumerate() {
        let ctx = format!("step {step} {op:?}");
        let d = db.as_ref().unwrap();
        let is_write = matches!(
            op,
            Op::Put { .. } | Op::Delete { .. } | Op::Create { .. } | Op::Drop { .. } | Op::ScanMutate { .. }
        );
        if is_write && w.is_none() {
            w = Some(d.begin_write().expect("begin_write"));
            pending = Some(committed.clone());
        }
        match op {
            Op::Put { t, k, v } => {
                let (k, v) = (key(*k, max), value(*v));
                let tx = w.as_ref().unwrap();
                let m = pending.as_mut().unwrap();
                if *t == 0 {
                    tx.put(&k, &v).expect("put default");
                } else {
                    tx.table(TABLES[*t]).expect("table").put(&k, &v).expect("put");
                }
                m.entry(TABLES[*t].to_string()).or_default().insert(k, v);
            }
            Op::Delete { t, k } => {
                let k = key(*k, max);
                let tx = w.as_ref().unwrap();
                let m = pending.as_mut().unwrap();
                let r = if *t == 0 {
                    tx.delete(&k)
                } else {
                    tx.open_table(TABLES[*t]).and_then(|tb| tb.delete(&k))
                };
                match m.get_mut(TABLES[*t]) {
                    Some(map) => assert_eq!(r.expect("delete"), map.remove(&k).is_some(), "{ctx}"),
                    None => assert!(matches!(r, Err(Error::NotFound { .. })), "{ctx}: {r:?}"),
                }
            }
            Op::Create { t } => {
                let tx = w.as_ref().unwrap();
                tx.table(TABLES[*t]).expect("create");
                pending.as_mut().unwrap().entry(TABLES[*t].to_string()).or_default();
            }
            Op::Drop { t } => {
                let tx = w.as_ref().unwrap();
                let existed = pending.as_mut().unwrap().remove(TABLES[*t]).is_some();
                assert_eq!(tx.drop_table(TABLES[*t]).expect("drop"), existed, "{ctx}");
            }
            Op::Get { t, k } => {
                let k = key(*k, max);
                let (got, want) = if let Some(tx) = &w {
                    let m = pending.as_ref().unwrap();
                    let got = if *t == 0 {
                        tx.get(&k)
                    } else {
                        tx.open_table(TABLES[*t]).and_then(|tb| tb.get(&k))
                    };
                    (got, m.get(TABLES[*t]).map(|mm| mm.get(&k).cloned()))
                } else {
                    let r = d.begin_read().expect("begin_read");
                    let got = if *t == 0 {
                        r.get(&k)
                    } else {
                        r.table(TABLES[*t]).and_then(|tb| tb.get(&k))
                    };
                    (got, committed.get(TABLES[*t]).map(|mm| mm.get(&k).cloned()))
                };
                match want {
                    Some(want) => {
                        let got = got.expect("get");
                        assert!(got == want, "{ctx}: got {} want {}", show(&got), show(&want));
                    }
                    None => assert!(matches!(got, Err(Error::NotFound { .. })), "{ctx}: {got:?}"),
                }
            }
            Op::Range { t, lo, hi, dir } => {
                let (lo, hi) = (map_bound(lo, max), map_bound(hi, max));
                let check = |table: Result<walden::Table<'_>, Error>, model: Option<&Map>| {
                    let Some(model) = model else {
                        assert!(matches!(table, Err(Error::NotFound { .. })), "{ctx}: table should not exist");
                        return;
                    };
                    let tb = table.expect("table");
                    let want: Vec<(Vec<u8>, Vec<u8>)> = model
                        .iter()
                        .filter(|(k, _)| in_bounds(k, &lo, &hi))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    let mut it = tb.range((as_slice_bound(&lo), as_slice_bound(&hi))).expect("range");
                    let got: Vec<(Vec<u8>, Vec<u8>)> = match dir {
                        Dir::Forward => it.map(|e| e.expect("range item")).collect(),
                        Dir::Backward => {
                            let mut v: Vec<_> = it.rev().map(|e| e.expect("range item")).collect();
                            v.reverse();
                            v
                        }
                        Dir::Both => {
                            let (mut front, mut back) = (Vec::new(), Vec::new());
                            let mut fwd = true;
                            loop {
                                let e = if fwd { it.next() } else { it.next_back() };
                                match e {
                                    Some(e) => {
                                        if fwd {
                                            front.push(e.expect("range item"))
                                        } else {
                                            back.push(e.expect("range item"))
                                        }
                                    }
                                    None => break,
                                }
                                fwd = !fwd;
                            }
                            back.reverse();
                            front.extend(back);
                            front
                        }
                    };
                    let gk: Vec<_> = got.iter().map(|(k, _)| k.clone()).collect();
                    let wk: Vec<_> = want.iter().map(|(k, _)| k.clone()).collect();
                    assert_eq!(gk, wk, "{ctx}: range keys");
                    assert!(got == want, "{ctx}: range values");
                };
                if let Some(tx) = &w {
                    let m = pending.as_ref().unwrap();
                    let table = if *t == 0 { tx.default_table() } else { tx.open_table(TABLES[*t]) };
                    check(table, m.get(TABLES[*t]));
                } else {
                    let r = d.begin_read().expect("begin_read");
                    let table = if *t == 0 { r.default_table() } else { r.table(TABLES[*t]) };
                    check(table, committed.get(TABLES[*t]));
                }
            }
            Op::Commit => {
                if let Some(tx) = w.take() {
                    tx.commit().expect("commit");
                    committed = pending.take().unwrap();
                    check_integrity(d, &committed, &ctx);
                }
            }
            Op::BeginReader => {
                drop(reader.take());
                reader = Some((d.begin_read().expect("begin_read"), committed.clone()));
            }
            Op::CheckReader => {
                if let Some((r, snap)) = &reader {
                    assert_same(&dump_txn(r), snap, &format!("{ctx}: long-lived reader"));
                }
            }
            Op::EndReader => drop(reader.take()),
            Op::ScanMutate { t, from, rev, actions } => {
                let tx = w.as_ref().unwrap();
                let m = pending.as_mut().unwrap();
                let name = TABLES[*t];
                let table = if *t == 0 { tx.default_table() } else { tx.open_table(name) };
                if !m.contains_key(name) {
                    assert!(matches!(table, Err(Error::NotFound { .. })), "{ctx}");
                } else {
                    let tb = table.expect("table");
                    let from = map_bound(from, max);
                    let (lo, hi) = if *rev {
                        (Bound::Unbounded, from.clone())
                    } else {
                        (from.clone(), Bound::Unbounded)
                    };
                    let mut it = tb.range((as_slice_bound(&lo), as_slice_bound(&hi))).expect("range");
                    let mut last: Option<Vec<u8>> = None;
                    let mut n = 0;
                    loop {
                        // The next entry of the current table after the last
                        // one returned (or from the bound).
                        let map = &m[name];
                        let want = if *rev {
                            map.iter()
                                .rev()
                                .find(|(k, _)| in_bounds(k, &lo, &hi) && last.as_ref().is_none_or(|l| *k < l))
                        } else {
                            map.iter()
                                .find(|(k, _)| in_bounds(k, &lo, &hi) && last.as_ref().is_none_or(|l| *k > l))
                        };
                        let got = if *rev { it.next_back() } else { it.next() };
                        match (got, want) {
                            (None, None) => break,
                            (Some(g), Some((wk, wv))) => {
                                let (gk, gv) = g.expect("scan item");
                                assert!(
                                    gk == *wk && gv == *wv,
                                    "{ctx}: scan item {n}: got key len {} want key len {}",
                                    gk.len(),
                                    wk.len()
                                );
                                last = Some(gk);
                            }
                            (g, w) => panic!(
                                "{ctx}: scan item {n}: got {:?} want {:?}",
                                g.map(|g| g.map(|e| e.0.len())),
                                w.map(|e| e.0.len())
                            ),
                        }
                        if let Some((k, v)) = actions.get(n) {
                            let k = key(*k, max);
                            let map = m.get_mut(name).unwrap();
                            match v {
                                Some(v) => {
                                    let v = value(*v);
                                    tb.put(&k, &v).expect("put during scan");
                                    map.insert(k, v);
                                }
                                None => assert_eq!(tb.delete(&k).expect("delete during scan"), map.remove(&k).is_some(), "{ctx}"),
                            }
                        }
                        n += 1;
                    }
                }
            }
            Op::Abort => {
                if let Some(tx) = w.take() {
                    tx.abort();
                    pending = None;
                }
            }
            Op::Checkpoint(mode) => {
                let r = d.checkpoint(*mode);
                if w.is_some() && *mode != CheckpointMode::Passive {
                    // A writer is active: only a passive checkpoint may run.
                    assert!(matches!(r, Err(Error::Busy(_))), "{ctx}: {r:?}");
                } else if reader.is_some() && *mode != CheckpointMode::Passive && matches!(r, Err(Error::Busy(_))) {
                    // A reader may pin frames (Full) or the WAL (Restart).
                } else {
                    let info = r.expect("checkpoint");
                    let s = d.stats();
                    assert!(info.backfilled <= info.wal_frames, "{ctx}: {info:?}");
                    match mode {
                        CheckpointMode::Passive => {}
                        CheckpointMode::Full => assert_eq!(info.backfilled, info.wal_frames, "{ctx}"),
                        CheckpointMode::Restart | CheckpointMode::Truncate => {
                            assert_eq!((info.wal_frames, info.backfilled), (0, 0), "{ctx}");
                            if w.is_none() {
                                assert_eq!(s.wal_frames, 0, "{ctx}");
                            }
                        }
                    }
                    if *mode == CheckpointMode::Truncate && w.is_none() {
                        assert_eq!(std::fs::metadata(d.wal_path()).unwrap().len(), 0, "{ctx}: WAL not truncated");
                    }
                }
            }
            Op::Reopen => {
                drop(reader.take());
                drop(w.take());
                pending = None;
                drop(db.take());
                let d = open(&path, &cfg);
                assert_same(&dump_read(&d), &committed, &ctx);
                db = Some(d);
            }
        }
    }
    // Final: the long-lived reader still sees its snapshot; commit what is
    // pending, then compare, reopen, compare again.
    if let Some((r, snap)) = reader.take() {
        assert_same(&dump_txn(&r), &snap, "final: long-lived reader");
    }
    if let Some(tx) = w.take() {
        tx.commit().expect("final commit");
        committed = pending.take().unwrap();
    }
    let d = db.take().unwrap();
    assert_same(&dump_read(&d), &committed, "final");
    check_integrity(&d, &committed, "final");
    drop(d);
    let d = open(&path, &cfg);
    assert_same(&dump_read(&d), &committed, "final after reopen");
    d.checkpoint(CheckpointMode::Truncate).expect("final truncate");
    drop(d);
    let d = open(&path, &cfg);
    assert_eq!(d.stats().recovered_frames, 0);
    assert_same(&dump_read(&d), &committed, "final after truncate and reopen");
}

/// Case count: `default`, or `WALDEN_CASES` from the environment (for longer
/// local runs).
fn cases(default: u32) -> u32 {
    std::env::var("WALDEN_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn model_random_ops(cfg in config(), ops in proptest::collection::vec(op(), 1..60)) {
        run(cfg, ops);
    }
}

/// Many small keys at 512-byte pages with a 4-page cache: deep trees,
/// splits, spills, then deletes of most keys (merges), with checks of every
/// scan against the model.
#[test]
fn model_bulk_small_pages() {
    let cfg = Config {
        page_size: 512,
        cache_pages: 4,
        autocheckpoint: 50,
        sync: SyncMode::Off,
    };
    let mut ops = Vec::new();
    for round in 0..3u8 {
        for i in 0..24u8 {
            for len in 0..5u8 {
                let t = (i as usize + round as usize) % 4;
                ops.push(Op::Put {
                    t,
                    k: KeySpec { idx: i, len },
                    v: ValSpec {
                        seed: i ^ round,
                        len: (i as u32 * 97 + round as u32 * 1000) % 3000,
                    },
                });
            }
        }
        ops.push(Op::Range {
            t: 0,
            lo: Bound::Unbounded,
            hi: Bound::Unbounded,
            dir: Dir::Both,
        });
        ops.push(Op::Commit);
        for i in (0..24u8).step_by(if round == 2 { 1 } else { 3 }) {
            for len in 0..5u8 {
                ops.push(Op::Delete {
                    t: (i as usize + round as usize) % 4,
                    k: KeySpec { idx: i, len },
                });
            }
        }
        ops.push(Op::Range {
            t: 1,
            lo: Bound::Included(KeySpec { idx: 3, len: 2 }),
            hi: Bound::Excluded(KeySpec { idx: 20, len: 4 }),
            dir: Dir::Backward,
        });
        ops.push(if round == 1 { Op::Abort } else { Op::Commit });
        ops.push(Op::Checkpoint(CheckpointMode::Passive));
        ops.push(Op::Reopen);
    }
    run(cfg, ops);
}
