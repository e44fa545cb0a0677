//! Walden as firmware uses it: `walden-core` only, no `std`, no allocator.
//!
//! Everything lives in static memory, as on a microcontroller:
//! - the wal-index region is a `static` array of `AtomicU32`;
//! - the database "flash" and the WAL are [`RamStorage`]s over static byte
//!   buffers (on a real device: an `IoStorage` over a block driver);
//! - the page cache is a static byte buffer.
//!
//! [`firmware_main`] logs a day of sensor readings, one commit per reading,
//! checkpoints, "reboots" (clears the wal-index, as a power cycle clears
//! RAM) so that the next open recovers from the WAL, and answers a range
//! query. CI builds this crate as a `staticlib` with `panic=abort` and its own
//! panic handler (feature `image`): any use of `std` or `alloc` by Walden
//! would fail to link.
//!
//! RAM used (the formula of `walden_core`'s docs):
//! `4 * region_words(64, 4) + cache_mem_len(512, 8)` = 4 * 268 + 5,888 =
//! 6,960 bytes, plus the two storage buffers, plus the stack. The same
//! workload runs on an emulated Cortex-M4 in CI
//! (`examples/firmware-qemu`), which measures its flash and stack:
//! `docs/EMBEDDED.md`.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

use core::cell::RefCell;
use core::ops::Bound;

use static_cell::ConstStaticCell;
use walden_core::sync::{AtomicU32, Ordering};
use walden_core::{
    cache_mem_len, max_key_len, region_words, CheckpointMode, Connection, Cursor, Error, Options, RamStorage, SharedStorage, SyncMode,
};

/// Page size of the demo database, in bytes.
pub const PAGE_SIZE: u32 = 512;
/// Page cache capacity, in pages.
pub const CACHE_PAGES: u32 = 8;
/// wal-index capacity, in WAL frames.
pub const MAX_FRAMES: u32 = 64;
/// Read-mark slots.
pub const READ_MARKS: u32 = 4;
/// Readings logged: one every 5 minutes for a day.
pub const READINGS: u32 = 288;

const REGION_WORDS: usize = region_words(MAX_FRAMES, READ_MARKS);
const CACHE_BYTES: usize = cache_mem_len(PAGE_SIZE, CACHE_PAGES);

static REGION: [AtomicU32; REGION_WORDS] = [const { AtomicU32::new(0) }; REGION_WORDS];
static DB_FLASH: ConstStaticCell<[u8; 64 * 1024]> = ConstStaticCell::new([0; 64 * 1024]);
static WAL_FLASH: ConstStaticCell<[u8; 64 * 1024]> = ConstStaticCell::new([0; 64 * 1024]);
static CACHE: ConstStaticCell<[u8; CACHE_BYTES]> = ConstStaticCell::new([0; CACHE_BYTES]);

/// What the demo found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Readings present after the reboot.
    pub readings: u32,
    /// Committed WAL frames recovered at the reboot.
    pub recovered_frames: u32,
    /// Readings between 06:00 and 12:00 (a range scan).
    pub morning: u32,
    /// Highest temperature of the day, in hundredths of a degree C.
    pub max_centi_c: i32,
}

/// A synthetic temperature for minute `m` of the day, hundredths of °C.
pub fn temperature(m: u32) -> i32 {
    // A triangle wave: 12.00 °C at midnight, 24.00 °C at 14:00.
    let peak = 14 * 60;
    let d = m.abs_diff(peak) as i32;
    2400 - d * 1200 / peak as i32
}

fn key(m: u32) -> [u8; 6] {
    // "T" + minute of day, big-endian, so keys sort by time.
    let b = m.to_be_bytes();
    [b'T', b'-', b[0], b[1], b[2], b[3]]
}

type Flash = RamStorage<&'static mut [u8]>;
type Conn<'a> = Connection<SharedStorage<'a, Flash>, &'static [AtomicU32], &'a mut [u8]>;

/// Runs the demo on caller-provided memory (see [`firmware_main`]).
///
/// Errors: any core error (there should be none).
pub fn run(db_flash: &'static mut [u8], wal_flash: &'static mut [u8], cache: &'static mut [u8]) -> Result<Summary, Error> {
    let opts = Options {
        page_size: PAGE_SIZE,
        sync: SyncMode::Full,
        autocheckpoint_frames: 48,
        max_wal_frames: MAX_FRAMES,
        read_marks: READ_MARKS,
        ..Options::default()
    };
    // The two "flash" files outlive the connections, as flash outlives RAM.
    let db = RefCell::new(RamStorage::new(db_flash));
    let wal = RefCell::new(RamStorage::new(wal_flash));
    boot(&db, &wal, cache, opts, true)?;
    // Power cycle: RAM (the wal-index, the cache) is lost; flash is not.
    for w in REGION.iter() {
        w.store(0, Ordering::Relaxed);
    }
    cache.fill(0);
    let (recovered_frames, readings, morning, max_centi_c) = boot(&db, &wal, cache, opts, false)?;
    Ok(Summary {
        readings,
        recovered_frames,
        morning,
        max_centi_c,
    })
}

