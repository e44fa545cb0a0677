//! The weather-station demo on the emulated Cortex-M4: hourly readings of
//! Newark airport (`data/weather.csv.gz`, converted by `build.rs`) logged
//! one durable commit each into a database on a block device: the
//! block-device storage (`walden_core::blockdev`) over a device of
//! 512-byte blocks kept in a host file, `walden-weather.img`, through
//! semihosting (the firmware's "flash").
//!
//! - `weather ingest`: formats the device and logs the readings, printing
//!   `ACK <n>` once reading `n` is committed (`SyncMode::Full`). `run.sh`
//!   kills QEMU (SIGKILL) in the middle of this.
//! - `weather check <acked>`: mounts the device, recovers, and checks that
//!   the database holds exactly the first readings, every one of the
//!   `acked` acknowledged ones with its exact value and at most one more
//!   (committed but killed before its `ACK`), and that the integrity check
//!   passes; then logs the rest of the readings, queries the day's extremes
//!   and checks again.
//!
//! The semihosting file's writes reach the host's kernel when they return,
//! so a kill of QEMU loses no block written: it models a reset, not a power
//! cut; torn and lost block writes are tested on the simulated disk
//! (`tests/block_device.rs`).
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::ops::Bound;

use cortex_m_rt::entry;
use semihosting::fs::File;
use semihosting::io::{Read, Seek, SeekFrom, Write};
use static_cell::{ConstStaticCell, StaticCell};
use walden_core::blockdev::{blocks_needed, BlockDevice, BlockFile, Volume, BLOCK};
use walden_core::sync::AtomicU32;
use walden_core::{cache_mem_len, max_key_len, region_words, verify, Connection, Cursor, Error, Options, ScanEnd, SyncMode};
use walden_firmware_qemu::{error_name, finish, say, stack};

mod data {
    //! The readings (`build.rs` writes them from `data/weather.csv.gz`).

    /// One hourly reading.
    pub struct Reading {
        /// Hour of the year 2013 (local time), from 0.
        pub hour: u32,
        /// Temperature, tenths of a degree Celsius (`i16::MIN`: missing).
        pub temp_dc: i16,
        /// Relative humidity, tenths of a percent (`u16::MAX`: missing).
        pub humid_pm: u16,
        /// Sea-level pressure, tenths of a hectopascal (`u16::MAX`: missing).
        pub pressure_dhpa: u16,
        /// Wind speed, tenths of a metre per second (`u16::MAX`: missing).
        pub wind_dms: u16,
    }
    include!(concat!(env!("OUT_DIR"), "/weather.rs"));
}
use data::{Reading, READINGS};

const PS: u32 = 512;
const FRAMES: u32 = 64;
const MARKS: u32 = 2;
const CACHE_PAGES: u32 = 6;
const DB_PAGES: u32 = 256;
const BLOCKS: u32 = blocks_needed(PS, FRAMES, DB_PAGES) as u32;
const KEY: usize = max_key_len(PS);

static REGION: [AtomicU32; region_words(FRAMES, MARKS)] = [const { AtomicU32::new(0) }; region_words(FRAMES, MARKS)];
static CACHE: ConstStaticCell<[u8; cache_mem_len(PS, CACHE_PAGES)]> = ConstStaticCell::new([0; cache_mem_len(PS, CACHE_PAGES)]);

/// The "flash": `BLOCKS` blocks of 512 bytes in a host file. Blocks past
/// the file's end read as zeros.
struct HostBlocks(File);

impl BlockDevice for HostBlocks {
    type Error = semihosting::io::Error;
    fn read_block(&mut self, lba: u32, buf: &mut [u8; BLOCK]) -> Result<(), Self::Error> {
        self.0.seek(SeekFrom::Start(u64::from(lba) * BLOCK as u64))?;
        let mut got = 0;
        while got < BLOCK {
            match self.0.read(&mut buf[got..])? {
                0 => break,
                n => got += n,
            }
        }
        buf[got..].fill(0);
        Ok(())
    }
    fn write_block(&mut self, lba: u32, buf: &[u8; BLOCK]) -> Result<(), Self::Error> {
        self.0.seek(SeekFrom::Start(u64::from(lba) * BLOCK as u64))?;
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        // Semihosting writes are in the host kernel when they return.
        Ok(())
    }
    fn block_count(&mut self) -> Result<u32, Self::Error> {
        Ok(BLOCKS)
    }
}

