//! A simulated disk that loses power: a [`Storage`] pair (database file and
//! WAL) that models the OS page cache and the device, for crash testing.
//! It uses only the core's public `Storage` trait, so it tests any workload
//! of yours as it tests Walden's own (`docs/RELIABILITY.md`).
//!
//! In the spirit of SQLite's crash VFS (`src/test6.c`) and FoundationDB's
//! non-durable file:
//!
//! - a write is held as *pending* until a sync of its file; reads see
//!   pending writes (the OS page cache);
//! - at a crash ([`SimDisk::crash`]) each pending write (and truncation) is,
//!   independently, kept, dropped, or torn: each sector it touches (512 or
//!   4,096 bytes, [`Crash`]) gets the new bytes, keeps the old ones, becomes
//!   zeros, or becomes random bytes. A dropped write that extended the file
//!   may leave the file at its new size with garbage in the extension;
//! - on request, a bit flip in the data a read returns ([`Fault::FlipOnRead`]),
//!   a write sent to the wrong offset ([`Fault::Misdirect`]), or an I/O error
//!   on the Nth call, once or from then on ([`Fault::FailAt`], SQLite's
//!   `sqlite3_io_error_hit` method);
//! - a crash point: [`SimDisk::crash_at`] arms the disk so that its Nth
//!   write, truncation or sync (counted by [`SimDisk::ops`]) never completes:
//!   it and every later call fail with [`SimError::PowerLost`], as if the
//!   power went at that instant;
//! - everything random comes from one seed ([`SimDisk::new`]), so a failing
//!   case replays from the seed its test prints.
//!
//! Writes are applied in issue order at a crash (a kept write never lands
//! under an earlier one it overlapped); reordering of overlapping writes and
//! damage to data already synced (media decay) are not modelled, nor are
//! lying syncs. `docs/RELIABILITY.md` states the fault model.
//!
//! A workload runs on [`SimDisk::file`] handles; a harness then calls
//! [`SimDisk::crash`] and reopens on fresh handles of the same disk (the
//! files now hold what survived). For crash-point enumeration without
//! re-running the workload, [`SimDisk::record`] logs every operation and
//! [`SimDisk::apply`] / [`SimDisk::begin`] replay them on a fresh disk.
//!
//! ```
//! use walden_testkit::sim::{Crash, SimDisk};
//! use walden_core::{cache_mem_len, region_words, sync::AtomicU32, Connection, FileKind, Options};
//!
//! let disk = SimDisk::new(42);
//! let opts = Options { page_size: 512, ..Options::default() };
//! let region: Vec<AtomicU32> = (0..region_words(64, 4)).map(|_| AtomicU32::new(0)).collect();
//! let mut c = Connection::open(disk.file(FileKind::Database), disk.file(FileKind::Wal), &region[..],
//!     vec![0u8; cache_mem_len(512, 8)], Options { max_wal_frames: 64, read_marks: 4, ..opts }).unwrap();
//! c.begin_write().unwrap();
//! let t = c.default_table().unwrap();
//! c.put(t, b"k", b"v").unwrap();
//! c.commit().unwrap(); // SyncMode::Full: the WAL was synced
//! drop(c);
//! disk.crash(Crash::PowerLoss { sector: 512 });
//! // Reopen on disk.file(..) handles and a fresh region: "k" is there.
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use embedded_io::{ErrorKind, ErrorType};
use walden_core::storage::Storage;
use walden_core::FileKind;

/// Errors of a [`SimFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError {
    /// The power is off: the disk reached its crash point
    /// ([`SimDisk::crash_at`]) and accepts nothing until [`SimDisk::crash`].
    PowerLost,
    /// An injected I/O error ([`Fault::FailAt`]).
    Injected,
    /// An offset or length beyond what the simulation holds (2^40 bytes).
    OutOfRange,
}

impl embedded_io::Error for SimError {
    fn kind(&self) -> ErrorKind {
        match self {
            SimError::PowerLost => ErrorKind::NotConnected,
            SimError::Injected => ErrorKind::Other,
            SimError::OutOfRange => ErrorKind::OutOfMemory,
        }
    }
}

