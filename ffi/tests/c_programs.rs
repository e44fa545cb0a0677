//! The C ABI from C and C++: compiles `examples/c/weather.c`,
//! `examples/c/threads.cpp`, `ffi/tests/c/api_misuse.c` and
//! `ffi/tests/c/features.c` (among others) with the system
//! compilers (`$CC`/`cc`, `$CXX`/`c++`) against `include/walden.h` and the
//! library, statically (`libwalden_ffi.a`) and dynamically
//! (`libwalden_ffi.so`), runs them and checks their output; runs them once
//! more under AddressSanitizer + UndefinedBehaviorSanitizer and once under
//! valgrind memcheck, where any error or leak fails; and builds the
//! examples through `examples/c/Makefile` and the pkg-config files.
//!
//! The library is the one cargo built for this test (in the test's own
//! `deps/` directory); valgrind runs the release build, 10x faster under
//! it, which the test builds with `cargo build --release -p walden-ffi`. A
//! clean checkout needs no manual step. Tools that are missing (valgrind, make,
//! pkg-config) make their test print a note and pass, unless
//! `WALDEN_FFI_STRICT=1` (set by `.ci/run`), which makes it fail.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ has a parent")
        .to_path_buf()
}

fn strict() -> bool {
    std::env::var_os("WALDEN_FFI_STRICT").is_some_and(|v| v == "1")
}

/// Whether `tool` runs; if not, fails in strict mode or prints why the
/// caller skips.
fn have(tool: &str, arg: &str, test: &str) -> bool {
    let ok = Command::new(tool).arg(arg).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!strict(), "{test}: `{tool}` is not installed (WALDEN_FFI_STRICT=1)");
        eprintln!("NOTE: {test}: `{tool}` is not installed; skipped (set WALDEN_FFI_STRICT=1 to fail instead)");
    }
    ok
}

// ---------------------------------------------------------------------------
// The library
// ---------------------------------------------------------------------------

struct Lib {
    staticlib: PathBuf,
    cdylib: PathBuf,
    /// The system libraries the static library needs (walden.pc's Libs.private).
    native_libs: Vec<String>,
}

impl Lib {
    fn libdir(&self) -> &Path {
        self.cdylib.parent().expect("the library has a directory")
    }
}

/// This test binary's profile directory (`<target>/<profile>/deps/<exe>`).
fn profile_dir() -> String {
    std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned()
}

/// The walden-ffi this test binary was built with: cargo builds the
/// library (all its crate types) before it runs the test, into the test's
/// own `deps/` directory (without a hash suffix: a staticlib and a cdylib
/// need stable names). Built with `cargo build` if it is not there.
fn lib() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        let deps = exe.parent().expect("the test binary has a directory");
        let (staticlib, cdylib) = (deps.join("libwalden_ffi.a"), deps.join("libwalden_ffi.so"));
        if staticlib.is_file() && cdylib.is_file() {
            eprintln!("using the walden-ffi this test was built with, in {}", deps.display());
            Lib {
                staticlib,
                cdylib,
                native_libs: libs_private(),
            }
        } else {
            build_lib(&profile_dir())
        }
    })
}

/// walden-ffi built in the release profile (optimized, with debug info):
/// what valgrind runs, as the debug build is 10x slower under it. Unless
/// this test is itself a release build, `cargo build --release -p
/// walden-ffi` builds it (into `target/release`, so it never overwrites
/// the debug library this test runs with).
fn release_lib() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    if profile_dir() == "release" {
        return lib();
    }
    LIB.get_or_init(|| build_lib("release"))
}

