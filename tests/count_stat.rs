//! `Table::count` (leaf cell counts, no decoding) and `Table::stat` (the
//! tree's shape) against a `BTreeMap` model: random keys at small pages
//! (deep trees, overflow values), random ranges with every kind of bound,
//! after inserts and deletes.

use std::collections::BTreeMap;
use std::ops::Bound;

use proptest::prelude::*;
use walden::{Database, Options};

fn key(i: u16, len: u8) -> Vec<u8> {
    let mut k = format!("{i:05}").into_bytes();
    k.resize(5 + len as usize, b'.');
    k
}

fn bound(b: (u8, u16)) -> Bound<Vec<u8>> {
    match b.0 % 3 {
        0 => Bound::Unbounded,
        1 => Bound::Included(key(b.1, 0)),
        _ => Bound::Excluded(key(b.1, 0)),
    }
}

fn as_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn count_and_stat_match_a_model(
        puts in prop::collection::vec((0u16..3000, 0u8..40, 0u32..1500), 1..1500),
        dels in prop::collection::vec(0u16..3000, 0..800),
        ranges in prop::collection::vec(((0u8..3, 0u16..3100), (0u8..3, 0u16..3100)), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let o = Options { page_size: 512, cache_pages: 32, ..Options::default() };
        let db = Database::open(dir.path().join("c.db"), o).unwrap();
        let mut model = BTreeMap::new();
        let w = db.begin_write().unwrap();
        {
            let t = w.table("t").unwrap();
            for &(i, len, vlen) in &puts {
                let k = key(i, len);
                let v = vec![b'v'; vlen as usize];
                t.put(&k, &v).unwrap();
                model.insert(k, v);
            }
            for &i in &dels {
                let k = key(i, 0);
                let was = model.remove(&k).is_some();
                prop_assert_eq!(t.delete(&k).unwrap(), was);
            }
        }
        w.commit().unwrap();
        let r = db.begin_read().unwrap();
        let t = r.table("t").unwrap();
        prop_assert_eq!(t.len().unwrap(), model.len() as u64);
        for &(a, b) in &ranges {
            let (lo, hi) = (bound(a), bound(b));
            // BTreeMap::range panics on an inverted range; the table counts 0.
            let inverted = match (&lo, &hi) {
                (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
                    x > y || (x == y && !(matches!(lo, Bound::Included(_)) && matches!(hi, Bound::Included(_))))
                }
                _ => false,
            };
            let want = if inverted { 0 } else { model.range((lo.clone(), hi.clone())).count() as u64 };
            prop_assert_eq!(t.count((as_slice(&lo), as_slice(&hi))).unwrap(), want, "{:?}..{:?}", lo, hi);
        }
        let s = t.stat().unwrap();
        prop_assert_eq!(s.entries, model.len() as u64);
        let overflow_bytes: u64 = model.values().filter(|v| v.len() > 512).map(|v| v.len() as u64).sum();
        // Values larger than a page are never inline.
        prop_assert!(s.overflow_value_bytes >= overflow_bytes);
        prop_assert!(s.depth >= 1 && s.leaf_pages >= 1);
        prop_assert!(s.used_bytes <= s.usable_bytes);
        if model.len() > 200 {
            prop_assert!(s.depth >= 2 && s.branch_pages >= 1, "{:?}", s);
        }
        // The integrity check walks the chains and every tree (the catalog
        // and the empty default table are one leaf each).
        let rep = db.verify().unwrap();
        prop_assert_eq!(rep.overflow_pages as u64, s.overflow_pages);
        prop_assert_eq!(rep.tree_pages as u64, s.branch_pages + s.leaf_pages + 2, "{:?} {:?}", rep, s);
    }
}
