//! The four systems behind one trait, each configured as docs/BENCHMARKS.md
//! describes: same keys, same values, same memory budget for caches,
//! matched durability.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use walden_testkit::sim::SimRng;

/// Result of the bench code: any error, with its message.
pub type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
/// Every key is 16 random bytes.
pub type Key = [u8; 16];
/// Every value is 100 bytes, derived from its key.
pub const VAL_LEN: usize = 100;
/// Lookups per read transaction in the concurrent-read workload.
pub const READS_PER_TXN: usize = 100;

/// The value stored under `k`.
pub fn value_of(k: &Key) -> [u8; VAL_LEN] {
    let mut v = [0u8; VAL_LEN];
    for (i, b) in v.iter_mut().enumerate() {
        *b = k[i % 16] ^ (i as u8).wrapping_mul(31);
    }
    v
}

/// Deterministic keys and orders, from the test kit's SplitMix64
/// generator (`walden_testkit::sim::SimRng`).
#[derive(Clone)]
pub struct Rng(SimRng);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(SimRng(seed))
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// A random key.
    pub fn key(&mut self) -> Key {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.next().to_le_bytes());
        k[8..].copy_from_slice(&self.next().to_le_bytes());
        k
    }
    /// A random index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
}

/// Durability of commits: SQLite's `synchronous` in WAL mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// No sync per commit (Walden `Normal`, SQLite `NORMAL`, redb
    /// `Durability::None`, LMDB `MDB_NOSYNC`).
    Normal,
    /// Durable when the commit returns (Walden `Full`, SQLite `FULL`, redb
    /// `Immediate`, LMDB default).
    Full,
}

/// Settings shared by the systems.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Page cache of each Walden connection, in 4 KiB pages.
    pub walden_cache_pages: u32,
    /// Cache budget of SQLite (per connection) and redb, in bytes.
    pub cache_bytes: usize,
    /// Every system with its default options (what a new user gets): the
    /// two settings above are ignored, and so is Walden's raised WAL limit.
    /// LMDB still gets its map size (its default, 10 MiB, holds no
    /// workload).
    pub defaults: bool,
}

/// One database under test.
pub trait System: Send + Sync {
    /// Changes the durability of later commits (reopening if the system needs it).
    fn set_durability(&mut self, d: Durability) -> R<()>;
    /// Puts every key (with [`value_of`]) in one transaction.
    fn insert_txn(&self, keys: &[Key]) -> R<()>;
    /// Looks every key up in one read transaction; returns the value bytes found.
    fn get_all(&self, keys: &[Key]) -> R<u64>;
    /// Reads every entry in key order; returns the number of entries.
    fn scan_all(&self) -> R<u64>;
    /// For each start key, reads `n` entries from it on, in one read
    /// transaction; returns the entries read.
    fn ranges(&self, starts: &[Key], n: usize) -> R<u64>;
    /// One commit per key; `fsyncs`, if given, gets the fsyncs of each commit
    /// (Walden only).
    fn put_commits(&self, keys: &[Key], fsyncs: Option<&mut Vec<u64>>) -> R<()>;
    /// Deletes the keys in one transaction; returns how many existed.
    fn delete_txn(&self, keys: &[Key]) -> R<u64>;
    /// Until `stop`: read transactions of [`READS_PER_TXN`] random lookups.
    /// Returns the lookups done.
    fn reader(&self, keys: &[Key], seed: u64, stop: &AtomicBool) -> R<u64>;
    /// Until `stop`: single-put commits of new random keys. Returns the commits.
    fn writer(&self, seed: u64, stop: &AtomicBool) -> R<u64>;
    /// Copies the WAL into the database file and truncates it (no-op without a WAL).
    fn checkpoint(&self) -> R<()>;
    /// fsyncs since open, if the system counts them.
    fn fsyncs(&self) -> Option<u64> {
        None
    }
}

// ---------------------------------------------------------------- Walden

/// Walden through `walden-std`.
pub struct Walden {
    path: PathBuf,
    cfg: Config,
    db: Option<walden::Database>,
}

/// Walden's options: its defaults, but the sync mode of the workload and,
/// in the equal-memory configuration, the cache.
pub fn walden_options(cfg: &Config, d: Durability) -> walden::Options {
    let sync = match d {
        Durability::Normal => walden::SyncMode::Normal,
        Durability::Full => walden::SyncMode::Full,
    };
    if cfg.defaults {
        return walden::Options {
            sync,
            ..walden::Options::default()
        };
    }
    walden::Options {
        cache_pages: cfg.walden_cache_pages,
        sync,
        ..walden::Options::default()
    }
}

