//! [`KeyRange`]: the key ranges the table methods take, with bounds of any
//! byte-like type.

use std::ops::{Bound, Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// A range of keys: any of the standard range types over a byte-like key
/// type (anything `AsRef<[u8]>`: `&str`, `&[u8]`, `[u8; N]`, `&[u8; N]`,
/// `Vec<u8>`, `String`), `..` for every key, or a pair of [`Bound`]s.
///
/// ```
/// # use std::ops::Bound;
/// # let dir = tempfile::tempdir()?;
/// # let db = walden_std::Database::open(dir.path().join("r.db"), Default::default())?;
/// # let w = db.begin_write()?;
/// # let t = w.table("t")?;
/// t.put("apple", "1")?;
/// t.put("banana", "2")?;
/// assert_eq!(t.count("a".."b")?, 1);
/// assert_eq!(t.count(b"a"..=b"z")?, 2);
/// assert_eq!(t.count(..)?, 2);
/// assert_eq!(t.count((Bound::Excluded("apple"), Bound::Unbounded))?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait KeyRange {
    /// The start and the end bound, as bytes.
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>);
}

fn b<K: AsRef<[u8]>>(k: &Bound<K>) -> Bound<&[u8]> {
    k.as_ref().map(|k| k.as_ref())
}

impl<K: AsRef<[u8]>> KeyRange for Range<K> {
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (Bound::Included(self.start.as_ref()), Bound::Excluded(self.end.as_ref()))
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeInclusive<K> {
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (Bound::Included(self.start().as_ref()), Bound::Included(self.end().as_ref()))
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeFrom<K> {
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (Bound::Included(self.start.as_ref()), Bound::Unbounded)
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeTo<K> {
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (Bound::Unbounded, Bound::Excluded(self.end.as_ref()))
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeToInclusive<K> {
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (Bound::Unbounded, Bound::Included(self.end.as_ref()))
    }
}

impl KeyRange for RangeFull {
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (Bound::Unbounded, Bound::Unbounded)
    }
}

impl<K: AsRef<[u8]>> KeyRange for (Bound<K>, Bound<K>) {
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (b(&self.0), b(&self.1))
    }
}

impl<R: KeyRange + ?Sized> KeyRange for &R {
    fn key_bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (**self).key_bounds()
    }
}

/// The keys that start with `prefix`: from `prefix` (inclusive) to the
/// smallest key above all of them (exclusive), or to the end when there is
/// none (an empty or all-`0xff` prefix).
pub(crate) fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}
