//! The embedded-io adapter, and poisoning: a failed write or sync is never
//! retried; the connection (and every connection of the region) returns
//! `Poisoned`; reopening recovers the last durable commit from the WAL.
use std::cell::{Cell, RefCell};
use walden_core::storage::Storage;
use walden_core::sync::AtomicU32;
use walden_core::{
    cache_mem_len, region_words, CheckpointMode, Connection, Error, FileKind, IoStorage, Options, RamStorage, SharedStorage,
};

type Ram = RamStorage<Vec<u8>>;

fn region() -> Box<[AtomicU32]> {
    (0..region_words(1024, 4)).map(|_| AtomicU32::new(0)).collect()
}

fn opts() -> Options {
    Options {
        page_size: 1024,
        max_wal_frames: 1024,
        read_marks: 4,
        autocheckpoint_frames: 0,
        ..Options::default()
    }
}

/// A byte device with only the embedded-io traits (like an SD-card driver).
struct Device {
    data: Vec<u8>,
    pos: usize,
}
impl embedded_io::ErrorType for Device {
    type Error = embedded_io::ErrorKind;
}
impl embedded_io::Read for Device {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.data.len().saturating_sub(self.pos));
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
impl embedded_io::Write for Device {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if self.data.len() < self.pos + buf.len() {
            self.data.resize(self.pos + buf.len(), 0);
        }
        self.data[self.pos..self.pos + buf.len()].copy_from_slice(buf);
        self.pos += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
impl embedded_io::Seek for Device {
    fn seek(&mut self, pos: embedded_io::SeekFrom) -> Result<u64, Self::Error> {
        self.pos = match pos {
            embedded_io::SeekFrom::Start(p) => p as usize,
            embedded_io::SeekFrom::End(d) => (self.data.len() as i64 + d) as usize,
            embedded_io::SeekFrom::Current(d) => (self.pos as i64 + d) as usize,
        };
        Ok(self.pos as u64)
    }
}

#[test]
fn embedded_io_device_round_trip_and_truncate() {
    let db = RefCell::new(IoStorage::new(Device { data: vec![], pos: 0 }));
    let wal = RefCell::new(IoStorage::new(Device { data: vec![], pos: 0 }));
    let reg = region();
    {
        let mut c = Connection::open(
            SharedStorage(&db),
            SharedStorage(&wal),
            &reg[..],
            vec![0u8; cache_mem_len(1024, 8)],
            opts(),
        )
        .unwrap();
        c.begin_write().unwrap();
        let t = c.create_table(b"t").unwrap();
        for i in 0..300u32 {
            c.put(t, &i.to_be_bytes(), &[7u8; 50]).unwrap();
        }
        c.commit().unwrap();
        c.checkpoint(CheckpointMode::Truncate).unwrap();
        assert_eq!(wal.borrow_mut().size().unwrap(), 0, "logical WAL length is 0 after Truncate");
        c.begin_write().unwrap();
        let t = c.table(b"t").unwrap().unwrap();
        c.put(t, b"last", b"in the WAL only").unwrap();
        c.commit().unwrap();
    }
    let reg = region();
    let mut c = Connection::open(
        SharedStorage(&db),
        SharedStorage(&wal),
        &reg[..],
        vec![0u8; cache_mem_len(1024, 8)],
        opts(),
    )
    .unwrap();
    c.begin_read().unwrap();
    let t = c.table(b"t").unwrap().unwrap();
    let mut v = [0u8; 64];
    assert_eq!(c.get(t, &299u32.to_be_bytes(), &mut v).unwrap(), Some(50));
    assert_eq!(c.get(t, b"last", &mut v).unwrap(), Some(15));
    assert_eq!(&v[..15], b"in the WAL only");
}

/// A storage that fails every write or sync once `fail` is set.
struct Flaky<'a> {
    inner: SharedStorage<'a, Ram>,
    fail: &'a Cell<bool>,
    calls: &'a Cell<u32>,
}
impl embedded_io::ErrorType for Flaky<'_> {
    type Error = embedded_io::ErrorKind;
}
impl Storage for Flaky<'_> {
    fn read_at(&mut self, o: u64, b: &mut [u8]) -> Result<usize, Self::Error> {
        self.inner.read_at(o, b).map_err(|_| embedded_io::ErrorKind::Other)
    }
    fn write_at(&mut self, o: u64, b: &[u8]) -> Result<(), Self::Error> {
        if self.fail.get() {
            self.calls.set(self.calls.get() + 1);
            return Err(embedded_io::ErrorKind::Other);
        }
        self.inner.write_at(o, b).map_err(|_| embedded_io::ErrorKind::Other)
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        if self.fail.get() {
            self.calls.set(self.calls.get() + 1);
            return Err(embedded_io::ErrorKind::Other);
        }
        Ok(())
    }
    fn size(&mut self) -> Result<u64, Self::Error> {
        self.inner.size().map_err(|_| embedded_io::ErrorKind::Other)
    }
    fn set_len(&mut self, l: u64) -> Result<(), Self::Error> {
        self.inner.set_len(l).map_err(|_| embedded_io::ErrorKind::Other)
    }
}

