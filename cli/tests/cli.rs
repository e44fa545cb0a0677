//! Runs the built `walden` binary over every command: results, messages and
//! exit codes, including damaged databases and WALs.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const OK: i32 = 0;
const NOT_FOUND: i32 = 1;
const USAGE: i32 = 2;
const IO: i32 = 3;
const BUSY: i32 = 4;
const DAMAGED: i32 = 5;
const DATA: i32 = 6;

fn walden_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_walden"));
    c.args(args).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = c.spawn().expect("spawn walden");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("wait for walden")
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn run(&self, args: &[&str]) -> Output {
        walden_in(self.dir.path(), args, None)
    }
    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        walden_in(self.dir.path(), args, Some(input))
    }
    /// Runs, expects exit code `code`, returns stdout.
    fn expect(&self, code: i32, args: &[&str]) -> String {
        let o = self.run(args);
        check(&o, code, args)
    }
    fn ok(&self, args: &[&str]) -> String {
        self.expect(OK, args)
    }
    fn stderr_of(&self, code: i32, args: &[&str]) -> String {
        let o = self.run(args);
        check(&o, code, args);
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}

fn check(o: &Output, code: i32, args: &[&str]) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "walden {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    if code == OK {
        assert!(err.is_empty(), "walden {args:?} succeeded but wrote to stderr: {err}");
    } else {
        // Every error, usage errors included, is one line: `walden: error: ...`.
        assert!(
            err.starts_with("walden: error: ") && err.ends_with('\n') && err.lines().count() == 1,
            "walden {args:?}: unexpected stderr {err:?}"
        );
    }
    out
}

#[test]
fn help_documents_exit_codes_and_every_command_has_an_example() {
    let e = Env::new();
    let top = e.ok(&["--help"]);
    assert!(top.contains("Exit codes:"), "{top}");
    for code in [
        "0  success",
        "1  not found",
        "2  usage",
        "3  I/O",
        "4  busy",
        "5  damaged",
        "6  data",
    ] {
        assert!(top.contains(code), "missing {code:?} in:\n{top}");
    }
    for cmd in [
        "stat",
        "count",
        "get",
        "put",
        "del",
        "scan",
        "import",
        "export",
        "checkpoint",
        "verify",
        "waldump",
    ] {
        let h = e.ok(&[cmd, "--help"]);
        assert!(h.contains("Example"), "walden {cmd} --help has no example:\n{h}");
        assert!(
            h.contains(&format!("walden {cmd} ")),
            "walden {cmd} --help example does not run {cmd}:\n{h}"
        );
    }
    assert!(e.ok(&["--version"]).starts_with("walden "));
}

#[test]
fn put_get_del_in_default_and_named_tables() {
    let e = Env::new();
    e.ok(&["put", "k.db", "hello", "world"]);
    e.ok(&["put", "k.db", "--table", "weather", "EWR 2013-01-01T06", "39.02"]);
    assert_eq!(e.ok(&["get", "k.db", "hello"]), "world\n");
    assert_eq!(e.ok(&["get", "k.db", "-t", "weather", "EWR 2013-01-01T06"]), "39.02\n");
    // The key is only in the named table.
    let err = e.stderr_of(NOT_FOUND, &["get", "k.db", "EWR 2013-01-01T06"]);
    assert!(err.contains("k.db") && err.contains("not found"), "{err}");
    // Replace, then delete.
    e.ok(&["put", "k.db", "hello", "again"]);
    assert_eq!(e.ok(&["get", "k.db", "hello"]), "again\n");
    e.ok(&["del", "k.db", "hello"]);
    e.expect(NOT_FOUND, &["get", "k.db", "hello"]);
    let err = e.stderr_of(NOT_FOUND, &["del", "k.db", "hello"]);
    assert!(err.contains("key \"hello\" not found"), "{err}");
    // Missing tables.
    let err = e.stderr_of(NOT_FOUND, &["get", "k.db", "--table", "nope", "x"]);
    assert!(err.contains("k.db: table \"nope\" not found"), "{err}");
    e.expect(NOT_FOUND, &["del", "k.db", "--table", "nope", "x"]);
    e.expect(NOT_FOUND, &["scan", "k.db", "--table", "nope"]);
}

#[test]
fn hex_raw_and_stdin_values() {
    let e = Env::new();
    e.ok(&["put", "h.db", "--hex", "00ff", "0a0b0c"]);
    assert_eq!(e.ok(&["get", "h.db", "--hex", "00ff"]), "0a0b0c\n");
    // Text output escapes what is not printable UTF-8.
    assert_eq!(e.ok(&["scan", "h.db"]), "\\x00\\xff\t\\n\\x0b\\x0c\n");
    assert_eq!(e.ok(&["scan", "h.db", "--hex"]), "00ff\t0a0b0c\n");
    // Bad hex is a usage error.
    let err = e.stderr_of(USAGE, &["get", "h.db", "--hex", "0g"]);
    assert!(err.contains("not valid hex"), "{err}");
    e.expect(USAGE, &["put", "h.db", "--hex", "abc", "00"]);
    // The value from stdin, exactly.
    let o = e.run_stdin(&["put", "h.db", "blob"], b"line 1\nline 2\n\x00");
    check(&o, OK, &["put (stdin)"]);
    let o = e.run(&["get", "h.db", "blob", "--raw"]);
    check(&o, OK, &["get --raw"]);
    assert_eq!(o.stdout, b"line 1\nline 2\n\x00");
    assert_eq!(e.ok(&["get", "h.db", "blob"]), "line 1\\nline 2\\n\\x00\n");
}

#[test]
fn scan_ranges_prefixes_reverse_limit() {
    let e = Env::new();
    for k in ["a1", "a2", "a3", "b1", "b2", "c"] {
        e.ok(&["put", "s.db", "-t", "t", k, &format!("v{k}")]);
    }
    let keys = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["scan", "s.db", "-t", "t", "--keys-only"];
        a.extend_from_slice(args);
        e.ok(&a).lines().map(str::to_string).collect()
    };
    assert_eq!(keys(&[]), ["a1", "a2", "a3", "b1", "b2", "c"]);
    assert_eq!(keys(&["--from", "a2", "--to", "b2"]), ["a2", "a3", "b1"]);
    assert_eq!(keys(&["--prefix", "b"]), ["b1", "b2"]);
    assert_eq!(keys(&["--reverse", "--limit", "2"]), ["c", "b2"]);
    assert_eq!(keys(&["--prefix", "a", "--reverse"]), ["a3", "a2", "a1"]);
    assert_eq!(keys(&["--from", "zz"]), Vec::<String>::new());
    assert_eq!(e.ok(&["scan", "s.db", "-t", "t", "--limit", "1"]), "a1\tva1\n");
    e.expect(USAGE, &["scan", "s.db", "--prefix", "a", "--from", "b"]);
    e.expect(USAGE, &["scan", "s.db", "--limit", "many"]);
}