impl Walden {
    /// Creates `dir/walden.db`.
    pub fn open(dir: &Path, cfg: Config) -> R<Walden> {
        let path = dir.join("walden.db");
        let db = walden::Database::open(&path, walden_options(&cfg, Durability::Full))?;
        Ok(Walden { path, cfg, db: Some(db) })
    }
    fn db(&self) -> R<&walden::Database> {
        self.db.as_ref().ok_or_else(|| "database closed".into())
    }
}

impl System for Walden {
    fn set_durability(&mut self, d: Durability) -> R<()> {
        self.db = None;
        self.db = Some(walden::Database::open(&self.path, walden_options(&self.cfg, d))?);
        Ok(())
    }
    fn insert_txn(&self, keys: &[Key]) -> R<()> {
        let w = self.db()?.begin_write()?;
        {
            let t = w.default_table()?;
            for k in keys {
                t.put(k, value_of(k))?;
            }
        }
        w.commit()?;
        Ok(())
    }
    // Reads borrow keys and values (`get_with`, `for_each_in`), as the
    // other systems' reads do (SQLite's `get_ref`, redb's guards, LMDB's
    // slices).
    fn get_all(&self, keys: &[Key]) -> R<u64> {
        let r = self.db()?.begin_read()?;
        let t = r.default_table()?;
        let mut n = 0;
        for k in keys {
            n += t.get_with(k, |v| v.len() as u64)?.unwrap_or(0);
        }
        Ok(n)
    }
    fn scan_all(&self) -> R<u64> {
        let r = self.db()?.begin_read()?;
        let t = r.default_table()?;
        let mut n = 0;
        t.for_each_in(.., |k, v| {
            n += u64::from(!k.is_empty() && !v.is_empty());
            true
        })?;
        Ok(n)
    }
    fn ranges(&self, starts: &[Key], len: usize) -> R<u64> {
        let r = self.db()?.begin_read()?;
        let t = r.default_table()?;
        let mut n = 0;
        for s in starts {
            let mut left = len;
            t.for_each_in(&s[..].., |k, _v| {
                n += u64::from(!k.is_empty());
                left -= 1;
                left > 0
            })?;
        }
        Ok(n)
    }
    fn put_commits(&self, keys: &[Key], mut fsyncs: Option<&mut Vec<u64>>) -> R<()> {
        let db = self.db()?;
        for k in keys {
            let before = fsyncs.as_ref().map(|_| db.stats().fsyncs);
            let w = db.begin_write()?;
            w.put(k, value_of(k))?;
            w.commit()?;
            if let (Some(f), Some(b)) = (fsyncs.as_mut(), before) {
                f.push(db.stats().fsyncs - b);
            }
        }
        Ok(())
    }
    fn delete_txn(&self, keys: &[Key]) -> R<u64> {
        let w = self.db()?.begin_write()?;
        let mut n = 0;
        {
            let t = w.default_table()?;
            for k in keys {
                n += u64::from(t.delete(k)?);
            }
        }
        w.commit()?;
        Ok(n)
    }
    fn reader(&self, keys: &[Key], seed: u64, stop: &AtomicBool) -> R<u64> {
        let db = self.db()?;
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let r = db.begin_read()?;
            let t = r.default_table()?;
            for _ in 0..READS_PER_TXN {
                n += u64::from(t.get_with(keys[rng.below(keys.len())], |v| v.len())?.is_some());
            }
        }
        Ok(n)
    }
    fn writer(&self, seed: u64, stop: &AtomicBool) -> R<u64> {
        let db = self.db()?;
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let k = rng.key();
            let w = db.begin_write()?;
            w.put(k, value_of(&k))?;
            w.commit()?;
            n += 1;
        }
        Ok(n)
    }
    fn checkpoint(&self) -> R<()> {
        self.db()?.checkpoint(walden::CheckpointMode::Truncate)?;
        Ok(())
    }
    fn fsyncs(&self) -> Option<u64> {
        self.db.as_ref().map(|d| d.stats().fsyncs)
    }
}

// ---------------------------------------------------------------- SQLite

/// SQLite (bundled) in WAL mode: a `WITHOUT ROWID` table of BLOB key and
/// value, prepared (cached) statements.
pub struct Sqlite {
    path: PathBuf,
    cfg: Config,
    conn: Mutex<rusqlite::Connection>,
}

const SQL_PUT: &str = "INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)";
const SQL_GET: &str = "SELECT v FROM kv WHERE k = ?1";

