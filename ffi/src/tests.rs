//! Unit tests of the exports, called from Rust as C would call them: the
//! panic boundary (forced panics through every export), defaults, and the
//! misuse rules that need internal hooks. The C programs in `examples/c`
//! and `ffi/tests/c` test the same API through the header (`ffi/tests`).

use std::error::Error;
use std::ffi::{c_void, CStr};
use std::ptr::{null, null_mut};

use crate::boundary::test_hook;
use crate::walden_rc::*;
use crate::*;

fn errmsg() -> String {
    // SAFETY: walden_errmsg never returns NULL and its string is valid until
    // this thread's next call into the library.
    unsafe { CStr::from_ptr(walden_errmsg()) }.to_string_lossy().into_owned()
}

struct TempDb {
    _dir: tempfile::TempDir,
    db: *mut walden_db,
}

impl TempDb {
    fn new() -> Result<TempDb, Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let path = std::ffi::CString::new(dir.path().join("t.db").to_str().ok_or("non-UTF-8 temp path")?)?;
        let mut opts = walden_options {
            size: 0,
            page_size: 0,
            cache_pages: 0,
            sync: 0,
            autocheckpoint_frames: 0,
            busy_timeout_ms: 0,
            read_only: 0,
            create_if_missing: 0,
        };
        let mut db = null_mut();
        // SAFETY: valid pointers to locals.
        unsafe {
            walden_options_default(&mut opts);
            opts.sync = walden_sync::WALDEN_SYNC_OFF as u32;
            assert_eq!(walden_open(path.as_ptr(), &opts, &mut db), WALDEN_OK, "{}", errmsg());
        }
        Ok(TempDb { _dir: dir, db })
    }

    fn begin(&self, write: bool) -> *mut walden_txn {
        let mut t = null_mut();
        // SAFETY: an open database and a valid out pointer.
        let rc = unsafe { walden_begin(self.db, c_int::from(write), &mut t) };
        assert_eq!(rc, WALDEN_OK, "{}", errmsg());
        t
    }

    fn put(&self, key: &[u8], val: &[u8]) {
        let t = self.begin(true);
        // SAFETY: a live write transaction and valid buffers.
        unsafe {
            assert_eq!(
                walden_put(t, null(), key.as_ptr().cast(), key.len(), val.as_ptr().cast(), val.len()),
                WALDEN_OK
            );
            assert_eq!(walden_commit(t), WALDEN_OK);
        }
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let t = self.begin(false);
        let mut buf = [0u8; 64];
        let mut n = 0usize;
        // SAFETY: a live transaction and valid buffers.
        let rc = unsafe {
            walden_get(
                t,
                null(),
                key.as_ptr().cast(),
                key.len(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut n,
            )
        };
        // SAFETY: live, ended once.
        assert_eq!(unsafe { walden_commit(t) }, WALDEN_OK);
        match rc {
            WALDEN_OK => Some(buf[..n].to_vec()),
            WALDEN_NOT_FOUND => None,
            rc => panic!("walden_get: {rc:?}: {}", errmsg()),
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        // SAFETY: opened in `new`, closed once.
        let rc = unsafe { walden_close(self.db) };
        if !std::thread::panicking() {
            assert_eq!(rc, WALDEN_OK, "{}", errmsg());
        }
    }
}

/// Arms the hook, runs `f`, and checks that the export caught the panic:
/// it returned WALDEN_INTERNAL with a message naming the panic, and it did
/// go through the boundary (the hook was consumed).
fn assert_caught(name: &str, f: impl FnOnce() -> walden_rc) {
    test_hook::arm();
    let rc = f();
    assert!(!test_hook::armed(), "{name} does not run inside the panic boundary");
    assert_eq!(rc, WALDEN_INTERNAL, "{name}");
    let msg = errmsg();
    assert!(msg.starts_with(name) && msg.contains("panic"), "{name}: message {msg:?}");
}

/// As [`assert_caught`] for the functions that return nothing.
fn assert_caught_void(name: &str, f: impl FnOnce()) {
    test_hook::arm();
    f();
    assert!(!test_hook::armed(), "{name} does not run inside the panic boundary");
    let msg = errmsg();
    assert!(msg.starts_with(name) && msg.contains("panic"), "{name}: message {msg:?}");
}

#[test]
fn a_panic_in_any_export_becomes_walden_internal() -> Result<(), Box<dyn Error>> {
    let t = TempDb::new()?;
    t.put(b"k", b"v");
    let key = b"k";
    let k = key.as_ptr().cast::<c_void>();
    let mut buf = [0u8; 8];
    let mut n = 0usize;
    let mut kp: *const c_void = null();
    let mut u = 0u64;
    let mut stats = walden_stats::default();
    let mut opts = walden_options {
        size: 1,
        page_size: 1,
        cache_pages: 1,
        sync: 9,
        autocheckpoint_frames: 1,
        busy_timeout_ms: 1,
        read_only: 1,
        create_if_missing: 1,
    };
    let before = opts;
    let mut report = walden_verify_report::default();
    let mut count = 0u64;
    let mut max = 0usize;
    unsafe extern "C" fn never(_: *mut std::ffi::c_void, _: *const std::ffi::c_char, _: usize) -> std::ffi::c_int {
        1
    }
    let w = t.begin(true);
    let mut c = null_mut();
    // SAFETY: every handle is live and every pointer valid; the panic hook
    // makes each call panic before it touches anything.
    unsafe {
        assert_eq!(walden_cursor_open(w, null(), &mut c), WALDEN_OK);
        assert_caught_void("walden_options_default", || walden_options_default(&mut opts));
        assert_eq!(opts, before, "a panicking walden_options_default must not write");
        let mut db2 = null_mut();
        assert_caught("walden_open", || walden_open(c"/nonexistent/x.db".as_ptr(), null(), &mut db2));
        assert_caught("walden_close", || walden_close(t.db));
        let mut t2 = null_mut();
        assert_caught("walden_begin", || walden_begin(t.db, 0, &mut t2));
        assert!(t2.is_null());
        assert_caught("walden_get", || {
            walden_get(w, null(), k, 1, buf.as_mut_ptr().cast(), buf.len(), &mut n)
        });
        assert_caught("walden_put", || walden_put(w, null(), k, 1, k, 1));
        assert_caught("walden_delete", || walden_delete(w, null(), k, 1));
        let mut c2 = null_mut();
        assert_caught("walden_cursor_open", || walden_cursor_open(w, null(), &mut c2));
        assert!(c2.is_null());
        assert_caught("walden_cursor_first", || walden_cursor_first(c));
        assert_caught("walden_cursor_last", || walden_cursor_last(c));
        assert_caught("walden_cursor_seek", || walden_cursor_seek(c, k, 1));
        assert_caught("walden_cursor_next", || walden_cursor_next(c));
        assert_caught("walden_cursor_prev", || walden_cursor_prev(c));
        assert_caught("walden_cursor_key", || walden_cursor_key(c, &mut kp, &mut n));
        assert_caught("walden_cursor_value", || walden_cursor_value(c, &mut kp, &mut n));
        assert_caught("walden_checkpoint", || walden_checkpoint(t.db, 0, &mut u, &mut u));
        assert_caught("walden_stats_get", || walden_stats_get(t.db, &mut stats));
        assert_caught("walden_tables", || walden_tables(w, Some(never), null_mut()));
        assert_caught("walden_drop_table", || walden_drop_table(w, c"t".as_ptr()));
        assert_caught("walden_count", || walden_count(w, null(), null(), 0, null(), 0, &mut count));
        assert_caught("walden_verify", || walden_verify(t.db, &mut report));
        assert_caught("walden_max_key_len", || walden_max_key_len(t.db, &mut max));
        assert_caught("walden_cursor_set_end", || walden_cursor_set_end(c, k, 1));
        // A panic before a free frees nothing: the handles still work.
        assert_caught_void("walden_cursor_close", || walden_cursor_close(c));
        assert_eq!(walden_cursor_first(c), WALDEN_OK, "{}", errmsg());
        walden_cursor_close(c);
        assert_caught("walden_commit", || walden_commit(w));
        assert_caught_void("walden_abort", || walden_abort(w));
        assert_eq!(walden_commit(w), WALDEN_OK, "{}", errmsg());

        // The functions that return strings give a static fallback.
        test_hook::arm();
        assert_eq!(CStr::from_ptr(walden_rc_name(0)), c"WALDEN_UNKNOWN");
        test_hook::arm();
        assert_eq!(CStr::from_ptr(walden_version()).to_bytes(), env!("CARGO_PKG_VERSION").as_bytes());
        test_hook::arm();
        assert!(!walden_errmsg().is_null());
        assert!(!test_hook::armed());
    }
    // The library still works after all those panics.
    t.put(b"after", b"ok");
    assert_eq!(t.get(b"after").as_deref(), Some(&b"ok"[..]));
    Ok(())
}

#[test]
fn a_panic_inside_a_transaction_poisons_only_that_transaction() -> Result<(), Box<dyn Error>> {
    let t = TempDb::new()?;
    t.put(b"kept", b"1");
    let w = t.begin(true);
    // SAFETY: a live write transaction and valid buffers.
    unsafe {
        assert_eq!(walden_put(w, null(), b"a".as_ptr().cast(), 1, b"1".as_ptr().cast(), 1), WALDEN_OK);
        test_hook::arm_in_txn();
        assert_eq!(
            walden_put(w, null(), b"b".as_ptr().cast(), 1, b"2".as_ptr().cast(), 1),
            WALDEN_INTERNAL
        );
        assert!(errmsg().contains("panic"), "{}", errmsg());
        let mut n = 0usize;
        assert_eq!(
            walden_get(w, null(), b"a".as_ptr().cast(), 1, null_mut(), 0, &mut n),
            WALDEN_INTERNAL
        );
        assert!(errmsg().contains("earlier call"), "{}", errmsg());
        let mut c = null_mut();
        assert_eq!(walden_cursor_open(w, null(), &mut c), WALDEN_INTERNAL);
        assert!(c.is_null());
        // Commit refuses to commit a transaction in an unknown state: it
        // discards the changes and still frees the transaction.
        assert_eq!(walden_commit(w), WALDEN_INTERNAL);
        assert!(errmsg().contains("discarded"), "{}", errmsg());
    }
    assert_eq!(t.get(b"a"), None);
    assert_eq!(t.get(b"kept").as_deref(), Some(&b"1"[..]));
    // The write lock was released: a new write transaction works.
    t.put(b"c", b"3");
    assert_eq!(t.get(b"c").as_deref(), Some(&b"3"[..]));
    Ok(())
}

#[test]
fn defaults_match_the_documentation() {
    let mut o = walden_options {
        size: 0,
        page_size: 0,
        cache_pages: 0,
        sync: 0,
        autocheckpoint_frames: 0,
        busy_timeout_ms: 0,
        read_only: 7,
        create_if_missing: 7,
    };
    // SAFETY: a valid pointer.
    unsafe { walden_options_default(&mut o) };
    let expected = walden_options {
        size: 32,
        page_size: 4096,
        cache_pages: 512,
        sync: walden_sync::WALDEN_SYNC_FULL as u32,
        autocheckpoint_frames: 1000,
        busy_timeout_ms: 5000,
        read_only: 0,
        create_if_missing: 1,
    };
    assert_eq!(o, expected);
    assert_eq!(std::mem::size_of::<walden_options>(), 32);
}

/// The version macros of the header are the crate's version.
#[test]
fn version_constants_match_the_crate() {
    let v = format!("{WALDEN_VERSION_MAJOR}.{WALDEN_VERSION_MINOR}.{WALDEN_VERSION_PATCH}");
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    // SAFETY: walden_version returns a static NUL-terminated string.
    let got = unsafe { std::ffi::CStr::from_ptr(walden_version()) };
    assert_eq!(got.to_str().unwrap(), v);
}

#[test]
fn rc_names_cover_every_code() {
    let all = [
        WALDEN_OK,
        WALDEN_NOT_FOUND,
        WALDEN_DONE,
        WALDEN_BUSY,
        WALDEN_BUFFER_TOO_SMALL,
        WALDEN_INVALID_ARGUMENT,
        WALDEN_CORRUPT,
        WALDEN_IO,
        WALDEN_FULL,
        WALDEN_READ_ONLY,
        WALDEN_POISONED,
        WALDEN_INTERNAL,
    ];
    for rc in all {
        // SAFETY: walden_rc_name returns a static C string.
        let name = unsafe { CStr::from_ptr(walden_rc_name(rc as u32)) };
        assert_eq!(name.to_str().ok(), Some(format!("{rc:?}").as_str()));
    }
    for bad in [12, 100, u32::MAX] {
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(walden_rc_name(bad)) }, c"WALDEN_UNKNOWN");
    }
}

