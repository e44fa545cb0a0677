//! The two CRCs of the file format, with the implementation chosen at
//! build time. The checksums themselves never depend on the choice: a
//! database written with one implementation reads with any other.
//!
//! - **CRC-32C** (Castagnoli, `CRC_32_ISCSI`): page trailers (the *page
//!   checksum*), the database header, the WAL header, the wal-index header.
//! - **CRC-32** (ISO-HDLC, zlib's): the chained *frame checksum* (see
//!   [`crate::format::frame_checksum`] for why it is not CRC-32C).
//!
//! Implementations (cargo features of `walden-core`; when several are on,
//! the first row that applies wins):
//!
//! | feature | CRC-32C (page checksum) | CRC-32 (frame checksum) | flash | for |
//! |---|---|---|---|---|
//! | `crc-hook` | the [`CrcUnit`] firmware registers with `set_crc_unit` (a hardware CRC unit); software until then, or when the unit declines | same | code only (bitwise software), or 128 bytes with `crc-small` too | parts with a CRC unit that can run these polynomials |
//! | `hw-crc` | `crc32c` crate: SSE 4.2 / ARMv8 CRC instructions, detected at run time, software fallback | `crc32fast`: PCLMULQDQ / ARMv8, detected at run time | | hosts with `std` (`walden-std` enables it); needs `std` |
//! | `crc-small` | a 16-entry table, 4 bits at a time (here) | same | 128 bytes of tables | microcontrollers |
//! | (default) | `crc` crate, slicing-by-16 | `crc` crate, slicing-by-16 | 32 KiB of tables | hosts without `std`, fast microcontrollers with flash to spare |
//!
//! `crc-small` is the half-byte ("nibble") table method (Sarwate's table
//! method with 4-bit indexes, as in zlib's and the Linux kernel's small
//! CRC variants): two lookups per byte, about 10 instructions a byte on a
//! Cortex-M4 (some 5,000 cycles for a 512-byte page), against about 5 for
//! the `crc` crate's 1 KiB-per-CRC byte table, which would cost 2 KiB of
//! flash, and 32 KiB for slicing-by-16. The software fallback of
//! `crc-hook` is the `crc` crate's bitwise implementation (no table, about
//! 30 instructions a byte), or the 16-entry tables when `crc-small` is on
//! as well.
//!
//! On this machine (AMD EPYC), 4 KiB pages: slicing-by-16 CRC-32C at about
//! 3.9 GB/s, `crc32c` at 21 GB/s, `crc32fast` at 35 GB/s.

/// CRC-32C of the concatenation of `parts`.
#[inline]
pub fn crc32c(parts: &[&[u8]]) -> u32 {
    imp::crc32c(parts)
}

/// CRC-32 (ISO-HDLC) of the concatenation of `parts`.
#[inline]
pub fn crc32(parts: &[&[u8]]) -> u32 {
    imp::crc32(parts)
}

/// A CRC engine the firmware provides (feature `crc-hook`), typically a
/// microcontroller's CRC peripheral, registered once with
/// `set_crc_unit` (feature `crc-hook`).
///
/// Each method returns the CRC of the concatenation of `parts` with the
/// parameters of the CRC catalogue: CRC-32C is `CRC-32/ISCSI` (polynomial
/// `0x1EDC6F41` reflected, init and xorout `0xFFFFFFFF`, check value
/// `0xE3069283`), CRC-32 is `CRC-32/ISO-HDLC` (polynomial `0x04C11DB7`
/// reflected, init and xorout `0xFFFFFFFF`, check value `0xCBF43926`).
/// Return `None` to let the software implementation compute it (a unit
/// that cannot run that polynomial, or is busy). A wrong value is not
/// detected here: every page then fails its checksum, so test the unit
/// against the check values first (`docs/EMBEDDED.md` shows how, and how to
/// drive the STM32 CRC unit).
///
/// The core may call the unit from any connection; on a part with one
/// CRC peripheral and preemptive tasks, the implementation serialises its
/// use (a critical section around the computation).
pub trait CrcUnit: Sync {
    /// CRC-32C of the concatenation of `parts`, or `None` for software.
    fn crc32c(&self, parts: &[&[u8]]) -> Option<u32> {
        let _ = parts;
        None
    }
    /// CRC-32 (ISO-HDLC) of the concatenation of `parts`, or `None` for
    /// software.
    fn crc32(&self, parts: &[&[u8]]) -> Option<u32> {
        let _ = parts;
        None
    }
}