/// Builds walden-ffi with `cargo build` into this test's target directory
/// and finds its artifacts in cargo's JSON messages.
fn build_lib(profile_dir: &str) -> Lib {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // <target>/tmp, so the target directory is its parent (whatever
    // CARGO_TARGET_DIR or .cargo/config says).
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").to_path_buf();
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace())
        .args(["build", "-p", "walden-ffi", "--lib", "--message-format=json-render-diagnostics"])
        .arg("--target-dir")
        .arg(&target_dir);
    match profile_dir {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.arg(format!("--profile={other}"));
        }
    }
    let started = Instant::now();
    let out = cmd.output().expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build -p walden-ffi ({profile_dir}) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("built walden-ffi ({profile_dir}) in {:.1?}", started.elapsed());
    let files = artifact_files(&String::from_utf8_lossy(&out.stdout));
    let find = |suffix: &str| {
        files
            .iter()
            .find(|f| f.ends_with(suffix))
            .cloned()
            .unwrap_or_else(|| panic!("cargo reported no {suffix} for walden_ffi: {files:?}"))
    };
    Lib {
        staticlib: find("libwalden_ffi.a"),
        cdylib: find("libwalden_ffi.so"),
        native_libs: libs_private(),
    }
}

/// The "filenames" of the walden_ffi library in cargo's JSON messages.
fn artifact_files(json_lines: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for line in json_lines.lines() {
        if !line.contains(r#""reason":"compiler-artifact""#) || !line.contains(r#""name":"walden_ffi""#) {
            continue;
        }
        let Some(start) = line.find(r#""filenames":["#) else { continue };
        let rest = &line[start + r#""filenames":["#.len()..];
        let Some(end) = rest.find(']') else { continue };
        files.extend(
            rest[..end]
                .split(',')
                .map(|s| s.trim().trim_matches('"').replace("\\\\", "\\"))
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        );
    }
    files
}

/// walden.pc's Libs.private: linking the static library with exactly what
/// the pkg-config file says tests the file.
fn libs_private() -> Vec<String> {
    let pc = std::fs::read_to_string(workspace().join("ffi/walden.pc")).expect("read ffi/walden.pc");
    let line = pc
        .lines()
        .find_map(|l| l.strip_prefix("Libs.private:"))
        .expect("walden.pc has Libs.private");
    line.split_whitespace().map(str::to_owned).collect()
}

// ---------------------------------------------------------------------------
// Compiling and running
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Static,
    Dynamic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    C,
    Cxx,
}

const SANITIZE: &[&str] = &[
    "-fsanitize=address,undefined",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=all",
];

/// Compiles `src` into `out_dir/<name>` and returns the executable.
fn compile(lib: &Lib, src: &Path, link: Link, extra: &[&str], out_dir: &Path, name: &str) -> PathBuf {
    let lang = if src.extension().is_some_and(|e| e == "cpp") {
        Lang::Cxx
    } else {
        Lang::C
    };
    let (var, default, std) = match lang {
        Lang::C => ("CC", "cc", "-std=c11"),
        Lang::Cxx => ("CXX", "c++", "-std=c++17"),
    };
    let compiler = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let exe = out_dir.join(name);
    let mut cmd = Command::new(&compiler);
    cmd.args([std, "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g", "-O1"])
        .arg("-I")
        .arg(workspace().join("include"))
        .args(extra)
        .arg(src);
    if lang == Lang::Cxx {
        cmd.arg("-pthread");
    }
    match link {
        Link::Static => {
            cmd.arg(&lib.staticlib).args(&lib.native_libs);
        }
        Link::Dynamic => {
            cmd.arg("-L")
                .arg(lib.libdir())
                .arg("-lwalden_ffi")
                .arg(format!("-Wl,-rpath,{}", lib.libdir().display()));
        }
    }
    cmd.arg("-o").arg(&exe);
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(
        out.status.success(),
        "{compiler} failed on {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Runs `cmd`; fails the test (with both outputs) unless it exits with 0.
fn run(mut cmd: Command, what: &str) -> Output {
    let started = Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    eprintln!("{what}: {:?} in {:.1?}", out.status, started.elapsed());
    assert!(
        out.status.success(),
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// How a program is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Under {
    Plain,
    Sanitizers,
    Valgrind,
}

/// The library a run links: the release build for valgrind, else the
/// test's own profile.
fn lib_for(under: Under) -> &'static Lib {
    match under {
        Under::Valgrind => release_lib(),
        Under::Plain | Under::Sanitizers => lib(),
    }
}

/// LD_LIBRARY_PATH with the directory of `lib` first.
fn library_path(lib: &Lib) -> std::ffi::OsString {
    let mut paths = vec![lib.libdir().to_path_buf()];
    paths.extend(std::env::var_os("LD_LIBRARY_PATH").iter().flat_map(std::env::split_paths));
    std::env::join_paths(paths).expect("join LD_LIBRARY_PATH")
}

fn command(lib: &Lib, exe: &Path, args: &[&Path], under: Under) -> Command {
    let mut cmd = match under {
        Under::Plain | Under::Sanitizers => Command::new(exe),
        Under::Valgrind => {
            let mut c = Command::new("valgrind");
            c.args([
                "--tool=memcheck",
                "--error-exitcode=99",
                "--leak-check=full",
                "--show-leak-kinds=all",
                "--errors-for-leak-kinds=definite,indirect,possible",
                "--track-origins=yes",
            ])
            .arg(exe);
            c
        }
    };
    cmd.args(args);
    // cargo runs tests with LD_LIBRARY_PATH naming its own output
    // directories, which would take precedence over the executable's rpath:
    // put the library this run links first.
    cmd.env("LD_LIBRARY_PATH", library_path(lib));
    if under == Under::Sanitizers {
        cmd.env(
            "ASAN_OPTIONS",
            "detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1",
        )
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
    }
    cmd
}

/// Checks a sanitizer or valgrind run's report: no error, no leak.
fn check_report(out: &Output, under: Under, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    match under {
        Under::Plain => {}
        Under::Sanitizers => {
            for bad in ["Sanitizer", "runtime error:"] {
                assert!(!stderr.contains(bad), "{what}: sanitizer report:\n{stderr}");
            }
        }
        Under::Valgrind => {
            assert!(
                stderr.contains("ERROR SUMMARY: 0 errors"),
                "{what}: valgrind found errors:\n{stderr}"
            );
            // Not even "still reachable": every block is freed.
            assert!(
                stderr.contains("All heap blocks were freed -- no leaks are possible"),
                "{what}: valgrind found unfreed memory:\n{stderr}"
            );
            let summary: Vec<&str> = stderr
                .lines()
                .filter(|l| l.contains("ERROR SUMMARY") || l.contains("heap usage"))
                .collect();
            eprintln!("{what}: {}", summary.join(" | "));
        }
    }
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_lines(stdout: &str, expected: &[&str], what: &str) {
    for line in expected {
        assert!(
            stdout.lines().any(|l| l == *line),
            "{what}: missing line {line:?} in output:\n{stdout}"
        );
    }
}

// ---------------------------------------------------------------------------
// The three programs
// ---------------------------------------------------------------------------

/// Decompresses data/weather.csv.gz into `dir/weather.csv`.
fn weather_csv(dir: &Path) -> PathBuf {
    let gz = std::fs::read(workspace().join("data/weather.csv.gz")).expect("read data/weather.csv.gz");
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut text)
        .expect("decompress weather.csv.gz");
    let path = dir.join("weather.csv");
    std::fs::write(&path, text).expect("write weather.csv");
    path
}

/// The reference facts (scripts/weather_facts.py), in the same format.
const WEATHER_FACTS: &[&str] = &[
    "stored 26115 readings in 53 commits (batches of 500)",
    "rows per origin: EWR 8703, JFK 8706, LGA 8706",
    "hottest hour per station in 2013 (temp F, UTC hour):",
    "  EWR: 100.04 F at 2013-07-18T19 UTC (2 hour(s) at that temp)",
    "  JFK: 98.06 F at 2013-07-18T16 UTC (1 hour(s) at that temp)",
    "  LGA: 98.96 F at 2013-07-18T19 UTC (3 hour(s) at that temp)",
    "EWR 2013-07 (UTC): 741 readings, 741 with temp, sum temp = 5980560 hundredths F, mean temp = 80.7093 F",
    "lookup EWR 2013-07-18T19: temp 100.04 F, local 2013-07-18 15h, pressure 1015.0 mbar",
    "last reading: LGA 2013-12-30T23 (before it: LGA 2013-12-30T22)",
    "deleted 17 readings of EWR 2013-01-01 (UTC)",
    "weather: all checks passed",
];

fn run_weather(link: Link, extra: &[&str], under: Under) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = lib_for(under);
    let exe = compile(lib, &workspace().join("examples/c/weather.c"), link, extra, dir.path(), "weather");
    let csv = weather_csv(dir.path());
    let db = dir.path().join("weather.db");
    let what = format!("weather.c ({link:?}, {under:?})");
    let out = run(command(lib, &exe, &[&csv, &db], under), &what);
    check_report(&out, under, &what);
    let stdout = stdout_of(&out);
    assert_lines(&stdout, WEATHER_FACTS, &what);
    // The page count depends on the engine's page layout: not checked here.
    assert!(
        stdout.lines().any(|l| l.starts_with("checkpoint: 0 WAL frames left; database ")),
        "{what}: no checkpoint line in:\n{stdout}"
    );
    assert!(
        stdout.starts_with(&format!("walden {}\n", env!("CARGO_PKG_VERSION"))),
        "{what}: {stdout}"
    );
}

fn run_threads(link: Link, extra: &[&str], under: Under, transfers: u32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = lib_for(under);
    let exe = compile(lib, &workspace().join("examples/c/threads.cpp"), link, extra, dir.path(), "threads");
    let db = dir.path().join("threads.db");
    let n = transfers.to_string();
    let what = format!("threads.cpp ({link:?}, {under:?})");
    let out = run(command(lib, &exe, &[&db, Path::new(&n)], under), &what);
    check_report(&out, under, &what);
    let stdout = stdout_of(&out);
    let commits = format!("writer: {transfers} transfers committed (every 97th attempt aborted)");
    assert_lines(&stdout, &[commits.as_str(), "threads: all checks passed"], &what);
    let reader = stdout.lines().find(|l| l.starts_with("reader: ")).unwrap_or_default();
    assert!(reader.ends_with("the balances always summed to 1000"), "{what}: {stdout}");
}

fn run_misuse(link: Link, extra: &[&str], under: Under) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = lib_for(under);
    let exe = compile(
        lib,
        &workspace().join("ffi/tests/c/api_misuse.c"),
        link,
        extra,
        dir.path(),
        "api_misuse",
    );
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    let what = format!("api_misuse.c ({link:?}, {under:?})");
    let out = run(command(lib, &exe, &[&data], under), &what);
    check_report(&out, under, &what);
    let stdout = stdout_of(&out);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("api_misuse: ") && last.ends_with(" checks passed"),
        "{what}: {stdout}"
    );
}