#[test]
fn the_error_message_is_per_thread() {
    // SAFETY: NULL arguments are checked.
    assert_eq!(unsafe { walden_begin(null_mut(), 0, null_mut()) }, WALDEN_INVALID_ARGUMENT);
    let here = errmsg();
    assert!(here.starts_with("walden_begin: "), "{here}");
    let there = std::thread::spawn(errmsg).join().unwrap_or_default();
    assert_eq!(there, "");
    assert_eq!(errmsg(), here);
}

#[test]
fn ending_a_transaction_detaches_its_cursors() -> Result<(), Box<dyn Error>> {
    let t = TempDb::new()?;
    t.put(b"a", b"1");
    let r = t.begin(false);
    let mut c = null_mut();
    let mut p: *const c_void = null();
    let mut n = 0usize;
    // SAFETY: live handles and valid out pointers; the cursor is used after
    // its transaction ended, which the API defines (INVALID_ARGUMENT).
    unsafe {
        assert_eq!(walden_cursor_open(r, null(), &mut c), WALDEN_OK);
        assert_eq!(walden_cursor_first(c), WALDEN_OK);
        assert_eq!(walden_cursor_key(c, &mut p, &mut n), WALDEN_OK);
        assert_eq!(std::slice::from_raw_parts(p.cast::<u8>(), n), b"a");
        walden_abort(r);
        assert_eq!(walden_cursor_next(c), WALDEN_INVALID_ARGUMENT);
        assert!(errmsg().contains("transaction has ended"), "{}", errmsg());
        assert_eq!(walden_cursor_key(c, &mut p, &mut n), WALDEN_INVALID_ARGUMENT);
        assert!(p.is_null() && n == 0);
        walden_cursor_close(c);
        // Closed twice: detected, nothing happens.
        walden_cursor_close(c);
        assert!(errmsg().contains("not a live walden_cursor"), "{}", errmsg());
    }
    Ok(())
}