/// Opens a connection with the bench's settings.
pub fn sqlite_connect(path: &Path, cfg: &Config, d: Durability, read_only: bool) -> R<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let c = rusqlite::Connection::open_with_flags(path, flags)?;
    if !read_only {
        let mode: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" {
            return Err(format!("SQLite refused WAL mode: {mode}").into());
        }
    }
    c.pragma_update(None, "synchronous", if d == Durability::Full { "FULL" } else { "NORMAL" })?;
    if !cfg.defaults {
        c.pragma_update(None, "cache_size", -((cfg.cache_bytes / 1024) as i64))?;
    }
    if !read_only {
        c.execute_batch("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")?;
    }
    c.set_prepared_statement_cache_capacity(16);
    Ok(c)
}

impl Sqlite {
    /// Creates `dir/sqlite.db`.
    pub fn open(dir: &Path, cfg: Config) -> R<Sqlite> {
        let path = dir.join("sqlite.db");
        let conn = sqlite_connect(&path, &cfg, Durability::Full, false)?;
        Ok(Sqlite {
            path,
            cfg,
            conn: Mutex::new(conn),
        })
    }
    fn conn(&self) -> R<std::sync::MutexGuard<'_, rusqlite::Connection>> {
        self.conn.lock().map_err(|_| "SQLite connection mutex poisoned".into())
    }
}

