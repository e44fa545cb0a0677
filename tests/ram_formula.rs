//! The RAM formula of the core's documentation (core/src/lib.rs):
//!
//! `4 * region_words(F, M) + cache_mem_len(ps, n) + size_of::<Connection<..>>()`
//!
//! checked with the core API: a connection opens with exactly
//! `cache_mem_len(ps, n)` bytes of cache and a region of exactly
//! `region_words(F, M)` words, is refused with one byte or one word less, and
//! allocates nothing on the heap while it works.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

use walden::engine::storage::{RamStorage, SharedStorage};
use walden::engine::sync::AtomicU32;
use walden::engine::{
    cache_mem_len, max_key_len, region_words, verify, CheckpointMode, Connection, Cursor, Error, Options, MAX_KEY_CAP, MIN_CACHE_PAGES,
};

// ---------------------------------------------------------------------
// An allocator that counts the allocations of threads that ask for it.
// ---------------------------------------------------------------------

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by this thread while running `f`.
fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCATIONS.load(Ordering::SeqCst) - before)
}

// ---------------------------------------------------------------------

type Ram<'b> = RamStorage<&'b mut [u8]>;
type Conn<'a, 'b> = Connection<SharedStorage<'a, Ram<'b>>, &'a [AtomicU32], &'a mut [u8]>;

fn region(words: usize) -> Vec<AtomicU32> {
    (0..words).map(|_| AtomicU32::new(0)).collect()
}

#[test]
fn formula_components() {
    // cache_mem_len(ps, n) = (n + 3) * ps + 16 * n + 16 * next_pow2(n)
    for ps in [512u32, 1024, 4096, 65_536] {
        for n in [4u32, 5, 16, 256, 1000] {
            let want = (n as usize + 3) * ps as usize + 16 * n as usize + 16 * (n as usize).next_power_of_two();
            assert_eq!(cache_mem_len(ps, n), want);
        }
    }
    // region_words(F, M) = 67 + 2M + F + 1 + next_pow2(2F)
    for f in [16u32, 17, 100, 1000, 1024, 4096, 65_536, 100_000] {
        for m in [2u32, 8, 64] {
            let want = 67 + 2 * m as usize + f as usize + 1 + (2 * f as usize).next_power_of_two();
            assert_eq!(region_words(f, m), want, "F={f} M={m}");
        }
    }
    // The documented figure for the std backend's defaults (65,536 frames,
    // 8 read marks).
    assert_eq!(region_words(65_536, 8), 196_692);
    assert_eq!(region_words(65_536, 8) * 4, 786_768);
    // A cursor is about 2.3 KiB.
    let c = std::mem::size_of::<Cursor>();
    assert!((2_000..2_600).contains(&c), "size_of::<Cursor>() = {c}");
    // The connection struct itself is small next to its buffers.
    let s = std::mem::size_of::<Conn<'static, 'static>>();
    assert!(s < 1024, "size_of::<Connection<..>>() = {s}");
}

/// A database in caller-provided buffers: exactly the formula's memory.
fn open_exact<'a, 'b>(
    db: &'a RefCell<Ram<'b>>,
    wal: &'a RefCell<Ram<'b>>,
    reg: &'a [AtomicU32],
    mem: &'a mut [u8],
    opts: Options,
) -> Result<Conn<'a, 'b>, Error> {
    Connection::open(SharedStorage(db), SharedStorage(wal), reg, mem, opts)
}

