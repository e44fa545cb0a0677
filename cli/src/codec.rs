//! Keys and values on the command line and in output: text or hex.
//!
//! Text mode: arguments are taken literally as their UTF-8 bytes; output
//! escapes what would break a line-oriented reader: `\\`, `\t`, `\n`, `\r`,
//! other control characters and bytes that are not UTF-8 (`\xNN`). Hex
//! mode (`--hex`): arguments and output are lowercase hex, two digits per
//! byte, for exact bytes both ways.

use crate::error::{CliError, Result, USAGE};

/// Lowercase hex of `b`.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * b.len());
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

/// Decodes hex (either case, optional whitespace between bytes).
pub fn unhex(s: &str) -> std::result::Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    let val = |d: u8| match d {
        b'0'..=b'9' => Ok(d - b'0'),
        b'a'..=b'f' => Ok(d - b'a' + 10),
        b'A'..=b'F' => Ok(d - b'A' + 10),
        _ => Err(format!("{:?} is not a hex digit", d as char)),
    };
    digits.chunks(2).map(|p| Ok(val(p[0])? << 4 | val(p[1])?)).collect()
}

/// Escapes `b` as one line of text (see the module documentation).
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
        for &x in chunk.invalid() {
            let _ = write!(s, "\\x{x:02x}");
        }
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
    }
}