impl System for Sqlite {
    fn set_durability(&mut self, d: Durability) -> R<()> {
        self.conn()?
            .pragma_update(None, "synchronous", if d == Durability::Full { "FULL" } else { "NORMAL" })?;
        Ok(())
    }
    fn insert_txn(&self, keys: &[Key]) -> R<()> {
        let mut c = self.conn()?;
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare_cached(SQL_PUT)?;
            for k in keys {
                st.execute(rusqlite::params![&k[..], &value_of(k)[..]])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
    fn get_all(&self, keys: &[Key]) -> R<u64> {
        let mut c = self.conn()?;
        let tx = c.transaction()?;
        let mut n = 0;
        {
            let mut st = tx.prepare_cached(SQL_GET)?;
            for k in keys {
                let mut rows = st.query([&k[..]])?;
                if let Some(row) = rows.next()? {
                    n += row.get_ref(0)?.as_blob()?.len() as u64;
                }
            }
        }
        tx.commit()?;
        Ok(n)
    }
    fn scan_all(&self) -> R<u64> {
        let c = self.conn()?;
        let mut st = c.prepare_cached("SELECT k, v FROM kv ORDER BY k")?;
        let mut rows = st.query([])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let (k, v) = (row.get_ref(0)?.as_blob()?, row.get_ref(1)?.as_blob()?);
            n += u64::from(!k.is_empty() && !v.is_empty());
        }
        Ok(n)
    }
    fn ranges(&self, starts: &[Key], len: usize) -> R<u64> {
        let mut c = self.conn()?;
        let tx = c.transaction()?;
        let mut n = 0;
        {
            let mut st = tx.prepare_cached("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2")?;
            for s in starts {
                let mut rows = st.query(rusqlite::params![&s[..], len as i64])?;
                while let Some(row) = rows.next()? {
                    n += u64::from(!row.get_ref(0)?.as_blob()?.is_empty());
                }
            }
        }
        tx.commit()?;
        Ok(n)
    }
    fn put_commits(&self, keys: &[Key], _fsyncs: Option<&mut Vec<u64>>) -> R<()> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(SQL_PUT)?;
        for k in keys {
            st.execute(rusqlite::params![&k[..], &value_of(k)[..]])?;
        }
        Ok(())
    }
    fn delete_txn(&self, keys: &[Key]) -> R<u64> {
        let mut c = self.conn()?;
        let tx = c.transaction()?;
        let mut n = 0;
        {
            let mut st = tx.prepare_cached("DELETE FROM kv WHERE k = ?1")?;
            for k in keys {
                n += st.execute([&k[..]])? as u64;
            }
        }
        tx.commit()?;
        Ok(n)
    }
    fn reader(&self, keys: &[Key], seed: u64, stop: &AtomicBool) -> R<u64> {
        let mut c = sqlite_connect(&self.path, &self.cfg, Durability::Normal, true)?;
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached(SQL_GET)?;
                for _ in 0..READS_PER_TXN {
                    let mut rows = st.query([&keys[rng.below(keys.len())][..]])?;
                    n += u64::from(rows.next()?.is_some());
                }
            }
            tx.commit()?;
        }
        Ok(n)
    }
    fn writer(&self, seed: u64, stop: &AtomicBool) -> R<u64> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(SQL_PUT)?;
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let k = rng.key();
            st.execute(rusqlite::params![&k[..], &value_of(&k)[..]])?;
            n += 1;
        }
        Ok(n)
    }
    fn checkpoint(&self) -> R<()> {
        let c = self.conn()?;
        let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            return Err("SQLite checkpoint was busy".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- redb

const REDB_TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");

/// redb with its default settings but the cache budget.
pub struct Redb {
    db: redb::Database,
    durability: redb::Durability,
}

impl Redb {
    /// Creates (or opens) `dir/redb.db`.
    pub fn open(dir: &Path, cfg: Config) -> R<Redb> {
        let mut b = redb::Database::builder();
        if !cfg.defaults {
            b.set_cache_size(cfg.cache_bytes);
        }
        let db = b.create(dir.join("redb.db"))?;
        Ok(Redb {
            db,
            durability: redb::Durability::Immediate,
        })
    }
    fn write(&self) -> R<redb::WriteTransaction> {
        let mut w = self.db.begin_write()?;
        w.set_durability(self.durability)?;
        Ok(w)
    }
}

impl System for Redb {
    fn set_durability(&mut self, d: Durability) -> R<()> {
        self.durability = match d {
            Durability::Normal => redb::Durability::None,
            Durability::Full => redb::Durability::Immediate,
        };
        Ok(())
    }
    fn insert_txn(&self, keys: &[Key]) -> R<()> {
        let w = self.write()?;
        {
            let mut t = w.open_table(REDB_TABLE)?;
            for k in keys {
                t.insert(&k[..], &value_of(k)[..])?;
            }
        }
        w.commit()?;
        Ok(())
    }
    fn get_all(&self, keys: &[Key]) -> R<u64> {
        use redb::ReadableDatabase;
        let r = self.db.begin_read()?;
        let t = r.open_table(REDB_TABLE)?;
        let mut n = 0;
        for k in keys {
            if let Some(v) = redb::ReadableTable::get(&t, &k[..])? {
                n += v.value().len() as u64;
            }
        }
        Ok(n)
    }
    fn scan_all(&self) -> R<u64> {
        use redb::{ReadableDatabase, ReadableTable};
        let r = self.db.begin_read()?;
        let t = r.open_table(REDB_TABLE)?;
        let mut n = 0;
        for e in t.iter()? {
            let (k, v) = e?;
            n += u64::from(!k.value().is_empty() && !v.value().is_empty());
        }
        Ok(n)
    }
    fn ranges(&self, starts: &[Key], len: usize) -> R<u64> {
        use redb::ReadableDatabase;
        let r = self.db.begin_read()?;
        let t = r.open_table(REDB_TABLE)?;
        let mut n = 0;
        for s in starts {
            for e in t.range::<&[u8]>(&s[..]..)?.take(len) {
                let (k, _v) = e?;
                n += u64::from(!k.value().is_empty());
            }
        }
        Ok(n)
    }
    fn put_commits(&self, keys: &[Key], _fsyncs: Option<&mut Vec<u64>>) -> R<()> {
        for k in keys {
            let w = self.write()?;
            w.open_table(REDB_TABLE)?.insert(&k[..], &value_of(k)[..])?;
            w.commit()?;
        }
        Ok(())
    }
    fn delete_txn(&self, keys: &[Key]) -> R<u64> {
        let w = self.write()?;
        let mut n = 0;
        {
            let mut t = w.open_table(REDB_TABLE)?;
            for k in keys {
                n += u64::from(t.remove(&k[..])?.is_some());
            }
        }
        w.commit()?;
        Ok(n)
    }
    fn reader(&self, keys: &[Key], seed: u64, stop: &AtomicBool) -> R<u64> {
        use redb::ReadableDatabase;
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let r = self.db.begin_read()?;
            let t = r.open_table(REDB_TABLE)?;
            for _ in 0..READS_PER_TXN {
                n += u64::from(t.get(&keys[rng.below(keys.len())][..])?.is_some());
            }
        }
        Ok(n)
    }
    fn writer(&self, seed: u64, stop: &AtomicBool) -> R<u64> {
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let k = rng.key();
            let w = self.write()?;
            w.open_table(REDB_TABLE)?.insert(&k[..], &value_of(&k)[..])?;
            w.commit()?;
            n += 1;
        }
        Ok(n)
    }
    fn checkpoint(&self) -> R<()> {
        // No WAL. A commit with Immediate durability makes earlier
        // Durability::None commits durable: do one so that the file holds
        // everything, as a checkpoint does for the WAL systems.
        let w = self.db.begin_write()?;
        w.commit()?;
        Ok(())
    }
}

