//! `walden waldump`: the frames of a WAL file, read directly from `DB-wal`
//! (never through the engine) with the engine's own frame reader
//! (`walden::engine::wal::frames::FrameReader`), so that it reports exactly
//! the frames recovery keeps, and stops where and for the reason recovery
//! stops (`docs/FORMAT.md` section 4.3).

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use walden::engine::btree::page::{PT_BRANCH, PT_FREELIST, PT_LEAF, PT_OVERFLOW};
use walden::engine::format::{self, frame_offset, DbHeader, WalHeader, FORMAT_VERSION, WAL_HEADER_LEN, WAL_MAGIC};
use walden::engine::storage::Storage;
use walden::engine::wal::frames::{FrameFault, FrameReader};
use walden::FileStorage;

use crate::codec::{count_of, group};
use crate::commands::{lsn_text, stdout};
use crate::error::{CliError, Result, DAMAGED};

/// `walden waldump`.
#[derive(Args, Debug)]
pub struct WaldumpArgs {
    /// Database file; its WAL, DB-wal, is read (the database file is only
    /// read for its page size)
    pub db: PathBuf,
    /// Summarise by transaction (one line each, then totals) instead of one line per frame
    #[arg(long)]
    pub stats: bool,
    /// First LSN to show (SEQ/FRAME in hex as printed, or the decimal LSN)
    #[arg(long, value_name = "LSN", value_parser = parse_lsn)]
    pub start: Option<u64>,
    /// Stop before this LSN (exclusive)
    #[arg(long, value_name = "LSN", value_parser = parse_lsn)]
    pub end: Option<u64>,
    /// Only frames of page N
    #[arg(long, value_name = "N")]
    pub page: Option<u32>,
    /// Stop after N frames shown
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// At the end of the log, wait for new frames and show them as they are
    /// committed (as `tail -f`; across WAL restarts) until interrupted or --limit
    #[arg(long, conflicts_with = "stats")]
    pub follow: bool,
}

/// An LSN as `waldump` prints it (`SEQ/FRAME`, hex) or as a decimal number
/// (`stat --json`'s `last_lsn`).
pub fn parse_lsn(s: &str) -> std::result::Result<u64, String> {
    let bad = || format!("{s:?} is not an LSN (SEQ/FRAME in hex, e.g. 0/0000001A, or a decimal number)");
    match s.split_once('/') {
        Some((seq, frame)) => {
            let seq = u32::from_str_radix(seq, 16).map_err(|_| bad())?;
            let frame = u32::from_str_radix(frame, 16).map_err(|_| bad())?;
            Ok(format::lsn(seq, frame))
        }
        None => s.parse().map_err(|_| bad()),
    }
}

/// One transaction: consecutive frames up to a commit frame.
#[derive(Default)]
struct Txn {
    first: u32,
    frames: u32,
    pages: HashSet<u32>,
    commit: u32,
    db_size: u32,
    /// One of its frames passed the filters (--start, --page).
    selected: bool,
}

/// Why the dump ended.
enum Stop {
    /// The log ended (or an invalid frame): what recovery would say.
    Fault(FrameFault),
    /// The next frame is at or past --end.
    End,
    /// --limit frames were shown.
    Limit,
}

