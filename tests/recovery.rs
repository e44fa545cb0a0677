//! Crash recovery on real files: write through `Database` with
//! `SyncMode::Full`, close, damage the `-wal` file with `std::fs` as a crash
//! (or a stray writer) would leave it, reopen, and check that exactly the
//! committed prefix is there: a torn tail, a garbage tail, an uncommitted
//! tail, a bad WAL header, frames of an older WAL generation.

use std::path::{Path, PathBuf};

use walden::engine::format::{frame_checksum, frame_offset, FrameHeader, WalHeader, FRAME_HEADER_LEN, WAL_HEADER_LEN};
use walden::{CheckpointMode, Database, Options, SyncMode};

fn opts(page_size: u32) -> Options {
    Options {
        page_size,
        sync: SyncMode::Full,
        autocheckpoint_frames: 0,
        cache_pages: 16,
        ..Options::default()
    }
}

fn wal_of(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// One frame as found in a WAL file.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// 1-based frame number.
    n: u32,
    hdr: FrameHeader,
}

/// Every complete frame in a WAL image (valid or not).
fn frames(wal: &[u8], ps: u32) -> Vec<Frame> {
    let mut v = Vec::new();
    let mut n = 1;
    while frame_offset(n, ps) + (FRAME_HEADER_LEN as u64 + ps as u64) <= wal.len() as u64 {
        let off = frame_offset(n, ps) as usize;
        v.push(Frame {
            n,
            hdr: FrameHeader::decode(&wal[off..off + FRAME_HEADER_LEN]),
        });
        n += 1;
    }
    v
}

/// The content of commit `i` of `write_commits`: key `c{i}` plus `bulk`
/// keys rewritten with the commit number, and `last` = i.
fn commit(db: &Database, i: u32, bulk: u32) {
    let w = db.begin_write().unwrap();
    w.put(format!("c{i:03}").as_bytes(), vec![i as u8; 50 + i as usize * 10]).unwrap();
    for j in 0..bulk {
        w.put(format!("bulk{:04}", (j * 37 + i * 11) % 500).as_bytes(), [(i + j) as u8; 100])
            .unwrap();
    }
    w.put(b"last", i.to_le_bytes()).unwrap();
    w.table("tab").unwrap().put(format!("t{i:03}").as_bytes(), b"tv").unwrap();
    assert!(w.commit().unwrap().is_some());
}

/// Asserts that the database holds exactly commits `0..n` (`None`: no commit).
fn check_commits(db: &Database, n: Option<u32>, ctx: &str) {
    let r = db.begin_read().unwrap();
    let cs: Vec<Vec<u8>> = r.range(&b"c"[..]..&b"d"[..]).unwrap().map(|e| e.unwrap().0).collect();
    let want: Vec<Vec<u8>> = (0..n.map_or(0, |n| n + 1)).map(|i| format!("c{i:03}").into_bytes()).collect();
    assert_eq!(cs, want, "{ctx}: commit keys");
    for i in 0..n.map_or(0, |n| n + 1) {
        assert_eq!(
            r.get(format!("c{i:03}").as_bytes()).unwrap(),
            Some(vec![i as u8; 50 + i as usize * 10]),
            "{ctx}"
        );
    }
    match n {
        Some(n) => {
            assert_eq!(r.get(b"last").unwrap(), Some(n.to_le_bytes().to_vec()), "{ctx}: last");
            let t: Vec<Vec<u8>> = r.table("tab").unwrap().iter().unwrap().map(|e| e.unwrap().0).collect();
            let want: Vec<Vec<u8>> = (0..=n).map(|i| format!("t{i:03}").into_bytes()).collect();
            assert_eq!(t, want, "{ctx}: table tab");
        }
        None => {
            assert_eq!(r.get(b"last").unwrap(), None, "{ctx}: last");
            assert!(r.list_tables().unwrap().is_empty(), "{ctx}");
        }
    }
}

/// A database directory whose files can be copied and damaged per case.
struct Fixture {
    _dir: tempfile::TempDir,
    db: Vec<u8>,
    wal: Vec<u8>,
    ps: u32,
}