#[test]
fn exact_cache_and_region_open_and_one_less_is_refused() {
    for (ps, n, frames, marks) in [
        (512u32, 4u32, 16u32, 2u32),
        (4096, 4, 64, 8),
        (1024, 4, 1000, 3),
        (4096, 16, 128, 8),
        (65_536, 4, 16, 64),
    ] {
        let opts = Options {
            page_size: ps,
            max_wal_frames: frames,
            read_marks: marks,
            autocheckpoint_frames: 0,
            ..Options::default()
        };
        let mut dbuf = vec![0u8; 64 << 20];
        let mut wbuf = vec![0u8; 64 << 20];
        let db = RefCell::new(RamStorage::new(&mut dbuf[..]));
        let wal = RefCell::new(RamStorage::new(&mut wbuf[..]));
        let words = region_words(frames, marks);
        let len = cache_mem_len(ps, n);

        // One word short of the region: refused, nothing touched.
        let short = region(words - 1);
        let mut mem = vec![0u8; len];
        let r = open_exact(&db, &wal, &short, &mut mem, opts);
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "ps {ps}: region one word short: {:?}",
            r.err()
        );
        assert_eq!(db.borrow_mut().contents().len(), 0, "refused open created the database");

        // One byte short of the cache: at the minimum page count, refused;
        // above it, one page fewer.
        let reg = region(words);
        let mut mem = vec![0u8; len - 1];
        let r = open_exact(&db, &wal, &reg, &mut mem, opts);
        if n == MIN_CACHE_PAGES {
            assert!(
                matches!(r, Err(Error::InvalidArgument(_))),
                "ps {ps}: cache one byte short: {:?}",
                r.err()
            );
        } else {
            assert_eq!(r.unwrap().cache_pages(), n as usize - 1);
        }

        // Exactly the formula: opens, has n cache pages, and works.
        let reg = region(words);
        let mut mem = vec![0u8; len];
        let mut c = open_exact(&db, &wal, &reg, &mut mem, opts).unwrap();
        assert_eq!(c.cache_pages(), n as usize);
        assert_eq!(c.page_size(), ps);
        // The new database is its first commit, in the WAL: move it out so
        // the transaction below has the whole WAL.
        c.checkpoint(CheckpointMode::Truncate).unwrap();
        c.begin_write().unwrap();
        let t = c.create_table(b"t").unwrap();
        let big = vec![0xA5u8; 3 * ps as usize];
        for i in 0..(frames / 4).max(10) {
            c.put(t, format!("k{i:05}").as_bytes(), if i % 7 == 0 { &big } else { b"small" })
                .unwrap();
        }
        c.commit().unwrap();
        c.checkpoint(CheckpointMode::Truncate).unwrap();
        c.begin_read().unwrap();
        let t = c.table(b"t").unwrap().unwrap();
        let mut out = vec![0u8; big.len()];
        assert_eq!(c.get(t, b"k00000", &mut out).unwrap(), Some(big.len()));
        assert_eq!(out, big);
        c.end_read();
        drop(c);

        // A second connection on the same (initialised) region needs only
        // its own cache memory, and the same rule applies.
        let reg2 = region(words);
        let mut mem1 = vec![0u8; len];
        let _first = open_exact(&db, &wal, &reg2, &mut mem1, opts).unwrap();
        let mut mem2 = vec![0u8; cache_mem_len(ps, MIN_CACHE_PAGES) - 1];
        assert!(matches!(
            open_exact(&db, &wal, &reg2, &mut mem2, opts),
            Err(Error::InvalidArgument(_))
        ));
        let mut mem2 = vec![0u8; cache_mem_len(ps, MIN_CACHE_PAGES)];
        let mut second = open_exact(&db, &wal, &reg2, &mut mem2, opts).unwrap();
        assert_eq!(second.cache_pages(), MIN_CACHE_PAGES as usize);
        second.begin_read().unwrap();
        let t = second.table(b"t").unwrap().unwrap();
        assert_eq!(second.value_len(t, b"k00001").unwrap(), Some(5));
        second.end_read();
    }
}