/// What a crash does to writes not yet synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// The process dies, the OS survives: every completed write stays; the
    /// write in flight at the crash point (if any) is torn by sectors of
    /// `sector` bytes. What sync mode `Off` promises to survive.
    Process {
        /// Sector size in bytes (512 or 4,096; any power of two works).
        sector: usize,
    },
    /// The power is cut: every write or truncation since its file's last
    /// sync (and the one in flight) is independently kept (probability
    /// 1/3), dropped (1/3) or torn (1/3: each sector it touches, of `sector`
    /// bytes, gets the new bytes, keeps the old, is zeroed, or is filled
    /// with random bytes, 1/4 each). A dropped or torn write that extended
    /// the file leaves, with probability 1/2, the new length with garbage.
    PowerLoss {
        /// Sector size in bytes (512 or 4,096; any power of two works).
        sector: usize,
    },
}

/// A fault injected on request ([`SimDisk::inject`]). Call indices count
/// from the moment the fault is injected, from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// I/O call number `call` (reads, writes, syncs, sizes, truncations of
    /// either file) fails with [`SimError::Injected`]; with `persistent`,
    /// every later call fails too (as SQLite's `sqlite3_io_error_persist`).
    /// A failed call changes nothing.
    FailAt {
        /// Index of the first failing call.
        call: u64,
        /// Keep failing after the first failure.
        persistent: bool,
    },
    /// Read call number `read` returns its data with one bit flipped (chosen
    /// from the seed); the file itself is unchanged.
    FlipOnRead {
        /// Index of the read whose data is damaged.
        read: u64,
    },
    /// Write call number `write` lands `delta` bytes away from where it was
    /// aimed (clamped at offset 0): a misdirected write.
    Misdirect {
        /// Index of the misdirected write.
        write: u64,
        /// Displacement in bytes.
        delta: i64,
    },
}

/// One logged storage operation ([`SimDisk::record`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimOp {
    /// `write_at(offset, data)` on `file`.
    Write {
        /// The file written.
        file: FileKind,
        /// Byte offset.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// `set_len(len)` on `file`.
    SetLen {
        /// The file.
        file: FileKind,
        /// New length in bytes.
        len: u64,
    },
    /// `sync()` on `file`.
    Sync {
        /// The file.
        file: FileKind,
    },
}

/// What a crash did ([`SimDisk::crash`]), summed over both files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// Pending writes and truncations kept whole.
    pub kept: u32,
    /// Pending writes and truncations lost.
    pub dropped: u32,
    /// Pending writes torn by sectors.
    pub torn: u32,
    /// Lost extensions that left garbage at the file's new length.
    pub garbage_extensions: u32,
}

#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Clone, Default)]
struct FileState {
    /// What reads see: the durable image with the pending operations applied.
    volatile: Vec<u8>,
    /// What survives a power cut for sure: the image at the last sync.
    durable: Vec<u8>,
    /// Operations since the last sync, in issue order.
    pending: Vec<Pending>,
}

/// The simulation's random generator: SplitMix64 (Steele, Lea and Flood,
/// 2014), small and seedable, exposed so that harnesses draw their choices
/// from the same kind of seed the disk prints.
#[derive(Debug, Clone)]
pub struct SimRng(pub u64);

impl SimRng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

#[derive(Debug, Clone)]
struct DiskState {
    files: [FileState; 2],
    seed: u64,
    rng: SimRng,
    /// Writes, truncations and syncs issued (crash points).
    ops: u64,
    crash_at: Option<u64>,
    powered: bool,
    /// The file whose last pending operation was in flight when the power
    /// went (it never completed).
    in_flight: Option<FileKind>,
    fault: Option<Fault>,
    calls: u64,
    reads: u64,
    writes: u64,
    faults_hit: u64,
    log: Option<Vec<SimOp>>,
}

const LIMIT: u64 = 1 << 40;

fn slot(file: FileKind) -> usize {
    match file {
        FileKind::Database => 0,
        FileKind::Wal => 1,
    }
}

fn write_into(img: &mut Vec<u8>, offset: usize, data: &[u8]) {
    let end = offset + data.len();
    if img.len() < end {
        img.resize(end, 0);
    }
    img[offset..end].copy_from_slice(data);
}

impl DiskState {
    fn file(&mut self, f: FileKind) -> &mut FileState {
        &mut self.files[slot(f)]
    }

    /// Counts an I/O call and applies a `FailAt` fault.
    fn enter(&mut self) -> Result<(), SimError> {
        if !self.powered {
            return Err(SimError::PowerLost);
        }
        let call = self.calls;
        self.calls += 1;
        if let Some(Fault::FailAt { call: n, persistent }) = self.fault {
            if call == n || (persistent && call > n) {
                self.faults_hit += 1;
                return Err(SimError::Injected);
            }
        }
        Ok(())
    }

