//! One database per file, whatever the path: each way of reaching a
//! database file by another name, or of swapping a file under an open
//! handle, that once lost acknowledged commits or returned another
//! database's data, as a regression test (the reproductions), and
//! what an open must refuse before it creates anything.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use walden::{CheckpointMode, Database, Error, Options};

fn opts() -> Options {
    Options {
        busy_timeout: Duration::from_millis(200),
        ..Options::default()
    }
}

fn put(db: &Database, k: &str, v: &str) {
    let w = db.begin_write().unwrap();
    w.put(k.as_bytes(), v.as_bytes()).unwrap();
    w.commit().unwrap();
}

fn get(db: &Database, k: &str) -> Option<String> {
    db.begin_read()
        .unwrap()
        .get(k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

fn companions(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-wal") || n.ends_with("-shm"))
        .collect();
    v.sort();
    v
}

/// `ln -s real.db link.db; put link.db viaLink` then `get real.db viaLink`
/// found nothing: the link had its own WAL. Now both names are one database
/// with one `-wal` and one `-shm`, named after the file.
#[test]
fn a_symlink_is_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let (real, link) = (dir.path().join("real.db"), dir.path().join("link.db"));
    {
        let db = Database::open(&real, opts()).unwrap();
        put(&db, "base", "1");
        db.checkpoint(CheckpointMode::Truncate).unwrap();
    }
    std::os::unix::fs::symlink(&real, &link).unwrap();
    {
        let via_link = Database::open(&link, opts()).unwrap();
        assert_eq!(via_link.wal_path(), walden::wal_path(&real.canonicalize().unwrap()));
        put(&via_link, "viaLink", "acked");
    }
    let db = Database::open(&real, opts()).unwrap();
    assert_eq!(get(&db, "viaLink").as_deref(), Some("acked"));
    assert_eq!(companions(dir.path()), ["real.db-shm", "real.db-wal"]);
    // Both names open at once, in one process: one database, shared.
    let via_link = Database::open(&link, opts()).unwrap();
    let w = db.begin_write().unwrap();
    let t = w.table("rows").unwrap();
    for i in 0..3000u32 {
        t.put(i.to_be_bytes(), b"real").unwrap();
    }
    w.commit().unwrap();
    for round in 0..6u32 {
        let h = if round % 2 == 0 { &db } else { &via_link };
        let w = h.begin_write().unwrap();
        let t = w.table("rows").unwrap();
        for i in (round * 500)..(round * 500 + 500) {
            t.put(i.to_be_bytes(), format!("round {round}").as_bytes()).unwrap();
        }
        w.commit().unwrap();
        h.checkpoint(CheckpointMode::Passive).unwrap();
    }
    drop((db, via_link));
    let db = Database::open(&real, opts()).unwrap();
    assert!(db.verify().unwrap().is_ok());
    let r = db.begin_read().unwrap();
    let t = r.table("rows").unwrap();
    assert_eq!(t.len().unwrap(), 3000);
    for i in 0..3000u32 {
        assert_eq!(t.get(i.to_be_bytes()).unwrap().unwrap(), format!("round {}", i / 500).as_bytes());
    }
}

/// A relative path with `..` in it names the same files.
#[test]
fn another_relative_path_is_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let a = Database::open(dir.path().join("x.db"), opts()).unwrap();
    let b = Database::open(dir.path().join("sub/../x.db"), opts()).unwrap();
    assert_eq!(a.wal_path(), b.wal_path());
    put(&b, "k", "from b");
    assert_eq!(get(&a, "k").as_deref(), Some("from b"));
}

/// A hard link is a second name Walden cannot resolve to the first: the
/// open is refused (naming the cause) through either name, before a `-wal`
/// is created for the second.
#[test]
fn a_hard_linked_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (real, hard) = (dir.path().join("real.db"), dir.path().join("hard.db"));
    drop(Database::open(&real, opts()).unwrap());
    std::fs::hard_link(&real, &hard).unwrap();
    for p in [&real, &hard] {
        match Database::open(p, opts()) {
            Err(Error::Io(e)) => {
                assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
                assert!(e.to_string().contains("hard links"), "{e}");
            }
            other => panic!("{}: {other:?}", p.display()),
        }
    }
    assert_eq!(companions(dir.path()), ["real.db-shm", "real.db-wal"]);
    // A link made while the database is open stops writes through it.
    std::fs::remove_file(&hard).unwrap();
    let db = Database::open(&real, opts()).unwrap();
    put(&db, "k", "v");
    std::fs::hard_link(&real, &hard).unwrap();
    assert!(matches!(db.begin_write(), Err(Error::Moved(_))));
    std::fs::remove_file(&hard).unwrap();
    put(&db, "k", "w");
}

/// `rm d.db; walden put d.db k v` while process A writes: the new `d.db`
/// shared A's `-wal` and half of A's acknowledged commits went missing.
/// Now A's writes through the deleted file are refused, an open of the new
/// file beside A's `-shm` is refused (and leaves nothing behind), and once
/// A is gone the database comes back whole from its WAL.
#[test]
fn a_deleted_database_file_is_not_replaced_under_an_open_handle() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.db");
    let a = Database::open(&p, opts()).unwrap();
    for i in 0..50 {
        put(&a, &format!("k{i}"), "acked");
    }
    std::fs::remove_file(&p).unwrap();
    assert!(matches!(a.begin_write(), Err(Error::Moved(_))));
    assert!(matches!(a.checkpoint(CheckpointMode::Truncate), Err(Error::Moved(_))));
    assert_eq!(get(&a, "k49").as_deref(), Some("acked"), "reads of the open file go on");
    match Database::open(&p, opts()) {
        Err(Error::Io(e)) => assert!(e.to_string().contains("replaced or deleted"), "{e}"),
        other => panic!("an open beside the old -shm: {other:?}"),
    }
    assert!(!p.exists(), "the failed open removed the database file it created");
    drop(a);
    let db = Database::open(&p, opts()).unwrap();
    for i in 0..50 {
        assert_eq!(get(&db, &format!("k{i}")).as_deref(), Some("acked"), "k{i}");
    }
}

