#!/usr/bin/env bash
# The real-data ingest of docs/BENCHMARKS.md: flights.csv.gz (nycflights13,
# 336,776 rows, 19 columns) loaded by `walden import` and by the sqlite3
# shell's `.import`, with wall time and file sizes.
#
#   bench/flights.sh [PATH/TO/flights.csv.gz]     (default data/flights.csv.gz)
#
# Needs the sqlite3 shell (apt-get install sqlite3). The data file is read
# where it is, never copied.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(realpath "${1:-data/flights.csv.gz}")
command -v sqlite3 >/dev/null || { echo "flights.sh: the sqlite3 shell is missing (apt-get install sqlite3)" >&2; exit 1; }
cargo build --release -p walden-cli >/dev/null 2>&1 || cargo build --release -p walden-cli
walden=$PWD/target/release/walden
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
TIMEFORMAT=%R
cols='year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,carrier,flight,tailnum,origin,dest,air_time,distance,hour,minute,time_hour'

# run LABEL DB COMMAND...: wall time of COMMAND (and of the checkpoint that
# leaves everything in the database file), then the size of every file.
run() {
  local label=$1 db=$2
  shift 2
  local secs
  if ! secs=$( { time "$@" >/dev/null 2>"$out/stderr"; } 2>&1 ); then
    echo "flights.sh: $label failed:" >&2
    cat "$out/stderr" >&2
    exit 1
  fi
  local size wal
  size=$(stat -c %s "$db")
  wal=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
  printf '| %s | %s | %s | %s |\n' "$label" "$secs" "$size" "$wal"
}

walden_import() {
  "$walden" import "$1" "$data" --key "$2" --table flights "${@:3}"
  "$walden" checkpoint "$1" --mode truncate
}

sqlite_import() {
  sqlite3 "$1" "PRAGMA journal_mode=WAL;" "$2" ".import --csv --skip ${3} '|gzip -dc $data' flights"
}

echo "data: $data ($(stat -c %s "$data") bytes gzip, $(gzip -dc "$data" | wc -c) bytes CSV, $(($(gzip -dc "$data" | wc -l) - 1)) rows)"
echo "sqlite3 $(sqlite3 --version | cut -d' ' -f1); walden $("$walden" --version | cut -d' ' -f2)"
echo
echo '| run | seconds | database file bytes | WAL bytes |'
echo '|---|---:|---:|---:|'
run "walden import --key time_hour,carrier,flight (time order)" "$out/w1.db" walden_import "$out/w1.db" time_hour,carrier,flight
run "walden import --key carrier,flight,time_hour (random order)" "$out/w2.db" walden_import "$out/w2.db" carrier,flight,time_hour
run "walden import --key carrier,flight,time_hour --cache-pages 16384" "$out/w3.db" \
  walden_import "$out/w3.db" carrier,flight,time_hour --cache-pages 16384
run "sqlite3 .import (rowid table, all columns TEXT)" "$out/s1.db" sqlite_import "$out/s1.db" "" 0
run "sqlite3 .import into WITHOUT ROWID, PRIMARY KEY (time_hour, carrier, flight)" "$out/s2.db" sqlite_import "$out/s2.db" \
  "CREATE TABLE flights(${cols}, PRIMARY KEY (time_hour, carrier, flight)) WITHOUT ROWID;" 1
run "sqlite3 .import into WITHOUT ROWID, PRIMARY KEY (carrier, flight, time_hour)" "$out/s3.db" sqlite_import "$out/s3.db" \
  "CREATE TABLE flights(${cols}, PRIMARY KEY (carrier, flight, time_hour)) WITHOUT ROWID;" 1
echo
"$walden" stat "$out/w1.db" | sed -n '1,12p'
"$walden" verify "$out/w1.db"