fn run_features(link: Link, extra: &[&str], under: Under) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = lib_for(under);
    let exe = compile(
        lib,
        &workspace().join("ffi/tests/c/features.c"),
        link,
        extra,
        dir.path(),
        "features",
    );
    let what = format!("features.c ({link:?}, {under:?})");
    let out = run(command(lib, &exe, &[dir.path()], under), &what);
    check_report(&out, under, &what);
    let stdout = stdout_of(&out);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("features: ") && last.ends_with(" checks passed"),
        "{what}: {stdout}"
    );
}

#[test]
fn features_c_static_and_shared() {
    run_features(Link::Static, &[], Under::Plain);
    run_features(Link::Dynamic, &[], Under::Plain);
}

fn run_two_processes(link: Link, extra: &[&str], under: Under, transfers: u32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = lib_for(under);
    let exe = compile(
        lib,
        &workspace().join("ffi/tests/c/two_processes.c"),
        link,
        extra,
        dir.path(),
        "two_processes",
    );
    let db = dir.path().join("two.db");
    let n = transfers.to_string();
    let what = format!("two_processes.c ({link:?}, {under:?})");
    let out = run(command(lib, &exe, &[&db, Path::new(&n)], under), &what);
    check_report(&out, under, &what);
    let stdout = stdout_of(&out);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("two_processes: ok, ") && last.ends_with(&format!(" snapshots, {transfers} transfers")),
        "{what}: {stdout}"
    );
}

