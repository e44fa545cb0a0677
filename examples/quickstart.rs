use walden::{CheckpointMode, Database, SyncMode};

fn main() -> Result<(), walden::Error> {
    let path = std::env::temp_dir().join(format!("sensors-{}.db", std::process::id()));
    let db = Database::builder().sync(SyncMode::Full).open(&path)?;

    // One writer at a time; the table is created if missing; keys and
    // values are anything AsRef<[u8]>.
    let w = db.begin_write()?;
    let t = w.table("weather")?;
    t.put("EWR 2013-01-01T06", "39.02")?;
    t.put(b"EWR 2013-01-01T07", b"39.02")?;
    w.commit()?; // durable when this returns

    {
        // A snapshot: it never blocks the writer, nor the writer it.
        let r = db.begin_read()?;
        let t = r.table("weather")?;
        assert_eq!(t.get("EWR 2013-01-01T06")?.as_deref(), Some(&b"39.02"[..]));
        for entry in t.range("EWR ".."EWR~")? {
            let (key, value) = entry?;
            println!("{} = {}", String::from_utf8_lossy(&key), String::from_utf8_lossy(&value));
        }
        assert_eq!(t.scan_prefix("EWR ")?.count(), 2);
        assert_eq!(t.count("EWR ".."EWR~")?, 2); // without reading the entries
    } // the snapshot ends here: a Truncate checkpoint waits for live ones
    db.checkpoint(CheckpointMode::Truncate)?;
    Ok(())
}