    /// Counts a crash point; `true` if the power goes now.
    fn crash_point(&mut self) -> bool {
        let op = self.ops;
        self.ops += 1;
        if self.crash_at == Some(op) {
            self.powered = false;
            return true;
        }
        false
    }

    fn do_write(&mut self, file: FileKind, offset: u64, data: &[u8]) {
        let st = self.file(file);
        write_into(&mut st.volatile, offset as usize, data);
        st.pending.push(Pending::Write {
            offset,
            data: data.to_vec(),
        });
    }

    fn do_set_len(&mut self, file: FileKind, len: u64) {
        let st = self.file(file);
        st.volatile.resize(len as usize, 0);
        st.pending.push(Pending::SetLen(len));
    }

    fn do_sync(&mut self, file: FileKind) {
        let st = self.file(file);
        st.durable.clone_from(&st.volatile);
        st.pending.clear();
    }

    fn log(&mut self, op: SimOp) {
        if let Some(l) = &mut self.log {
            l.push(op);
        }
    }

    /// Applies `p` to `img` torn by sectors: each sector new, old, zero or
    /// random.
    fn tear(&mut self, img: &mut Vec<u8>, offset: usize, data: &[u8], sector: usize, rep: &mut CrashReport) {
        let sector = sector.max(1);
        let end = offset + data.len();
        let old_len = img.len();
        let mut s = offset - offset % sector;
        while s < end {
            let a = s.max(offset);
            let b = (s + sector).min(end);
            match self.rng.below(4) {
                0 => write_into(img, a, &data[a - offset..b - offset]),
                1 => {}
                2 => write_into(img, a, &vec![0u8; b - a]),
                _ => {
                    let mut g = vec![0u8; b - a];
                    self.rng.fill(&mut g);
                    write_into(img, a, &g);
                }
            }
            s += sector;
        }
        // A lost tail sector past the old end: the file may still have
        // grown to the write's end, with garbage there.
        if end > img.len() && end > old_len && self.rng.below(2) == 0 {
            self.garbage(img, end, rep);
        }
    }

    /// Extends `img` to `end` bytes of random garbage.
    fn garbage(&mut self, img: &mut Vec<u8>, end: usize, rep: &mut CrashReport) {
        let start = img.len();
        if end > start {
            img.resize(end, 0);
            self.rng.fill(&mut img[start..end]);
            rep.garbage_extensions += 1;
        }
    }

    fn crash(&mut self, how: Crash) -> CrashReport {
        let mut rep = CrashReport::default();
        let in_flight = self.in_flight.take().map(slot);
        for i in 0..2 {
            let pending = core::mem::take(&mut self.files[i].pending);
            let mut img = core::mem::take(&mut self.files[i].durable);
            let n = pending.len();
            for (j, p) in pending.into_iter().enumerate() {
                let last = j + 1 == n;
                match how {
                    Crash::Process { sector } => match p {
                        // Only the write in flight can be torn.
                        Pending::Write { offset, data } if last && in_flight == Some(i) => {
                            rep.torn += 1;
                            self.tear(&mut img, offset as usize, &data, sector, &mut rep);
                        }
                        Pending::Write { offset, data } => {
                            rep.kept += 1;
                            write_into(&mut img, offset as usize, &data);
                        }
                        Pending::SetLen(len) => {
                            rep.kept += 1;
                            img.resize(len as usize, 0);
                        }
                    },
                    Crash::PowerLoss { sector } => {
                        let fate = self.rng.below(3);
                        match (p, fate) {
                            (Pending::Write { offset, data }, 0) => {
                                rep.kept += 1;
                                write_into(&mut img, offset as usize, &data);
                            }
                            (Pending::Write { offset, data }, 1) => {
                                rep.dropped += 1;
                                let end = offset as usize + data.len();
                                if end > img.len() && self.rng.below(2) == 0 {
                                    self.garbage(&mut img, end, &mut rep);
                                }
                            }
                            (Pending::Write { offset, data }, _) => {
                                rep.torn += 1;
                                self.tear(&mut img, offset as usize, &data, sector, &mut rep);
                            }
                            (Pending::SetLen(len), 1) => {
                                rep.dropped += 1;
                                if len as usize > img.len() && self.rng.below(2) == 0 {
                                    self.garbage(&mut img, len as usize, &mut rep);
                                }
                            }
                            (Pending::SetLen(len), _) => {
                                rep.kept += 1;
                                img.resize(len as usize, 0);
                            }
                        }
                    }
                }
            }
            self.files[i].volatile.clone_from(&img);
            self.files[i].durable = img;
        }
        self.powered = true;
        self.crash_at = None;
        rep
    }
}