impl Fixture {
    /// Reopens a copy of the files with the WAL replaced by `wal`; returns the
    /// database and the directory that holds it.
    fn open_with(&self, wal: &[u8]) -> (Database, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.db");
        std::fs::write(&p, &self.db).unwrap();
        std::fs::write(wal_of(&p), wal).unwrap();
        let db = Database::open(&p, opts(self.ps)).unwrap();
        (db, dir)
    }
}

/// Commits `n` transactions of `bulk` keys each, WAL only; returns the
/// files.
fn fixture(ps: u32, n: u32, bulk: u32, checkpoint_after: Option<u32>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.db");
    {
        let db = Database::open(&p, opts(ps)).unwrap();
        // A new database is created by a first commit into the WAL; move it
        // into the database file so that the WAL holds only commits 0..n.
        db.checkpoint(CheckpointMode::Truncate).unwrap();
        for i in 0..n {
            commit(&db, i, bulk);
            if checkpoint_after == Some(i) {
                let info = db.checkpoint(CheckpointMode::Full).unwrap();
                assert_eq!(info.backfilled, info.wal_frames);
            }
        }
        check_commits(&db, n.checked_sub(1), "before crash");
    }
    Fixture {
        db: std::fs::read(&p).unwrap(),
        wal: std::fs::read(wal_of(&p)).unwrap(),
        _dir: dir,
        ps,
    }
}

/// The last commit whose commit frame lies entirely within the first `len`
/// bytes of the WAL (commit numbers count commit frames from 0).
fn expected_at(fr: &[Frame], ps: u32, len: u64) -> Option<u32> {
    let mut last = None;
    let mut k = 0;
    for f in fr {
        if f.hdr.commit_size > 0 {
            if frame_offset(f.n, ps) + FRAME_HEADER_LEN as u64 + ps as u64 <= len {
                last = Some(k);
            }
            k += 1;
        }
    }
    last
}

#[test]
fn torn_tail_recovers_last_commit() {
    for ps in [512u32, 4096] {
        let fx = fixture(ps, 6, 12, None);
        let fr = frames(&fx.wal, ps);
        let commits = fr.iter().filter(|f| f.hdr.commit_size > 0).count();
        assert_eq!(commits, 6, "one commit frame per commit");
        assert!(fr.len() > 12, "multi-frame commits");
        let fsz = FRAME_HEADER_LEN as u64 + ps as u64;
        let mut cuts: Vec<u64> = vec![0, 1, 31, 32, 33];
        for f in &fr {
            let off = frame_offset(f.n, ps);
            cuts.extend([off, off + 1, off + 23, off + 24, off + 25, off + fsz / 2, off + fsz - 1, off + fsz]);
        }
        cuts.retain(|&c| c <= fx.wal.len() as u64);
        cuts.dedup();
        for cut in cuts {
            let (db, _d) = fx.open_with(&fx.wal[..cut as usize]);
            let want = expected_at(&fr, ps, cut);
            check_commits(&db, want, &format!("ps {ps}, WAL cut at {cut}"));
            let s = db.stats();
            let rec = want.map_or(0, |_| {
                fr.iter()
                    .filter(|f| frame_offset(f.n, ps) + fsz <= cut)
                    .filter(|f| f.hdr.commit_size > 0)
                    .map(|f| f.n)
                    .max()
                    .unwrap()
            });
            assert_eq!(s.recovered_frames, rec as u64, "ps {ps}, cut {cut}");
        }
    }
}

#[test]
fn torn_tail_then_new_commits_survive_reopen() {
    let fx = fixture(512, 4, 10, None);
    let fr = frames(&fx.wal, 512);
    // Cut in the middle of the last commit's frames.
    let commit_frames: Vec<u32> = fr.iter().filter(|f| f.hdr.commit_size > 0).map(|f| f.n).collect();
    let mid = (commit_frames[2] + commit_frames[3]) / 2 + 1;
    let cut = frame_offset(mid, 512) + 100;
    let (db, dir) = fx.open_with(&fx.wal[..cut as usize]);
    check_commits(&db, Some(2), "torn");
    // Write commit 3 again (new content) on top of the torn tail, reopen.
    commit(&db, 3, 3);
    drop(db);
    let db = Database::open(dir.path().join("r.db"), opts(512)).unwrap();
    check_commits(&db, Some(3), "after rewrite");
}