#[test]
fn stat_text_and_json() {
    let e = Env::new();
    e.ok(&["put", "st.db", "k", "v"]);
    e.ok(&["put", "st.db", "-t", "one", "a", "1"]);
    e.ok(&["put", "st.db", "-t", "one", "b", "2"]);
    let text = e.ok(&["stat", "st.db"]);
    for want in [
        "format version    2",
        "page size         4,096 bytes",
        "WAL frames",
        "last LSN",
        "checkpoint seq",
        "one",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["stat", "st.db", "--json"])).expect("stat --json is JSON");
    assert_eq!(j["format_version"], 2);
    assert_eq!(j["page_size"], 4096);
    assert_eq!(j["default_table_entries"], 1);
    assert_eq!(j["tables"][0]["name"], "one");
    assert_eq!(j["tables"][0]["entries"], 2);
    assert!(j["wal_frames"].as_u64().unwrap_or(0) > 0, "{j}");
    assert_eq!(j["last_lsn"].as_u64(), j["wal_frames"].as_u64());
    assert_eq!(j["checkpoint_sequence"], 0);
    assert!(j["pages"].as_u64().unwrap_or(0) >= 4, "{j}");
}

/// `walden stat` reports the checkpoints by cause, the pages they wrote
/// and their time, as the wal-index counts them for every process: this
/// test process keeps the database open (so its `-shm` wal-index lives on)
/// and runs checkpoints by size (automatic) and one asked for.
#[test]
fn stat_reports_checkpoints_by_cause() {
    let e = Env::new();
    e.ok(&["put", "ck.db", "k", "v"]);
    let o = walden::Options {
        autocheckpoint_frames: 8,
        ..walden::Options::default()
    };
    let db = walden::Database::open(e.path("ck.db"), o).expect("open");
    for i in 0..40u32 {
        let w = db.begin_write().expect("write");
        w.put(i.to_be_bytes(), [7u8; 300]).expect("put");
        w.commit().expect("commit");
    }
    db.checkpoint(walden::CheckpointMode::Passive).expect("checkpoint");
    let cs = db.stats().checkpoint_stats;
    assert!(cs.by_size >= 1 && cs.manual >= 1 && cs.pages_written > 0, "{cs:?}");
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["stat", "ck.db", "--json"])).expect("stat --json is JSON");
    let c = &j["checkpoints"];
    assert!(c["by_size"].as_u64().unwrap_or(0) >= 1, "{j}");
    assert!(c["manual"].as_u64().unwrap_or(0) >= 1, "{j}");
    assert_eq!(c["by_time"], 0, "no checkpoint_timeout");
    assert!(c["pages_written"].as_u64().unwrap_or(0) >= cs.pages_written, "{j}");
    let text = e.ok(&["stat", "ck.db"]);
    let line = text.lines().find(|l| l.starts_with("checkpoints")).unwrap_or_default();
    assert!(line.contains(" by size, 0 by time, ") && line.contains(" asked for; "), "{text}");
    assert!(!line.contains(" 0 by size") && !line.contains(" 0 asked for"), "{text}");
    drop(db);
}

#[test]
fn errors_name_the_file_and_use_the_documented_exit_codes() {
    let e = Env::new();
    // Missing database: reading commands do not create it.
    for cmd in ["stat", "verify", "scan", "export"] {
        let err = e.stderr_of(IO, &[cmd, "missing.db"]);
        assert!(err.contains("missing.db"), "{cmd}: {err}");
    }
    e.expect(IO, &["get", "missing.db", "k"]);
    e.expect(IO, &["del", "missing.db", "k"]);
    e.expect(IO, &["checkpoint", "missing.db"]);
    assert!(!e.path("missing.db").exists());
    let err = e.stderr_of(IO, &["waldump", "missing.db"]);
    assert!(err.contains("missing.db-wal"), "{err}");
    // A directory.
    std::fs::create_dir(e.path("adir")).expect("mkdir");
    let err = e.stderr_of(IO, &["stat", "adir"]);
    assert!(err.contains("adir") && err.contains("directory"), "{err}");
    // A file that is not a Walden database.
    std::fs::write(e.path("text.db"), vec![b'x'; 8192]).expect("write");
    let err = e.stderr_of(DAMAGED, &["stat", "text.db"]);
    assert!(err.contains("text.db") && err.contains("not a Walden database"), "{err}");
    e.expect(DAMAGED, &["verify", "text.db"]);
    // Usage errors: clap's and ours.
    e.expect(USAGE, &[]);
    e.expect(USAGE, &["frobnicate"]);
    e.expect(USAGE, &["get", "x.db"]);
    e.expect(USAGE, &["checkpoint", "x.db", "--mode", "sideways"]);
    e.ok(&["put", "u.db", "k", "v"]);
    let long = "k".repeat(5000);
    let err = e.stderr_of(USAGE, &["put", "u.db", &long, "v"]);
    assert!(
        err.contains("u.db: key is 5,000 bytes; the largest at 4,096-byte pages is 1,347"),
        "{err}"
    );
    e.expect(USAGE, &["get", "u.db", &long]);
}

#[test]
fn reads_go_on_and_writes_wait_while_another_process_writes() {
    let e = Env::new();
    e.ok(&["put", "b.db", "k", "v"]);
    // This test process holds the write lock, with an uncommitted change.
    let db = walden::Database::open(e.path("b.db"), walden::Options::default()).expect("open");
    let w = db.begin_write().expect("write");
    w.put(b"k", b"uncommitted").expect("put");
    assert_eq!(e.ok(&["--timeout", "0", "get", "b.db", "k"]), "v\n");
    assert_eq!(e.ok(&["scan", "b.db"]).lines().count(), 1);
    let err = e.stderr_of(BUSY, &["put", "b.db", "k", "w", "--timeout", "0.1"]);
    assert!(
        err.contains("b.db") && err.contains("write lock") && err.contains("--timeout"),
        "{err}"
    );
    e.expect(BUSY, &["checkpoint", "b.db", "--mode", "truncate", "--timeout=0"]);
    // waldump reads the WAL directly.
    assert!(e.ok(&["waldump", "b.db"]).contains("commit: yes"));
    drop(w);
    e.ok(&["put", "b.db", "k", "w"]);
    assert_eq!(e.ok(&["get", "b.db", "k"]), "w\n");
    // The other process's commit is visible to this one's next snapshot.
    assert_eq!(db.begin_read().expect("read").get(b"k").expect("get").as_deref(), Some(&b"w"[..]));
}

