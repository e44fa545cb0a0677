//! Key ranges on the command line (`--from`, `--to`, `--prefix`), shared by
//! `scan`, `count`, `del` and `export`.

use std::ops::Bound;

use clap::Args;

use crate::codec::{arg_bytes, prefix_end};
use crate::error::Result;

/// A key range: every key, `--prefix P`, or `--from K` and/or `--to K`.
#[derive(Args, Debug, Clone, Default)]
pub struct RangeArgs {
    /// First key (inclusive)
    #[arg(long, value_name = "K")]
    pub from: Option<String>,
    /// End key (exclusive)
    #[arg(long, value_name = "K")]
    pub to: Option<String>,
    /// Only keys starting with P
    #[arg(long, value_name = "P", conflicts_with_all = ["from", "to"])]
    pub prefix: Option<String>,
}

/// Owned bounds of a key range.
pub type Bounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

impl RangeArgs {
    /// Whether no bound was given (the whole table).
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none() && self.prefix.is_none()
    }

    /// The bounds, with the arguments as text or hex (`--hex`); a bad hex
    /// argument is a usage error naming the option.
    pub fn bounds(&self, hex: bool) -> Result<Bounds> {
        let bytes = |s: &Option<String>, what| s.as_deref().map(|s| arg_bytes(s, hex, what)).transpose();
        Ok(if let Some(p) = bytes(&self.prefix, "--prefix")? {
            let end = prefix_end(&p).map_or(Bound::Unbounded, Bound::Excluded);
            (Bound::Included(p), end)
        } else {
            (
                bytes(&self.from, "--from")?.map_or(Bound::Unbounded, Bound::Included),
                bytes(&self.to, "--to")?.map_or(Bound::Unbounded, Bound::Excluded),
            )
        })
    }
}

/// Borrowed bounds of `b`, as the engine's range methods take them.
pub fn borrowed(b: &Bounds) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (b.0.as_ref().map(Vec::as_slice), b.1.as_ref().map(Vec::as_slice))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_of_each_form() {
        let all = RangeArgs::default();
        assert!(all.is_all());
        assert_eq!(all.bounds(false).unwrap(), (Bound::Unbounded, Bound::Unbounded));
        let p = RangeArgs {
            prefix: Some("ab".into()),
            ..RangeArgs::default()
        };
        assert_eq!(
            p.bounds(false).unwrap(),
            (Bound::Included(b"ab".to_vec()), Bound::Excluded(b"ac".to_vec()))
        );
        let r = RangeArgs {
            from: Some("00ff".into()),
            to: Some("01".into()),
            ..RangeArgs::default()
        };
        assert_eq!(r.bounds(true).unwrap(), (Bound::Included(vec![0, 0xff]), Bound::Excluded(vec![1])));
        let bad = RangeArgs {
            to: Some("zz".into()),
            ..RangeArgs::default()
        };
        let e = bad.bounds(true).unwrap_err();
        assert!(e.msg.contains("--to"), "{}", e.msg);
    }
}
