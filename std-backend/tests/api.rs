//! The Rust API as users of redb and sled expect it: keys, values and range
//! bounds of any byte-like type, `scan_prefix`, `count`, `stat`, the
//! builder, and errors that say what (the table, the numbers, who holds
//! the lock).

use std::ops::Bound;
use std::time::Duration;

use walden_std::{CheckpointMode, Database, Error, Options};

fn keys(r: impl Iterator<Item = walden_std::Result<(Vec<u8>, Vec<u8>)>>) -> Vec<String> {
    r.map(|e| String::from_utf8(e.expect("entry").0).expect("UTF-8")).collect()
}

#[test]
fn keys_values_and_bounds_of_any_byte_like_type() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::builder().open(dir.path().join("a.db")).unwrap();
    let w = db.begin_write().unwrap();
    let t = w.table("t").unwrap();
    t.put("str", "v1").unwrap();
    t.put(b"bytes", b"v2").unwrap();
    t.put([b'a', b'r', b'r'], [1u8, 2]).unwrap();
    t.put(String::from("string"), vec![3u8]).unwrap();
    t.put(&b"slice"[..], &b""[..]).unwrap();
    w.put("default", "d").unwrap();
    w.commit().unwrap();

    let r = db.begin_read().unwrap();
    let t = r.table("t").unwrap();
    assert_eq!(t.get("str").unwrap().as_deref(), Some(&b"v1"[..]));
    assert_eq!(t.get(b"arr").unwrap(), Some(vec![1, 2]));
    assert_eq!(t.get(String::from("string")).unwrap(), Some(vec![3]));
    assert_eq!(r.get("default").unwrap().as_deref(), Some(&b"d"[..]));
    assert_eq!(keys(t.range("b".."sm").unwrap()), ["bytes", "slice"]);
    assert_eq!(keys(t.range(b"s"..b"t").unwrap()), ["slice", "str", "string"]);
    assert_eq!(keys(t.range("s"..="str").unwrap()), ["slice", "str"]);
    assert_eq!(keys(t.range("st"..).unwrap()), ["str", "string"]);
    assert_eq!(keys(t.range(.."b").unwrap()), ["arr"]);
    assert_eq!(keys(t.range(..="bytes").unwrap()), ["arr", "bytes"]);
    assert_eq!(t.range(..).unwrap().count(), 5);
    let lo: &[u8] = b"slice";
    assert_eq!(keys(t.range((Bound::Excluded(lo), Bound::Unbounded)).unwrap()), ["str", "string"]);
    assert_eq!(keys(t.range(vec![b's']..vec![b't']).unwrap()), ["slice", "str", "string"]);
    assert_eq!(keys(t.scan_prefix("str").unwrap()), ["str", "string"]);
    assert_eq!(keys(t.scan_prefix("s").unwrap().rev()), ["string", "str", "slice"]);
    assert_eq!(keys(t.scan_prefix("").unwrap()).len(), 5);
    assert!(t.scan_prefix("zzz").unwrap().next().is_none());
    assert_eq!(t.count("s".."t").unwrap(), 3);
    assert_eq!(t.count(..).unwrap(), 5);
    assert_eq!(t.len().unwrap(), 5);
    let mut seen = Vec::new();
    let n = t
        .for_each_in("b".."t", |k, _| {
            seen.push(k.to_vec());
            seen.len() < 2
        })
        .unwrap();
    assert_eq!((n, seen.len()), (2, 2));
    let mut c = r.cursor(Some("t")).unwrap();
    assert!(c.seek("sm").unwrap());
    assert_eq!(c.key(), Some(&b"str"[..]));
    let s = t.stat().unwrap();
    assert_eq!((s.entries, s.depth, s.leaf_pages, s.branch_pages), (5, 1, 1, 0));
}

#[test]
fn errors_name_the_table_and_give_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("e.db"), Options::default()).unwrap();
    let r = db.begin_read().unwrap();
    let e = r.table("weather").err().unwrap();
    assert!(matches!(&e, Error::NotFound { table } if table == "weather"), "{e:?}");
    assert_eq!(e.to_string(), "table \"weather\" not found");
    assert!(matches!(r.cursor(Some("x")), Err(Error::NotFound { table }) if table == "x"));
    drop(r);
    let w = db.begin_write().unwrap();
    assert!(matches!(w.open_table("y"), Err(Error::NotFound { table }) if table == "y"));
    let long = vec![b'k'; 1348];
    let e = w.put(&long, "v").unwrap_err();
    assert!(
        matches!(
            e,
            Error::KeyTooLong {
                len: 1348,
                max: 1347,
                page_size: 4096
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "invalid argument: key is 1,348 bytes; the largest at 4,096-byte pages is 1,347"
    );
    // The transaction goes on after a rejected key.
    w.put(&long[..1347], "v").unwrap();
    assert!(matches!(w.get(&long), Err(Error::KeyTooLong { .. })));
    assert!(matches!(w.delete(&long), Err(Error::KeyTooLong { .. })));
    w.commit().unwrap();
}

#[test]
fn busy_says_who_holds_what() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.db");
    let db = Database::builder().busy_timeout(Duration::from_millis(20)).open(&path).unwrap();
    // The writer holds the write lock.
    let w = db.begin_write().unwrap();
    w.put("k", "v").unwrap();
    let msg = db.begin_write().err().unwrap().to_string();
    assert!(msg.contains("b.db") && msg.contains("write transaction"), "{msg}");
    w.commit().unwrap();
    // A reader's snapshot holds the WAL a truncate checkpoint needs.
    let r = db.begin_read().unwrap();
    let w = db.begin_write().unwrap();
    w.put("k2", "v").unwrap();
    w.commit().unwrap();
    let e = db.checkpoint(CheckpointMode::Truncate).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Busy(Some(_))), "{e:?}");
    assert!(msg.contains("checkpoint") && msg.contains("readers"), "{msg}");
    drop(r);
    db.checkpoint(CheckpointMode::Truncate).unwrap();
}
