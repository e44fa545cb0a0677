/*
 * weather.c - a C client of Walden: logs the bundled NYC airport weather
 * (data/weather.csv.gz, 26,115 hourly readings of EWR, JFK and LGA in 2013)
 * into a database and answers questions about it with range scans.
 *
 *   weather DATA.csv DB      (DATA.csv: data/weather.csv.gz, decompressed)
 *
 * 1. Ingest: every CSV row becomes one entry of table "weather", key
 *    "<station> <UTC hour>" (e.g. "EWR 2013-07-18T19", the first 13
 *    characters of time_hour), value a fixed 49-byte little-endian record
 *    (see encode()). Rows are committed in batches of BATCH rows, each batch
 *    one durable write transaction. Table "stations" keeps a row count per
 *    station, updated in the same transactions.
 * 2. Close and reopen the database (recovery from the WAL).
 * 3. Query, in one read snapshot: rows and hottest hour per station (a full
 *    scan), EWR's July 2013 (a range scan from walden_cursor_seek), a point
 *    lookup with walden_get (asking for the size first), the last entry
 *    (walden_cursor_last/prev), and the error codes of a missing table.
 * 4. Retention: delete EWR's readings of 2013-01-01 (UTC) in one write
 *    transaction, then check the counts again.
 * 5. Checkpoint (TRUNCATE) and print the database's statistics.
 *
 * The answers are checked against the reference facts printed by
 * `python3 scripts/weather_facts.py` (and asserted by
 * examples/weather_station.rs); the query lines use the same format. Any
 * mismatch or unexpected return code exits with status 1.
 */