/// A database created with large pages, reopened with options for small
/// pages: the cache must fit the file's page size.
#[test]
fn cache_is_checked_against_the_files_page_size() {
    let mut dbuf = vec![0u8; 1 << 20];
    let mut wbuf = vec![0u8; 1 << 20];
    let db = RefCell::new(RamStorage::new(&mut dbuf[..]));
    let wal = RefCell::new(RamStorage::new(&mut wbuf[..]));
    let big = Options {
        page_size: 4096,
        max_wal_frames: 64,
        ..Options::default()
    };
    {
        let reg = region(region_words(64, 8));
        let mut mem = vec![0u8; cache_mem_len(4096, 4)];
        let mut c = open_exact(&db, &wal, &reg, &mut mem, big).unwrap();
        c.begin_write().unwrap();
        let t = c.default_table().unwrap();
        c.put(t, b"k", b"v").unwrap();
        c.commit().unwrap();
    }
    let small = Options { page_size: 512, ..big };
    let reg = region(region_words(64, 8));
    let mut mem = vec![0u8; cache_mem_len(512, 16)];
    let r = open_exact(&db, &wal, &reg, &mut mem, small);
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{:?}", r.err());
    let reg = region(region_words(64, 8));
    let mut mem = vec![0u8; cache_mem_len(4096, 4)];
    let mut c = open_exact(&db, &wal, &reg, &mut mem, small).unwrap();
    assert_eq!(c.page_size(), 4096);
    assert_eq!(c.cache_pages(), 4);
    c.begin_read().unwrap();
    let t = c.default_table().unwrap();
    let mut out = [0u8; 4];
    assert_eq!(c.get(t, b"k", &mut out).unwrap(), Some(1));
}