type Conn<'v> = Connection<BlockFile<'v, HostBlocks>, &'static [AtomicU32], &'static mut [u8]>;

fn key(r: &Reading) -> [u8; 7] {
    let h = r.hour.to_be_bytes();
    [b'E', b'W', b'R', h[0], h[1], h[2], h[3]]
}

fn value(r: &Reading) -> [u8; 8] {
    let mut v = [0u8; 8];
    v[..2].copy_from_slice(&r.temp_dc.to_le_bytes());
    v[2..4].copy_from_slice(&r.humid_pm.to_le_bytes());
    v[4..6].copy_from_slice(&r.pressure_dhpa.to_le_bytes());
    v[6..].copy_from_slice(&r.wind_dms.to_le_bytes());
    v
}

fn options() -> Options {
    Options {
        page_size: PS,
        sync: SyncMode::Full,
        max_wal_frames: FRAMES,
        read_marks: MARKS,
        autocheckpoint_frames: 32,
        ..Options::default()
    }
}

/// Cycles the station waits between readings while ingesting (its
/// sampling interval, shortened: about a millisecond under QEMU), so that
/// `run.sh` can kill it mid-way.
const SAMPLING_CYCLES: u32 = 1_000_000;

/// Logs readings `from..` one commit each; with `ack`, prints `ACK <n>`
/// after each and waits a sampling interval.
#[inline(never)]
fn log(c: &mut Conn<'_>, from: usize, ack: bool) -> Result<(), Error> {
    for (n, r) in READINGS.iter().enumerate().skip(from) {
        c.begin_write()?;
        let t = c.default_table()?;
        c.put(t, &key(r), &value(r))?;
        c.commit()?;
        if ack {
            say!("ACK {}", n);
            cortex_m::asm::delay(SAMPLING_CYCLES);
        }
    }
    Ok(())
}

/// What a check found.
struct Found {
    /// Readings present, all equal to the first ones of `READINGS`.
    present: usize,
    /// An entry that is not the next reading (its index), if any.
    stray: Option<usize>,
    /// Highest and lowest temperature present, tenths of a degree.
    max_dc: i16,
    min_dc: i16,
}

/// Scans the table: the entries must be the first readings, in order,
/// with their exact values.
#[inline(never)]
fn check(c: &mut Conn<'_>) -> Result<Found, Error> {
    c.begin_read()?;
    let t = c.default_table()?;
    let mut cur = Cursor::<KEY>::sized();
    let mut f = Found {
        present: 0,
        stray: None,
        max_dc: i16::MIN,
        min_dc: i16::MAX,
    };
    if c.cursor_first(&mut cur, t)? {
        let end = c.scan(&mut cur, Bound::Unbounded, |k, v| {
            match READINGS.get(f.present) {
                Some(r) if k == key(r) && v == value(r) => {
                    if r.temp_dc != i16::MIN {
                        f.max_dc = f.max_dc.max(r.temp_dc);
                        f.min_dc = f.min_dc.min(r.temp_dc);
                    }
                    f.present += 1;
                }
                _ => f.stray = f.stray.or(Some(f.present)),
            }
            true
        })?;
        if end != ScanEnd::Done {
            return Err(Error::InvalidArgument("scan stopped early"));
        }
    }
    c.end_read();
    Ok(f)
}

/// The integrity check, with key buffers sized to the page size; its own
/// function, so its frame and the scan's cursor are never on the stack
/// together.
#[inline(never)]
fn integrity(c: &mut Conn<'_>) -> Result<(), Error> {
    let mut bitmap = [0u8; verify::bitmap_len(DB_PAGES)];
    c.begin_read()?;
    let rep = c.verify_sized::<KEY>(&mut bitmap);
    c.end_read();
    let rep = rep?;
    if !rep.is_ok() {
        say!("integrity check: {} problems", rep.problem_count);
        return Err(Error::InvalidArgument("integrity check failed"));
    }
    Ok(())
}

/// Tenths of a degree as sign, degrees and tenth (-0.5 prints as "-0.5").
fn temp(dc: i16) -> (&'static str, u16, u16) {
    (if dc < 0 { "-" } else { "" }, dc.unsigned_abs() / 10, dc.unsigned_abs() % 10)
}

