#!/usr/bin/env python3
"""Reference facts for examples/weather_station.rs.

Reads data/weather.csv.gz (nycflights13 hourly weather, see data/README.md) with
nothing but the standard library and prints the numbers the Rust example must
reproduce from its database by range scans:

  * rows per origin (station);
  * distinct (origin, time_hour) keys per origin, and any duplicate pairs;
  * the hottest hour per station in 2013 (max temp, NA skipped, ties -> earliest
    time_hour);
  * count and mean temp of EWR readings in July 2013 (by UTC month: time_hour
    starting with "2013-07"), plus the first rows of that month.

All arithmetic on temperatures is exact (decimal.Decimal / fractions.Fraction);
the mean is printed from the correctly rounded binary64 value of the exact
fraction, the same number Rust computes as (sum_hundredths as f64) / (100 * n) as f64.

Usage: python3 scripts/weather_facts.py [path/to/weather.csv.gz]
"""

import collections
import csv
import gzip
import os
import sys
from decimal import Decimal
from fractions import Fraction

EXPECTED_HEADER = [
    "origin", "year", "month", "day", "hour", "temp", "dewp", "humid", "wind_dir",
    "wind_speed", "wind_gust", "precip", "pressure", "visib", "time_hour",
]
JULY_STATION = "EWR"
JULY_PREFIX = "2013-07"
FIRST_ROWS = 5


def default_path():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "data", "weather.csv.gz")


def load(path):
    with gzip.open(path, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != EXPECTED_HEADER:
            sys.exit(f"unexpected header: {header}")
        rows = [dict(zip(header, r)) for r in reader]
    for i, r in enumerate(rows):
        if len(r) != len(EXPECTED_HEADER):
            sys.exit(f"row {i}: wrong number of fields")
    return rows


def key_of(r):
    """The example's key: station, a space, the UTC hour (ASCII sorts by station, then time)."""
    return f"{r['origin']} {r['time_hour'][:13]}"


def num(s):
    return None if s == "NA" else Decimal(s)


def fmt_f(s):
    return "NA" if s == "NA" else s


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else default_path()
    rows = load(path)
    print(f"file: weather.csv.gz, {len(rows)} data rows, {len(EXPECTED_HEADER)} columns")

    origins = sorted({r["origin"] for r in rows})

    # Rows per origin.
    per_origin = collections.Counter(r["origin"] for r in rows)
    print("rows per origin: " + ", ".join(f"{o} {per_origin[o]}" for o in origins))

    # Distinct (origin, time_hour) keys per origin, and duplicates.
    pairs = collections.Counter((r["origin"], r["time_hour"]) for r in rows)
    distinct = collections.Counter(o for (o, _t) in pairs)
    print("distinct (origin,time_hour) keys per origin: "
          + ", ".join(f"{o} {distinct[o]}" for o in origins))
    dups = sorted((k, n) for k, n in pairs.items() if n > 1)
    if dups:
        print(f"duplicate (origin,time_hour) pairs: {len(dups)}")
        for (o, t), n in dups:
            idx = [i for i, r in enumerate(rows) if (r["origin"], r["time_hour"]) == (o, t)]
            print(f"  {o} {t}: {n} rows, at data rows {idx}")
    else:
        print("duplicate (origin,time_hour) pairs: none")

    # File order vs key order: the example relies on the file being sorted by key.
    keys = [key_of(r) for r in rows]
    sorted_strictly = all(a < b for a, b in zip(keys, keys[1:]))
    print(f"file order is strictly increasing key order: {'yes' if sorted_strictly else 'NO'}")

    # For information: the local wall-clock columns do repeat (DST fall-back), which is
    # why the key uses the UTC time_hour and not year/month/day/hour.
    local = collections.Counter((r["origin"], r["year"], r["month"], r["day"], r["hour"])
                                for r in rows)
    local_dups = sorted(k for k, n in local.items() if n > 1)
    print(f"duplicate (origin,year,month,day,hour) local-time tuples: {len(local_dups)}"
          + (" (" + "; ".join(f"{o} {y}-{int(m):02}-{int(d):02} {int(h):02}h"
                              for o, y, m, d, h in local_dups) + ")" if local_dups else ""))

    # Hottest hour per station in 2013 (UTC year), NA skipped, ties -> earliest time_hour.
    print("hottest hour per station in 2013 (temp F, UTC hour):")
    for o in origins:
        best = None  # (temp, time_hour)
        for r in sorted((r for r in rows if r["origin"] == o and r["time_hour"].startswith("2013")),
                        key=lambda r: r["time_hour"]):
            t = num(r["temp"])
            if t is not None and (best is None or t > best[0]):
                best = (t, r["time_hour"])
        n_ties = sum(1 for r in rows if r["origin"] == o and r["time_hour"].startswith("2013")
                     and num(r["temp"]) == best[0])
        print(f"  {o}: {best[0]} F at {best[1][:13]} UTC ({n_ties} hour(s) at that temp)")

    # EWR, July 2013 (UTC month).
    july = sorted((r for r in rows
                   if r["origin"] == JULY_STATION and r["time_hour"].startswith(JULY_PREFIX)),
                  key=lambda r: r["time_hour"])
    temps = [num(r["temp"]) for r in july if r["temp"] != "NA"]
    sum_hundredths = sum(int(t * 100) for t in temps)
    assert all(t * 100 == int(t * 100) for t in temps), "temps have more than 2 decimals"
    mean = Fraction(sum_hundredths, 100 * len(temps))
    print(f"{JULY_STATION} {JULY_PREFIX} (UTC): {len(july)} readings, {len(temps)} with temp, "
          f"sum temp = {sum_hundredths} hundredths F, mean temp = {float(mean):.4f} F "
          f"(exact {mean.numerator}/{mean.denominator})")
    print(f"  first {FIRST_ROWS} rows (key: temp dewp humid wind_dir wind_speed pressure):")
    for r in july[:FIRST_ROWS]:
        print(f"  {key_of(r)}: {fmt_f(r['temp'])} {fmt_f(r['dewp'])} {fmt_f(r['humid'])} "
              f"{fmt_f(r['wind_dir'])} {fmt_f(r['wind_speed'])} {fmt_f(r['pressure'])}")


if __name__ == "__main__":
    main()
