/*
 * features.c - the C API beyond get/put/delete: the version macros and
 * walden_version(), the size field of walden_options, listing and dropping
 * tables, counting entries (whole tables, prefixes, ranges), the integrity
 * check, the largest key, cursors bounded by an end key, and error
 * messages that carry the numbers.
 *
 *   features DIR     (DIR: an empty, writable directory)
 *
 * Prints "features: N checks passed" and exits 0, or lists the failed
 * checks and exits 1. Run by ffi/tests/c_programs.rs, also under
 * AddressSanitizer + UBSan and valgrind.
 */
#include "walden.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

static void check(int ok, const char *expr, int line) {
  checks++;
  if (!ok) {
    failures++;
    printf("line %d: failed: %s (%s)\n", line, expr, walden_errmsg());
  }
}
#define CHECK(expr) check((expr) != 0, #expr, __LINE__)
#define OK(call) check((call) == WALDEN_OK, #call, __LINE__)

/* walden_tables callback: appends "name," to a buffer; stops after `stop` names. */
struct listing {
  char names[256];
  int seen;
  int stop;
};

static int collect(void *ctx, const char *name, size_t name_len) {
  struct listing *l = ctx;
  if (strlen(name) != name_len) return 1;
  strncat(l->names, name, sizeof l->names - strlen(l->names) - 2);
  strcat(l->names, ",");
  l->seen++;
  return l->stop > 0 && l->seen >= l->stop;
}

