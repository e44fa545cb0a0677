//! Workloads: scripted sequences of public operations, executed against a
//! [`Connection`] on a [`SimDisk`] while a [`BTreeMap`] model follows the
//! committed state.
//!
//! A workload is data ([`Step`]s plus options), so the crash enumeration
//! ([`crate::crash`]) and the I/O-error injection ([`crate::ioerr`]) run the
//! same operations, and a failure names the workload and the step.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use crate::sim::{SimDisk, SimFile, SimRng};
use walden_core::storage::Storage;
use walden_core::sync::AtomicU32;
use walden_core::{
    cache_mem_len, max_key_len, region_words, CheckpointMode, Connection, Cursor, Error, FileKind, Options, SyncMode, Table,
};

/// Page size of every workload database, in bytes: small pages make deep
/// trees, overflow chains and many frames out of little data.
pub const PAGE_SIZE: u32 = 512;
/// Wal-index capacity of every workload, in frames.
pub const MAX_FRAMES: u32 = 4096;
/// Read-mark slots of every workload.
pub const READ_MARKS: u32 = 4;

/// One table's content: key -> value.
pub type Map = BTreeMap<Vec<u8>, Vec<u8>>;
/// A database's visible content: table name (empty for the default table)
/// -> content. Named tables appear even when empty.
pub type State = BTreeMap<Vec<u8>, Map>;

/// A connection of the kit: storages on a simulated disk, a region and a
/// cache it owns.
pub type Conn = Connection<SimFile, Arc<[AtomicU32]>, Vec<u8>>;

/// One public operation of a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `begin_write`.
    Begin,
    /// `put` of `key` with a deterministic value of `len` bytes into table
    /// `table` (0 = default table, n = named table `t<n>`, created if
    /// missing).
    Put {
        /// Table number.
        table: u8,
        /// Key bytes.
        key: Vec<u8>,
        /// Value length in bytes.
        len: usize,
    },
    /// `delete` of `key` in table `table` (a missing named table is
    /// skipped).
    Delete {
        /// Table number.
        table: u8,
        /// Key bytes.
        key: Vec<u8>,
    },
    /// `drop_table` of table `t<n>`.
    DropTable(u8),
    /// `commit`.
    Commit,
    /// `abort`.
    Abort,
    /// `checkpoint` in this mode (`Busy` is not an error of the workload).
    Checkpoint(CheckpointMode),
    /// Close the connection and open a new one on the same files with a
    /// fresh wal-index (a process restart without a crash).
    Reopen,
    /// Group commit: the open write transaction is appended (its commit
    /// not yet synced), then `n` more transactions, each a put of
    /// [`group_key`]`(serial, k)` with a 24-byte value on a connection of
    /// its own sharing the wal-index, are appended behind it; then the
    /// first connection's `commit` syncs once for all of them, and the
    /// others' `commit`s find themselves covered.
    GroupCommit(u8),
}

/// The key of sibling transaction `k` of the [`Step::GroupCommit`] at step
/// `serial`.
pub fn group_key(serial: usize, k: u8) -> Vec<u8> {
    format!("gc{serial:04}-{k}").into_bytes()
}

/// A named workload: its steps and the options it runs with.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short name (used in test names and failure messages).
    pub name: &'static str,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Page-cache capacity in pages (4 makes transactions spill).
    pub cache_pages: u32,
    /// Automatic checkpoint threshold in frames (0 = off).
    pub autocheckpoint_frames: u32,
    /// Page budget of automatic checkpoints (0 = none).
    pub checkpoint_budget_pages: u32,
    /// Time budget of automatic checkpoints in milliseconds of
    /// [`tick_clock`] (0 = none).
    pub checkpoint_budget_ms: u32,
}

