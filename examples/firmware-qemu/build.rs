//! Puts `memory.x` on the linker's path (cortex-m-rt's `link.x` includes
//! it) and converts a slice of the weather data, `data/weather.csv.gz`,
//! into a Rust table for the `weather` binary: the first `ROWS` hourly
//! readings of Newark (EWR), as integers.

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;

/// Readings the weather binary logs.
const ROWS: usize = 480;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    let src = PathBuf::from("../../data/weather.csv.gz");
    println!("cargo:rerun-if-changed={}", src.display());
    let gz = std::fs::File::open(&src).expect("data/weather.csv.gz");
    let mut csv = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut csv)
        .expect("gunzip weather.csv.gz");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("column {name}"));
    let (origin, month, day, hour) = (col("origin"), col("month"), col("day"), col("hour"));
    let (temp, humid, pressure, wind) = (col("temp"), col("humid"), col("pressure"), col("wind_speed"));
    let num = |s: &str| -> Option<f64> {
        if s == "NA" {
            None
        } else {
            Some(s.parse().expect("number"))
        }
    };
    const CUM_DAYS: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]; // 2013
    let mut table =
        String::from("/// Readings of Newark (EWR) from data/weather.csv.gz (nycflights13, CC0).\npub static READINGS: [Reading; ");
    let mut n = 0;
    let mut body = String::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f[origin] != "EWR" {
            continue;
        }
        let m: u32 = f[month].parse().expect("month");
        let d: u32 = f[day].parse().expect("day");
        let h: u32 = f[hour].parse().expect("hour");
        let hour_of_year = (CUM_DAYS[m as usize - 1] + d - 1) * 24 + h;
        // Tenths of a degree Celsius, tenths of a percent, tenths of a
        // hectopascal, tenths of a metre per second; missing: MISSING.
        let t = num(f[temp]).map_or(i16::MIN as i64, |v| ((v - 32.0) * 50.0 / 9.0).round() as i64);
        let hu = num(f[humid]).map_or(u16::MAX as i64, |v| (v * 10.0).round() as i64);
        let p = num(f[pressure]).map_or(u16::MAX as i64, |v| (v * 10.0).round() as i64);
        let w = num(f[wind]).map_or(u16::MAX as i64, |v| (v * 0.44704 * 10.0).round() as i64);
        writeln!(
            body,
            "    Reading {{ hour: {hour_of_year}, temp_dc: {t}, humid_pm: {hu}, pressure_dhpa: {p}, wind_dms: {w} }},"
        )
        .expect("write");
        n += 1;
        if n == ROWS {
            break;
        }
    }
    write!(table, "{n}] = [\n{body}];\n").expect("write");
    std::fs::write(out.join("weather.rs"), table).expect("write weather.rs");
}