// ---------------------------------------------------------------- LMDB

/// LMDB through heed: the unnamed database, byte keys and values.
pub struct Lmdb {
    env: heed::Env,
    db: heed::Database<'static, heed::types::Bytes, heed::types::Bytes>,
}

/// Map size of the LMDB environment (sparse; bounds the database size).
const LMDB_MAP: usize = 8 << 30;

impl Lmdb {
    /// Creates (or opens) the environment in `dir/lmdb`.
    pub fn open(dir: &Path) -> R<Lmdb> {
        let path = dir.join("lmdb");
        std::fs::create_dir_all(&path)?;
        let mut o = heed::EnvOpenOptions::new();
        o.map_size(LMDB_MAP).max_readers(126);
        // SAFETY: the environment is opened once per directory in this
        // process and the files are not touched by anything else.
        let env = unsafe { o.open(&path)? };
        let wtxn = env.write_txn()?;
        let db = env
            .create_databases_and_commit(wtxn, |wdo, wtxn| -> Result<_, heed::Error> {
                Ok(heed::CommitOrAbort::<_, ()>::Commit(
                    wdo.create_database::<heed::types::Bytes, heed::types::Bytes>(wtxn, None)?,
                ))
            })?
            .commit()
            .ok_or("LMDB database creation aborted")?;
        Ok(Lmdb { env, db })
    }
}

impl System for Lmdb {
    fn set_durability(&mut self, d: Durability) -> R<()> {
        let mode = match d {
            Durability::Normal => heed::FlagSetMode::Enable,
            Durability::Full => heed::FlagSetMode::Disable,
        };
        // SAFETY: only this thread calls set_flags, with no transaction
        // running. NO_SYNC trades durability for speed, which is the point
        // of the Normal workloads; a Full commit syncs what came before.
        unsafe { self.env.set_flags(heed::EnvFlags::NO_SYNC, mode)? };
        Ok(())
    }
    fn insert_txn(&self, keys: &[Key]) -> R<()> {
        let mut w = self.env.write_txn()?;
        for k in keys {
            self.db.put(&mut w, &k[..], &value_of(k)[..])?;
        }
        w.commit()?;
        Ok(())
    }
    fn get_all(&self, keys: &[Key]) -> R<u64> {
        let r = self.env.read_txn()?;
        let mut n = 0;
        for k in keys {
            if let Some(v) = self.db.get(&r, &k[..])? {
                n += v.len() as u64;
            }
        }
        Ok(n)
    }
    fn scan_all(&self) -> R<u64> {
        let r = self.env.read_txn()?;
        let mut n = 0;
        for e in self.db.iter(&r)? {
            let (k, v) = e?;
            n += u64::from(!k.is_empty() && !v.is_empty());
        }
        Ok(n)
    }
    fn ranges(&self, starts: &[Key], len: usize) -> R<u64> {
        let r = self.env.read_txn()?;
        let mut n = 0;
        for s in starts {
            let b: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&s[..]), Bound::Unbounded);
            for e in self.db.range(&r, &b)?.take(len) {
                let (k, _v) = e?;
                n += u64::from(!k.is_empty());
            }
        }
        Ok(n)
    }
    fn put_commits(&self, keys: &[Key], _fsyncs: Option<&mut Vec<u64>>) -> R<()> {
        for k in keys {
            let mut w = self.env.write_txn()?;
            self.db.put(&mut w, &k[..], &value_of(k)[..])?;
            w.commit()?;
        }
        Ok(())
    }
    fn delete_txn(&self, keys: &[Key]) -> R<u64> {
        let mut w = self.env.write_txn()?;
        let mut n = 0;
        for k in keys {
            n += u64::from(self.db.delete(&mut w, &k[..])?);
        }
        w.commit()?;
        Ok(n)
    }
    fn reader(&self, keys: &[Key], seed: u64, stop: &AtomicBool) -> R<u64> {
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let r = self.env.read_txn()?;
            for _ in 0..READS_PER_TXN {
                n += u64::from(self.db.get(&r, &keys[rng.below(keys.len())][..])?.is_some());
            }
        }
        Ok(n)
    }
    fn writer(&self, seed: u64, stop: &AtomicBool) -> R<u64> {
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let k = rng.key();
            let mut w = self.env.write_txn()?;
            self.db.put(&mut w, &k[..], &value_of(&k)[..])?;
            w.commit()?;
            n += 1;
        }
        Ok(n)
    }
    fn checkpoint(&self) -> R<()> {
        self.env.force_sync()?;
        Ok(())
    }
}
