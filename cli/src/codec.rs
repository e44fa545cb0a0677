//! Keys and values on the command line and in output: text or hex.
//!
//! Text mode: arguments are taken literally as their UTF-8 bytes; output
//! escapes what would break a line-oriented reader: `\\`, `\t`, `\n`, `\r`,
//! other control characters and bytes that are not UTF-8 (`\xNN`). Hex
//! mode (`--hex`): arguments and output are lowercase hex, two digits per
//! byte, for exact bytes both ways.

use crate::error::{CliError, Result, USAGE};

/// Lowercase hex of `b` (the `hex` crate).
pub fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

/// Decodes hex (either case; whitespace between bytes is ignored).
pub fn unhex(s: &str) -> std::result::Result<Vec<u8>, String> {
    let digits: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    hex::decode(&digits).map_err(|e| match e {
        hex::FromHexError::OddLength => format!("odd number of hex digits ({})", digits.len()),
        hex::FromHexError::InvalidHexCharacter { c, .. } => format!("{c:?} is not a hex digit"),
        e => e.to_string(),
    })
}

/// Escapes `b` as one line of text (see the module documentation). The
/// standard library splits the bytes into UTF-8 runs and invalid bytes
/// (`utf8_chunks`, as `bstr` does) and escapes the latter as `\xNN`
/// (`escape_ascii`); only the choice of characters to escape is ours.
pub fn escape(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '\t' => s.push_str("\\t"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(s, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(s, "\\u{{{:x}}}", c as u32);
                }
                c => s.push(c),
            }
        }
        let _ = write!(s, "{}", chunk.invalid().escape_ascii());
    }
    s
}

/// `b` for output: hex, or escaped text.
pub fn show(b: &[u8], hex_mode: bool) -> String {
    if hex_mode {
        hex(b)
    } else {
        escape(b)
    }
}

/// The bytes of a command-line argument: its UTF-8 bytes, or decoded hex.
/// `what` names the argument in the error (exit code 2).
pub fn arg_bytes(arg: &str, hex_mode: bool, what: &str) -> Result<Vec<u8>> {
    if hex_mode {
        unhex(arg).map_err(|e| CliError::new(USAGE, format!("{what} is not valid hex: {e}")))
    } else {
        Ok(arg.as_bytes().to_vec())
    }
}

/// The smallest key greater than every key starting with `prefix`, or
/// `None` when there is none (the prefix is empty or all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Thousands separators (`indicatif::HumanCount`): 1234567 -> "1,234,567".
pub fn group(n: u64) -> String {
    indicatif::HumanCount(n).to_string()
}

/// `n` with thousands separators and the noun in the singular or the
/// plural: "1 commit", "0 commits", "1,024 commits".
pub fn count_of(n: u64, singular: &str, plural: &str) -> String {
    format!("{} {}", group(n), if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let b = [0u8, 1, 0x7f, 0x80, 0xff];
        assert_eq!(hex(&b), "00017f80ff");
        assert_eq!(unhex("00017F80ff").unwrap(), b);
        assert_eq!(unhex("00 01").unwrap(), [0, 1]);
        assert!(unhex("0").is_err());
        assert!(unhex("zz").is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(escape(b"a b"), "a b");
        assert_eq!(escape(b"a\tb\nc\\"), "a\\tb\\nc\\\\");
        assert_eq!(escape(&[0x00, 0xff, b'x']), "\\x00\\xffx");
        assert_eq!(escape("é".as_bytes()), "é");
        assert_eq!(escape(&[b'a', 0xc3, b'b', 0x1b]), "a\\xc3b\\x1b");
        assert_eq!(escape("\u{85}".as_bytes()), "\\u{85}");
    }

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[b'a', 0xff]), Some(b"b".to_vec()));
        assert_eq!(prefix_end(&[0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn groups() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(336776), "336,776");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(count_of(1, "commit", "commits"), "1 commit");
        assert_eq!(count_of(0, "commit", "commits"), "0 commits");
        assert_eq!(count_of(2048, "problem", "problems"), "2,048 problems");
    }
}