/// The value a workload stores for (`key`, `len`, `serial`): `len` bytes
/// that differ between puts of the same key (`serial` is the step index).
pub fn value(key: &[u8], len: usize, serial: usize) -> Vec<u8> {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ serial as u64;
    for &b in key {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let mut r = SimRng(h);
    (0..len).map(|_| r.next_u64() as u8).collect()
}

/// The name of table `n` (empty for the default table).
pub fn table_name(n: u8) -> Vec<u8> {
    if n == 0 {
        Vec::new()
    } else {
        format!("t{n}").into_bytes()
    }
}

/// Connection options of a workload under `sync`.
pub fn options(w: &Workload, sync: SyncMode) -> Options {
    Options {
        page_size: PAGE_SIZE,
        sync,
        autocheckpoint_frames: w.autocheckpoint_frames,
        checkpoint_budget_pages: w.checkpoint_budget_pages,
        checkpoint_budget_ms: w.checkpoint_budget_ms,
        max_wal_frames: MAX_FRAMES,
        read_marks: READ_MARKS,
        ..Options::default()
    }
}

/// Opens a connection on `disk` with a fresh wal-index (so it runs
/// recovery). Errors: those of [`Connection::open`].
pub fn open(disk: &SimDisk, cache_pages: u32, opts: Options) -> Result<Conn, Error> {
    open_on(disk, cache_pages, opts, new_region())
}

/// A fresh (zeroed) wal-index region of the kit's size.
pub fn new_region() -> Arc<[AtomicU32]> {
    (0..region_words(MAX_FRAMES, READ_MARKS)).map(|_| AtomicU32::new(0)).collect()
}

/// Opens a connection on `disk` with the wal-index `region` (recovery runs
/// when the region is fresh; otherwise the connection joins the others of
/// the region). Errors: those of [`Connection::open`].
pub fn open_on(disk: &SimDisk, cache_pages: u32, opts: Options, region: Arc<[AtomicU32]>) -> Result<Conn, Error> {
    let mut c = Connection::open(
        disk.file(FileKind::Database),
        disk.file(FileKind::Wal),
        region,
        vec![0u8; cache_mem_len(PAGE_SIZE, cache_pages)],
        opts,
    )?;
    if opts.checkpoint_budget_ms > 0 {
        c.set_clock(tick_clock);
    }
    Ok(c)
}

/// The kit's clock for time budgets: a millisecond passes each time it is
/// read, counted per thread, so that a replayed workload stops its
/// checkpoints at the same pages every run.
pub fn tick_clock() -> u64 {
    thread_local! {
        static TICKS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
    }
    TICKS.with(|t| {
        t.set(t.get() + 1);
        t.get()
    })
}

/// Reads every table in a read transaction of its own. Errors: any error of
/// the reads.
pub fn read_state(c: &mut Conn) -> Result<State, Error> {
    c.begin_read()?;
    let r = read_state_in_txn(c);
    c.end_read();
    r
}

/// Reads a whole table with a forward cursor (values read in full).
pub fn scan<S: Storage, R: Deref<Target = [AtomicU32]>, B: AsMut<[u8]>>(c: &mut Connection<S, R, B>, t: Table) -> Result<Map, Error> {
    let mut m = Map::new();
    let mut cur = Cursor::new();
    let mut ok = c.cursor_first(&mut cur, t)?;
    while ok {
        let k = cur.key().ok_or(Error::InvalidArgument("cursor on an entry has no key"))?.to_vec();
        let n = c.cursor_value_len(&cur)?;
        let mut v = vec![0u8; n];
        c.cursor_value(&cur, 0, &mut v)?;
        m.insert(k, v);
        ok = c.cursor_next(&mut cur)?;
    }
    Ok(m)
}

/// Reads every table (the default table, then each table the catalog
/// lists) in the transaction open on `c`, whatever its storage.
pub fn read_state_in_txn<S: Storage, R: Deref<Target = [AtomicU32]>, B: AsMut<[u8]>>(c: &mut Connection<S, R, B>) -> Result<State, Error> {
    let mut s = State::new();
    let d = c.default_table()?;
    s.insert(Vec::new(), scan(c, d)?);
    let cat = c.catalog()?;
    let names: Vec<Vec<u8>> = scan(c, cat)?.into_keys().collect();
    for name in names {
        let t = c.table(&name)?.ok_or(Error::NotFound)?;
        s.insert(name, scan(c, t)?);
    }
    Ok(s)
}

/// Runs the integrity check in a read transaction of its own; `Err` with a
/// description when it fails or reports a problem.
pub fn verify(c: &mut Conn) -> Result<u64, String> {
    c.begin_read().map_err(|e| format!("begin_read: {e}"))?;
    let r = (|| {
        let pages = c.header().map_err(|e| format!("header: {e}"))?.page_count;
        let mut bitmap = vec![0u8; walden_core::verify::bitmap_len(pages)];
        let rep = c.verify(&mut bitmap).map_err(|e| format!("verify: {e}"))?;
        if rep.is_ok() {
            Ok(rep.entries)
        } else {
            Err(format!("integrity check: {rep:?}"))
        }
    })();
    c.end_read();
    r
}

/// The empty database's state.
pub fn empty_state() -> State {
    State::from([(Vec::new(), Map::new())])
}

/// Applies one data step to a model state (what a successful step does).
pub fn apply_step(s: &mut State, step: &Step, serial: usize) {
    match step {
        Step::Put { table, key, len } => {
            s.entry(table_name(*table))
                .or_default()
                .insert(key.clone(), value(key, *len, serial));
        }
        Step::Delete { table, key } => {
            if let Some(m) = s.get_mut(&table_name(*table)) {
                m.remove(key);
            }
        }
        Step::DropTable(n) => {
            s.remove(&table_name(*n));
        }
        _ => {}
    }
}

/// Runs one data step on a connection in a write transaction.
pub fn run_data_step(c: &mut Conn, step: &Step, serial: usize) -> Result<(), Error> {
    match step {
        Step::Put { table, key, len } => {
            let t = if *table == 0 {
                c.default_table()?
            } else {
                c.create_table(&table_name(*table))?
            };
            c.put(t, key, &value(key, *len, serial))
        }
        Step::Delete { table, key } => {
            let t = if *table == 0 {
                Some(c.default_table()?)
            } else {
                c.table(&table_name(*table))?
            };
            match t {
                Some(t) => c.delete(t, key).map(drop),
                None => Ok(()),
            }
        }
        Step::DropTable(n) => c.drop_table(&table_name(*n)).map(drop),
        _ => Ok(()),
    }
}

// ----------------------------------------------------------------------
// The catalogue
// ----------------------------------------------------------------------

struct Gen {
    rng: SimRng,
    steps: Vec<Step>,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            rng: SimRng(seed),
            steps: Vec::new(),
        }
    }
    fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }
    fn key(&mut self, space: u64) -> Vec<u8> {
        format!("k{:04}", self.below(space)).into_bytes()
    }
    fn put(&mut self, table: u8, key: Vec<u8>, len: usize) {
        self.steps.push(Step::Put { table, key, len });
    }
    fn del(&mut self, table: u8, key: Vec<u8>) {
        self.steps.push(Step::Delete { table, key });
    }
    fn txn(&mut self, body: impl FnOnce(&mut Gen)) {
        self.steps.push(Step::Begin);
        body(self);
        self.steps.push(Step::Commit);
    }
    fn aborted(&mut self, body: impl FnOnce(&mut Gen)) {
        self.steps.push(Step::Begin);
        body(self);
        self.steps.push(Step::Abort);
    }
    fn group(&mut self, body: impl FnOnce(&mut Gen), siblings: u8) {
        self.steps.push(Step::Begin);
        body(self);
        self.steps.push(Step::GroupCommit(siblings));
    }
    fn ckpt(&mut self, m: CheckpointMode) {
        self.steps.push(Step::Checkpoint(m));
    }
    fn done(self, name: &'static str) -> Workload {
        Workload {
            name,
            steps: self.steps,
            cache_pages: 16,
            autocheckpoint_frames: 0,
            checkpoint_budget_pages: 0,
            checkpoint_budget_ms: 0,
        }
    }
}

