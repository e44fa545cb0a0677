use walden::{CheckpointMode, Database, SyncMode};

fn main() -> Result<(), walden::Error> {
    let path = std::env::temp_dir().join(format!("sensors-{}.db", std::process::id()));
    let db = Database::builder().sync(SyncMode::Full).open(&path)?;

    let w = db.begin_write()?; // one writer at a time
    let t = w.table("weather")?; // created if missing
    t.put("EWR 2013-01-01T06", "39.02")?; // keys and values: anything AsRef<[u8]>
    t.put(b"EWR 2013-01-01T07", b"39.02")?;
    w.commit()?; // durable when this returns

    {
        let r = db.begin_read()?; // a snapshot; never blocks the writer
        let t = r.table("weather")?;
        assert_eq!(t.get("EWR 2013-01-01T06")?.as_deref(), Some(&b"39.02"[..]));
        for entry in t.range("EWR ".."EWR~")? {
            // or t.scan_prefix("EWR ")
            let (key, value) = entry?;
            println!("{} = {}", String::from_utf8_lossy(&key), String::from_utf8_lossy(&value));
        }
        assert_eq!(t.count("EWR ".."EWR~")?, 2); // counted without reading the entries
    } // the snapshot ends here
    db.checkpoint(CheckpointMode::Truncate)?; // waits for live snapshots: end them first
    Ok(())
}
