//! The smallest configuration (4 cache pages, 16 WAL frames, 2 read marks,
//! 512-byte pages) on the emulated Cortex-M4: 200 readings with automatic
//! checkpoints, a reboot, recovery, a scan with a cursor sized to the page
//! size; then its peak stack and its RAM (static + stack), which `run.sh`
//! checks against the budget.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::ops::Bound;

use cortex_m_rt::entry;
use static_cell::ConstStaticCell;
use walden_core::sync::{AtomicU32, Ordering};
use walden_core::{
    cache_mem_len, max_key_len, region_words, Connection, Cursor, Error, Options, RamStorage, ScanEnd, SharedStorage, SyncMode,
};
use walden_firmware_qemu::{error_name, finish, say, stack};

/// The smallest configuration.
const PS: u32 = 512;
const MIN_CACHE: u32 = 4;
const MIN_FRAMES: u32 = 16;
const MIN_MARKS: u32 = 2;
const MIN_READINGS: u32 = 200;
const MIN_REGION: usize = region_words(MIN_FRAMES, MIN_MARKS);
const MIN_CACHE_BYTES: usize = cache_mem_len(PS, MIN_CACHE);
static REGION: [AtomicU32; MIN_REGION] = [const { AtomicU32::new(0) }; MIN_REGION];
static MIN_MEM: ConstStaticCell<[u8; MIN_CACHE_BYTES]> = ConstStaticCell::new([0; MIN_CACHE_BYTES]);
static MIN_DB: ConstStaticCell<[u8; 32 * 1024]> = ConstStaticCell::new([0; 32 * 1024]);
static MIN_WAL: ConstStaticCell<[u8; 32 * 1024]> = ConstStaticCell::new([0; 32 * 1024]);

/// What the smallest configuration found after its reboot.
struct Minimal {
    entries: u64,
    recovered_frames: u32,
    sum: u32,
}

#[inline(never)]
fn minimal(db: &'static mut [u8], wal: &'static mut [u8], mem: &'static mut [u8]) -> Result<Minimal, Error> {
    let opts = Options {
        page_size: PS,
        sync: SyncMode::Full,
        max_wal_frames: MIN_FRAMES,
        read_marks: MIN_MARKS,
        autocheckpoint_frames: 8,
        ..Options::default()
    };
    let db = RefCell::new(RamStorage::new(db));
    let wal = RefCell::new(RamStorage::new(wal));
    session(&db, &wal, mem, opts, true)?;
    // Power cycle: RAM (the wal-index, the cache) is lost.
    for w in REGION.iter() {
        w.store(0, Ordering::Relaxed);
    }
    mem.fill(0);
    let (recovered_frames, entries, sum) = session(&db, &wal, mem, opts, false)?;
    Ok(Minimal {
        entries,
        recovered_frames,
        sum,
    })
}

type Flash = RefCell<RamStorage<&'static mut [u8]>>;

/// One boot: opens a connection (recovery), then logs the readings
/// (`log`) or scans them; returns (recovered frames, entries, sum). One
/// connection per frame: the connection is on the stack once.
#[inline(never)]
fn session(db: &Flash, wal: &Flash, mem: &mut [u8], opts: Options, log: bool) -> Result<(u32, u64, u32), Error> {
    // Bound in place in the `Result`: `?` would move the connection (about
    // 300 bytes) into a second stack slot.
    let mut opened = Connection::open(SharedStorage(db), SharedStorage(wal), &REGION[..], mem, opts);
    let c = opened.as_mut().map_err(|e| *e)?;
    if log {
        ingest(c)?;
        return Ok((0, 0, 0));
    }
    let (entries, sum) = scan(c)?;
    Ok((c.stats().recovered_frames, entries, sum))
}

type Conn<'a> = Connection<SharedStorage<'a, RamStorage<&'static mut [u8]>>, &'static [AtomicU32], &'a mut [u8]>;

/// Logs the readings, one commit each.
#[inline(never)]
fn ingest(c: &mut Conn<'_>) -> Result<(), Error> {
    for i in 0..MIN_READINGS {
        c.begin_write()?;
        let t = c.default_table()?;
        c.put(t, &i.to_be_bytes(), &(i * 3).to_le_bytes())?;
        c.commit()?;
    }
    Ok(())
}

/// Counts the entries and sums the values: a cursor sized to the page size
/// and `Connection::scan`, which lends each entry from the page cache. Its
/// own function, so the cursor is not on the stack while the connection
/// opens.
#[inline(never)]
fn scan(c: &mut Conn<'_>) -> Result<(u64, u32), Error> {
    c.begin_read()?;
    let t = c.default_table()?;
    let mut cur = Cursor::<{ max_key_len(PS) }>::sized();
    let (mut sum, mut entries) = (0u32, 0u64);
    if c.cursor_first(&mut cur, t)? {
        let end = c.scan(&mut cur, Bound::Unbounded, |_, v| {
            entries += 1;
            sum = sum.wrapping_add(v.try_into().map_or(0, u32::from_le_bytes));
            true
        })?;
        if end != ScanEnd::Done {
            return Err(Error::InvalidArgument("scan stopped early"));
        }
    }
    c.end_read();
    Ok((entries, sum))
}

#[entry]
fn main() -> ! {
    stack::paint();
    let r = minimal(MIN_DB.take(), MIN_WAL.take(), MIN_MEM.take());
    let min_stack = stack::peak();
    report(r, min_stack)
}

/// Prints the results and the figures, and exits: out of `main`, whose
/// frame is on the stack during the measured run (formatting needs room).
#[inline(never)]
fn report(r: Result<Minimal, Error>, min_stack: usize) -> ! {
    let mut ok = true;
    match r {
        Ok(m) => {
            let want: u32 = (0..MIN_READINGS).map(|i| i * 3).sum();
            say!(
                "minimal: entries={} recovered_frames={} sum={} (want {} and {})",
                m.entries,
                m.recovered_frames,
                m.sum,
                MIN_READINGS,
                want
            );
            ok &= m.entries == MIN_READINGS as u64 && m.sum == want;
        }
        Err(e) => {
            say!("minimal: error: {}", error_name(&e));
            ok = false;
        }
    }
    let min_static = 4 * MIN_REGION + MIN_CACHE_BYTES;
    say!(
        "SIZES connection={} cursor={}",
        core::mem::size_of::<Conn<'static>>(),
        core::mem::size_of::<Cursor<{ max_key_len(PS) }>>()
    );
    say!("STACK minimal={}", min_stack);
    say!("RAM minimal static={} total={}", min_static, min_static + min_stack);
    finish(ok)
}