/// The device in static memory (its 512-byte block buffer is RAM the
/// firmware keeps, not stack).
static VOLUME: StaticCell<RefCell<Volume<HostBlocks>>> = StaticCell::new();

const IMAGE: &core::ffi::CStr = c"walden-weather.img";

/// Formats the device (a new host file) into the static volume.
#[inline(never)]
fn format() -> Result<&'static RefCell<Volume<HostBlocks>>, Error> {
    let file = File::options().read(true).write(true).create(true).truncate(true).open(IMAGE);
    let file = file.map_err(|_| Error::InvalidArgument("cannot create walden-weather.img"))?;
    let vol = Volume::format(HostBlocks(file), PS, FRAMES, DB_PAGES).map_err(|_| Error::InvalidArgument("format failed"))?;
    Ok(VOLUME.init(RefCell::new(vol)))
}

/// Mounts the device (the existing host file) into the static volume.
#[inline(never)]
fn mount() -> Result<&'static RefCell<Volume<HostBlocks>>, Error> {
    let dev = File::options().read(true).write(true).open(IMAGE).map(HostBlocks);
    let dev = dev.map_err(|_| Error::InvalidArgument("cannot open walden-weather.img"))?;
    let vol = Volume::mount(dev).map_err(|_| Error::InvalidArgument("no volume on walden-weather.img"))?;
    Ok(VOLUME.init(RefCell::new(vol)))
}

/// The `ingest` mode: format, then log every reading.
#[inline(never)]
fn ingest() -> Result<(), Error> {
    let vol = format()?;
    say!("INGEST {} readings, {} blocks of flash", READINGS.len(), BLOCKS);
    let (db, wal) = Volume::files(vol);
    let mem: &mut [u8] = CACHE.take();
    let mut opened = Connection::open(db, wal, &REGION[..], mem, options());
    log(opened.as_mut().map_err(|e| *e)?, 0, true)?;
    say!("INGEST DONE");
    Ok(())
}

/// The `check` mode: mount, recover, check the acknowledged readings, log
/// the rest of the day, check again, print the extremes.
#[inline(never)]
fn recover_and_check(acked: usize) -> Result<bool, Error> {
    let vol = mount()?;
    let (db, wal) = Volume::files(vol);
    let mem: &mut [u8] = CACHE.take();
    let mut opened = Connection::open(db, wal, &REGION[..], mem, options());
    let c = opened.as_mut().map_err(|e| *e)?;
    let f = check(c)?;
    integrity(c)?;
    say!(
        "RECOVERED readings={} acknowledged={} recovered_frames={} integrity=ok",
        f.present,
        acked,
        c.stats().recovered_frames
    );
    if let Some(i) = f.stray {
        say!("entry {} is not reading {}", i, i);
    }
    if f.stray.is_some() || f.present < acked || f.present > acked + 1 {
        say!("acknowledged readings lost, or entries that were never written");
        return Ok(false);
    }
    log(c, f.present, false)?;
    let f = check(c)?;
    integrity(c)?;
    let (hi, lo) = (temp(f.max_dc), temp(f.min_dc));
    say!(
        "station EWR: {} hourly readings, max {}{}.{} C, min {}{}.{} C",
        f.present,
        hi.0,
        hi.1,
        hi.2,
        lo.0,
        lo.1,
        lo.2
    );
    Ok(f.present == READINGS.len() && f.stray.is_none())
}

/// The command line: `weather ingest` or `weather check <acked>`.
#[inline(never)]
fn command() -> Option<(bool, usize)> {
    let args = semihosting::experimental::env::args::<64>().ok()?;
    let mut it = (&args).map(|a| a.unwrap_or(""));
    let _program = it.next();
    match (it.next(), it.next().and_then(|s| s.parse().ok())) {
        (Some("ingest"), _) => Some((true, 0)),
        (Some("check"), Some(acked)) => Some((false, acked)),
        _ => None,
    }
}

#[entry]
fn main() -> ! {
    stack::paint();
    let r = match command() {
        Some((true, _)) => ingest().map(|()| true),
        Some((false, acked)) => recover_and_check(acked),
        None => {
            say!("usage: weather ingest | weather check <acknowledged readings>");
            Ok(false)
        }
    };
    let ok = r.unwrap_or_else(|e| {
        say!("error: {}", error_name(&e));
        false
    });
    say!("STACK weather={}", stack::peak());
    finish(ok)
}
