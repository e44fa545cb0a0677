//! The shortest correct use of Walden: open, write in a transaction, commit
//! (durable when it returns), read a snapshot, scan a range.
//!
//! `cargo run --example quickstart [DIR]`
use walden::{Database, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("walden-quickstart-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let db = Database::open(dir.join("quickstart.db"), Options::default())?;

    let w = db.begin_write()?;
    let readings = w.table("readings")?;
    readings.put(b"EWR 2013-01-01T06", b"39.02F")?;
    readings.put(b"EWR 2013-01-01T07", b"39.02F")?;
    readings.put(b"JFK 2013-01-01T06", b"39.92F")?;
    w.commit()?; // one fsync; the commit survives a power cut from here on

    let r = db.begin_read()?;
    let readings = r.table("readings")?;
    println!("JFK 06:00 -> {:?}", readings.get(b"JFK 2013-01-01T06")?.map(String::from_utf8));
    for entry in readings.range(&b"EWR "[..]..&b"EWR~"[..])? {
        let (k, v) = entry?;
        println!("{} = {}", String::from_utf8_lossy(&k), String::from_utf8_lossy(&v));
    }
    Ok(())
}