/// A simulated disk holding a database file and its WAL. Cloning the
/// handle shares the disk; [`SimDisk::fork`] copies it.
#[derive(Debug, Clone)]
pub struct SimDisk {
    st: Rc<RefCell<DiskState>>,
}

impl SimDisk {
    /// An empty disk (both files empty) whose random choices all come from
    /// `seed`.
    pub fn new(seed: u64) -> SimDisk {
        SimDisk::from_images(&[], &[], seed)
    }

    /// A disk whose files hold `db` and `wal`, durable.
    pub fn from_images(db: &[u8], wal: &[u8], seed: u64) -> SimDisk {
        let file = |img: &[u8]| FileState {
            volatile: img.to_vec(),
            durable: img.to_vec(),
            pending: Vec::new(),
        };
        SimDisk {
            st: Rc::new(RefCell::new(DiskState {
                files: [file(db), file(wal)],
                seed,
                rng: SimRng(seed),
                ops: 0,
                crash_at: None,
                powered: true,
                in_flight: None,
                fault: None,
                calls: 0,
                reads: 0,
                writes: 0,
                faults_hit: 0,
                log: None,
            })),
        }
    }

    /// A handle on one of the disk's files: a [`Storage`] for
    /// [`walden_core::Connection::open`]. Any number of handles may exist.
    pub fn file(&self, file: FileKind) -> SimFile {
        SimFile { disk: self.clone(), file }
    }

    /// An independent copy of the disk (files, pending writes, counters,
    /// armed crash point and fault), whose random choices from now on come
    /// from `seed`. The copy does not log.
    pub fn fork(&self, seed: u64) -> SimDisk {
        let mut st = self.st.borrow().clone();
        st.seed = seed;
        st.rng = SimRng(seed);
        st.log = None;
        SimDisk {
            st: Rc::new(RefCell::new(st)),
        }
    }

    /// The seed of the disk's random choices (print it when a check fails).
    pub fn seed(&self) -> u64 {
        self.st.borrow().seed
    }

    /// Writes, truncations and syncs issued so far (both files): the crash
    /// points passed.
    pub fn ops(&self) -> u64 {
        self.st.borrow().ops
    }

    /// I/O calls of every kind so far (the count [`Fault::FailAt`] uses is
    /// this one, from the moment the fault is injected).
    pub fn calls(&self) -> u64 {
        self.st.borrow().calls
    }

    /// Injected faults that fired (failed calls, flipped reads, misdirected
    /// writes).
    pub fn faults_hit(&self) -> u64 {
        self.st.borrow().faults_hit
    }

    /// Arms the crash point: the write, truncation or sync whose index (as
    /// counted by [`SimDisk::ops`]) is `op` does not complete, and it and
    /// every later call fail with [`SimError::PowerLost`] until
    /// [`SimDisk::crash`]. `None` disarms.
    pub fn crash_at(&self, op: Option<u64>) {
        self.st.borrow_mut().crash_at = op;
    }

    /// `false` once the crash point was reached (until [`SimDisk::crash`]).
    pub fn is_powered(&self) -> bool {
        self.st.borrow().powered
    }

    /// Injects `fault` (replacing any earlier one); its call indices count
    /// from now. `None` removes it.
    pub fn inject(&self, fault: Option<Fault>) {
        let mut st = self.st.borrow_mut();
        st.fault = fault;
        st.calls = 0;
        st.reads = 0;
        st.writes = 0;
    }

    /// Starts (or stops) logging every write, truncation and sync (see
    /// [`SimDisk::take_log`]); starting clears an earlier log.
    pub fn record(&self, on: bool) {
        self.st.borrow_mut().log = if on { Some(Vec::new()) } else { None };
    }

    /// Takes the log recorded since [`SimDisk::record`] (logging goes on).
    pub fn take_log(&self) -> Vec<SimOp> {
        let mut st = self.st.borrow_mut();
        match &mut st.log {
            Some(l) => core::mem::take(l),
            None => Vec::new(),
        }
    }

    /// Performs a logged operation as completed (replay).
    pub fn apply(&self, op: &SimOp) {
        let mut st = self.st.borrow_mut();
        st.ops += 1;
        match op {
            SimOp::Write { file, offset, data } => st.do_write(*file, *offset, data),
            SimOp::SetLen { file, len } => st.do_set_len(*file, *len),
            SimOp::Sync { file } => st.do_sync(*file),
        }
    }