#[test]
fn garbage_tail_is_ignored() {
    let ps = 1024;
    let fx = fixture(ps, 4, 8, None);
    let fr = frames(&fx.wal, ps);
    let fsz = FRAME_HEADER_LEN + ps as usize;
    let mut seed = 0x1234_5678u32;
    let mut rnd = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect()
    };
    for n in [1, 7, 24, 100, fsz, fsz + 1, 3 * fsz + 7] {
        let mut wal = fx.wal.clone();
        wal.extend(rnd(n));
        let (db, _d) = fx.open_with(&wal);
        check_commits(&db, Some(3), &format!("{n} random bytes appended"));
    }
    // A plausible frame: right salts, commit flag, a real page image, but a
    // wrong checksum.
    let last = fr.last().unwrap();
    let off = frame_offset(last.n, ps) as usize;
    let mut frame = fx.wal[off..off + fsz].to_vec();
    frame[20] ^= 1;
    let mut wal = fx.wal.clone();
    wal.extend(&frame);
    let (db, _d) = fx.open_with(&wal);
    check_commits(&db, Some(3), "frame with bad checksum appended");
    assert_eq!(db.stats().recovered_frames, last.n as u64);
    // Zeros appended (a file extended but never written).
    let mut wal = fx.wal.clone();
    wal.extend(vec![0u8; 2 * fsz]);
    let (db, _d) = fx.open_with(&wal);
    check_commits(&db, Some(3), "zeros appended");
}

#[test]
fn uncommitted_spilled_transaction_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.db");
    let o = Options {
        cache_pages: 4,
        ..opts(512)
    };
    let committed_len;
    {
        let db = Database::open(&p, o.clone()).unwrap();
        commit(&db, 0, 10);
        commit(&db, 1, 10);
        committed_len = std::fs::metadata(wal_of(&p)).unwrap().len();
        // A large transaction: a 4-page cache spills its dirty pages to
        // the WAL as non-commit frames; then the process "dies" (the
        // transaction is never committed).
        let w = db.begin_write().unwrap();
        for i in 0..400u32 {
            w.put(format!("c{i:03}").as_bytes(), [0xEE; 90]).unwrap();
        }
        w.put(b"last", b"never").unwrap();
        drop(w);
    }
    let wal = std::fs::read(wal_of(&p)).unwrap();
    assert!(
        wal.len() as u64 > committed_len + 10 * (24 + 512),
        "the transaction spilled frames: {} vs {committed_len}",
        wal.len()
    );
    let fr = frames(&wal, 512);
    let past: Vec<&Frame> = fr.iter().filter(|f| frame_offset(f.n, 512) >= committed_len).collect();
    assert!(
        !past.is_empty() && past.iter().all(|f| f.hdr.commit_size == 0),
        "spilled frames are not commit frames"
    );
    let db = Database::open(&p, o.clone()).unwrap();
    check_commits(&db, Some(1), "after spill and crash");
    // Cutting a committed WAL right after a non-commit frame of a later
    // multi-frame transaction also recovers the commit before it.
    drop(db);
    let fx = fixture(512, 3, 15, None);
    let fr = frames(&fx.wal, 512);
    let commit_frames: Vec<u32> = fr.iter().filter(|f| f.hdr.commit_size > 0).map(|f| f.n).collect();
    let first_of_last = commit_frames[1] + 1;
    assert!(commit_frames[2] > first_of_last + 1, "last commit has several frames");
    for f in first_of_last..commit_frames[2] {
        let cut = frame_offset(f + 1, 512) as usize; // just after frame f
        let (db, _d) = fx.open_with(&fx.wal[..cut]);
        check_commits(&db, Some(1), &format!("cut after non-commit frame {f}"));
    }
}