/// A database file replaced by another (a rename over it) while open.
#[test]
fn a_replaced_database_file_is_not_written_through_the_old_handle() {
    let dir = tempfile::tempdir().unwrap();
    let (p, other) = (dir.path().join("d.db"), dir.path().join("other.db"));
    let a = Database::open(&p, opts()).unwrap();
    put(&a, "mine", "a");
    {
        let o = Database::open(&other, opts()).unwrap();
        put(&o, "theirs", "o");
        o.checkpoint(CheckpointMode::Truncate).unwrap();
    }
    std::fs::remove_file(walden::wal_path(&other)).unwrap();
    std::fs::remove_file(walden::shm_path(&other)).unwrap();
    std::fs::rename(&other, &p).unwrap();
    assert!(matches!(a.begin_write(), Err(Error::Moved(_))));
    assert!(Database::open(&p, opts()).is_err(), "an open beside a -shm of the old file");
    drop(a);
    // The old WAL belongs to the replaced database: refused, not mixed in.
    match Database::open(&p, opts()) {
        Err(Error::Corrupt { path, reason, .. }) => {
            assert!(
                path.to_string_lossy().ends_with("d.db-wal") && reason.contains("another database"),
                "{reason}"
            )
        }
        other => panic!("the WAL of the replaced file: {other:?}"),
    }
}

/// `mkfifo f.db; walden get f.db k` hung forever, `walden put /dev/null k v`
/// created `/dev/null-wal`: only regular files are opened, and nothing is
/// created beside anything else.
#[test]
fn only_regular_files_are_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("f.db");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let f2 = fifo.clone();
    std::thread::spawn(move || {
        for ro in [false, true] {
            let r = Database::open(&f2, Options { read_only: ro, ..opts() });
            tx.send(r.map(drop).map_err(|e| e.to_string())).unwrap();
        }
    });
    for _ in 0..2 {
        let r = rx.recv_timeout(Duration::from_secs(10)).expect("opening a FIFO hung");
        let e = r.expect_err("a FIFO opened");
        assert!(e.contains("FIFO"), "{e}");
    }
    assert!(companions(dir.path()).is_empty());
    for dev in ["/dev/null", "/dev/zero"] {
        let e = Database::open(dev, opts()).expect_err(dev).to_string();
        assert!(e.contains("character device"), "{e}");
        assert!(!Path::new(&format!("{dev}-wal")).exists() && !Path::new(&format!("{dev}-shm")).exists());
    }
    let e = Database::open(dir.path(), opts()).expect_err("a directory").to_string();
    assert!(e.contains("directory"), "{e}");
}

/// A failed read-write open of a foreign file left an empty `<file>-wal`.
#[test]
fn a_foreign_file_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = b"SQLite format 3\0".to_vec();
    sqlite.resize(4096, 0);
    let random: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for (name, bytes) in [("sqlite.db", sqlite), ("random.db", random), ("short.db", b"WALDEN".to_vec())] {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        assert!(Database::open(&p, opts()).is_err(), "{name}");
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "{name} was changed");
    }
    assert!(companions(dir.path()).is_empty(), "{:?}", companions(dir.path()));
}

/// `-wal` and `-shm` take the database file's mode, never wider and not
/// narrowed by the umask, as SQLite's.
#[test]
fn companions_take_the_database_files_mode() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o600, 0o640, 0o666] {
        let p = dir.path().join(format!("m{mode:o}.db"));
        std::fs::write(&p, b"").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        let db = Database::open(&p, opts()).unwrap();
        put(&db, "k", "v");
        for c in [walden::wal_path(&p), walden::shm_path(&p)] {
            let m = std::fs::metadata(&c).unwrap();
            assert_eq!(m.mode() & 0o777, mode, "{}", c.display());
            assert_eq!(
                (m.uid(), m.gid()),
                (std::fs::metadata(&p).unwrap().uid(), std::fs::metadata(&p).unwrap().gid())
            );
        }
    }
}

/// A read-only handle beside a writer in another handle sees its commits,
/// even when the WAL did not exist yet when it opened.
#[test]
fn a_read_only_handle_follows_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ro.db");
    {
        let db = Database::open(&p, opts()).unwrap();
        put(&db, "k", "0");
        db.checkpoint(CheckpointMode::Truncate).unwrap();
    }
    std::fs::remove_file(walden::wal_path(&p)).unwrap();
    let ro = Database::open(&p, Options { read_only: true, ..opts() }).unwrap();
    assert!(!walden::wal_path(&p).exists());
    assert!(matches!(ro.begin_write(), Err(Error::ReadOnly)));
    let rw = Database::open(&p, opts()).unwrap();
    for i in 1..=20 {
        put(&rw, "k", &i.to_string());
        assert_eq!(get(&ro, "k"), Some(i.to_string()));
    }
}
