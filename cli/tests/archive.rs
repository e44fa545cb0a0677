//! `walden archive`, `walden archive ls`/`retain`, `walden restore` and
//! `walden replica` through the built binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn walden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_walden"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run walden")
}

fn expect(dir: &Path, code: i32, args: &[&str]) -> (String, String) {
    let o = walden(dir, args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "walden {args:?}\nstdout: {out}\nstderr: {err}");
    (out, err)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    expect(dir, 0, args).0
}

#[test]
fn archive_restore_and_replica_commands() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let url = format!("file://{}/arch", dir.display());
    ok(dir, &["put", "src.db", "station", "EWR 21.5"]);
    let (out, err) = expect(dir, 0, &["archive", "src.db", &url, "--once"]);
    assert!(out.contains("timeline 00000001"), "{out}");
    assert!(err.contains("snapshot at"), "{err}");
    // The slot lives in the wal-index, which no process holds open now:
    // `stat` shows none (a running archiver's is shown below).
    let first = ok(dir, &["stat", "src.db", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    let lsn1 = v["last_lsn_text"].as_str().unwrap().to_string();
    assert!(v["archive"].is_null(), "{first}");
    // More commits, shipped.
    ok(dir, &["put", "src.db", "station", "EWR 22.0"]);
    ok(dir, &["put", "src.db", "--table", "t", "k", "v"]);
    let (out, _) = expect(dir, 0, &["archive", "src.db", &url, "--once"]);
    assert!(out.contains("2 commits"), "{out}");
    let ls = ok(dir, &["archive", "ls", &url]);
    assert!(ls.contains("timeline 00000001: database"), "{ls}");
    assert!(ls.contains("snapshot") && ls.contains("segments 1:"), "{ls}");
    assert!(ls.contains("commits archived 20"), "{ls}");
    // Restore: latest, to the first LSN, to a time before everything.
    let out = ok(dir, &["restore", &url, "latest.db"]);
    assert!(out.contains("restored latest.db"), "{out}");
    assert_eq!(ok(dir, &["get", "latest.db", "station"]), "EWR 22.0\n");
    assert_eq!(ok(dir, &["get", "latest.db", "--table", "t", "k"]), "v\n");
    ok(dir, &["verify", "latest.db"]);
    ok(dir, &["restore", &url, "first.db", "--lsn", &lsn1]);
    assert_eq!(ok(dir, &["get", "first.db", "station"]), "EWR 21.5\n");
    let (_, err) = expect(dir, 1, &["restore", &url, "early.db", "--time", "2000-01-01T00:00:00Z"]);
    assert!(err.contains("no snapshot"), "{err}");
    let (_, err) = expect(dir, 2, &["restore", &url, "latest.db"]);
    assert!(err.contains("exists"), "{err}");
    expect(dir, 2, &["restore", &url, "x.db", "--lsn", "nonsense"]);
    let now = ok(dir, &["restore", &url, "now.db", "--time", "2999-01-01T00:00:00Z"]);
    assert!(now.contains("restored now.db"), "{now}");
    // A replica, then one more commit followed.
    let out = ok(dir, &["replica", &url, "replica.db", "--once"]);
    assert!(out.contains("applied up to"), "{out}");
    assert_eq!(ok(dir, &["get", "replica.db", "station"]), "EWR 22.0\n");
    ok(dir, &["put", "src.db", "station", "EWR 23.5"]);
    ok(dir, &["archive", "src.db", &url, "--once"]);
    ok(dir, &["replica", &url, "replica.db", "--once"]);
    assert_eq!(ok(dir, &["get", "replica.db", "station"]), "EWR 23.5\n");
    // Retention: keep one snapshot.
    ok(dir, &["archive", "src.db", &url, "--once", "--snapshot"]);
    let out = ok(dir, &["archive", "retain", &url, "--keep", "1"]);
    assert!(out.contains("deleted 1 snapshots"), "{out}");
    expect(dir, 2, &["archive", "retain", &url]);
    let ls = ok(dir, &["archive", "ls", &url]);
    assert!(ls.matches("snapshot ").count() == 1, "{ls}");
    // A store this build does not have: a usage error naming the scheme.
    let (_, err) = expect(dir, 2, &["archive", "src.db", "http://example.com/x"]);
    assert!(err.contains("unsupported scheme"), "{err}");
    // A damaged segment: exit code 5 naming it.
    ok(dir, &["put", "src.db", "station", "EWR 24.0"]);
    ok(dir, &["archive", "src.db", &url, "--once"]);
    let seg = std::fs::read_dir(dir.join("arch/00000001/wal"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut b = std::fs::read(&seg).unwrap();
    let n = b.len() / 2;
    b[n] ^= 1;
    std::fs::write(&seg, &b).unwrap();
    let (_, err) = expect(dir, 5, &["restore", &url, "bad.db"]);
    assert!(err.contains("corrupt archive object"), "{err}");
}

#[test]
fn a_running_archiver_ships_as_commits_come() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let url = format!("file://{}/arch", dir.display());
    ok(dir, &["put", "src.db", "n", "0"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_walden"))
        .args(["archive", "src.db", &url, "--interval", "0.02"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Running: its slot shows in `stat` (the archiver keeps the database
    // open, so the wal-index and the slot stay).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stat = ok(dir, &["stat", "src.db"]);
        if stat.contains("archive lag") {
            break;
        }
        assert!(Instant::now() < deadline, "the archiver never started: {stat}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second archiver of the database is refused while it runs.
    let (_, err) = expect(dir, 4, &["archive", "src.db", &url, "--once"]);
    assert!(err.contains("another archiver"), "{err}");
    for i in 1..=5 {
        ok(dir, &["put", "src.db", "n", &i.to_string()]);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v: serde_json::Value = serde_json::from_str(&ok(dir, &["stat", "src.db", "--json"])).unwrap();
        if v["archive"]["lag_frames"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the archiver never caught up: {v}");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    ok(dir, &["restore", &url, "r.db"]);
    assert_eq!(ok(dir, &["get", "r.db", "n"]), "5\n");
}