/// One boot: opens a connection (running recovery), then logs the day
/// (`log`) or queries it: (recovered frames, readings, morning, highest
/// temperature). The connection is used in place in the `Result` `open`
/// returns, in a frame of its own: `?` would move it (312 bytes on a
/// 32-bit part) into a second stack slot, and two connections in one
/// frame would take two.
#[inline(never)]
fn boot(db: &RefCell<Flash>, wal: &RefCell<Flash>, cache: &mut [u8], opts: Options, log: bool) -> Result<(u32, u32, u32, i32), Error> {
    let mut opened = Connection::open(SharedStorage(db), SharedStorage(wal), &REGION[..], cache, opts);
    let conn = opened.as_mut().map_err(|e| *e)?;
    if log {
        log_day(conn)?;
        return Ok((0, 0, 0, 0));
    }
    let (readings, morning, max_centi_c) = query(conn)?;
    Ok((conn.stats().recovered_frames, readings, morning, max_centi_c))
}

/// Logs the day, one commit per reading, checkpoints, and leaves one more
/// reading only in the WAL.
#[inline(never)]
fn log_day(conn: &mut Conn<'_>) -> Result<(), Error> {
    for i in 0..READINGS {
        let m = i * 5;
        conn.begin_write()?;
        let t = conn.default_table()?;
        conn.put(t, &key(m), &temperature(m).to_le_bytes())?;
        conn.commit()?;
    }
    conn.checkpoint(CheckpointMode::Passive)?;
    conn.begin_write()?;
    let t = conn.default_table()?;
    conn.put(t, &key(24 * 60 - 1), &temperature(0).to_le_bytes())?;
    conn.commit()?;
    Ok(())
}

/// Scans the day and counts the morning's readings: (readings, morning,
/// highest temperature), with `Connection::scan`, which lends each entry
/// from the page cache. Its own function so that the cursor is on the
/// stack only while it runs, not while a connection opens (the deepest
/// path: `docs/EMBEDDED.md`).
#[inline(never)]
fn query(conn: &mut Conn<'_>) -> Result<(u32, u32, i32), Error> {
    conn.begin_read()?;
    let t = conn.default_table()?;
    // A cursor sized to the page size's longest key (432 bytes on a 32-bit
    // part, not 2.3 KiB).
    let mut c = Cursor::<{ max_key_len(PAGE_SIZE) }>::sized();
    let (mut readings, mut max_centi_c) = (0, i32::MIN);
    if conn.cursor_first(&mut c, t)? {
        conn.scan(&mut c, Bound::Unbounded, |_, v| {
            max_centi_c = max_centi_c.max(v.try_into().map_or(i32::MIN, i32::from_le_bytes));
            readings += 1;
            true
        })?;
    }
    let mut morning = 0;
    if conn.cursor_seek(&mut c, t, &key(6 * 60))? {
        conn.scan(&mut c, Bound::Excluded(&key(12 * 60)), |_, _| {
            morning += 1;
            true
        })?;
    }
    conn.end_read();
    Ok((readings, morning, max_centi_c))
}

/// The firmware entry point: runs [`run`] on the static buffers and returns
/// the number of readings found after the reboot (289), or -1 on error.
/// Call it once per boot (the static buffers are handed out once).
#[no_mangle]
pub extern "C" fn firmware_main() -> i32 {
    let (Some(db), Some(wal), Some(cache)) = (DB_FLASH.try_take(), WAL_FLASH.try_take(), CACHE.try_take()) else {
        return -1;
    };
    match run(db, wal, cache) {
        Ok(s) => s.readings as i32,
        Err(_) => -1,
    }
}

/// The panic handler of the firmware image, only in the `image` build (CI
/// builds the static library with `--features image`), so that a workspace
/// build that unifies a dependency's `std` feature still links.
#[cfg(all(feature = "image", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A real firmware would reset the device here.
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_reboots_recovers_and_queries() {
        let s = run(DB_FLASH.take(), WAL_FLASH.take(), CACHE.take()).expect("demo runs");
        assert_eq!(s.readings, READINGS + 1, "every reading, the last one recovered from the WAL");
        assert!(s.recovered_frames > 0, "the reboot recovered frames from the WAL");
        assert_eq!(s.morning, 72, "06:00 to 12:00 at one reading per 5 minutes");
        assert_eq!(s.max_centi_c, 2400);
        assert_eq!(firmware_main(), -1, "static buffers are handed out once");
    }
}