fn small(g: &mut Gen) -> usize {
    g.below(60) as usize
}

/// A random mix of everything (for the two mixed workloads).
fn mixed(seed: u64, name: &'static str) -> Workload {
    let mut g = Gen::new(seed);
    for i in 0..30 {
        let abort = g.below(6) == 0;
        let body = |g: &mut Gen| {
            for _ in 0..1 + g.below(12) {
                let table = g.below(3) as u8;
                let k = g.key(80);
                match g.below(10) {
                    0..=2 => g.del(table, k),
                    3 => {
                        let len = 600 + g.below(1500) as usize;
                        g.put(table, k, len)
                    }
                    _ => {
                        let len = small(g);
                        g.put(table, k, len)
                    }
                }
            }
            if g.below(15) == 0 {
                let t = 1 + g.below(2) as u8;
                g.steps.push(Step::DropTable(t));
            }
        };
        if abort {
            g.aborted(body)
        } else {
            g.txn(body)
        }
        match g.below(10) {
            0 => g.ckpt(CheckpointMode::Passive),
            1 => g.ckpt(CheckpointMode::Full),
            2 => g.ckpt(CheckpointMode::Restart),
            3 => g.ckpt(CheckpointMode::Truncate),
            4 if i % 3 == 0 => g.steps.push(Step::Reopen),
            _ => {}
        }
    }
    let mut w = g.done(name);
    w.cache_pages = 6;
    w.autocheckpoint_frames = 64;
    w
}