    /// Issues a logged operation that never completes: the power goes
    /// during it (a write joins the pending writes as the one in flight; a
    /// sync flushes nothing). Call [`SimDisk::crash`] next.
    pub fn begin(&self, op: &SimOp) {
        let mut st = self.st.borrow_mut();
        st.ops += 1;
        match op {
            SimOp::Write { file, offset, data } => {
                st.do_write(*file, *offset, data);
                st.in_flight = Some(*file);
            }
            SimOp::SetLen { file, len } => {
                st.do_set_len(*file, *len);
                st.in_flight = Some(*file);
            }
            SimOp::Sync { .. } => {}
        }
        st.powered = false;
    }

    /// The crash: applies `how` to every operation not yet synced (see
    /// [`Crash`]), makes the result the files' content, and powers the disk
    /// back on (crash point disarmed; an injected fault stays). Handles
    /// stay valid and read the surviving content.
    pub fn crash(&self, how: Crash) -> CrashReport {
        self.st.borrow_mut().crash(how)
    }

    /// Operations of `file` not yet synced.
    pub fn pending(&self, file: FileKind) -> usize {
        self.st.borrow().files[slot(file)].pending.len()
    }

    /// The content reads see now (pending writes included).
    pub fn contents(&self, file: FileKind) -> Vec<u8> {
        self.st.borrow().files[slot(file)].volatile.clone()
    }

    /// The content as of the file's last sync.
    pub fn durable(&self, file: FileKind) -> Vec<u8> {
        self.st.borrow().files[slot(file)].durable.clone()
    }
}

/// One file of a [`SimDisk`]: the [`Storage`] a connection uses.
#[derive(Debug, Clone)]
pub struct SimFile {
    disk: SimDisk,
    file: FileKind,
}

impl ErrorType for SimFile {
    type Error = SimError;
}

impl Storage for SimFile {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, SimError> {
        let mut st = self.disk.st.borrow_mut();
        st.enter()?;
        let read = st.reads;
        st.reads += 1;
        let img = &st.files[slot(self.file)].volatile;
        let n = match usize::try_from(offset) {
            Ok(off) if off < img.len() => {
                let n = buf.len().min(img.len() - off);
                buf[..n].copy_from_slice(&img[off..off + n]);
                n
            }
            _ => 0,
        };
        if let Some(Fault::FlipOnRead { read: r }) = st.fault {
            if r == read && n > 0 {
                let bit = st.rng.below(n as u64 * 8);
                buf[(bit / 8) as usize] ^= 1 << (bit % 8);
                st.faults_hit += 1;
            }
        }
        Ok(n)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), SimError> {
        let mut st = self.disk.st.borrow_mut();
        st.enter()?;
        if offset.checked_add(data.len() as u64).is_none_or(|e| e > LIMIT) {
            return Err(SimError::OutOfRange);
        }
        let write = st.writes;
        st.writes += 1;
        let mut at = offset;
        if let Some(Fault::Misdirect { write: w, delta }) = st.fault {
            if w == write {
                at = offset.saturating_add_signed(delta);
                st.faults_hit += 1;
            }
        }
        let crashed = st.crash_point();
        st.log(SimOp::Write {
            file: self.file,
            offset: at,
            data: data.to_vec(),
        });
        st.do_write(self.file, at, data);
        if crashed {
            st.in_flight = Some(self.file);
            return Err(SimError::PowerLost);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), SimError> {
        let mut st = self.disk.st.borrow_mut();
        st.enter()?;
        let crashed = st.crash_point();
        st.log(SimOp::Sync { file: self.file });
        if crashed {
            return Err(SimError::PowerLost);
        }
        st.do_sync(self.file);
        Ok(())
    }

    fn size(&mut self) -> Result<u64, SimError> {
        let mut st = self.disk.st.borrow_mut();
        st.enter()?;
        Ok(st.files[slot(self.file)].volatile.len() as u64)
    }

    fn set_len(&mut self, len: u64) -> Result<(), SimError> {
        let mut st = self.disk.st.borrow_mut();
        st.enter()?;
        if len > LIMIT {
            return Err(SimError::OutOfRange);
        }
        let crashed = st.crash_point();
        st.log(SimOp::SetLen { file: self.file, len });
        st.do_set_len(self.file, len);
        if crashed {
            st.in_flight = Some(self.file);
            return Err(SimError::PowerLost);
        }
        Ok(())
    }
}