#[test]
fn bad_wal_header_falls_back_to_database_file() {
    let ps = 4096;
    // Commits 0..3 checkpointed into the database file, then commits 3..5
    // only in the WAL (a new WAL generation: the WAL restarts after a full
    // backfill).
    let fx = fixture(ps, 5, 10, Some(2));
    let wh = WalHeader::decode(&fx.wal[..WAL_HEADER_LEN]).expect("valid WAL header");
    assert_eq!(wh.0.page_size, ps);
    {
        let (db, _d) = fx.open_with(&fx.wal);
        check_commits(&db, Some(4), "undamaged");
    }
    for at in 0..WAL_HEADER_LEN {
        for bit in [0u8, 7] {
            let mut wal = fx.wal.clone();
            wal[at] ^= 1 << bit;
            let (db, dir) = fx.open_with(&wal);
            check_commits(&db, Some(2), &format!("WAL header byte {at} bit {bit} flipped"));
            assert_eq!(db.stats().recovered_frames, 0);
            // The database keeps working: a new commit, a reopen.
            let w = db.begin_write().unwrap();
            w.put(b"after", b"1").unwrap();
            w.commit().unwrap();
            drop(db);
            let db = Database::open(dir.path().join("r.db"), opts(ps)).unwrap();
            check_commits(&db, Some(2), "after new commit");
            assert_eq!(db.begin_read().unwrap().get(b"after").unwrap().as_deref(), Some(&b"1"[..]));
        }
    }
    // A WAL shorter than its header.
    for len in [0, 1, 16, 31] {
        let (db, _d) = fx.open_with(&fx.wal[..len]);
        check_commits(&db, Some(2), &format!("WAL of {len} bytes"));
    }
}

/// After a Restart checkpoint the next generation overwrites the WAL from
/// its start; frames of the older generation left after it (or spliced
/// right after the new header) must end recovery.
#[test]
fn older_generation_frames_are_ignored() {
    let ps = 512;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.db");
    let o = opts(ps);
    let gen1_wal;
    {
        let db = Database::open(&p, o.clone()).unwrap();
        commit(&db, 0, 40); // many frames
        commit(&db, 1, 40);
        gen1_wal = std::fs::read(wal_of(&p)).unwrap();
        let lsn1 = db.stats().last_lsn;
        assert_eq!(db.checkpoint(CheckpointMode::Restart).unwrap().wal_frames, 0);
        commit(&db, 2, 1); // few frames: gen-1 frames remain after them
        let lsn2 = db.stats().last_lsn;
        assert_eq!(lsn2 >> 32, (lsn1 >> 32) + 1);
    }
    let gen2_wal = std::fs::read(wal_of(&p)).unwrap();
    let g1 = WalHeader::decode(&gen1_wal[..WAL_HEADER_LEN]).unwrap().0;
    let (g2, g2_cksum) = WalHeader::decode(&gen2_wal[..WAL_HEADER_LEN]).unwrap();
    assert_ne!((g1.salt1, g1.salt2), (g2.salt1, g2.salt2));
    assert_eq!(g2.ckpt_seq, g1.ckpt_seq + 1);
    let fr2 = frames(&gen2_wal, ps);
    let n2 = fr2
        .iter()
        .take_while(|f| f.hdr.salt1 == g2.salt1 && f.hdr.salt2 == g2.salt2)
        .count() as u32;
    assert!(
        n2 >= 2 && (n2 as usize) < fr2.len(),
        "gen-1 frames follow gen-2 frames ({n2} of {})",
        fr2.len()
    );
    let fx = Fixture {
        db: std::fs::read(&p).unwrap(),
        wal: gen2_wal.clone(),
        _dir: dir,
        ps,
    };

    // 1. As left on disk: gen-2 commit, then stale gen-1 frames.
    let (db, _d) = fx.open_with(&gen2_wal);
    check_commits(&db, Some(2), "stale gen-1 frames after gen-2");
    assert_eq!(db.stats().recovered_frames, n2 as u64);
    drop(db);

    // 2. The gen-2 header followed directly by gen-1's frames: nothing of
    // the WAL is valid; the database file has commits 0 and 1.
    let mut spliced = gen2_wal[..WAL_HEADER_LEN].to_vec();
    spliced.extend(&gen1_wal[WAL_HEADER_LEN..]);
    let (db, _d) = fx.open_with(&spliced);
    check_commits(&db, Some(1), "gen-1 frames after gen-2 header");
    assert_eq!(db.stats().recovered_frames, 0);
    drop(db);

    // 3. A forged frame with gen-1 salts but a checksum correctly chained
    // after the last gen-2 frame: only the salts tell it apart. It carries
    // gen-1's image of the default table's root page as a commit frame.
    let fsz = FRAME_HEADER_LEN + ps as usize;
    let last = fr2[n2 as usize - 1];
    let fr1 = frames(&gen1_wal, ps);
    let old = fr1.iter().find(|f| f.hdr.pgno == 3).expect("gen-1 frame of page 3");
    let old_off = frame_offset(old.n, ps) as usize;
    let page = gen1_wal[old_off + FRAME_HEADER_LEN..old_off + fsz].to_vec();
    let forge = |salt1: u32, salt2: u32| -> Vec<u8> {
        let mut h = [0u8; FRAME_HEADER_LEN];
        let _ = FrameHeader::encode(3, last.hdr.commit_size, salt1, salt2, last.hdr.cksum, &page, &mut h);
        let mut wal = gen2_wal[..frame_offset(n2 + 1, ps) as usize].to_vec();
        wal.extend(h);
        wal.extend(&page);
        wal
    };
    // Sanity: re-encoding an existing frame reproduces it byte for byte.
    {
        let f1 = fr2[0];
        let off = frame_offset(1, ps) as usize;
        let mut h = [0u8; FRAME_HEADER_LEN];
        let c = FrameHeader::encode(
            f1.hdr.pgno,
            f1.hdr.commit_size,
            g2.salt1,
            g2.salt2,
            g2_cksum,
            &gen2_wal[off + FRAME_HEADER_LEN..off + fsz],
            &mut h,
        );
        assert_eq!(c, f1.hdr.cksum);
        assert_eq!(&h[..], &gen2_wal[off..off + FRAME_HEADER_LEN]);
        assert_eq!(c, frame_checksum(g2_cksum, &h[..20], &gen2_wal[off + FRAME_HEADER_LEN..off + fsz]));
    }
    let (db, _d) = fx.open_with(&forge(g1.salt1, g1.salt2));
    check_commits(&db, Some(2), "forged frame with gen-1 salts");
    assert_eq!(db.stats().recovered_frames, n2 as u64);
    drop(db);
    let (db, _d) = fx.open_with(&forge(g2.salt1, g1.salt2));
    assert_eq!(db.stats().recovered_frames, n2 as u64, "salt 2 from gen 1");
    drop(db);
    // Control: with gen-2 salts the forged frame is a valid commit frame.
    let (db, _d) = fx.open_with(&forge(g2.salt1, g2.salt2));
    assert_eq!(db.stats().recovered_frames, n2 as u64 + 1, "the forged frame is well formed");
}