/// How often `--follow` looks at the WAL again.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// `--follow` at the end of the log (or at a frame not yet whole): waits
/// until the WAL changes, then returns the reader to go on with. A WAL
/// restarted meanwhile (a new header: the checkpoint sequence or the salts
/// changed) is announced and read from its first frame.
fn wait_for_frames(
    file: &mut FileStorage,
    wal: &Path,
    h: &mut WalHeader,
    reader: &FrameReader,
    fault: FrameFault,
    out: &mut impl Write,
) -> Result<FrameReader> {
    let io_err = |f: &FileStorage| CliError::io(wal, f.take_error().unwrap_or_else(|| std::io::Error::other("read failed")));
    let start = file.size().map_err(|_| io_err(file))?;
    loop {
        std::thread::sleep(FOLLOW_POLL);
        let len = file.size().map_err(|_| io_err(file))?;
        if len < WAL_HEADER_LEN as u64 {
            continue;
        }
        let mut hb = [0u8; WAL_HEADER_LEN];
        file.read_at(0, &mut hb).map_err(|_| io_err(file))?;
        let Some((nh, hck)) = WalHeader::decode(&hb) else { continue };
        if (nh.ckpt_seq, nh.salt1, nh.salt2) != (h.ckpt_seq, h.salt1, h.salt2) {
            if nh.page_size != h.page_size {
                return Err(CliError::new(
                    DAMAGED,
                    format!("{}: the WAL was recreated with another page size", wal.display()),
                ));
            }
            writeln!(
                out,
                "WAL restarted: checkpoint sequence {}, salts {:08x}/{:08x}",
                nh.ckpt_seq, nh.salt1, nh.salt2
            )
            .map_err(CliError::output)?;
            out.flush().map_err(CliError::output)?;
            *h = nh;
            return Ok(FrameReader::new(h, hck, len));
        }
        // The same generation: at the end of the file, go on once it has
        // grown; a frame that was not valid yet (torn, or an older
        // generation's that a commit overwrites in place) is read again.
        if len > start || !matches!(fault, FrameFault::EndOfFile) {
            return Ok(FrameReader::resume(
                h.page_size,
                h.salt1,
                h.salt2,
                reader.frame(),
                reader.chain(),
                len,
            ));
        }
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The kind of a page image and a short description of its content.
fn describe(pgno: u32, page: &[u8]) -> (&'static str, String) {
    if pgno == 1 {
        let h = DbHeader::decode_unchecked(page);
        return ("header", format!("header, {} pages, change {}", h.page_count, h.change_counter));
    }
    let cells = u16::from_le_bytes([page[2], page[3]]);
    match page[0] {
        PT_LEAF => ("leaf", format!("leaf, {cells} cells")),
        PT_BRANCH => ("branch", format!("branch, {cells} cells")),
        PT_OVERFLOW => ("overflow", format!("overflow, next {}", le32(page, 4))),
        PT_FREELIST => ("freelist", format!("freelist trunk, {} entries", le32(page, 8))),
        t => ("other", format!("unknown page type {t}")),
    }
}

/// Why a WAL header does not decode.
fn header_problem(b: &[u8]) -> String {
    let magic = le32(b, 0);
    if magic != WAL_MAGIC {
        return format!("bad magic 0x{magic:08x}, expected 0x{WAL_MAGIC:08x}: not a Walden WAL");
    }
    let v = le32(b, 4);
    if v != FORMAT_VERSION {
        return format!("unsupported format version {v} (this build reads {FORMAT_VERSION})");
    }
    format!(
        "header checksum mismatch: stored 0x{:08x}, computed 0x{:08x}",
        le32(b, 28),
        format::crc32c(&[&b[..28]])
    )
}

/// The database file's header, if it has a valid one.
fn db_header(db: &Path) -> Option<DbHeader> {
    let mut b = [0u8; DbHeader::LEN];
    File::open(db).ok()?.read_exact(&mut b).ok()?;
    DbHeader::decode(&b).ok()
}

/// `walden waldump`.
pub fn run(a: &WaldumpArgs) -> Result<()> {
    let wal = walden::wal_path(&a.db);
    let wal_disp = wal.display().to_string();
    let mut file = FileStorage::open_read_only(&wal).map_err(|e| CliError::io(&wal, e))?;
    let io_err = |f: &FileStorage| {
        let e = f.take_error().unwrap_or_else(|| std::io::Error::other("read failed"));
        CliError::io(&wal, e)
    };
    let len = file.size().map_err(|_| io_err(&file))?;
    let damaged = |msg: String| CliError::new(DAMAGED, format!("{wal_disp}: {msg}"));
    let mut out = stdout();
    let o = CliError::output;
    if len == 0 {
        writeln!(out, "WAL {wal_disp}: empty (0 bytes): no frames").map_err(o)?;
        return out.flush().map_err(o);
    }
    if len < WAL_HEADER_LEN as u64 {
        return Err(damaged(format!(
            "WAL header truncated: the file has {len} bytes, a header needs {WAL_HEADER_LEN}"
        )));
    }
    let mut hb = [0u8; WAL_HEADER_LEN];
    file.read_at(0, &mut hb).map_err(|_| io_err(&file))?;
    let Some((h, hck)) = WalHeader::decode(&hb) else {
        return Err(damaged(format!("invalid WAL header: {}", header_problem(&hb))));
    };
    if format::check_page_size(h.page_size).is_err() {
        return Err(damaged(format!("invalid page size {} in the WAL header", h.page_size)));
    }
    writeln!(
        out,
        "WAL {wal_disp}: {} bytes; version {FORMAT_VERSION}, page size {}, checkpoint sequence {}, salts {:08x}/{:08x}, database id {:08x}, header checksum {hck:08x} valid",
        group(len),
        h.page_size,
        h.ckpt_seq,
        h.salt1,
        h.salt2,
        h.db_id
    )
    .map_err(o)?;
    if let Some(dh) = db_header(&a.db) {
        let dps = dh.page_size;
        if dps != h.page_size {
            out.flush().map_err(o)?;
            return Err(damaged(format!(
                "the WAL's page size {} differs from the database's {dps}: recovery ignores this WAL",
                h.page_size
            )));
        }
        if dh.db_id != h.db_id {
            out.flush().map_err(o)?;
            return Err(damaged(format!(
                "the WAL belongs to another database: its database id is {:08x}, the database file's {:08x}; recovery refuses to open the database beside it",
                h.db_id, dh.db_id
            )));
        }
    }

    let ps = h.page_size;
    let mut h = h;
    let mut reader = FrameReader::new(&h, hck, len);
    let fsz = reader.frame_len();
    let mut buf = vec![0u8; fsz];
    let mut txns: Vec<Txn> = Vec::new();
    let mut cur = Txn::default();
    let mut by_kind: [(&str, u64); 6] = [
        ("header", 0),
        ("leaf", 0),
        ("branch", 0),
        ("overflow", 0),
        ("freelist", 0),
        ("other", 0),
    ];
    let mut shown = 0u64;
    let stop = loop {
        let frame = reader.frame();
        let fh = match reader.next(&mut file, &mut buf).map_err(|_| io_err(&file))? {
            Ok(fh) => fh,
            Err(fault) if a.follow => {
                out.flush().map_err(o)?;
                reader = wait_for_frames(&mut file, &wal, &mut h, &reader, fault, &mut out)?;
                continue;
            }
            Err(fault) => break Stop::Fault(fault),
        };
        let lsn = format::lsn(h.ckpt_seq, frame);
        if a.end.is_some_and(|e| lsn >= e) {
            break Stop::End;
        }
        let selected = a.start.is_none_or(|s| lsn >= s) && a.page.is_none_or(|p| p == fh.pgno);
        let page = &buf[format::FRAME_HEADER_LEN..];
        let (kind, desc) = describe(fh.pgno, page);
        if selected {
            if let Some(k) = by_kind.iter_mut().find(|k| k.0 == kind) {
                k.1 += 1;
            }
        }
        if selected && !a.stats {
            let commit = if fh.commit_size != 0 {
                format!("commit: yes, db_size: {}", fh.commit_size)
            } else {
                "commit: no, db_size: -".to_string()
            };
            writeln!(
                out,
                "lsn: {}, frame: {frame}, page: {} ({desc}), {commit}, salts: {:08x}/{:08x}, checksum: {:08x} valid, page checksum: ok",
                lsn_text(h.ckpt_seq, frame),
                fh.pgno,
                fh.salt1,
                fh.salt2,
                fh.cksum,
            )
            .map_err(o)?;
            if a.follow {
                out.flush().map_err(o)?;
            }
        }
        if cur.frames == 0 {
            cur.first = frame;
        }
        cur.frames += 1;
        cur.selected |= selected;
        cur.pages.insert(fh.pgno);
        if fh.commit_size != 0 {
            cur.commit = frame;
            cur.db_size = fh.commit_size;
            txns.push(std::mem::take(&mut cur));
        }
        if selected {
            shown += 1;
            if a.limit.is_some_and(|n| shown >= n) {
                break Stop::Limit;
            }
        }
    };
    let last_valid = reader.frame() - 1;

    let filtered = a.start.is_some() || a.page.is_some();
    if filtered {
        txns.retain(|t| t.selected);
    }
    let committed: u64 = txns.iter().map(|t| u64::from(t.frames)).sum();
    if a.stats {
        writeln!(
            out,
            "{:>8}  {:>12}  {:>12}  {:>8}  {:>8}  {:>10}",
            "txn", "first LSN", "commit LSN", "frames", "pages", "db pages"
        )
        .map_err(o)?;
        for (n, t) in txns.iter().enumerate() {
            writeln!(
                out,
                "{:>8}  {:>12}  {:>12}  {:>8}  {:>8}  {:>10}",
                n + 1,
                lsn_text(h.ckpt_seq, t.first),
                lsn_text(h.ckpt_seq, t.commit),
                t.frames,
                t.pages.len(),
                t.db_size
            )
            .map_err(o)?;
        }
        let max = txns.iter().map(|t| t.frames).max().unwrap_or(0);
        let avg = if txns.is_empty() {
            0.0
        } else {
            committed as f64 / txns.len() as f64
        };
        writeln!(
            out,
            "transactions: {}; committed frames: {} (per transaction: {avg:.1} on average, {max} at most); page bytes: {}",
            group(txns.len() as u64),
            group(committed),
            group(committed * u64::from(ps))
        )
        .map_err(o)?;
        let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {}", group(*n))).collect();
        writeln!(out, "frames by page type: {}", kinds.join(", ")).map_err(o)?;
    }
    let last = txns.last().map(|t| t.commit).unwrap_or(0);
    let early = !matches!(stop, Stop::Fault(_));
    let tail = if early || filtered { 0 } else { last_valid - last };
    let mut summary = if filtered {
        format!(
            "{} read, {} shown; {} committed in {}",
            count_of(last_valid.into(), "frame", "frames"),
            group(shown),
            count_of(committed, "frame", "frames"),
            count_of(txns.len() as u64, "selected transaction", "selected transactions")
        )
    } else {
        format!(
            "{}: {} committed in {}",
            count_of(last_valid.into(), "valid frame", "valid frames"),
            group(committed),
            count_of(txns.len() as u64, "transaction", "transactions")
        )
    };
    if last > 0 {
        summary.push_str(&format!("; last commit at frame {last}, LSN {}", lsn_text(h.ckpt_seq, last)));
    }
    if tail > 0 {
        summary.push_str(&format!(
            "; {} after the last commit belong to an unfinished transaction (recovery ignores them)",
            count_of(tail.into(), "frame", "frames")
        ));
    }
    writeln!(out, "{summary}").map_err(o)?;
    let stop = match stop {
        Stop::Fault(f) => f,
        Stop::End => {
            writeln!(out, "stopped at --end: the next frame's LSN is at or past it").map_err(o)?;
            return out.flush().map_err(o);
        }
        Stop::Limit => {
            writeln!(out, "stopped after --limit: {}", count_of(shown, "frame", "frames")).map_err(o)?;
            return out.flush().map_err(o);
        }
    };
    let next = last_valid + 1;
    let at = format!("frame {next} (offset {})", frame_offset(next, ps));
    let (ok, why) = match stop {
        FrameFault::EndOfFile => (true, format!("end of file after frame {last_valid}")),
        FrameFault::Salt { .. } if buf[..format::FRAME_HEADER_LEN].iter().all(|&b| b == 0) => (
            false,
            format!("stopped at {at}: the frame header is all zeros (space never written)"),
        ),
        FrameFault::Salt { salt1, salt2 } if (1..=1 << 16).contains(&h.salt1.wrapping_sub(salt1)) => (
            true,
            format!(
                "end of log at {at}: its salts {salt1:08x}/{salt2:08x} are an earlier WAL generation's \
                 (left over after a WAL restart; recovery stops here)"
            ),
        ),
        FrameFault::Salt { salt1, salt2 } => (
            false,
            format!(
                "stopped at {at}: salts {salt1:08x}/{salt2:08x} differ from the header's {:08x}/{:08x} and are not an earlier generation's",
                h.salt1, h.salt2
            ),
        ),
        FrameFault::Truncated { present } => (
            false,
            format!("stopped at {at}: the file ends after {present} of its {fsz} bytes (a torn append)"),
        ),
        FrameFault::PageZero => (false, format!("stopped at {at}: page number 0")),
        FrameFault::Checksum { stored, computed } => (
            false,
            format!(
                "stopped at {at}: checksum mismatch (stored {stored:08x}, computed {computed:08x}): the frame is torn or \
                 damaged, or left over from a transaction that was rolled back"
            ),
        ),
        FrameFault::PageChecksum { pgno } => (
            false,
            format!(
                "stopped at {at}: the image of page {pgno} fails its page checksum although the frame checksum matches \
                 (a damaged page)"
            ),
        ),
    };
    if ok {
        writeln!(out, "{why}").map_err(o)?;
        out.flush().map_err(o)
    } else {
        out.flush().map_err(o)?;
        Err(damaged(format!("{why}; recovery ignores it and every frame after it")))
    }
}