#[test]
fn failed_write_poisons_every_connection_and_reopen_recovers() {
    let db = RefCell::new(RamStorage::new(vec![0u8; 1 << 20]));
    let wal = RefCell::new(RamStorage::new(vec![0u8; 1 << 20]));
    let (fail, calls) = (Cell::new(false), Cell::new(0));
    let mk = |s| Flaky {
        inner: SharedStorage(s),
        fail: &fail,
        calls: &calls,
    };
    let reg = region();
    let mut a = Connection::open(mk(&db), mk(&wal), &reg[..], vec![0u8; cache_mem_len(1024, 8)], opts()).unwrap();
    let mut b = Connection::open(mk(&db), mk(&wal), &reg[..], vec![0u8; cache_mem_len(1024, 8)], opts()).unwrap();
    a.begin_write().unwrap();
    let t = a.default_table().unwrap();
    a.put(t, b"durable", b"1").unwrap();
    a.commit().unwrap();
    a.begin_write().unwrap();
    let t = a.default_table().unwrap();
    a.put(t, b"lost", b"2").unwrap();
    fail.set(true);
    assert!(matches!(a.commit(), Err(Error::Io { .. })));
    let failed_calls = calls.get();
    assert_eq!(failed_calls, 1, "the failed call is not retried");
    assert_eq!(a.begin_write(), Err(Error::Poisoned));
    assert_eq!(a.begin_read(), Err(Error::Poisoned));
    assert_eq!(
        b.begin_read(),
        Err(Error::Poisoned),
        "the poison covers every connection of the region"
    );
    assert_eq!(calls.get(), failed_calls, "no further I/O was attempted");
    drop((a, b));
    fail.set(false);
    let reg = region();
    let mut c = Connection::open(mk(&db), mk(&wal), &reg[..], vec![0u8; cache_mem_len(1024, 8)], opts()).unwrap();
    c.begin_read().unwrap();
    let t = c.default_table().unwrap();
    let mut v = [0u8; 4];
    assert_eq!(c.get(t, b"durable", &mut v).unwrap(), Some(1));
    assert_eq!(c.get(t, b"lost", &mut v).unwrap(), None);
}

#[test]
fn failed_fsync_in_full_mode_fails_the_commit() {
    let db = RefCell::new(RamStorage::new(vec![0u8; 1 << 20]));
    let wal = RefCell::new(RamStorage::new(vec![0u8; 1 << 20]));
    let (fail, calls) = (Cell::new(false), Cell::new(0));
    let reg = region();
    // Only the WAL's sync fails: writes succeed, the fsync does not.
    struct SyncFails<'a>(Flaky<'a>);
    impl embedded_io::ErrorType for SyncFails<'_> {
        type Error = embedded_io::ErrorKind;
    }
    impl Storage for SyncFails<'_> {
        fn read_at(&mut self, o: u64, b: &mut [u8]) -> Result<usize, Self::Error> {
            self.0.read_at(o, b)
        }
        fn write_at(&mut self, o: u64, b: &[u8]) -> Result<(), Self::Error> {
            self.0.inner.write_at(o, b).map_err(|_| embedded_io::ErrorKind::Other)
        }
        fn sync(&mut self) -> Result<(), Self::Error> {
            self.0.sync()
        }
        fn size(&mut self) -> Result<u64, Self::Error> {
            self.0.size()
        }
        fn set_len(&mut self, l: u64) -> Result<(), Self::Error> {
            self.0.set_len(l)
        }
    }
    let mk = |s| {
        SyncFails(Flaky {
            inner: SharedStorage(s),
            fail: &fail,
            calls: &calls,
        })
    };
    let mut a = Connection::open(mk(&db), mk(&wal), &reg[..], vec![0u8; cache_mem_len(1024, 8)], opts()).unwrap();
    a.begin_write().unwrap();
    let t = a.default_table().unwrap();
    a.put(t, b"k", b"v").unwrap();
    fail.set(true);
    assert!(
        matches!(a.commit(), Err(Error::Io { file: FileKind::Wal, .. })),
        "a commit whose fsync failed is not acknowledged"
    );
    assert_eq!(calls.get(), 1, "the fsync is not retried");
    assert_eq!(a.checkpoint(CheckpointMode::Passive), Err(Error::Poisoned));
}