/// A checksum failure in the middle of the WAL ends recovery there: later
/// frames, even well-formed commits, are not applied.
#[test]
fn broken_checksum_chain_stops_recovery() {
    let ps = 512;
    let fx = fixture(ps, 5, 6, None);
    let fr = frames(&fx.wal, ps);
    for f in &fr {
        for at in [0usize, 4, 8, 12, 20, FRAME_HEADER_LEN + 5, FRAME_HEADER_LEN + ps as usize - 1] {
            let mut wal = fx.wal.clone();
            let off = frame_offset(f.n, ps) as usize + at;
            wal[off] ^= 0x40;
            let want = expected_at(&fr, ps, frame_offset(f.n, ps));
            let (db, _d) = fx.open_with(&wal);
            check_commits(&db, want, &format!("frame {} byte {at} flipped", f.n));
        }
    }
}

/// Closing without a checkpoint and reopening many times keeps everything;
/// recovery runs every time.
#[test]
fn repeated_reopen_keeps_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.db");
    for i in 0..8u32 {
        let db = Database::open(&p, opts(1024)).unwrap();
        if i > 0 {
            assert!(db.stats().recovered_frames > 0);
            check_commits(&db, Some(i - 1), "reopen");
        }
        commit(&db, i, 5);
        if i % 3 == 2 {
            db.checkpoint(CheckpointMode::Passive).unwrap();
        }
    }
    let db = Database::open(&p, opts(1024)).unwrap();
    check_commits(&db, Some(7), "final");
}

/// Regression: the frame checksum must depend on the page image. A page
/// image ends with its own CRC-32C, and a CRC-32C over a message followed by
/// the CRC-32C of that message is the same for every message, so a frame
/// checksum over the whole image was one value for every validly sealed
/// image of a page number: a frame whose body still held an older image of
/// the same page (a torn write into a reused WAL) passed the check.
#[test]
fn frame_checksum_depends_on_the_page_image() {
    use walden::engine::format::seal_page;
    let hdr = [7u8; 20];
    for ps in [512usize, 4096] {
        let mut a = vec![0u8; ps];
        a[0] = 1;
        a[100] = 0x55;
        seal_page(9, &mut a);
        let mut b = vec![0u8; ps];
        b[0] = 1;
        b[100] = 0xAA;
        b[ps - 10] = 3;
        seal_page(9, &mut b);
        assert_ne!(a, b);
        assert_ne!(frame_checksum(0x1234, &hdr, &a), frame_checksum(0x1234, &hdr, &b), "page size {ps}");
    }
}