#include "walden.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 500, NCOLS = 15, RECORD_LEN = 49, KEY_LEN = 17, MAX_STATIONS = 8 };
#define NA_I32 INT32_MIN
#define TABLE "weather"
#define STATIONS "stations"

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("weather: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* Exits unless `rc` is `want`. */
static void expect_rc(walden_rc rc, walden_rc want, const char *what) {
  if (rc != want)
    fail("%s: %s (expected %s): %s", what, walden_rc_name(rc), walden_rc_name(want), walden_errmsg());
}

#define CHECK(call) expect_rc((call), WALDEN_OK, #call)

/* ------------------------------------------------------------------------ */
/* Readings and their encoding                                               */
/* ------------------------------------------------------------------------ */

typedef struct reading {
  uint16_t year; /* local (New York) wall clock */
  uint8_t month, day, hour;
  int32_t temp, dewp, humid; /* hundredths of degF, degF, percent; NA_I32 = missing */
  int16_t wind_dir;          /* degrees; -1 = missing */
  uint8_t has_wind_speed, has_wind_gust;
  double wind_speed, wind_gust; /* mph */
  int32_t precip, visib;        /* hundredths of inch, mile */
  int32_t pressure;             /* tenths of millibar */
} reading;

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_f64(uint8_t *p, double d) {
  uint64_t v;
  memcpy(&v, &d, sizeof v);
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static double get_f64(const uint8_t *p) {
  uint64_t v = 0;
  double d;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  memcpy(&d, &v, sizeof d);
  return d;
}

/* The value: version 1, then the fields in struct order, little-endian. */
static void encode(const reading *r, uint8_t out[RECORD_LEN]) {
  uint8_t *p = out;
  *p++ = 1;
  put_u16(p, r->year), p += 2;
  *p++ = r->month, *p++ = r->day, *p++ = r->hour;
  put_u32(p, (uint32_t)r->temp), p += 4;
  put_u32(p, (uint32_t)r->dewp), p += 4;
  put_u32(p, (uint32_t)r->humid), p += 4;
  put_u16(p, (uint16_t)r->wind_dir), p += 2;
  *p++ = (uint8_t)(r->has_wind_speed | (r->has_wind_gust << 1));
  put_f64(p, r->wind_speed), p += 8;
  put_f64(p, r->wind_gust), p += 8;
  put_u32(p, (uint32_t)r->precip), p += 4;
  put_u32(p, (uint32_t)r->visib), p += 4;
  put_u32(p, (uint32_t)r->pressure), p += 4;
  if (p - out != RECORD_LEN) fail("encode: record length %d", (int)(p - out));
}

/* Strict: a wrong length or version is an error, not a reading. */
static int decode(const void *val, size_t len, reading *r) {
  const uint8_t *p = val;
  if (len != RECORD_LEN || p[0] != 1) return -1;
  p++;
  r->year = get_u16(p), p += 2;
  r->month = *p++, r->day = *p++, r->hour = *p++;
  r->temp = (int32_t)get_u32(p), p += 4;
  r->dewp = (int32_t)get_u32(p), p += 4;
  r->humid = (int32_t)get_u32(p), p += 4;
  r->wind_dir = (int16_t)get_u16(p), p += 2;
  r->has_wind_speed = *p & 1, r->has_wind_gust = (*p >> 1) & 1, p++;
  r->wind_speed = get_f64(p), p += 8;
  r->wind_gust = get_f64(p), p += 8;
  r->precip = (int32_t)get_u32(p), p += 4;
  r->visib = (int32_t)get_u32(p), p += 4;
  r->pressure = (int32_t)get_u32(p);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* CSV parsing                                                               */
/* ------------------------------------------------------------------------ */

/* Parses [-]digits[.digits][(e|E)[+-]digits] exactly into value * 10^scale
 * ("NA": NA_I32). Fails if the result is not an integer or does not fit. */
static int parse_scaled(const char *s, int scale, int32_t *out) {
  if (strcmp(s, "NA") == 0) {
    *out = NA_I32;
    return 0;
  }
  int neg = 0, digits = 0, frac = 0, exp = 0;
  int64_t m = 0;
  if (*s == '-') neg = 1, s++;
  for (; *s >= '0' && *s <= '9'; s++, digits++) {
    if (m > INT64_MAX / 100) return -1;
    m = m * 10 + (*s - '0');
  }
  if (*s == '.')
    for (s++; *s >= '0' && *s <= '9'; s++, digits++, frac++) {
      if (m > INT64_MAX / 100) return -1;
      m = m * 10 + (*s - '0');
    }
  if (digits == 0) return -1;
  if (*s == 'e' || *s == 'E') {
    int eneg = 0, edigits = 0;
    s++;
    if (*s == '+' || *s == '-') eneg = (*s == '-'), s++;
    for (; *s >= '0' && *s <= '9' && exp < 100; s++, edigits++) exp = exp * 10 + (*s - '0');
    if (edigits == 0) return -1;
    if (eneg) exp = -exp;
  }
  if (*s != '\0') return -1;
  int shift = scale - frac + exp;
  for (; shift > 0; shift--) {
    if (m > INT32_MAX) return -1;
    m *= 10;
  }
  for (; shift < 0; shift++) {
    if (m % 10 != 0) return -1; /* more decimals than the scale keeps */
    m /= 10;
  }
  if (neg) m = -m;
  if (m <= INT32_MIN || m > INT32_MAX) return -1;
  *out = (int32_t)m;
  return 0;
}

static int parse_double(const char *s, uint8_t *has, double *out) {
  char *end;
  *has = 0;
  *out = 0.0;
  if (strcmp(s, "NA") == 0) return 0;
  *out = strtod(s, &end);
  if (end == s || *end != '\0') return -1;
  *has = 1;
  return 0;
}

/* One CSV line -> key and reading. */
static int parse_row(char *line, char key[KEY_LEN + 1], reading *r) {
  char *col[NCOLS];
  int n = 0;
  line[strcspn(line, "\r\n")] = '\0';
  for (char *p = line; n < NCOLS; n++) {
    col[n] = p;
    char *comma = strchr(p, ',');
    if (!comma) {
      n++;
      break;
    }
    *comma = '\0';
    p = comma + 1;
  }
  if (n != NCOLS) return -1;
  const char *station = col[0], *th = col[14];
  /* time_hour: 2013-01-01T06:00:00Z */
  if (strlen(station) != 3 || strlen(th) != 20 || th[10] != 'T' || strcmp(th + 13, ":00:00Z") != 0) return -1;
  snprintf(key, KEY_LEN + 1, "%s %.13s", station, th);
  int32_t year, month, day, hour, wind_dir;
  if (parse_scaled(col[1], 0, &year) || parse_scaled(col[2], 0, &month) || parse_scaled(col[3], 0, &day) ||
      parse_scaled(col[4], 0, &hour))
    return -1;
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23) return -1;
  r->year = (uint16_t)year, r->month = (uint8_t)month, r->day = (uint8_t)day, r->hour = (uint8_t)hour;
  if (parse_scaled(col[5], 2, &r->temp) || parse_scaled(col[6], 2, &r->dewp) || parse_scaled(col[7], 2, &r->humid) ||
      parse_scaled(col[8], 0, &wind_dir) || parse_double(col[9], &r->has_wind_speed, &r->wind_speed) ||
      parse_double(col[10], &r->has_wind_gust, &r->wind_gust) || parse_scaled(col[11], 2, &r->precip) ||
      parse_scaled(col[12], 1, &r->pressure) || parse_scaled(col[13], 2, &r->visib))
    return -1;
  r->wind_dir = wind_dir == NA_I32 ? -1 : (int16_t)wind_dir;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Ingest                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct station_count {
  char code[4];
  uint32_t rows;
} station_count;

static walden_db *open_db(const char *path) {
  walden_options opts;
  walden_options_default(&opts);
  opts.sync = WALDEN_SYNC_FULL; /* each batch is durable when its commit returns */
  opts.busy_timeout_ms = 1000;
  walden_db *db = NULL;
  CHECK(walden_open(path, &opts, &db));
  return db;
}

/* Adds the batch's per-station counts to table "stations" in `txn`. */
static void flush_counts(walden_txn *txn, station_count *counts, int n) {
  for (int i = 0; i < n; i++) {
    uint8_t buf[4];
    size_t len = 0;
    uint32_t total = counts[i].rows;
    walden_rc rc = walden_get(txn, STATIONS, counts[i].code, 3, buf, sizeof buf, &len);
    if (rc == WALDEN_OK && len == 4)
      total += get_u32(buf);
    else if (rc != WALDEN_NOT_FOUND)
      expect_rc(rc, WALDEN_NOT_FOUND, "walden_get(stations)");
    put_u32(buf, total);
    CHECK(walden_put(txn, STATIONS, counts[i].code, 3, buf, 4));
    counts[i].rows = 0;
  }
}

static uint32_t ingest(walden_db *db, const char *csv_path, uint32_t *commits) {
  FILE *f = fopen(csv_path, "r");
  if (!f) fail("cannot open %s", csv_path);
  char line[512];
  const char *header = "origin,year,month,day,hour,temp,dewp,humid,wind_dir,wind_speed,wind_gust,precip,pressure,visib,"
                       "time_hour";
  if (!fgets(line, sizeof line, f) || strncmp(line, header, strlen(header)) != 0) fail("%s: unexpected header", csv_path);

  station_count counts[MAX_STATIONS];
  int nstations = 0;
  uint32_t rows = 0, in_batch = 0;
  walden_txn *txn = NULL;
  char prev_key[KEY_LEN + 1] = "";
  while (fgets(line, sizeof line, f)) {
    char key[KEY_LEN + 1];
    reading r;
    uint8_t val[RECORD_LEN];
    if (parse_row(line, key, &r) != 0) fail("CSV data row %" PRIu32 ": cannot parse", rows + 1);
    if (strcmp(prev_key, key) >= 0) fail("CSV data row %" PRIu32 ": key %s does not sort after %s", rows + 1, key, prev_key);
    memcpy(prev_key, key, sizeof key);
    encode(&r, val);
    if (!txn) CHECK(walden_begin(db, 1, &txn));
    CHECK(walden_put(txn, TABLE, key, strlen(key), val, sizeof val));
    int s = 0;
    while (s < nstations && memcmp(counts[s].code, key, 3) != 0) s++;
    if (s == nstations) {
      if (nstations == MAX_STATIONS) fail("too many stations");
      memcpy(counts[s].code, key, 3);
      counts[s].code[3] = '\0';
      counts[s].rows = 0;
      nstations++;
    }
    counts[s].rows++;
    rows++;
    if (++in_batch == BATCH) {
      flush_counts(txn, counts, nstations);
      CHECK(walden_commit(txn)); /* frees txn */
      txn = NULL;
      in_batch = 0;
      (*commits)++;
    }
  }
  if (ferror(f)) fail("%s: read error", csv_path);
  fclose(f);
  if (txn) {
    flush_counts(txn, counts, nstations);
    CHECK(walden_commit(txn));
    (*commits)++;
  }
  return rows;
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct station_facts {
  char code[4];
  uint32_t rows;
  int32_t hottest; /* hundredths of degF, readings of UTC year 2013 */
  char hottest_hour[14];
  uint32_t hottest_ties;
} station_facts;

/* The cursor's key and value; the pointers are valid until it moves. */
static void current(walden_cursor *c, const char **key, size_t *key_len, reading *r) {
  const void *k, *v;
  size_t vlen;
  CHECK(walden_cursor_key(c, &k, key_len));
  CHECK(walden_cursor_value(c, &v, &vlen));
  *key = k;
  if (decode(v, vlen, r) != 0) fail("key %.*s: bad value (%zu bytes)", (int)*key_len, *key, vlen);
}

static void print_temp(char *out, size_t cap, int32_t hundredths) {
  int32_t a = hundredths < 0 ? -hundredths : hundredths;
  if (a % 100 == 0)
    snprintf(out, cap, "%s%d", hundredths < 0 ? "-" : "", (int)(a / 100));
  else if (a % 10 == 0)
    snprintf(out, cap, "%s%d.%d", hundredths < 0 ? "-" : "", (int)(a / 100), (int)(a % 100 / 10));
  else
    snprintf(out, cap, "%s%d.%02d", hundredths < 0 ? "-" : "", (int)(a / 100), (int)(a % 100));
}

/* Full scan: rows and hottest 2013 hour per station, in key order. */
static int scan_stations(walden_txn *txn, station_facts *out) {
  walden_cursor *c = NULL;
  CHECK(walden_cursor_open(txn, TABLE, &c));
  int n = 0;
  char prev[KEY_LEN + 1] = "";
  for (walden_rc rc = walden_cursor_first(c); rc != WALDEN_DONE; rc = walden_cursor_next(c)) {
    expect_rc(rc, WALDEN_OK, "walden_cursor_first/next");
    const char *key;
    size_t key_len;
    reading r;
    current(c, &key, &key_len, &r);
    if (key_len != KEY_LEN || memcmp(prev, key, KEY_LEN) >= 0) fail("scan: keys out of order at %.*s", (int)key_len, key);
    memcpy(prev, key, KEY_LEN);
    if (n == 0 || memcmp(out[n - 1].code, key, 3) != 0) {
      if (n == MAX_STATIONS) fail("too many stations");
      memset(&out[n], 0, sizeof out[n]);
      memcpy(out[n].code, key, 3);
      out[n].hottest = NA_I32;
      n++;
    }
    station_facts *s = &out[n - 1];
    s->rows++;
    if (memcmp(key + 4, "2013", 4) == 0 && r.temp != NA_I32) {
      if (s->hottest == NA_I32 || r.temp > s->hottest) {
        s->hottest = r.temp;
        memcpy(s->hottest_hour, key + 4, 13);
        s->hottest_hour[13] = '\0';
        s->hottest_ties = 1;
      } else if (r.temp == s->hottest) {
        s->hottest_ties++;
      }
    }
  }
  /* Past the end, the cursor is on no entry. */
  const void *k;
  size_t klen;
  expect_rc(walden_cursor_key(c, &k, &klen), WALDEN_DONE, "walden_cursor_key past the end");
  walden_cursor_close(c);
  return n;
}

/* Range scan [start, end): readings, readings with a temperature, their sum. */
static void scan_range(walden_txn *txn, const char *start, const char *end, uint32_t *readings, uint32_t *with_temp,
                       int64_t *sum, reading *first) {
  walden_cursor *c = NULL;
  CHECK(walden_cursor_open(txn, TABLE, &c));
  *readings = *with_temp = 0;
  *sum = 0;
  for (walden_rc rc = walden_cursor_seek(c, start, strlen(start)); rc != WALDEN_DONE; rc = walden_cursor_next(c)) {
    expect_rc(rc, WALDEN_OK, "walden_cursor_seek/next");
    const char *key;
    size_t key_len;
    reading r;
    current(c, &key, &key_len, &r);
    size_t end_len = strlen(end);
    int cmp = memcmp(key, end, key_len < end_len ? key_len : end_len);
    if (cmp > 0 || (cmp == 0 && key_len >= end_len)) break;
    if (*readings == 0 && first) *first = r;
    (*readings)++;
    if (r.temp != NA_I32) {
      (*with_temp)++;
      *sum += r.temp;
    }
  }
  walden_cursor_close(c);
}

static uint32_t stored_count(walden_txn *txn, const char *station) {
  uint8_t buf[4];
  size_t len = 0;
  CHECK(walden_get(txn, STATIONS, station, 3, buf, sizeof buf, &len));
  if (len != 4) fail("stations/%s: bad value", station);
  return get_u32(buf);
}

static const station_facts EXPECTED[3] = {
    {"EWR", 8703, 10004, "2013-07-18T19", 2},
    {"JFK", 8706, 9806, "2013-07-18T16", 1},
    {"LGA", 8706, 9896, "2013-07-18T19", 3},
};

static void query(walden_db *db) {
  walden_txn *txn = NULL;
  CHECK(walden_begin(db, 0, &txn));

  station_facts st[MAX_STATIONS];
  int n = scan_stations(txn, st);
  printf("rows per origin:");
  for (int i = 0; i < n; i++) printf("%s %s %" PRIu32, i ? "," : "", st[i].code, st[i].rows);
  printf("\n");
  printf("hottest hour per station in 2013 (temp F, UTC hour):\n");
  for (int i = 0; i < n; i++) {
    char t[16];
    print_temp(t, sizeof t, st[i].hottest);
    printf("  %s: %s F at %s UTC (%" PRIu32 " hour(s) at that temp)\n", st[i].code, t, st[i].hottest_hour,
           st[i].hottest_ties);
  }
  if (n != 3) fail("expected 3 stations, found %d", n);
  for (int i = 0; i < 3; i++) {
    const station_facts *e = &EXPECTED[i];
    if (strcmp(st[i].code, e->code) != 0 || st[i].rows != e->rows || st[i].hottest != e->hottest ||
        strcmp(st[i].hottest_hour, e->hottest_hour) != 0 || st[i].hottest_ties != e->hottest_ties)
      fail("station %s does not match the reference facts", st[i].code);
    /* Table "stations" was kept in the same transactions as the readings. */
    if (stored_count(txn, st[i].code) != st[i].rows)
      fail("stations/%s says %" PRIu32 " rows, the scan found %" PRIu32, st[i].code, stored_count(txn, st[i].code),
           st[i].rows);
  }

  /* EWR in July 2013 (UTC): a range scan. */
  uint32_t readings, with_temp;
  int64_t sum;
  reading first;
  scan_range(txn, "EWR 2013-07", "EWR 2013-08", &readings, &with_temp, &sum, &first);
  printf("EWR 2013-07 (UTC): %" PRIu32 " readings, %" PRIu32 " with temp, sum temp = %" PRId64
         " hundredths F, mean temp = %.4f F\n",
         readings, with_temp, sum, (double)sum / (100.0 * with_temp));
  if (readings != 741 || with_temp != 741 || sum != 5980560) fail("EWR 2013-07 does not match the reference facts");
  if (first.year != 2013 || first.month != 6 || first.day != 30 || first.hour != 20 || first.temp != 7520 ||
      first.humid != 8859 || first.wind_dir != 120 || !first.has_wind_speed)
    fail("EWR 2013-07-01T00 decoded wrongly");

  /* A point lookup: ask for the size, then read. */
  const char *hot = "EWR 2013-07-18T19";
  size_t need = 0;
  expect_rc(walden_get(txn, TABLE, hot, strlen(hot), NULL, 0, &need), WALDEN_BUFFER_TOO_SMALL, "walden_get(size)");
  if (need != RECORD_LEN) fail("walden_get: size %zu", need);
  uint8_t *buf = malloc(need);
  size_t len = 0;
  if (!buf) fail("out of memory");
  CHECK(walden_get(txn, TABLE, hot, strlen(hot), buf, need, &len));
  reading r;
  if (decode(buf, len, &r) != 0 || r.temp != 10004 || r.hour != 15 || r.pressure != 10150)
    fail("%s: unexpected reading", hot);
  free(buf);
  printf("lookup %s: temp 100.04 F, local %04d-%02d-%02d %02dh, pressure %d.%d mbar\n", hot, r.year, r.month, r.day,
         r.hour, (int)(r.pressure / 10), (int)(r.pressure % 10));

  /* The last two entries, walking backwards. */
  walden_cursor *c = NULL;
  CHECK(walden_cursor_open(txn, TABLE, &c));
  CHECK(walden_cursor_last(c));
  const char *key;
  size_t key_len;
  current(c, &key, &key_len, &r);
  char last[KEY_LEN + 1];
  snprintf(last, sizeof last, "%.*s", (int)key_len, key);
  CHECK(walden_cursor_prev(c));
  current(c, &key, &key_len, &r);
  if (memcmp(key, last, KEY_LEN) >= 0) fail("walden_cursor_prev did not go backwards");
  printf("last reading: %s (before it: %.*s)\n", last, (int)key_len, key);
  walden_cursor_close(c);

  /* A table that does not exist: reads say NOT_FOUND, nothing is created. */
  expect_rc(walden_get(txn, "no such table", "x", 1, NULL, 0, &len), WALDEN_NOT_FOUND, "walden_get(missing table)");
  expect_rc(walden_cursor_open(txn, "no such table", &c), WALDEN_NOT_FOUND, "walden_cursor_open(missing table)");
  expect_rc(walden_put(txn, TABLE, "x", 1, "y", 1), WALDEN_READ_ONLY, "walden_put in a read transaction");
  CHECK(walden_commit(txn)); /* ends the read transaction */
}

/* Deletes the readings of [start, end) in one write transaction. */
static int32_t delete_range(walden_db *db, const char *start, const char *end) {
  walden_txn *txn = NULL;
  walden_cursor *c = NULL;
  CHECK(walden_begin(db, 1, &txn));
  CHECK(walden_cursor_open(txn, TABLE, &c));
  int32_t deleted = 0;
  /* Each round seeks the first remaining key of the range. */
  while (walden_cursor_seek(c, start, strlen(start)) == WALDEN_OK) {
    const void *k;
    size_t klen;
    char key[KEY_LEN + 1];
    CHECK(walden_cursor_key(c, &k, &klen));
    if (klen != KEY_LEN) fail("unexpected key length %zu", klen);
    memcpy(key, k, KEY_LEN); /* a NUL-terminated copy (k is valid until the cursor moves) */
    key[KEY_LEN] = '\0';
    if (strcmp(key, end) >= 0) break;
    CHECK(walden_delete(txn, TABLE, key, KEY_LEN));
    expect_rc(walden_delete(txn, TABLE, key, KEY_LEN), WALDEN_NOT_FOUND, "walden_delete twice");
    deleted++;
  }
  walden_cursor_close(c);
  uint8_t buf[4];
  size_t len;
  CHECK(walden_get(txn, STATIONS, start, 3, buf, sizeof buf, &len));
  put_u32(buf, get_u32(buf) - (uint32_t)deleted);
  CHECK(walden_put(txn, STATIONS, start, 3, buf, 4));
  CHECK(walden_commit(txn));
  return deleted;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DATA.csv DB\n", argv[0]);
    return 2;
  }
  printf("walden %s\n", walden_version());

  walden_db *db = open_db(argv[2]);
  uint32_t commits = 0;
  uint32_t rows = ingest(db, argv[1], &commits);
  printf("stored %" PRIu32 " readings in %" PRIu32 " commits (batches of %d)\n", rows, commits, BATCH);
  if (rows != 26115) fail("expected 26115 rows, stored %" PRIu32, rows);
  CHECK(walden_close(db));

  db = open_db(argv[2]); /* recovery from the WAL */
  query(db);

  int32_t deleted = delete_range(db, "EWR 2013-01-01", "EWR 2013-01-02");
  printf("deleted %d readings of EWR 2013-01-01 (UTC)\n", (int)deleted);
  if (deleted != 17) fail("expected 17 readings on EWR 2013-01-01 (UTC), deleted %d", (int)deleted);
  uint32_t readings, with_temp;
  int64_t sum;
  walden_txn *txn = NULL;
  CHECK(walden_begin(db, 0, &txn));
  scan_range(txn, "EWR 2013-01-01", "EWR 2013-01-02", &readings, &with_temp, &sum, NULL);
  if (readings != 0) fail("deleted readings are still there");
  scan_range(txn, "EWR ", "EWR!", &readings, &with_temp, &sum, NULL);
  if (readings != 8703 - 17 || stored_count(txn, "EWR") != readings) fail("EWR has %" PRIu32 " readings after the deletion", readings);
  walden_abort(txn); /* a read transaction: abort and commit both just end it */

  uint64_t wal_frames = 1, backfilled = 1;
  CHECK(walden_checkpoint(db, WALDEN_CHECKPOINT_TRUNCATE, &wal_frames, &backfilled));
  walden_stats stats;
  CHECK(walden_stats_get(db, &stats));
  printf("checkpoint: %" PRIu64 " WAL frames left; database %" PRIu64 " pages; %" PRIu64 " commits, %" PRIu64
         " checkpoints since open\n",
         wal_frames, stats.db_pages, stats.commits, stats.checkpoints);
  if (wal_frames != 0 || stats.wal_frames != 0 || stats.commits != 1 || stats.checkpoints < 1)
    fail("unexpected checkpoint result or statistics");
  CHECK(walden_close(db));
  puts("weather: all checks passed");
  return 0;
}