#[test]
fn two_c_processes_one_writing_one_reading() {
    run_two_processes(Link::Static, &[], Under::Plain, 2000);
    run_two_processes(Link::Dynamic, &[], Under::Plain, 2000);
}

#[test]
fn weather_c_client_static_and_shared() {
    run_weather(Link::Static, &[], Under::Plain);
    run_weather(Link::Dynamic, &[], Under::Plain);
}

#[test]
fn threads_cpp_raii_static_and_shared() {
    run_threads(Link::Static, &[], Under::Plain, 2000);
    run_threads(Link::Dynamic, &[], Under::Plain, 2000);
}

#[test]
fn api_misuse_c_static_and_shared() {
    run_misuse(Link::Static, &[], Under::Plain);
    run_misuse(Link::Dynamic, &[], Under::Plain);
}

#[test]
fn under_address_and_undefined_behavior_sanitizers() {
    run_misuse(Link::Static, SANITIZE, Under::Sanitizers);
    run_features(Link::Static, SANITIZE, Under::Sanitizers);
    run_threads(Link::Static, SANITIZE, Under::Sanitizers, 2000);
    run_two_processes(Link::Static, SANITIZE, Under::Sanitizers, 1000);
    run_weather(Link::Static, SANITIZE, Under::Sanitizers);
}