/// Regression (found by the crash-point suite, `checkpoint_full` under a
/// power cut): page 1 holds the database header, which ends with its own
/// CRC-32C at bytes 48..52. A frame checksum made of CRC-32C did not depend
/// on those 48 header bytes, so a torn frame of page 1 (new frame header,
/// body still the previous generation's page 1 with another page count)
/// passed recovery and the database header contradicted the commit.
#[test]
fn frame_checksum_depends_on_the_database_header_in_page_1() {
    use walden::engine::format::seal_page;
    use walden::engine::DbHeader;
    let hdr = [3u8; 20];
    for ps in [512usize, 4096] {
        let image = |page_count: u32, change: u64| {
            let mut p = vec![0u8; ps];
            DbHeader {
                page_size: ps as u32,
                page_count,
                freelist_head: 0,
                freelist_count: 0,
                catalog_root: 2,
                default_root: 3,
                change_counter: change,
                wal_seq: 2,
                db_id: 9,
            }
            .encode(&mut p);
            seal_page(1, &mut p);
            p
        };
        let (a, b) = (image(5, 3), image(6, 4));
        assert_ne!(a, b);
        assert_ne!(frame_checksum(0x77, &hdr, &a), frame_checksum(0x77, &hdr, &b), "page size {ps}");
    }
}

/// The same on files: the header of a commit frame written, its body still
/// holding the previous WAL generation's image of the same page.
#[test]
fn torn_frame_with_an_older_image_of_the_same_page_is_rejected() {
    let ps = 512;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.db");
    let (gen1, gen2);
    {
        let db = Database::open(&p, opts(ps)).unwrap();
        let w = db.begin_write().unwrap();
        w.put(b"x", b"old").unwrap();
        w.commit().unwrap();
        gen1 = std::fs::read(wal_of(&p)).unwrap();
        db.checkpoint(CheckpointMode::Restart).unwrap();
        let w = db.begin_write().unwrap();
        w.put(b"x", b"new").unwrap();
        w.commit().unwrap();
        gen2 = std::fs::read(wal_of(&p)).unwrap();
    }
    let fsz = FRAME_HEADER_LEN + ps as usize;
    let (f1, f2) = (frames(&gen1, ps), frames(&gen2, ps));
    let commit2 = f2.iter().find(|f| f.hdr.commit_size > 0).unwrap().n;
    let f2: Vec<Frame> = f2.into_iter().filter(|f| f.n <= commit2).collect();
    // A frame position holding the same page in both generations.
    let same = f2
        .iter()
        .rev()
        .find(|f| f1.iter().any(|g| g.n == f.n && g.hdr.pgno == f.hdr.pgno))
        .expect("a page at the same frame in both generations");
    let off = frame_offset(same.n, ps) as usize;
    let mut wal = gen2[..frame_offset(commit2 + 1, ps) as usize].to_vec();
    wal[off + FRAME_HEADER_LEN..off + fsz].copy_from_slice(&gen1[off + FRAME_HEADER_LEN..off + fsz]);
    assert_ne!(wal, gen2[..wal.len()], "the old image differs from the new one");
    let fx = Fixture {
        db: std::fs::read(&p).unwrap(),
        wal: gen2.clone(),
        _dir: dir,
        ps,
    };
    let (db, _d) = fx.open_with(&wal);
    assert_eq!(
        db.stats().recovered_frames,
        0,
        "the torn frame {} (page {}) was accepted",
        same.n,
        same.hdr.pgno
    );
    assert_eq!(db.begin_read().unwrap().get(b"x").unwrap().as_deref(), Some(&b"old"[..]));
    assert!(db.verify().unwrap().is_ok());
    drop(db);
    let (db, _d) = fx.open_with(&gen2);
    assert_eq!(db.begin_read().unwrap().get(b"x").unwrap().as_deref(), Some(&b"new"[..]));
}
