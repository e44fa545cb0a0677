//! The archive under a failing store: errors (as a 5xx or a timeout
//! would surface), a PUT whose response is lost after it succeeded,
//! duplicate and overlapping segments, and an archiver that dies at every
//! store operation in turn. Nothing committed and shipped is lost, no gap
//! is reported, and every restore is a committed state.
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult,
};
use walden_archive::{restore, Archiver, ArchiverOptions, Catalog, Error, Store, Target};
use walden_std::{CheckpointMode, Database, Options};

/// What the next operations do.
#[derive(Debug, Default)]
struct Faults {
    /// Operations (puts and gets) until the next failure (-1: none).
    fail_in: AtomicI64,
    /// Puts whose response is lost after they succeed.
    lose_put_responses: AtomicU64,
    /// Operations so far.
    ops: AtomicU64,
    /// Puts whose response never comes (after they land).
    hang_put_responses: AtomicU64,
}

#[derive(Debug)]
struct FaultStore {
    inner: InMemory,
    f: Arc<Faults>,
}

impl fmt::Display for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultStore")
    }
}

fn injected(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultStore",
        source: format!("injected: {what} (as a 503 Service Unavailable or a timeout)").into(),
    }
}

impl FaultStore {
    fn tick(&self, what: &str) -> object_store::Result<()> {
        self.f.ops.fetch_add(1, Ordering::SeqCst);
        let left = self.f.fail_in.load(Ordering::SeqCst);
        if left >= 0 {
            self.f.fail_in.store(left - 1, Ordering::SeqCst);
            if left == 0 {
                return Err(injected(what));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for FaultStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> object_store::Result<PutResult> {
        self.tick("put")?;
        let r = self.inner.put_opts(location, payload, opts).await?;
        if self
            .f
            .lose_put_responses
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(injected("the response of a PUT that succeeded was lost"));
        }
        if self
            .f
            .hang_put_responses
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(r)
    }
    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        self.tick("get")?;
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(&self, locations: BoxStream<'static, object_store::Result<Path>>) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn setup() -> (tempfile::TempDir, Database, Store, Arc<Faults>, ArchiverOptions) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        dir.path().join("src.db"),
        Options {
            page_size: 1024,
            autocheckpoint_frames: 30,
            busy_timeout: Duration::from_millis(20),
            ..Options::default()
        },
    )
    .unwrap();
    let f = Arc::new(Faults {
        fail_in: AtomicI64::new(-1),
        ..Faults::default()
    });
    let store = Store::new(
        Arc::new(FaultStore {
            inner: InMemory::new(),
            f: f.clone(),
        }),
        "arch",
    )
    .unwrap();
    let opts = ArchiverOptions {
        max_segment_bytes: 8 << 10,
        ..ArchiverOptions::default()
    };
    (dir, db, store, f, opts)
}

fn commit(db: &Database, model: &mut Model, i: u32) -> u64 {
    let w = db.begin_write().unwrap();
    for j in 0..3 {
        let k = format!("k{:04}", (i * 7 + j * 13) % 500).into_bytes();
        let v = format!("v{i}-{j}").repeat(1 + (i % 5) as usize).into_bytes();
        w.put(&k, &v).unwrap();
        model.insert(k, v);
    }
    w.commit().unwrap().unwrap()
}

fn restored(store: &Store, dir: &std::path::Path, name: &str, t: Target) -> Model {
    let p = dir.join(name);
    restore(store, &p, None, t).unwrap();
    let db = Database::open(&p, Options::default()).unwrap();
    assert!(db.verify().unwrap().is_ok());
    let r = db.begin_read().unwrap();
    r.range(..).unwrap().map(|kv| kv.unwrap()).collect()
}

#[test]
fn a_failing_store_holds_the_wal_and_loses_nothing() {
    let (dir, db, store, f, opts) = setup();
    let (mut a, _) = Archiver::start(&db, store.clone(), opts).unwrap();
    let mut model = Model::new();
    for i in 0..20 {
        commit(&db, &mut model, i);
    }
    f.fail_in.store(0, Ordering::SeqCst);
    let e = a.ship().unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e}");
    assert!(e.to_string().contains("503"), "{e}");
    // Nothing shipped: the WAL is held, the lag shows.
    assert!(db.stats().archive_lag_frames > 0);
    assert!(db.checkpoint(CheckpointMode::Truncate).is_err());
    a.ship().unwrap();
    assert_eq!(db.stats().archive_lag_frames, 0);
    db.checkpoint(CheckpointMode::Truncate).unwrap();
    assert_eq!(restored(&store, dir.path(), "r.db", Target::Latest), model);
}

#[test]
fn a_lost_put_response_and_overlapping_segments() {
    let (dir, db, store, f, mut opts) = setup();
    // One segment per shipment, so that a retry after new commits
    // overlaps the segment that landed.
    opts.max_segment_bytes = 16 << 20;
    let (mut a, _) = Archiver::start(&db, store.clone(), opts).unwrap();
    let mut model = Model::new();
    let mut states = BTreeMap::new();
    for i in 0..10 {
        let l = commit(&db, &mut model, i);
        states.insert(l, model.clone());
    }
    // The PUT lands, its response does not: the archiver sees an error.
    f.lose_put_responses.store(1, Ordering::SeqCst);
    assert!(matches!(a.ship(), Err(Error::Store(_))));
    // Retried at once: the same object is found and taken as its own.
    a.ship().unwrap();
    // Lost again, then more commits before the retry: the retry writes a
    // segment overlapping the one that landed.
    for i in 10..20 {
        let l = commit(&db, &mut model, i);
        states.insert(l, model.clone());
    }
    f.lose_put_responses.store(1, Ordering::SeqCst);
    assert!(a.ship().is_err());
    for i in 20..30 {
        let l = commit(&db, &mut model, i);
        states.insert(l, model.clone());
    }
    a.ship().unwrap();
    let cat = Catalog::read(&store).unwrap();
    let segs = &cat.timelines[&1].segments;
    assert!(segs.windows(2).any(|w| w[0].0 == w[1].0), "no overlapping segments: {segs:?}");
    assert_eq!(restored(&store, dir.path(), "latest.db", Target::Latest), model);
    for (k, (l, m)) in states.iter().enumerate().step_by(3) {
        assert_eq!(&restored(&store, dir.path(), &format!("l{k}.db"), Target::Lsn(*l)), m);
    }
}

/// The archiver dies (is dropped, as a killed process loses its lock and
/// memory; the slot stays in the wal-index) at its n-th store operation,
/// for every n of a run; a new archiver takes over each time.
#[test]
fn an_archiver_dying_at_every_store_operation() {
    let (dir, db, store, f, opts) = setup();
    let mut model = Model::new();
    let mut states = BTreeMap::new();
    let mut i = 0;
    let mut n = 0;
    let mut deaths = 0;
    let mut start_deaths = 0;
    while n < 60 {
        // Every other start dies at one of its own operations.
        f.fail_in.store(if n % 2 == 1 { (n / 2) % 5 } else { -1 }, Ordering::SeqCst);
        let started = Archiver::start(&db, store.clone(), opts.clone());
        let mut a = match started {
            Ok((a, rep)) => {
                assert_eq!(rep.gap, None, "a gap after a death at operation {n}");
                a
            }
            Err(Error::Store(_)) => {
                deaths += 1;
                start_deaths += 1;
                n += 1;
                continue;
            }
            Err(e) => panic!("start after a death at operation {n}: {e}"),
        };
        f.fail_in.store(n % 7, Ordering::SeqCst);
        loop {
            for _ in 0..4 {
                let l = commit(&db, &mut model, i);
                states.insert(l, model.clone());
                i += 1;
            }
            if i % 12 == 0 {
                let _ = db.checkpoint(CheckpointMode::Truncate);
            }
            match a.ship() {
                Ok(_) => {}
                Err(Error::Store(_)) => break,
                Err(e) => panic!("ship: {e}"),
            }
        }
        drop(a);
        deaths += 1;
        n += 1;
        f.fail_in.store(-1, Ordering::SeqCst);
    }
    assert!(deaths >= 60);
    assert!(start_deaths > 5, "{start_deaths} deaths in Archiver::start");
    f.fail_in.store(-1, Ordering::SeqCst);
    let (mut a, rep) = Archiver::start(&db, store.clone(), opts).unwrap();
    assert_eq!(rep.gap, None);
    a.ship().unwrap();
    assert!(db.wal_header().unwrap().ckpt_seq > 2, "the WAL hardly restarted");
    assert_eq!(restored(&store, dir.path(), "latest.db", Target::Latest), model);
    let keys: Vec<u64> = states.keys().copied().collect();
    for k in (0..keys.len()).step_by(keys.len() / 15 + 1) {
        assert_eq!(
            restored(&store, dir.path(), &format!("l{k}.db"), Target::Lsn(keys[k])),
            states[&keys[k]]
        );
    }
}

#[test]
fn a_store_that_stops_answering_times_out() {
    let (dir, db, store, f, opts) = setup();
    let store = store.with_timeout(Some(Duration::from_millis(200)));
    let (mut a, _) = Archiver::start(&db, store.clone(), opts).unwrap();
    let mut model = Model::new();
    for i in 0..10 {
        commit(&db, &mut model, i);
    }
    f.hang_put_responses.store(1, Ordering::SeqCst);
    let t = std::time::Instant::now();
    let e = a.ship().unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(db.stats().archive_lag_frames > 0, "the slot advanced past an unanswered put");
    // The put had landed: the retry finds it as its own.
    a.ship().unwrap();
    assert_eq!(db.stats().archive_lag_frames, 0);
    assert_eq!(restored(&store, dir.path(), "r.db", Target::Latest), model);
}