#[cfg(feature = "crc-hook")]
static UNIT: spin::Once<&'static dyn CrcUnit> = spin::Once::new();

/// Registers the firmware's CRC unit (feature `crc-hook`), once, before
/// the first connection opens. Returns `false` (and changes nothing) if a
/// unit was already registered.
#[cfg(feature = "crc-hook")]
pub fn set_crc_unit(unit: &'static dyn CrcUnit) -> bool {
    let mut set = false;
    UNIT.call_once(|| {
        set = true;
        unit
    });
    set
}

#[cfg(all(feature = "hw-crc", not(feature = "crc-hook")))]
mod imp {
    pub fn crc32c(parts: &[&[u8]]) -> u32 {
        parts.iter().fold(0, |c, p| crc32c::crc32c_append(c, p))
    }
    pub fn crc32(parts: &[&[u8]]) -> u32 {
        let mut h = crc32fast::Hasher::new();
        for p in parts {
            h.update(p);
        }
        h.finalize()
    }
}

/// The software CRCs: the `crc` crate's slicing-by-16 (the default) or
/// bitwise (`crc-hook` alone).
#[cfg(all(not(feature = "crc-small"), any(feature = "crc-hook", not(feature = "hw-crc"))))]
mod soft {
    use crc::{Crc, CRC_32_ISCSI, CRC_32_ISO_HDLC};

    #[cfg(feature = "crc-hook")]
    type Imp = crc::NoTable;
    #[cfg(not(feature = "crc-hook"))]
    type Imp = crc::Table<16>;

    const CRC32C: Crc<u32, Imp> = Crc::<u32, Imp>::new(&CRC_32_ISCSI);
    const CRC32: Crc<u32, Imp> = Crc::<u32, Imp>::new(&CRC_32_ISO_HDLC);

    pub fn crc32c(parts: &[&[u8]]) -> u32 {
        let mut d = CRC32C.digest();
        for p in parts {
            d.update(p);
        }
        d.finalize()
    }
    pub fn crc32(parts: &[&[u8]]) -> u32 {
        let mut d = CRC32.digest();
        for p in parts {
            d.update(p);
        }
        d.finalize()
    }
}

/// `crc-small`: reflected CRC-32s four bits at a time from 16-entry
/// tables (64 bytes each), computed at compile time.
#[cfg(all(feature = "crc-small", any(feature = "crc-hook", not(feature = "hw-crc"))))]
mod soft {
    /// Entry `i`: the CRC register after shifting the 4 bits of `i` through
    /// the reversed polynomial `poly`.
    const fn table(poly: u32) -> [u32; 16] {
        let mut t = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 4 {
                c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }

    /// CRC-32C (Castagnoli), reversed polynomial `0x82F63B78`.
    static CASTAGNOLI: [u32; 16] = table(0x82F6_3B78);
    /// CRC-32 (ISO-HDLC), reversed polynomial `0xEDB88320`.
    static ISO_HDLC: [u32; 16] = table(0xEDB8_8320);

    fn run(t: &[u32; 16], parts: &[&[u8]]) -> u32 {
        let mut c = !0u32;
        for p in parts {
            for &b in p.iter() {
                c ^= b as u32;
                c = (c >> 4) ^ t[(c & 15) as usize];
                c = (c >> 4) ^ t[(c & 15) as usize];
            }
        }
        !c
    }

    pub fn crc32c(parts: &[&[u8]]) -> u32 {
        run(&CASTAGNOLI, parts)
    }
    pub fn crc32(parts: &[&[u8]]) -> u32 {
        run(&ISO_HDLC, parts)
    }
}

#[cfg(feature = "crc-hook")]
mod imp {
    use super::{soft, UNIT};