/// The formula is all the memory there is: opening, writing (with spills
/// and overflow pages), reading, cursors, checkpoints and recovery make no
/// heap allocation.
#[test]
fn core_makes_no_heap_allocations() {
    let (ps, n, frames, marks) = (512u32, 4u32, 256u32, 4u32);
    let opts = Options {
        page_size: ps,
        max_wal_frames: frames,
        read_marks: marks,
        autocheckpoint_frames: 64,
        ..Options::default()
    };
    let mut dbuf = vec![0u8; 4 << 20];
    let mut wbuf = vec![0u8; 4 << 20];
    let reg = region(region_words(frames, marks));
    let reg2 = region(region_words(frames, marks));
    let mut mem = vec![0u8; cache_mem_len(ps, n)];
    let mut mem2 = vec![0u8; cache_mem_len(ps, n)];
    let big = vec![7u8; 5000];
    let mut out = vec![0u8; 5000];
    let db = RefCell::new(RamStorage::new(&mut dbuf[..]));
    let wal = RefCell::new(RamStorage::new(&mut wbuf[..]));
    let ((), allocs) = allocations_in(|| {
        let mut c = open_exact(&db, &wal, &reg, &mut mem, opts).unwrap();
        for round in 0..3u32 {
            c.begin_write().unwrap();
            let t = c.create_table(b"tab").unwrap();
            let mut key = [0u8; 8];
            for i in 0..120u32 {
                key[..4].copy_from_slice(&round.to_be_bytes());
                key[4..].copy_from_slice(&i.to_be_bytes());
                c.put(t, &key, if i % 10 == 0 { &big } else { &key }).unwrap();
            }
            for i in (0..120u32).step_by(3) {
                key[4..].copy_from_slice(&i.to_be_bytes());
                c.delete(t, &key).unwrap();
            }
            c.commit().unwrap();
        }
        c.begin_read().unwrap();
        let t = c.table(b"tab").unwrap().unwrap();
        let mut cur = Cursor::new();
        let mut count = 0;
        let mut ok = c.cursor_first(&mut cur, t).unwrap();
        while ok {
            count += 1;
            ok = c.cursor_next(&mut cur).unwrap();
        }
        assert_eq!(count, 3 * 80);
        assert_eq!(c.get(t, &[0, 0, 0, 1, 0, 0, 0, 10], &mut out).unwrap(), Some(5000));
        c.end_read();
        c.checkpoint(CheckpointMode::Restart).unwrap();
        drop(c);
        // Recovery into a fresh region.
        let mut c = open_exact(&db, &wal, &reg2, &mut mem2, opts).unwrap();
        c.begin_read().unwrap();
        let t = c.table(b"tab").unwrap().unwrap();
        assert_eq!(c.get(t, &[0, 0, 0, 2, 0, 0, 0, 20], &mut out).unwrap(), Some(5000));
        c.end_read();
    });
    assert_eq!(out, big);
    assert_eq!(allocs, 0, "the core allocated {allocs} times");
    // The counter works.
    let (v, n) = allocations_in(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(n >= 1);
}

/// Key buffers follow the page size: a cursor sized to `max_key_len(512)`
/// is under a fourth of the default one and walks a 512-byte-page database with
/// keys of the maximum length exactly as the default cursor does; one byte
/// smaller is refused; the integrity check with key buffers of that size
/// gives the default check's report.
#[test]
fn key_buffers_follow_the_page_size() {
    const K512: usize = max_key_len(512);
    assert_eq!(K512, 152);
    let small = std::mem::size_of::<Cursor<K512>>();
    let default = std::mem::size_of::<Cursor>();
    assert!(small < 512, "size_of::<Cursor<152>>() = {small}");
    assert!(default > MAX_KEY_CAP && small * 4 < default, "{small} vs {default}");

    let opts = Options {
        page_size: 512,
        max_wal_frames: 256,
        read_marks: 2,
        ..Options::default()
    };
    let mut dbuf = vec![0u8; 4 << 20];
    let mut wbuf = vec![0u8; 4 << 20];
    let db = RefCell::new(RamStorage::new(&mut dbuf[..]));
    let wal = RefCell::new(RamStorage::new(&mut wbuf[..]));
    let reg = region(region_words(256, 2));
    let mut mem = vec![0u8; cache_mem_len(512, 4)];
    let mut c = open_exact(&db, &wal, &reg, &mut mem, opts).unwrap();
    c.begin_write().unwrap();
    let t = c.default_table().unwrap();
    let key = |i: u32| {
        let mut k = vec![b'k'; K512];
        k[K512 - 4..].copy_from_slice(&i.to_be_bytes());
        k
    };
    for i in 0..60u32 {
        c.put(t, &key(i), &i.to_le_bytes()).unwrap();
    }
    c.commit().unwrap();

    c.begin_write().unwrap();
    let t = c.default_table().unwrap();
    let (mut sized, mut full) = (Cursor::<K512>::sized(), Cursor::new());
    assert!(c.cursor_seek(&mut sized, t, &key(10)).unwrap());
    assert!(c.cursor_seek(&mut full, t, &key(10)).unwrap());
    // A modification makes the next step re-seek from the saved key (the
    // resync buffer is sized by K too).
    c.delete(t, &key(11)).unwrap();
    let mut seen = 0;
    loop {
        assert_eq!(sized.key(), full.key());
        seen += 1;
        let (a, b) = (c.cursor_next(&mut sized).unwrap(), c.cursor_next(&mut full).unwrap());
        assert_eq!(a, b);
        if !a {
            break;
        }
    }
    assert_eq!(seen, 49, "keys 10 and 12..=59");

    let mut too_small = Cursor::<{ K512 - 1 }>::sized();
    assert!(matches!(c.cursor_first(&mut too_small, t), Err(Error::InvalidArgument(_))));
    let pages = c.header().unwrap().page_count;
    let mut bitmap = vec![0u8; verify::bitmap_len(pages)];
    let rep = c.verify_sized::<K512>(&mut bitmap).unwrap();
    assert!(rep.is_ok(), "{rep:?}");
    assert_eq!(rep.entries, 59);
    assert_eq!(rep, c.verify(&mut bitmap).unwrap());
    assert!(matches!(
        c.verify_sized::<{ K512 - 1 }>(&mut bitmap),
        Err(Error::InvalidArgument(_))
    ));
    c.commit().unwrap();
}