static uint64_t count(walden_txn *t, const char *table, const char *from, const char *to) {
  uint64_t n = 12345;
  walden_rc rc = walden_count(t, table, from, from ? strlen(from) : 0, to, to ? strlen(to) : 0, &n);
  if (rc != WALDEN_OK) {
    printf("walden_count: %s (%s)\n", walden_rc_name(rc), walden_errmsg());
    return UINT64_MAX;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/features.db", argv[1]);

  /* ---- version: the macros match the library ---- */
  char want[64];
  snprintf(want, sizeof want, "%d.%d.%d", WALDEN_VERSION_MAJOR, WALDEN_VERSION_MINOR, WALDEN_VERSION_PATCH);
  CHECK(strcmp(walden_version(), want) == 0);

  /* ---- options: size set by the defaults; a smaller or unknown struct ---- */
  walden_options o;
  memset(&o, 0xff, sizeof o);
  walden_options_default(&o);
  CHECK(o.size == sizeof(walden_options));
  CHECK(o.page_size == 4096 && o.busy_timeout_ms == 5000);
  walden_db *db = NULL;
  walden_options bad = o;
  bad.size = 0;
  CHECK(walden_open(path, &bad, &db) == WALDEN_INVALID_ARGUMENT && db == NULL);
  CHECK(strstr(walden_errmsg(), "walden_options_default") != NULL);
  /* A newer program's struct: larger, with an unknown non-zero field. */
  struct {
    walden_options known;
    uint32_t future;
  } newer;
  memset(&newer, 0, sizeof newer);
  walden_options_default(&newer.known);
  newer.known.size = sizeof newer;
  newer.future = 7;
  CHECK(walden_open(path, &newer.known, &db) == WALDEN_INVALID_ARGUMENT && db == NULL);
  CHECK(strstr(walden_errmsg(), "must be zero") != NULL);
  /* The same with the unknown field zero opens. */
  newer.future = 0;
  o.page_size = 512; /* small pages: deep trees from few keys */
  newer.known.page_size = 512;
  OK(walden_open(path, &newer.known, &db));

  /* ---- the largest key, and the message of a longer one ---- */
  size_t max = 0;
  OK(walden_max_key_len(db, &max));
  CHECK(max == 152);
  CHECK(walden_max_key_len(db, NULL) == WALDEN_INVALID_ARGUMENT);
  CHECK(walden_max_key_len(NULL, &max) == WALDEN_INVALID_ARGUMENT);

  walden_txn *w = NULL;
  OK(walden_begin(db, 1, &w));
  char longkey[200];
  memset(longkey, 'k', sizeof longkey);
  CHECK(walden_put(w, "a", longkey, 153, "v", 1) == WALDEN_INVALID_ARGUMENT);
  CHECK(strstr(walden_errmsg(), "key is 153 bytes; the largest at 512-byte pages is 152") != NULL);

  /* ---- data: 3 tables, 2,000 keys in "a" ---- */
  char key[32];
  for (int i = 0; i < 2000; i++) {
    int n = snprintf(key, sizeof key, "%s%04d", i % 2 ? "odd/" : "even/", i);
    OK(walden_put(w, "a", key, (size_t)n, "x", 1));
  }
  OK(walden_put(w, "b", "k", 1, "v", 1));
  OK(walden_put(w, "c", "k", 1, "v", 1));
  OK(walden_put(w, NULL, "d1", 2, "v", 1));
  OK(walden_commit(w));

  /* ---- counts ---- */
  walden_txn *r = NULL;
  OK(walden_begin(db, 0, &r));
  CHECK(count(r, "a", NULL, NULL) == 2000);
  CHECK(count(r, "a", "even/", "even0") == 1000); /* a prefix: even/ .. even0 */
  CHECK(count(r, "a", "odd/0001", "odd/0101") == 50);
  CHECK(count(r, "a", "zzz", NULL) == 0);
  CHECK(count(r, "a", "b", "a") == 0); /* an inverted range */
  CHECK(count(r, NULL, NULL, NULL) == 1);
  uint64_t n = 99;
  CHECK(walden_count(r, "nope", NULL, 0, NULL, 0, &n) == WALDEN_NOT_FOUND && n == 0);
  CHECK(walden_count(r, "a", NULL, 0, NULL, 0, NULL) == WALDEN_INVALID_ARGUMENT);
  CHECK(walden_count(r, "a", NULL, 3, NULL, 0, &n) == WALDEN_INVALID_ARGUMENT);
  CHECK(walden_count(r, "a", NULL, 0, NULL, 3, &n) == WALDEN_INVALID_ARGUMENT);
  CHECK(walden_count(NULL, "a", NULL, 0, NULL, 0, &n) == WALDEN_INVALID_ARGUMENT);

  /* ---- tables ---- */
  struct listing l;
  memset(&l, 0, sizeof l);
  OK(walden_tables(r, collect, &l));
  CHECK(strcmp(l.names, "a,b,c,") == 0 && l.seen == 3);
  memset(&l, 0, sizeof l);
  l.stop = 2;
  OK(walden_tables(r, collect, &l));
  CHECK(strcmp(l.names, "a,b,") == 0);
  CHECK(walden_tables(r, NULL, &l) == WALDEN_INVALID_ARGUMENT);
  CHECK(walden_tables(NULL, collect, &l) == WALDEN_INVALID_ARGUMENT);
  CHECK(walden_drop_table(r, "b") == WALDEN_READ_ONLY);

  /* ---- a cursor bounded by an end key ---- */
  walden_cursor *c = NULL;
  OK(walden_cursor_open(r, "a", &c));
  OK(walden_cursor_set_end(c, "even/0010", 9));
  OK(walden_cursor_seek(c, "even/0004", 9));
  int seen = 0;
  const void *k;
  size_t klen;
  do {
    OK(walden_cursor_key(c, &k, &klen));
    seen++;
  } while (walden_cursor_next(c) == WALDEN_OK);
  CHECK(seen == 3); /* 0004, 0006, 0008 */
  CHECK(walden_cursor_key(c, &k, &klen) == WALDEN_DONE);
  OK(walden_cursor_last(c));
  OK(walden_cursor_key(c, &k, &klen));
  CHECK(klen == 9 && memcmp(k, "even/0008", 9) == 0);
  CHECK(walden_cursor_seek(c, "odd/", 4) == WALDEN_DONE);
  OK(walden_cursor_set_end(c, NULL, 0)); /* no bound: the last entry of the table */
  OK(walden_cursor_last(c));
  OK(walden_cursor_key(c, &k, &klen));
  CHECK(klen == 8 && memcmp(k, "odd/1999", 8) == 0);
  CHECK(walden_cursor_set_end(c, NULL, 5) == WALDEN_INVALID_ARGUMENT);
  CHECK(walden_cursor_set_end(NULL, "x", 1) == WALDEN_INVALID_ARGUMENT);
  walden_cursor_close(c);
  OK(walden_commit(r));

  /* ---- drop a table ---- */
  OK(walden_begin(db, 1, &w));
  OK(walden_drop_table(w, "b"));
  CHECK(walden_drop_table(w, "b") == WALDEN_NOT_FOUND);
  CHECK(walden_drop_table(w, NULL) == WALDEN_INVALID_ARGUMENT);
  memset(&l, 0, sizeof l);
  OK(walden_tables(w, collect, &l));
  CHECK(strcmp(l.names, "a,c,") == 0);
  OK(walden_commit(w));

  /* ---- the integrity check ---- */
  walden_verify_report rep;
  memset(&rep, 0xff, sizeof rep);
  OK(walden_verify(db, &rep));
  CHECK(rep.problems == 0 && rep.tables == 2 && rep.entries == 2002);
  CHECK(rep.tree_pages > 10 && rep.pages >= rep.tree_pages + rep.freelist_pages);
  OK(walden_verify(db, NULL));
  CHECK(walden_verify(NULL, &rep) == WALDEN_INVALID_ARGUMENT);

  OK(walden_close(db));
  if (failures) {
    printf("features: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("features: %d checks passed\n", checks);
  return 0;
}