    pub fn crc32c(parts: &[&[u8]]) -> u32 {
        UNIT.get().and_then(|u| u.crc32c(parts)).unwrap_or_else(|| soft::crc32c(parts))
    }
    pub fn crc32(parts: &[&[u8]]) -> u32 {
        UNIT.get().and_then(|u| u.crc32(parts)).unwrap_or_else(|| soft::crc32(parts))
    }
}

#[cfg(not(any(feature = "hw-crc", feature = "crc-hook")))]
use soft as imp;

#[cfg(test)]
mod tests {
    use super::*;

    /// The "check" values of the CRC catalogue (the CRC of "123456789"),
    /// whole and split, and one page-sized input against the bitwise
    /// definition: every implementation must give these.
    fn check_values() {
        assert_eq!(crc32c(&[b"123456789"]), 0xE306_9283);
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32c(&[b"1234", b"", b"56789"]), 0xE306_9283);
        assert_eq!(crc32(&[b"12345", b"6789"]), 0xCBF4_3926);
        assert_eq!(crc32c(&[]), 0);
        assert_eq!(crc32(&[b""]), 0);
        let mut page = [0u8; 512];
        for (i, b) in page.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        assert_eq!(crc32c(&[&page[..100], &page[100..]]), bitwise(0x82F6_3B78, &page));
        assert_eq!(crc32(&[&page[..13], &page[13..]]), bitwise(0xEDB8_8320, &page));
    }

    /// The reflected CRC-32 with polynomial `poly` (reversed form), one bit
    /// at a time: the definition.
    fn bitwise(poly: u32, data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            }
        }
        !c
    }

    #[test]
    fn check_values_of_the_catalogue() {
        check_values();
    }

    /// Every implementation agrees with the `crc` crate's slicing-by-16 on
    /// pseudo-random inputs of every length up to 600 bytes, split in two.
    #[test]
    fn agrees_with_slicing_by_16() {
        use crc::{Crc, Table, CRC_32_ISCSI, CRC_32_ISO_HDLC};
        let c32c = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);
        let c32 = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);
        let mut data = [0u8; 600];
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for b in data.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        for n in 0..=data.len() {
            let (a, b) = data[..n].split_at(n / 3);
            assert_eq!(crc32c(&[a, b]), c32c.checksum(&data[..n]), "CRC-32C of {n} bytes");
            assert_eq!(crc32(&[a, b]), c32.checksum(&data[..n]), "CRC-32 of {n} bytes");
        }
    }

    /// `crc-hook`: the software fallback before a unit is registered, a
    /// registered unit's value used, and a unit that declines CRC-32.
    #[cfg(feature = "crc-hook")]
    #[test]
    fn registered_unit_is_used_and_may_decline() {
        const PROBE: &[u8] = b"walden crc-hook probe";
        const MARK: u32 = 0x1234_5678;
        struct Unit;
        impl CrcUnit for Unit {
            fn crc32c(&self, parts: &[&[u8]]) -> Option<u32> {
                // A marked value for the probe, so that the test sees which
                // implementation answered; the right CRC otherwise.
                Some(if parts == [PROBE] { MARK } else { soft::crc32c(parts) })
            }
        }
        static U: Unit = Unit;
        assert_eq!(crc32c(&[PROBE]), bitwise(0x82F6_3B78, PROBE), "software before registration");
        assert!(set_crc_unit(&U));
        assert!(!set_crc_unit(&U), "a second registration is refused");
        assert_eq!(crc32c(&[PROBE]), MARK, "the registered unit answers");
        assert_eq!(crc32(&[PROBE]), bitwise(0xEDB8_8320, PROBE), "declined: software");
        check_values();
    }
}