#[test]
fn under_valgrind_memcheck() {
    if !have("valgrind", "--version", "under_valgrind_memcheck") {
        return;
    }
    run_misuse(Link::Dynamic, &[], Under::Valgrind);
    run_features(Link::Dynamic, &[], Under::Valgrind);
    run_threads(Link::Dynamic, &[], Under::Valgrind, 2000);
    run_two_processes(Link::Dynamic, &[], Under::Valgrind, 300);
    run_weather(Link::Dynamic, &[], Under::Valgrind);
}

// ---------------------------------------------------------------------------
// Makefile and pkg-config
// ---------------------------------------------------------------------------

#[test]
fn makefile_example_with_pkg_config() {
    let test = "makefile_example_with_pkg_config";
    if !have("make", "--version", test) || !have("pkg-config", "--version", test) || !have("gzip", "--version", test) {
        return;
    }
    let lib = lib();
    for link in ["static", "dynamic"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new("make");
        cmd.arg("-C")
            .arg(workspace().join("examples/c"))
            .arg(format!("BUILD={}", dir.path().display()))
            .arg(format!("WALDEN_LIBDIR={}", lib.libdir().display()))
            .arg(format!("LINK={link}"))
            .arg("check")
            .env("LD_LIBRARY_PATH", library_path(lib));
        let out = run(cmd, &format!("make check LINK={link}"));
        assert_lines(
            &stdout_of(&out),
            &["weather: all checks passed", "threads: all checks passed"],
            &format!("make check LINK={link}"),
        );
    }
}

#[test]
fn pkg_config_files_match_the_crate() {
    for pc in ["walden.pc", "walden-static.pc"] {
        let text = std::fs::read_to_string(workspace().join("ffi").join(pc)).expect("read .pc");
        assert!(
            text.lines().any(|l| l == format!("Version: {}", env!("CARGO_PKG_VERSION"))),
            "ffi/{pc}: Version is not {}",
            env!("CARGO_PKG_VERSION")
        );
        assert!(
            text.contains("-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"),
            "ffi/{pc}: system libraries"
        );
    }
}

/// Every `#[no_mangle]` export of ffi/src is declared in include/walden.h
/// (CI also regenerates the header with cbindgen and diffs it).
#[test]
fn the_header_declares_every_export() {
    let header = std::fs::read_to_string(workspace().join("include/walden.h")).expect("read include/walden.h");
    let src: String = ["lib.rs", "more.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(workspace().join("ffi/src").join(f)).expect("read ffi/src"))
        .collect();
    let mut n = 0;
    for line in src.lines() {
        let Some(rest) = line.split("extern \"C\" fn ").nth(1) else {
            continue;
        };
        let name = rest.split('(').next().unwrap_or_default();
        let declared = header.match_indices(&format!("{name}(")).any(|(i, _)| {
            let before = header[..i].chars().next_back().unwrap_or(' ');
            !(before.is_alphanumeric() || before == '_')
        });
        assert!(declared, "include/walden.h does not declare {name}: regenerate it with cbindgen");
        n += 1;
    }
    assert_eq!(n, 29, "the C API has 29 functions");
    for (name, value) in [
        ("WALDEN_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("WALDEN_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("WALDEN_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            header.contains(&format!("#define {name} {value}")),
            "include/walden.h: {name} is not {value}, the crate's version: update ffi/src/lib.rs and regenerate"
        );
    }
}
