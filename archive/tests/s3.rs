//! The S3 path against moto's S3 server (`python3 -m moto.server`, from
//! PyPI), started on 127.0.0.1 by the test: conditional puts
//! (`If-None-Match: *`), archiving and point-in-time restore. Built with
//! `--features s3`; a missing moto is a failure, not a skip.
#![cfg(feature = "s3")]
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use walden_archive::{restore, Archiver, ArchiverOptions, Put, Store, Target};
use walden_std::{CheckpointMode, Database, Options};

struct Moto(Child);
impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto() -> (Moto, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("python3")
        .args([
            "-c",
            "import sys; from moto.server import main; main(sys.argv[1:])",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with moto (pip install 'moto[server]')");
    let m = Moto(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (m, port)
}

/// Creates a bucket (moto takes an unsigned request).
fn create_bucket(port: u16, bucket: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
}

#[test]
fn archive_and_restore_through_s3() {
    let (_moto, port) = start_moto();
    create_bucket(port, "walden");
    for (k, v) in [
        ("AWS_ENDPOINT", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ] {
        // This test binary runs this one test: no other thread reads the
        // environment meanwhile.
        std::env::set_var(k, v);
    }
    let store = Store::from_url("s3://walden/sensors").unwrap();
    // Conditional puts: the second writer of a key finds it taken.
    assert_eq!(store.put_if_absent("probe", b"a".to_vec()).unwrap(), Put::Created);
    assert_eq!(store.put_if_absent("probe", b"b".to_vec()).unwrap(), Put::Existed);
    assert_eq!(&store.get("probe").unwrap().unwrap()[..], b"a");
    store.delete("probe").unwrap();
    // Archive, with WAL restarts, and restore to every commit.
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        dir.path().join("s.db"),
        Options {
            autocheckpoint_frames: 20,
            busy_timeout: Duration::from_millis(20),
            ..Options::default()
        },
    )
    .unwrap();
    let (mut a, _) = Archiver::start(&db, store.clone(), ArchiverOptions::default()).unwrap();
    let mut commits = Vec::new();
    for i in 0..40u32 {
        let w = db.begin_write().unwrap();
        w.put(b"reading", &i.to_le_bytes()).unwrap();
        w.put(format!("log/{i:03}").as_bytes(), &[i as u8; 300]).unwrap();
        commits.push((w.commit().unwrap().unwrap(), i));
        if i % 5 == 4 {
            a.ship().unwrap();
            let _ = db.checkpoint(CheckpointMode::Truncate);
        }
    }
    assert!(db.wal_header().unwrap().ckpt_seq > 0);
    for (k, (lsn, i)) in commits.iter().enumerate().step_by(3) {
        let p = dir.path().join(format!("r{k}.db"));
        assert_eq!(restore(&store, &p, None, Target::Lsn(*lsn)).unwrap().lsn, *lsn);
        let r = Database::open(&p, Options::default()).unwrap();
        assert!(r.verify().unwrap().is_ok());
        assert_eq!(r.begin_read().unwrap().get(b"reading").unwrap().unwrap(), i.to_le_bytes());
    }
}