/// The workloads of the crash and I/O-error suites (at least 20, each a
/// different pattern of pages, frames and checkpoints).
pub fn catalogue() -> Vec<Workload> {
    let mut v = Vec::new();

    // 1. One small put per commit.
    let mut g = Gen::new(1);
    for i in 0..24 {
        g.txn(|g| g.put(0, format!("s{i:03}").into_bytes(), 8 + i % 20));
    }
    v.push(g.done("single_puts"));

    // 2. One hot key rewritten by every commit.
    let mut g = Gen::new(2);
    for i in 0..24 {
        g.txn(|g| g.put(0, b"hot".to_vec(), 10 + i * 7));
    }
    v.push(g.done("hot_key"));

    // 3. Transactions far larger than a 4-page cache: dirty pages spill to
    // the WAL before the commit frame.
    let mut g = Gen::new(3);
    for _ in 0..3 {
        g.txn(|g| {
            for _ in 0..90 {
                let k = g.key(400);
                let len = 20 + g.below(40) as usize;
                g.put(0, k, len);
            }
        });
    }
    let mut w = g.done("spill");
    w.cache_pages = 4;
    v.push(w);

    // 4. A spilling transaction aborted, then small commits.
    let mut g = Gen::new(4);
    g.txn(|g| {
        for i in 0..20 {
            g.put(0, format!("base{i:02}").into_bytes(), 30);
        }
    });
    g.aborted(|g| {
        for _ in 0..120 {
            let k = g.key(300);
            g.put(0, k, 40);
        }
    });
    for i in 0..8 {
        g.txn(|g| g.put(0, format!("after{i}").into_bytes(), 16));
    }
    let mut w = g.done("spill_abort");
    w.cache_pages = 4;
    v.push(w);

    // 5. Values on overflow chains.
    let mut g = Gen::new(5);
    for i in 0..12 {
        let len = 600 + g.below(3000) as usize;
        g.txn(|g| g.put(0, format!("big{i}").into_bytes(), len));
    }
    v.push(g.done("overflow"));

    // 6. Large values rewritten small and back (overflow pages freed and
    // reused).
    let mut g = Gen::new(6);
    for i in 0..16 {
        let len = if i % 2 == 0 { 2500 } else { 10 };
        g.txn(|g| {
            g.put(0, b"a".to_vec(), len);
            g.put(0, b"b".to_vec(), 3000 - len);
        });
    }
    v.push(g.done("overflow_shrink"));

    // 7. Inserts, then deletes that empty leaves and free pages.
    let mut g = Gen::new(7);
    for t in 0..4 {
        g.txn(|g| {
            for i in 0..40 {
                g.put(0, format!("d{:03}", t * 40 + i).into_bytes(), 30);
            }
        });
    }
    for t in 0..8 {
        g.txn(|g| {
            for i in 0..18 {
                g.del(0, format!("d{:03}", t * 18 + i).into_bytes());
            }
        });
    }
    v.push(g.done("deletes_free_pages"));

    // 8. Delete everything, then insert again (the tree shrinks to a leaf,
    // the freelist feeds the regrowth).
    let mut g = Gen::new(8);
    g.txn(|g| {
        for i in 0..120 {
            g.put(0, format!("e{i:03}").into_bytes(), 25);
        }
    });
    g.txn(|g| {
        for i in 0..120 {
            g.del(0, format!("e{i:03}").into_bytes());
        }
    });
    for t in 0..6 {
        g.txn(|g| {
            for i in 0..20 {
                g.put(0, format!("f{:03}", t * 20 + i).into_bytes(), 25);
            }
        });
    }
    v.push(g.done("delete_all_reinsert"));

    // 9. Several named tables, one dropped and created again.
    let mut g = Gen::new(9);
    for i in 0..18 {
        g.txn(|g| {
            for t in 0..4u8 {
                g.put(t, format!("m{i:02}").into_bytes(), 12 + t as usize);
            }
            if i == 9 {
                g.steps.push(Step::DropTable(2));
            }
        });
    }
    v.push(g.done("several_tables"));

    // 10. A dropped table that owned overflow chains.
    let mut g = Gen::new(10);
    g.txn(|g| {
        for i in 0..6 {
            g.put(1, format!("o{i}").into_bytes(), 1500);
        }
    });
    g.txn(|g| g.steps.push(Step::DropTable(1)));
    for i in 0..8 {
        g.txn(|g| g.put(0, format!("p{i}").into_bytes(), 700));
    }
    v.push(g.done("drop_table_overflow"));

    // 11-14. Checkpoints of each mode in flight between commits.
    for (name, mode, seed) in [
        ("checkpoint_passive", CheckpointMode::Passive, 11),
        ("checkpoint_full", CheckpointMode::Full, 12),
        ("wal_restart", CheckpointMode::Restart, 13),
        ("truncate_checkpoint", CheckpointMode::Truncate, 14),
    ] {
        let mut g = Gen::new(seed);
        for i in 0..20 {
            g.txn(|g| {
                for _ in 0..1 + g.below(6) {
                    let k = g.key(60);
                    let len = small(g);
                    g.put(0, k, len);
                }
                if i % 4 == 3 {
                    let k = g.key(60);
                    g.del(0, k);
                }
            });
            if i % 5 == 4 {
                g.ckpt(mode);
            }
        }
        v.push(g.done(name));
    }

    // 15. Automatic checkpoints every few frames.
    let mut g = Gen::new(15);
    for _ in 0..24 {
        g.txn(|g| {
            for _ in 0..3 {
                let k = g.key(100);
                g.put(0, k, 40);
            }
        });
    }
    let mut w = g.done("autocheckpoint");
    w.autocheckpoint_frames = 8;
    v.push(w);

    // 16. Aborts mixed in.
    let mut g = Gen::new(16);
    for i in 0..24 {
        let body = |g: &mut Gen| {
            for _ in 0..1 + g.below(5) {
                let k = g.key(50);
                g.put(0, k, 30);
            }
        };
        if i % 3 == 1 {
            g.aborted(body)
        } else {
            g.txn(body)
        }
    }
    v.push(g.done("aborts_mixed"));

    // 17. Close and reopen every few commits.
    let mut g = Gen::new(17);
    for i in 0..20 {
        g.txn(|g| {
            let k = g.key(40);
            g.put(0, k, 50);
        });
        if i % 4 == 3 {
            g.steps.push(Step::Reopen);
        }
        if i == 10 {
            g.ckpt(CheckpointMode::Truncate);
        }
    }
    v.push(g.done("reopen_cycles"));

    // 18. Descending keys (splits at the left edge).
    let mut g = Gen::new(18);
    for t in 0..8 {
        g.txn(|g| {
            for i in 0..15 {
                g.put(0, format!("r{:03}", 999 - t * 15 - i).into_bytes(), 28);
            }
        });
    }
    v.push(g.done("reverse_inserts"));

    // 19-20. Random mixes of everything.
    v.push(mixed(19, "mixed_a"));
    v.push(mixed(20, "mixed_b"));

    // 21. Keys of the largest length the page size allows.
    let mut g = Gen::new(21);
    let kl = max_key_len(PAGE_SIZE);
    for i in 0..14 {
        g.txn(|g| {
            let mut k = vec![b'x'; kl];
            k[..4].copy_from_slice(format!("{i:04}").as_bytes());
            g.put(0, k, 20);
        });
    }
    v.push(g.done("max_keys"));

    // 22. Commits that change nothing, deletes of missing keys, empty
    // transactions.
    let mut g = Gen::new(22);
    for i in 0..20 {
        g.txn(|g| match i % 4 {
            0 => g.put(0, format!("n{i}").into_bytes(), 9),
            1 => g.del(0, b"missing".to_vec()),
            2 => {}
            _ => g.del(0, format!("n{}", i - 3).into_bytes()),
        });
    }
    v.push(g.done("no_op_commits"));

    // 23. Growth, truncate checkpoint, deletions, truncate checkpoint
    // again (the database file shrinks).
    let mut g = Gen::new(23);
    for t in 0..3 {
        g.txn(|g| {
            for i in 0..50 {
                g.put(0, format!("g{:03}", t * 50 + i).into_bytes(), 60);
            }
        });
    }
    g.ckpt(CheckpointMode::Truncate);
    for t in 0..3 {
        g.txn(|g| {
            for i in 0..50 {
                g.del(0, format!("g{:03}", t * 50 + i).into_bytes());
            }
        });
    }
    g.ckpt(CheckpointMode::Truncate);
    g.txn(|g| g.put(0, b"last".to_vec(), 5));
    v.push(g.done("grow_shrink_truncate"));

    // 24. Group commit: a transaction appended, one or three more appended
    // behind it by other connections, one sync for all of them; with a
    // spill, a checkpoint in between, and a restart of the WAL.
    let mut g = Gen::new(24);
    for i in 0..6 {
        g.group(|g| g.put(0, format!("m{i:02}").into_bytes(), 40), 1 + (i % 2) * 2);
    }
    g.ckpt(CheckpointMode::Passive);
    g.group(
        |g| {
            for j in 0..80 {
                g.put(1, format!("big{j:03}").into_bytes(), 90);
            }
        },
        2,
    );
    g.ckpt(CheckpointMode::Restart);
    g.group(|g| g.del(0, b"m00".to_vec()), 1);
    g.txn(|g| g.put(0, b"after".to_vec(), 9));
    let mut w = g.done("group_commit");
    w.cache_pages = 8;
    v.push(w);

    // 25 and 26. Incremental checkpoints: automatic checkpoints every 12
    // frames that copy at most 3 pages each (25), or stop once 2 ms of
    // `tick_clock` (a page or two) have passed, copying in WAL order (26),
    // so that backfills stop and resume mid-transaction; a manual Full
    // checkpoint finishes the work.
    for (seed, name, pages, ms) in [(25, "budgeted_checkpoints", 3, 0), (26, "time_budgeted_checkpoints", 0, 2)] {
        let mut g = Gen::new(seed);
        for t in 0..12 {
            g.txn(|g| {
                for _ in 0..6 {
                    let k = g.key(400);
                    let len = 30 + small(g);
                    g.put((t % 2) as u8, k, len);
                }
            });
        }
        g.ckpt(CheckpointMode::Full);
        g.txn(|g| g.put(0, b"end".to_vec(), 3));
        let mut w = g.done(name);
        w.autocheckpoint_frames = 12;
        w.checkpoint_budget_pages = pages;
        w.checkpoint_budget_ms = ms;
        v.push(w);
    }

    v
}