/// 40 `walden get` processes at once against a database another process
/// writes to all the while: every one succeeds (4 parallel gets failed 15
/// to 19 times in 40 when the database file was locked per process).
#[test]
fn forty_parallel_gets_beside_a_writing_process() {
    let e = Env::new();
    e.ok(&["put", "p.db", "k", "v"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (path, stop2) = (e.path("p.db"), stop.clone());
    let writer = std::thread::spawn(move || {
        let db = walden::Database::open(&path, walden::Options::default()).expect("open");
        let mut commits = 0u32;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let w = db.begin_write().expect("write");
            w.put(format!("w{commits}").as_bytes(), [7u8; 500]).expect("put");
            w.commit().expect("commit");
            commits += 1;
        }
        commits
    });
    let kids: Vec<_> = (0..40)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_walden"))
                .args(["get", "p.db", "k"])
                .current_dir(e.dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outs: Vec<Output> = kids.into_iter().map(|k| k.wait_with_output().expect("wait")).collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let commits = writer.join().expect("writer");
    let failed: Vec<String> = outs
        .iter()
        .filter(|o| o.status.code() != Some(OK) || o.stdout != b"v\n")
        .map(|o| format!("{:?}: {}", o.status.code(), String::from_utf8_lossy(&o.stderr)))
        .collect();
    assert!(failed.is_empty(), "{} of 40 failed: {failed:?}", failed.len());
    assert!(commits > 0);
}

/// A user who may only read the database (no write access to its
/// directory or its `-shm`) reads while a process with write access has the
/// database open, and is told why not when none has. Needs root (to run
/// the reader as `nobody`) and `setpriv`; skipped otherwise.
#[test]
fn a_read_only_user_reads_beside_a_writer() {
    use std::os::unix::fs::PermissionsExt;
    let root = nix::unistd::geteuid().is_root();
    let setpriv = Path::new("/usr/bin/setpriv");
    if !root || !setpriv.exists() {
        eprintln!("skipped: needs root and /usr/bin/setpriv");
        return;
    }
    let e = Env::new();
    std::fs::set_permissions(e.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    e.ok(&["put", "ro.db", "k", "v"]);
    let as_nobody = |args: &[&str]| {
        Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_walden")])
            .args(args)
            .current_dir(e.dir.path())
            .output()
            .expect("setpriv")
    };
    // Nobody has the database open: the reader cannot rebuild the wal-index.
    let o = as_nobody(&["get", "ro.db", "k"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(OK), "{err}");
    assert!(
        err.contains("ro.db-shm") && err.contains("no process has the database open"),
        "{err}"
    );
    // With a writer's process holding it open, the reader reads, and sees
    // the writer's later commits.
    let db = walden::Database::open(e.path("ro.db"), walden::Options::default()).expect("open");
    let o = as_nobody(&["get", "ro.db", "k"]);
    assert_eq!(
        (o.status.code(), &o.stdout[..]),
        (Some(OK), &b"v\n"[..]),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let w = db.begin_write().expect("write");
    w.put(b"k", b"w").expect("put");
    w.commit().expect("commit");
    let o = as_nobody(&["get", "ro.db", "k"]);
    assert_eq!(&o.stdout[..], b"w\n", "{}", String::from_utf8_lossy(&o.stderr));
    let o = as_nobody(&["put", "ro.db", "k", "x"]);
    assert_ne!(o.status.code(), Some(OK), "a write without write access");
}

const CSV: &str = "\
station,hour,temp,note
EWR,2013-01-01T06,39.02,clear
JFK,2013-01-01T06,39.92,\"windy, cold\"
EWR,2013-01-01T07,39.02,
LGA,2013-01-01T06,40.1,\"said \"\"hi\"\"\"
";

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn import_a_small_csv_then_get_scan_and_export_it_back() {
    let e = Env::new();
    std::fs::write(e.path("w.csv"), CSV).expect("write csv");
    let out = e.ok(&[
        "import",
        "i.db",
        "w.csv",
        "--key",
        "station,hour",
        "--table",
        "weather",
        "--batch",
        "2",
    ]);
    assert!(
        out.starts_with("imported 4 rows from w.csv into table \"weather\" of i.db"),
        "{out}"
    );
    assert!(out.contains("4 new keys, 0 replaced, 2 commits"), "{out}");
    assert_eq!(
        e.ok(&["get", "i.db", "-t", "weather", "JFK 2013-01-01T06"]),
        "39.92,\"windy, cold\"\n"
    );
    assert_eq!(
        e.ok(&["scan", "i.db", "-t", "weather", "--prefix", "EWR ", "--keys-only"]),
        "EWR 2013-01-01T06\nEWR 2013-01-01T07\n"
    );
    // CSV export gives back the file (in key order).
    let csv = e.ok(&["export", "i.db", "-t", "weather"]);
    let mut want = sorted_lines(CSV);
    want.retain(|l| !l.starts_with("station"));
    let mut got = sorted_lines(&csv);
    assert_eq!(got.iter().filter(|l| l.starts_with("station,hour,temp,note")).count(), 1, "{csv}");
    got.retain(|l| !l.starts_with("station"));
    assert_eq!(got, want);
    assert!(csv.starts_with("station,hour,temp,note\n"), "{csv}");
    // JSON lines, with the original column names.
    let jl = e.ok(&["export", "i.db", "-t", "weather", "--format", "jsonl"]);
    let first: serde_json::Value = serde_json::from_str(jl.lines().next().unwrap_or_default()).expect("json line");
    assert_eq!(
        first,
        serde_json::json!({"station": "EWR", "hour": "2013-01-01T06", "temp": "39.02", "note": "clear"})
    );
    assert_eq!(jl.lines().count(), 4);
    // --raw: key,value pairs.
    let raw = e.ok(&["export", "i.db", "-t", "weather", "--raw"]);
    assert!(raw.starts_with("key,value\nEWR 2013-01-01T06,\"39.02,clear\"\n"), "{raw}");
    // To a file, with a summary.
    let s = e.ok(&["export", "i.db", "-t", "weather", "-o", "back.csv"]);
    assert_eq!(s, "exported 4 rows of i.db to back.csv\n");
    assert_eq!(std::fs::read_to_string(e.path("back.csv")).expect("read"), csv);
    // Importing the same file again replaces every row.
    let again = e.ok(&["import", "i.db", "w.csv", "--key", "station,hour", "--table", "weather"]);
    assert!(again.contains("0 new keys, 4 replaced, 1 commit;"), "{again}");
    assert!(e.ok(&["verify", "i.db"]).contains("ok"));
}

#[test]
fn import_gzip_and_stdin() {
    let e = Env::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(CSV.as_bytes()).expect("gzip");
    std::fs::write(e.path("w.csv.gz"), gz.finish().expect("gzip")).expect("write");
    let out = e.ok(&["import", "g.db", "w.csv.gz", "--key", "station,hour"]);
    assert!(out.contains("imported 4 rows"), "{out}");
    assert_eq!(e.ok(&["get", "g.db", "EWR 2013-01-01T07"]), "39.02,\n");
    let o = e.run_stdin(
        &["import", "g.db", "-", "--key", "hour,station", "-t", "by_hour", "--key-sep", "|"],
        CSV.as_bytes(),
    );
    check(&o, OK, &["import -"]);
    assert_eq!(
        e.ok(&["get", "g.db", "-t", "by_hour", "2013-01-01T06|LGA"]),
        "40.1,\"said \"\"hi\"\"\"\n"
    );
}

#[test]
fn import_errors() {
    let e = Env::new();
    std::fs::write(e.path("w.csv"), CSV).expect("write");
    let err = e.stderr_of(USAGE, &["import", "e.db", "w.csv", "--key", "station,nope"]);
    assert!(
        err.contains("w.csv: no column \"nope\" in the header (columns: station, hour, temp, note)"),
        "{err}"
    );
    e.expect(USAGE, &["import", "e.db", "w.csv"]);
    e.expect(USAGE, &["import", "e.db", "w.csv", "--key", "station", "--batch", "0"]);
    e.expect(USAGE, &["import", "e.db", "w.csv", "--key", "station", "--table", "_walden_schema"]);
    let err = e.stderr_of(IO, &["import", "e.db", "nofile.csv", "--key", "a"]);
    assert!(err.contains("nofile.csv"), "{err}");
    // A short row on line 4: the first batch (line 2 and 3) stays committed.
    std::fs::write(e.path("bad.csv"), "a,b\n1,x\n2,y\n3\n4,z\n").expect("write");
    let err = e.stderr_of(DATA, &["import", "e.db", "bad.csv", "--key", "a", "--batch", "2", "-t", "bad"]);
    assert!(err.contains("bad.csv: line 4: the row has 1 fields, the header has 2"), "{err}");
    assert!(err.contains("(2 rows before it committed)"), "{err}");
    assert_eq!(e.ok(&["scan", "e.db", "-t", "bad", "--keys-only"]), "1\n2\n");
    // The key separator inside a key column.
    std::fs::write(e.path("sep.csv"), "a,b,c\nx y,1,2\n").expect("write");
    let err = e.stderr_of(DATA, &["import", "e.db", "sep.csv", "--key", "a,b", "-t", "sep"]);
    assert!(err.contains("line 2") && err.contains("--key-sep"), "{err}");
    // Another key for a table imported before.
    e.ok(&["import", "e.db", "w.csv", "--key", "station,hour", "-t", "w"]);
    let err = e.stderr_of(USAGE, &["import", "e.db", "w.csv", "--key", "station", "-t", "w"]);
    assert!(err.contains("imported before"), "{err}");
    // Corrupt gzip data.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(CSV.repeat(50).as_bytes()).expect("gzip");
    let mut bytes = gz.finish().expect("gzip");
    let n = bytes.len();
    for b in &mut bytes[20..n - 10] {
        *b ^= 0x5a;
    }
    std::fs::write(e.path("bad.csv.gz"), bytes).expect("write");
    let err = e.stderr_of(DATA, &["import", "e.db", "bad.csv.gz", "--key", "station", "-t", "gz"]);
    assert!(err.contains("bad.csv.gz"), "{err}");
}

#[test]
fn export_refuses_binary_without_hex() {
    let e = Env::new();
    e.ok(&["put", "x.db", "--hex", "ff", "00"]);
    let err = e.stderr_of(DATA, &["export", "x.db"]);
    assert!(err.contains("not UTF-8") && err.contains("--hex"), "{err}");
    assert_eq!(e.ok(&["export", "x.db", "--hex"]), "key,value\nff,00\n");
    assert_eq!(
        e.ok(&["export", "x.db", "--hex", "--format", "jsonl"]),
        "{\"key\":\"ff\",\"value\":\"00\"}\n"
    );
}

fn wal_len(e: &Env, db: &str) -> u64 {
    std::fs::metadata(e.path(&format!("{db}-wal"))).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn checkpoint_modes() {
    let e = Env::new();
    for i in 0..5 {
        e.ok(&["put", "c.db", &format!("k{i}"), "v"]);
    }
    assert!(wal_len(&e, "c.db") > 0);
    for mode in ["passive", "full", "restart"] {
        let out = e.ok(&["checkpoint", "c.db", "--mode", mode]);
        assert!(out.starts_with(&format!("c.db: {mode} checkpoint:")), "{out}");
    }
    let out = e.ok(&["checkpoint", "c.db", "--mode", "truncate"]);
    assert!(out.contains("WAL file 0 bytes"), "{out}");
    assert_eq!(wal_len(&e, "c.db"), 0);
    assert_eq!(e.ok(&["get", "c.db", "k4"]), "v\n");
    assert!(e.ok(&["waldump", "c.db"]).contains("empty (0 bytes)"));
    assert!(e.ok(&["checkpoint", "c.db"]).contains("passive checkpoint"));
}

/// A database of `n` entries in the default table, checkpointed into the
/// database file (the WAL truncated).
fn loaded_db(e: &Env, name: &str, n: usize) {
    let db = walden::Database::open(e.path(name), walden::Options::default()).expect("open");
    let w = db.begin_write().expect("write");
    for i in 0..n {
        w.put(format!("key {i:06}").as_bytes(), [b'v'; 100]).expect("put");
    }
    w.commit().expect("commit");
    db.checkpoint(walden::CheckpointMode::Truncate).expect("checkpoint");
}

fn flip(path: &Path, offset: u64) {
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path).expect("open");
    let mut b = [0u8];
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.read_exact(&mut b).expect("read");
    b[0] ^= 0xff;
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.write_all(&b).expect("write");
}

#[test]
fn verify_clean_and_damaged() {
    let e = Env::new();
    loaded_db(&e, "v.db", 2000);
    let out = e.ok(&["verify", "v.db"]);
    assert!(out.starts_with("v.db: ok: ") && out.contains("2,000 entries"), "{out}");
    // Damage a page in the middle of the file (not page 1).
    let len = std::fs::metadata(e.path("v.db")).expect("meta").len();
    let pages = len / 4096;
    let victim = pages / 2 + 1;
    flip(&e.path("v.db"), (victim - 1) * 4096 + 100);
    let o = e.run(&["verify", "v.db"]);
    let out = check(&o, DAMAGED, &["verify damaged"]);
    assert!(out.contains("problem found") || out.contains("problems found"), "{out}");
    assert!(out.contains(&format!("page {victim}:")), "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("v.db: damaged"), "{err}");
    // Damage the header: the database does not open; verify says why.
    loaded_db(&e, "h.db", 10);
    flip(&e.path("h.db"), 20);
    let err = e.stderr_of(DAMAGED, &["verify", "h.db"]);
    assert!(err.contains("h.db") && err.contains("page 1"), "{err}");
}

#[test]
fn waldump_frames_stats_and_damage() {
    let e = Env::new();
    for i in 0..4 {
        e.ok(&["put", "w.db", &format!("k{i}"), &"v".repeat(i * 10)]);
    }
    let dump = e.ok(&["waldump", "w.db"]);
    let frames: Vec<&str> = dump.lines().filter(|l| l.starts_with("lsn: ")).collect();
    assert!(frames.len() >= 4, "{dump}");
    // Four puts, plus the commit that created the database (its pages 1-3
    // go to the WAL first).
    assert_eq!(frames.iter().filter(|l| l.contains("commit: yes")).count(), 5, "{dump}");
    assert!(frames[0].starts_with("lsn: 0/00000001, frame: 1, page: "), "{dump}");
    assert!(
        frames
            .iter()
            .all(|l| l.contains("checksum: ") && l.contains(" valid, page checksum: ok")),
        "{dump}"
    );
    assert!(dump.contains("committed in 5 transactions"), "{dump}");
    assert!(
        dump.trim_end().ends_with(&format!("end of file after frame {}", frames.len())),
        "{dump}"
    );
    let stats = e.ok(&["waldump", "w.db", "--stats"]);
    assert!(!stats.contains("lsn: "), "{stats}");
    assert!(stats.contains("transactions: 5;"), "{stats}");
    assert!(stats.contains("frames by page type: "), "{stats}");

    // Damage the page image of frame 3: the dump stops there, and says why.
    let n = frames.len() as u64;
    let frame_size = 24 + 4096u64;
    flip(&e.path("w.db-wal"), 32 + 2 * frame_size + 24 + 1000);
    let o = e.run(&["waldump", "w.db"]);
    let out = check(&o, DAMAGED, &["waldump damaged"]);
    assert_eq!(out.lines().filter(|l| l.starts_with("lsn: ")).count(), 2, "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("w.db-wal") && err.contains("stopped at frame 3") && err.contains("checksum mismatch"),
        "{err}"
    );
    // Stats stop at the same place.
    e.expect(DAMAGED, &["waldump", "w.db", "--stats"]);

    // A torn append: the file ends inside the last frame.
    flip(&e.path("w.db-wal"), 32 + 2 * frame_size + 24 + 1000);
    e.ok(&["waldump", "w.db"]);
    let f = std::fs::OpenOptions::new().write(true).open(e.path("w.db-wal")).expect("open");
    f.set_len(32 + (n - 1) * frame_size + 100).expect("truncate");
    let err = e.stderr_of(DAMAGED, &["waldump", "w.db"]);
    assert!(err.contains(&format!("stopped at frame {n}")) && err.contains("torn"), "{err}");

    // A damaged header.
    flip(&e.path("w.db-wal"), 0);
    let err = e.stderr_of(DAMAGED, &["waldump", "w.db"]);
    assert!(err.contains("invalid WAL header") && err.contains("bad magic"), "{err}");
    flip(&e.path("w.db-wal"), 0);
    flip(&e.path("w.db-wal"), 17);
    let err = e.stderr_of(DAMAGED, &["waldump", "w.db"]);
    assert!(err.contains("header checksum mismatch"), "{err}");
    // Too short for a header.
    std::fs::write(e.path("w.db-wal"), b"WLAW").expect("write");
    let err = e.stderr_of(DAMAGED, &["waldump", "w.db"]);
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn waldump_after_a_restart_ends_at_the_older_generation() {
    let e = Env::new();
    // The restart and the next commit in one process: a restart lives in
    // the wal-index, which is in the memory of the process that has the
    // database open.
    let db = walden::Database::open(e.path("r.db"), walden::Options::default()).expect("open");
    for i in 0..6 {
        let w = db.begin_write().expect("write");
        w.put(format!("k{i}").as_bytes(), b"v").expect("put");
        w.commit().expect("commit");
    }
    db.checkpoint(walden::CheckpointMode::Restart).expect("restart");
    let w = db.begin_write().expect("write");
    w.put(b"new", b"v").expect("put");
    w.commit().expect("commit");
    drop(db);
    let dump = e.ok(&["waldump", "r.db"]);
    assert!(dump.contains("checkpoint sequence 1"), "{dump}");
    assert!(dump.contains("lsn: 1/00000001, frame: 1"), "{dump}");
    assert!(dump.contains("earlier WAL generation"), "{dump}");
    assert_eq!(e.ok(&["get", "r.db", "new"]), "v\n");
    assert_eq!(e.ok(&["get", "r.db", "k5"]), "v\n");
}

#[test]
fn closed_stdout_is_not_an_error() {
    let e = Env::new();
    loaded_db(&e, "p.db", 5000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_walden"))
        .args(["scan", "p.db"])
        .current_dir(e.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut first = [0u8; 100];
    out.read_exact(&mut first).expect("read");
    drop(out);
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(OK), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A WAL of one frame per commit (`put`s of keys `k0..k5`, after the three
/// frames of the creation commit), with page size 4,096.
fn one_frame_commits(e: &Env, name: &str) -> Vec<u8> {
    for i in 0..6 {
        e.ok(&["put", name, &format!("k{i}"), "v"]);
    }
    std::fs::read(e.path(&format!("{name}-wal"))).expect("read WAL")
}

/// The keys `k0..k5` the engine recovers from the database `name`.
fn recovered_keys(e: &Env, name: &str) -> usize {
    (0..6)
        .filter(|i| e.run(&["get", name, &format!("k{i}")]).status.code() == Some(OK))
        .count()
}

/// Frame `f` (1-based) of a WAL of 4,096-byte pages: its byte range.
fn frame_at(f: usize) -> std::ops::Range<usize> {
    let start = 32 + (f - 1) * (24 + 4096);
    start..start + 24 + 4096
}

/// waldump stops exactly where recovery stops: at a frame whose page image
/// fails its page checksum although its frame checksum is right (the frame
/// checksum recomputed over the damaged page), and at a frame whose stored
/// frame checksum is wrong; and what it reports as committed is what the
/// engine recovers.
#[test]
fn waldump_reports_exactly_the_frames_recovery_keeps() {
    use walden::engine::format::{frame_checksum, FrameHeader};
    for (case, bad_page) in [("page checksum", true), ("frame checksum", false)] {
        let e = Env::new();
        let mut wal = one_frame_commits(&e, "d.db");
        // Frames 1-3 are the creation commit; frame 4 + i holds k{i} and
        // is a commit frame. Damage frame 6 (the commit of k2).
        let r = frame_at(6);
        if bad_page {
            wal[r.start + 24 + 100] ^= 0x55;
            let prev = FrameHeader::decode(&wal[frame_at(5)]).cksum;
            let c = frame_checksum(prev, &wal[r.start..r.start + 20], &wal[r.start + 24..r.end]);
            wal[r.start + 20..r.start + 24].copy_from_slice(&c.to_le_bytes());
        } else {
            wal[r.start + 21] ^= 0x01;
        }
        std::fs::write(e.path("d.db-wal"), &wal).expect("write WAL");
        let o = e.run(&["waldump", "d.db"]);
        let out = check(&o, DAMAGED, &["waldump", case]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(out.lines().filter(|l| l.starts_with("lsn: ")).count(), 5, "{case}: {out}");
        assert!(out.contains("5 valid frames: 5 committed in 3 transactions"), "{case}: {out}");
        assert!(err.contains("stopped at frame 6"), "{case}: {err}");
        if bad_page {
            assert!(err.contains("fails its page checksum"), "{case}: {err}");
        } else {
            assert!(err.contains("checksum mismatch"), "{case}: {err}");
        }
        // The engine keeps the same two commits of k0 and k1, and nothing
        // after the damaged frame.
        assert_eq!(recovered_keys(&e, "d.db"), 2, "{case}");
    }
}

/// Runs `walden` with `stdin` piped in, expects `code`, returns stdout.
fn piped(e: &Env, args: &[&str], stdin: &[u8], code: i32) -> String {
    let o = e.run_stdin(args, stdin);
    check(&o, code, args)
}

#[test]
fn count_tables_prefixes_and_ranges() {
    let e = Env::new();
    loaded_db(&e, "n.db", 3000);
    assert_eq!(e.ok(&["count", "n.db"]), "3000\n");
    assert_eq!(e.ok(&["count", "n.db", "--prefix", "key 0010"]), "100\n");
    assert_eq!(e.ok(&["count", "n.db", "--from", "key 000100", "--to", "key 000250"]), "150\n");
    assert_eq!(e.ok(&["count", "n.db", "--from", "key 002990"]), "10\n");
    assert_eq!(e.ok(&["count", "n.db", "--to", "key 000005"]), "5\n");
    assert_eq!(e.ok(&["count", "n.db", "--from", "z"]), "0\n");
    assert_eq!(e.ok(&["count", "n.db", "--hex", "--prefix", "6b657920303030"]), "1000\n");
    e.ok(&["put", "n.db", "-t", "t", "a", "1"]);
    assert_eq!(e.ok(&["count", "n.db", "-t", "t"]), "1\n");
    e.expect(NOT_FOUND, &["count", "n.db", "-t", "nope"]);
    e.expect(IO, &["count", "missing.db"]);
    e.expect(USAGE, &["count", "n.db", "--prefix", "a", "--to", "b"]);
    assert!(e.ok(&["count", "--help"]).contains("walden count "));
}

#[test]
fn del_a_prefix_or_a_range_in_one_transaction() {
    let e = Env::new();
    for k in ["a1", "a2", "a3", "b1", "b2", "c"] {
        e.ok(&["put", "d.db", "-t", "t", k, "v"]);
    }
    let frames_before = e.ok(&["waldump", "d.db", "--stats"]);
    let txns = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("transactions: "))
            .map(|l| l.split(';').next().unwrap_or_default().to_string())
    };
    assert_eq!(
        e.ok(&["del", "d.db", "-t", "t", "--prefix", "a"]),
        "deleted 3 entries from table \"t\" of d.db (1 commit)\n"
    );
    assert_eq!(e.ok(&["scan", "d.db", "-t", "t", "--keys-only"]), "b1\nb2\nc\n");
    // One transaction more in the WAL for the three deletes.
    let after = e.ok(&["waldump", "d.db", "--stats"]);
    let (b, a): (u64, u64) = (
        txns(&frames_before).unwrap().parse().unwrap(),
        txns(&after).unwrap().parse().unwrap(),
    );
    assert_eq!(a, b + 1, "{after}");
    assert_eq!(
        e.ok(&["del", "d.db", "-t", "t", "--from", "b2", "--to", "d"]),
        "deleted 2 entries from table \"t\" of d.db (1 commit)\n"
    );
    assert_eq!(
        e.ok(&["del", "d.db", "-t", "t", "--from", "x"]),
        "deleted 0 entries from table \"t\" of d.db (1 commit)\n"
    );
    assert_eq!(
        e.ok(&["del", "d.db", "-t", "t", "--to", "c"]),
        "deleted 1 entry from table \"t\" of d.db (1 commit)\n"
    );
    assert_eq!(e.ok(&["count", "d.db", "-t", "t"]), "0\n");
    e.expect(USAGE, &["del", "d.db", "k", "--prefix", "a"]);
    e.expect(USAGE, &["del", "d.db"]);
    e.expect(NOT_FOUND, &["del", "d.db", "-t", "nope", "--prefix", "a"]);
    assert!(e.ok(&["verify", "d.db"]).contains("ok"));
}

#[test]
fn put_lines_from_stdin_in_one_transaction() {
    let e = Env::new();
    let out = piped(
        &e,
        &["put", "p.db", "-t", "w", "--lines"],
        b"a\t1\nb\tx\\ty\tz\nempty\t\nspace key\t 2 \r\n",
        OK,
    );
    assert_eq!(out, "stored 4 entries in table \"w\" of p.db (1 commit)\n");
    // Values as given: only the first TAB splits; no unescaping; \r kept.
    let raw = |k: &str| e.run(&["get", "p.db", "-t", "w", k, "--raw"]).stdout;
    assert_eq!(raw("b"), b"x\\ty\tz");
    assert_eq!(raw("empty"), b"");
    assert_eq!(raw("space key"), b" 2 \r");
    // Hex lines; one entry: the singular.
    let out = piped(&e, &["put", "p.db", "--lines", "--hex"], b"00ff\t0a0b\n", OK);
    assert_eq!(out, "stored 1 entry in the default table of p.db (1 commit)\n");
    assert_eq!(e.ok(&["get", "p.db", "--hex", "00ff"]), "0a0b\n");
    // A bad line: nothing of the batch is stored (one transaction).
    let o = e.run_stdin(&["put", "p.db", "-t", "w2", "--lines"], b"k1\tv1\nno tab here\nk3\tv3\n");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    check(&o, DATA, &["put --lines (bad)"]);
    assert!(err.contains("<stdin>: line 2: no TAB"), "{err}");
    e.expect(NOT_FOUND, &["get", "p.db", "-t", "w2", "k1"]);
    let o = e.run_stdin(&["put", "p.db", "--lines", "--hex"], b"zz\t00\n");
    check(&o, DATA, &["put --lines --hex (bad)"]);
    let long = format!("{}\tv\n", "k".repeat(2000));
    let o = e.run_stdin(&["put", "p.db", "--lines"], long.as_bytes());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    check(&o, DATA, &["put --lines (long key)"]);
    assert!(
        err.contains("line 1: the key is 2,000 bytes; the largest at 4,096-byte pages is 1,347"),
        "{err}"
    );
    // KEY and --lines exclude each other.
    e.expect(USAGE, &["put", "p.db", "k", "--lines"]);
}

#[test]
fn scan_as_json_lines_and_csv() {
    let e = Env::new();
    e.ok(&["put", "j.db", "a", "say \"hi\""]);
    e.ok(&["put", "j.db", "b", "x,y"]);
    let jl = e.ok(&["scan", "j.db", "--json"]);
    let rows: Vec<serde_json::Value> = jl.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(
        rows,
        [
            serde_json::json!({"key": "a", "value": "say \"hi\""}),
            serde_json::json!({"key": "b", "value": "x,y"})
        ]
    );
    assert_eq!(
        e.ok(&["scan", "j.db", "--format", "jsonl", "--keys-only", "--limit", "1"]),
        "{\"key\":\"a\"}\n"
    );
    assert_eq!(
        e.ok(&["scan", "j.db", "--format", "csv"]),
        "key,value\na,\"say \"\"hi\"\"\"\nb,\"x,y\"\n"
    );
    assert_eq!(
        e.ok(&["scan", "j.db", "--format", "csv", "--keys-only", "--reverse"]),
        "key\nb\na\n"
    );
    // Binary data: JSON and CSV need --hex.
    e.ok(&["put", "j.db", "--hex", "ff", "00"]);
    let err = e.stderr_of(DATA, &["scan", "j.db", "--json"]);
    assert!(err.contains("not UTF-8") && err.contains("--hex"), "{err}");
    assert_eq!(
        e.ok(&["scan", "j.db", "--json", "--hex", "--from", "ff"]),
        "{\"key\":\"ff\",\"value\":\"00\"}\n"
    );
    e.expect(USAGE, &["scan", "j.db", "--json", "--format", "csv"]);
}

#[test]
fn export_a_prefix_or_a_range() {
    let e = Env::new();
    std::fs::write(e.path("w.csv"), CSV).expect("write csv");
    e.ok(&["import", "x.db", "w.csv", "--key", "station,hour", "-t", "w"]);
    let csv = e.ok(&["export", "x.db", "-t", "w", "--prefix", "EWR "]);
    assert_eq!(
        csv,
        "station,hour,temp,note\nEWR,2013-01-01T06,39.02,clear\nEWR,2013-01-01T07,39.02,\n"
    );
    let jl = e.ok(&["export", "x.db", "-t", "w", "--format", "jsonl", "--from", "JFK", "--to", "LGA"]);
    assert_eq!(jl.lines().count(), 1, "{jl}");
    assert!(jl.contains("\"station\":\"JFK\""), "{jl}");
    let raw = e.ok(&["export", "x.db", "-t", "w", "--raw", "--from", "LGA"]);
    assert_eq!(raw.lines().count(), 2, "{raw}");
    assert_eq!(
        e.ok(&["export", "x.db", "-t", "w", "-o", "one.csv", "--prefix", "LGA"]),
        "exported 1 row of x.db to one.csv\n"
    );
}

#[test]
fn stat_shows_each_tree_like_mdb_stat() {
    let e = Env::new();
    loaded_db(&e, "s.db", 3000);
    e.ok(&["put", "s.db", "-t", "small", "k", "v"]);
    e.ok(&["put", "s.db", "-t", "tab\tname", "k", "v"]);
    let big = "x".repeat(10_000);
    e.ok(&["put", "s.db", "-t", "small", "big", &big]);
    let text = e.ok(&["stat", "s.db"]);
    assert!(text.contains("free pages"), "{text}");
    assert!(text.contains("2 named tables, and the default table"), "{text}");
    let header = text
        .lines()
        .find(|l| l.contains("entries") && l.contains("depth"))
        .expect("a table header");
    for col in ["table", "entries", "depth", "branch", "leaf", "overflow", "fill"] {
        assert!(header.contains(col), "{header}");
    }
    let default = text.lines().find(|l| l.trim_start().starts_with("(default)")).expect("default row");
    let cols: Vec<&str> = default.split_whitespace().collect();
    assert_eq!(cols[1], "3,000", "{default}");
    assert_eq!(cols[2], "2", "{default}");
    // The control character in a table name is escaped.
    assert!(text.contains("tab\\tname"), "{text}");
    assert!(!text.contains("tab\tname"), "{text}");
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["stat", "s.db", "--json"])).expect("JSON");
    let d = &j["default_table"];
    assert_eq!(d["entries"], 3000);
    assert_eq!(d["depth"], 2);
    assert!(d["branch_pages"].as_u64().unwrap_or(0) >= 1, "{d}");
    assert!(d["leaf_pages"].as_u64().unwrap_or(0) >= 70, "{d}");
    assert_eq!(d["overflow_pages"], 0);
    let fill = d["fill_percent"].as_f64().unwrap_or(0.0);
    assert!((40.0..=100.0).contains(&fill), "{d}");
    let small = &j["tables"][0];
    assert_eq!(small["name"], "small");
    assert_eq!(small["entries"], 2);
    assert_eq!(small["overflow_pages"], 3, "{small}");
    assert_eq!(j["tables"][1]["name"], "tab\tname");
}

#[test]
fn waldump_filters_start_end_page_limit() {
    let e = Env::new();
    for i in 0..6 {
        e.ok(&["put", "f.db", &format!("k{i}"), "v"]);
    }
    // Frames 1-3: the creation commit; then one frame per put.
    let all = e.ok(&["waldump", "f.db"]);
    let lsns = |s: &str| -> Vec<String> {
        s.lines()
            .filter_map(|l| l.strip_prefix("lsn: "))
            .map(|l| l.split(',').next().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(lsns(&all).len(), 9, "{all}");
    let some = e.ok(&["waldump", "f.db", "--start", "0/00000004", "--end", "0/00000007"]);
    assert_eq!(lsns(&some), ["0/00000004", "0/00000005", "0/00000006"], "{some}");
    assert!(some.contains("stopped at --end"), "{some}");
    // A decimal LSN (as stat --json prints it) is the same.
    assert_eq!(e.ok(&["waldump", "f.db", "--start", "4", "--end", "7"]), some);
    let limited = e.ok(&["waldump", "f.db", "--limit", "2"]);
    assert_eq!(lsns(&limited), ["0/00000001", "0/00000002"], "{limited}");
    assert!(limited.contains("stopped after --limit: 2 frames"), "{limited}");
    let page1 = e.ok(&["waldump", "f.db", "--page", "1"]);
    assert!(!lsns(&page1).is_empty(), "{page1}");
    assert!(
        page1
            .lines()
            .filter(|l| l.starts_with("lsn: "))
            .all(|l| l.contains("page: 1 (header")),
        "{page1}"
    );
    let stats = e.ok(&["waldump", "f.db", "--stats", "--start", "0/00000005"]);
    assert!(stats.contains("transactions: 5;"), "{stats}");
    e.expect(USAGE, &["waldump", "f.db", "--start", "nonsense"]);
    e.expect(USAGE, &["waldump", "f.db", "--limit", "0"]);
    e.expect(USAGE, &["waldump", "f.db", "--follow", "--stats"]);
}

#[test]
fn waldump_follow_shows_new_commits() {
    let e = Env::new();
    e.ok(&["put", "fo.db", "k0", "v"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_walden"))
        .args(["waldump", "fo.db", "--follow", "--limit", "6"])
        .current_dir(e.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Four frames now (the creation commit and k0); two commits more, made
    // while waldump waits at the end of the log.
    std::thread::sleep(std::time::Duration::from_millis(300));
    e.ok(&["put", "fo.db", "k1", "v"]);
    e.ok(&["put", "fo.db", "k2", "v"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let o = child.wait_with_output().expect("output");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        status.is_some_and(|s| s.success()),
        "waldump --follow did not end after 6 frames:\n{out}"
    );
    assert_eq!(out.lines().filter(|l| l.starts_with("lsn: ")).count(), 6, "{out}");
    assert!(out.contains("lsn: 0/00000006, frame: 6"), "{out}");
}

#[test]
fn the_shell_runs_commands_and_dot_commands() {
    let e = Env::new();
    let script = b"put k1 v1\nput --table t 'a key' 'a value'\n# a comment\n\nget k1\ncount --table t\n.timeout\n.timeout 0.5\n.timeout\nscan --table t --json\n.help\n";
    let out = piped(&e, &["sh.db"], script, OK);
    assert!(out.contains("v1\n"), "{out}");
    assert!(out.contains("1\n"), "{out}");
    assert!(out.contains("5 s\n") && out.contains("0.5 s\n"), "{out}");
    assert!(out.contains("{\"key\":\"a key\",\"value\":\"a value\"}\n"), "{out}");
    assert!(out.contains(".timeout [SECONDS]"), "{out}");
    // No prompt when stdin is not a terminal.
    assert!(!out.contains("walden>"), "{out}");
    // Errors are reported as they happen, and the shell goes on; its exit
    // code is the last failure's.
    let o = e.run_stdin(
        &["sh.db"],
        b"get nope\nget k1\nfrobnicate\nput 'unbalanced\n.timeout x\n.quit\nget k1\n",
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(USAGE), "{out}\n{err}");
    assert_eq!(out, "v1\n", "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(lines.iter().all(|l| l.starts_with("walden: error: ")), "{err}");
    assert!(lines[0].contains("key \"nope\" not found"), "{err}");
    assert!(lines[1].contains("frobnicate"), "{err}");
    assert!(lines[2].contains("unbalanced quotes"), "{err}");
    assert!(lines[3].contains(".timeout"), "{err}");
    // A help request is printed, not an error.
    let out = piped(&e, &["sh.db"], b"get --help\n", OK);
    assert!(out.contains("Print the value of a key"), "{out}");
    // --timeout before the database is the shell's starting timeout.
    let out = piped(&e, &["--timeout", "2", "sh.db"], b".timeout\n", OK);
    assert_eq!(out, "2 s\n");
}

#[test]
fn usage_errors_are_one_line_and_data_errors_are_not_usage_errors() {
    let e = Env::new();
    for args in [
        &["frobnicate"][..],
        &["get", "x.db"],
        &["scan", "x.db", "--limit", "many"],
        &["checkpoint", "x.db", "--mode", "sideways"],
        &["--timeout", "-1", "stat", "x.db"],
        &[],
    ] {
        let err = e.stderr_of(USAGE, args);
        assert!(err.len() > "walden: error: ".len() + 10, "{args:?}: {err}");
    }
    let err = e.stderr_of(USAGE, &["get", "x.db"]);
    assert!(err.contains("<KEY>") && err.contains("(usage: walden get"), "{err}");
    // An empty CSV file is malformed data (exit 6), not a usage error.
    std::fs::write(e.path("empty.csv"), b"").expect("write");
    let err = e.stderr_of(DATA, &["import", "e.db", "empty.csv", "--key", "a"]);
    assert!(err.contains("empty.csv"), "{err}");
    // An empty database file is damaged (exit 5).
    std::fs::write(e.path("empty.db"), b"").expect("write");
    let err = e.stderr_of(DAMAGED, &["stat", "empty.db"]);
    assert!(err.contains("empty.db"), "{err}");
    // Table names with control characters are escaped in messages.
    e.ok(&["put", "x2.db", "k", "v"]);
    let err = e.stderr_of(NOT_FOUND, &["get", "x2.db", "-t", "bad\u{1b}[31mname", "k"]);
    assert!(err.contains("table \"bad\\x1b[31mname\" not found"), "{err}");
}
