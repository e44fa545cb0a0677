/*
 * api_misuse.c - calls every function of walden.h with NULL and invalid
 * arguments, and misuses the handles in the ways the header documents
 * (double frees, a cursor outliving its transaction, a handle of the wrong
 * kind, closing a database with open transactions), and checks each return
 * code and that each failure leaves a message naming the function.
 *
 *   api_misuse DIR     (DIR: an empty, writable directory)
 *
 * Prints "api_misuse: N checks passed" and exits 0, or lists the failed
 * checks and exits 1. Run by ffi/tests/c_programs.rs, also under
 * AddressSanitizer + UBSan and valgrind: nothing here may touch freed
 * memory or leak.
 */
#include "walden.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

static void check_rc(walden_rc got, walden_rc want, const char *fn, const char *expr, int line) {
  checks++;
  if (got != want) {
    failures++;
    printf("line %d: %s: got %s, want %s (%s)\n", line, expr, walden_rc_name(got), walden_rc_name(want), walden_errmsg());
    return;
  }
  /* Every code but OK leaves a message that starts with the function name. */
  if (want != WALDEN_OK) {
    const char *msg = walden_errmsg();
    checks++;
    if (msg == NULL || strncmp(msg, fn, strlen(fn)) != 0 || msg[strlen(fn)] != ':') {
      failures++;
      printf("line %d: %s: message %s does not name %s\n", line, expr, msg ? msg : "(NULL)", fn);
    }
  }
}

/* EXPECT(fn, rc, (args)) calls fn args and checks the code. */
#define EXPECT(fn, want, args) check_rc(fn args, want, #fn, #fn #args, __LINE__)

static void check_true(int ok, const char *expr, int line) {
  checks++;
  if (!ok) {
    failures++;
    printf("line %d: failed: %s (%s)\n", line, expr, walden_errmsg());
  }
}
#define TRUE(expr) check_true((expr) != 0, #expr, __LINE__)

/* The message was set by `fn` (for the void functions). */
#define MESSAGE_FROM(fn) TRUE(strncmp(walden_errmsg(), fn ":", strlen(fn ":")) == 0)

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  char path[4096], ro_path[4096], missing[4096];
  snprintf(path, sizeof path, "%s/misuse.db", argv[1]);
  snprintf(ro_path, sizeof ro_path, "%s/absent.db", argv[1]);
  snprintf(missing, sizeof missing, "%s/no/such/dir/x.db", argv[1]);

  /* ---- before anything: errmsg, names, version ---- */
  TRUE(walden_errmsg() != NULL && walden_errmsg()[0] == '\0');
  TRUE(strcmp(walden_rc_name(WALDEN_OK), "WALDEN_OK") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_NOT_FOUND), "WALDEN_NOT_FOUND") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_DONE), "WALDEN_DONE") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_BUSY), "WALDEN_BUSY") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_BUFFER_TOO_SMALL), "WALDEN_BUFFER_TOO_SMALL") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_INVALID_ARGUMENT), "WALDEN_INVALID_ARGUMENT") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_CORRUPT), "WALDEN_CORRUPT") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_IO), "WALDEN_IO") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_FULL), "WALDEN_FULL") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_READ_ONLY), "WALDEN_READ_ONLY") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_POISONED), "WALDEN_POISONED") == 0);
  TRUE(strcmp(walden_rc_name(WALDEN_INTERNAL), "WALDEN_INTERNAL") == 0);
  TRUE(strcmp(walden_rc_name((walden_rc)12), "WALDEN_UNKNOWN") == 0);
  TRUE(strcmp(walden_rc_name((walden_rc)-1), "WALDEN_UNKNOWN") == 0);
  TRUE(walden_version() != NULL && walden_version()[0] >= '0' && walden_version()[0] <= '9');

  /* ---- options ---- */
  walden_options_default(NULL); /* no crash, a message */
  MESSAGE_FROM("walden_options_default");
  walden_options opts;
  memset(&opts, 0xAB, sizeof opts);
  walden_options_default(&opts);
  TRUE(opts.page_size == 4096 && opts.cache_pages == 512 && opts.sync == WALDEN_SYNC_FULL &&
       opts.autocheckpoint_frames == 1000 && opts.busy_timeout_ms == 5000 && opts.read_only == 0 &&
       opts.create_if_missing == 1);
  opts.busy_timeout_ms = 0; /* the BUSY checks below expect it at once */

  /* ---- walden_open ---- */
  walden_db *db = (walden_db *)&opts; /* garbage that must be overwritten */
  EXPECT(walden_open, WALDEN_INVALID_ARGUMENT, (NULL, NULL, &db));
  TRUE(db == NULL);
  EXPECT(walden_open, WALDEN_INVALID_ARGUMENT, (path, NULL, NULL));
  walden_options bad = opts;
  bad.page_size = 1000;
  EXPECT(walden_open, WALDEN_INVALID_ARGUMENT, (path, &bad, &db));
  bad = opts;
  bad.cache_pages = 1;
  EXPECT(walden_open, WALDEN_INVALID_ARGUMENT, (path, &bad, &db));
  bad = opts;
  bad.sync = (walden_sync)7; /* not a walden_sync: refused, not undefined */
  EXPECT(walden_open, WALDEN_INVALID_ARGUMENT, (path, &bad, &db));
  bad = opts;
  bad.create_if_missing = 0;
  EXPECT(walden_open, WALDEN_NOT_FOUND, (ro_path, &bad, &db));
  bad = opts;
  bad.read_only = 1;
  EXPECT(walden_open, WALDEN_NOT_FOUND, (ro_path, &bad, &db));
  EXPECT(walden_open, WALDEN_NOT_FOUND, (missing, NULL, &db));
  TRUE(db == NULL);

  opts.sync = WALDEN_SYNC_OFF;
  EXPECT(walden_open, WALDEN_OK, (path, &opts, &db));
  TRUE(db != NULL);
  walden_db *db2 = NULL;
  EXPECT(walden_open, WALDEN_OK, (path, &opts, &db2)); /* a second handle shares the first's wal-index */
  TRUE(db2 != NULL);

  /* ---- walden_close, walden_begin: NULL ---- */
  EXPECT(walden_close, WALDEN_INVALID_ARGUMENT, (NULL));
  walden_txn *txn = (walden_txn *)&opts;
  EXPECT(walden_begin, WALDEN_INVALID_ARGUMENT, (NULL, 0, &txn));
  TRUE(txn == NULL);
  EXPECT(walden_begin, WALDEN_INVALID_ARGUMENT, (db, 0, NULL));
  EXPECT(walden_commit, WALDEN_INVALID_ARGUMENT, (NULL));
  walden_abort(NULL); /* no-op */

  /* ---- writes ---- */
  const char *k = "key", *v = "value";
  char buf[16];
  size_t len = 99;
  EXPECT(walden_begin, WALDEN_OK, (db, 1, &txn));
  walden_txn *txn2 = NULL;
  EXPECT(walden_begin, WALDEN_BUSY, (db, 1, &txn2)); /* one writer; no deadlock on the same thread */
  TRUE(txn2 == NULL);
  EXPECT(walden_begin, WALDEN_BUSY, (db2, 1, &txn2)); /* one writer across handles */
  TRUE(txn2 == NULL);
  EXPECT(walden_close, WALDEN_OK, (db2));
  EXPECT(walden_put, WALDEN_INVALID_ARGUMENT, (NULL, NULL, k, 3, v, 5));
  EXPECT(walden_put, WALDEN_INVALID_ARGUMENT, (txn, NULL, NULL, 3, v, 5));
  EXPECT(walden_put, WALDEN_INVALID_ARGUMENT, (txn, NULL, k, 3, NULL, 5));
  EXPECT(walden_put, WALDEN_INVALID_ARGUMENT, (txn, "\xff\xfe", k, 3, v, 5)); /* table name not UTF-8 */
  static char huge_key[5000];
  memset(huge_key, 'k', sizeof huge_key);
  EXPECT(walden_put, WALDEN_INVALID_ARGUMENT, (txn, NULL, huge_key, sizeof huge_key, v, 5));
  EXPECT(walden_put, WALDEN_INVALID_ARGUMENT, (txn, NULL, k, SIZE_MAX, v, 5)); /* larger than any object */
  EXPECT(walden_put, WALDEN_OK, (txn, NULL, NULL, 0, NULL, 0));               /* the empty key, empty value */
  EXPECT(walden_put, WALDEN_OK, (txn, NULL, k, 3, v, 5));
  EXPECT(walden_put, WALDEN_OK, (txn, "t", k, 3, v, 5)); /* creates table "t" */
  EXPECT(walden_delete, WALDEN_INVALID_ARGUMENT, (NULL, NULL, k, 3));
  EXPECT(walden_delete, WALDEN_INVALID_ARGUMENT, (txn, NULL, NULL, 3));
  EXPECT(walden_delete, WALDEN_INVALID_ARGUMENT, (txn, "\xff", k, 3));
  EXPECT(walden_delete, WALDEN_NOT_FOUND, (txn, NULL, "absent", 6));
  EXPECT(walden_delete, WALDEN_NOT_FOUND, (txn, "no table", k, 3));
  EXPECT(walden_delete, WALDEN_OK, (txn, NULL, NULL, 0)); /* the empty key again */
  EXPECT(walden_delete, WALDEN_NOT_FOUND, (txn, NULL, NULL, 0));

  /* ---- walden_get ---- */
  EXPECT(walden_get, WALDEN_INVALID_ARGUMENT, (NULL, NULL, k, 3, buf, sizeof buf, &len));
  EXPECT(walden_get, WALDEN_INVALID_ARGUMENT, (txn, NULL, k, 3, buf, sizeof buf, NULL));
  EXPECT(walden_get, WALDEN_INVALID_ARGUMENT, (txn, NULL, NULL, 3, buf, sizeof buf, &len));
  EXPECT(walden_get, WALDEN_INVALID_ARGUMENT, (txn, NULL, k, 3, NULL, 8, &len));
  EXPECT(walden_get, WALDEN_INVALID_ARGUMENT, (txn, "\xff", k, 3, buf, sizeof buf, &len));
  EXPECT(walden_get, WALDEN_INVALID_ARGUMENT, (txn, NULL, huge_key, sizeof huge_key, buf, sizeof buf, &len));
  len = 99;
  EXPECT(walden_get, WALDEN_NOT_FOUND, (txn, NULL, "absent", 6, buf, sizeof buf, &len));
  TRUE(len == 0);
  len = 99;
  EXPECT(walden_get, WALDEN_NOT_FOUND, (txn, "no table", k, 3, buf, sizeof buf, &len)); /* not created */
  TRUE(len == 0 && strstr(walden_errmsg(), "table") != NULL);
  EXPECT(walden_get, WALDEN_BUFFER_TOO_SMALL, (txn, NULL, k, 3, NULL, 0, &len));
  TRUE(len == 5);
  memset(buf, '#', sizeof buf);
  EXPECT(walden_get, WALDEN_BUFFER_TOO_SMALL, (txn, NULL, k, 3, buf, 4, &len));
  TRUE(len == 5 && buf[0] == '#'); /* nothing copied */
  EXPECT(walden_get, WALDEN_OK, (txn, "t", k, 3, buf, 5, &len));
  TRUE(len == 5 && memcmp(buf, v, 5) == 0);

  /* ---- cursors: NULL and invalid ---- */
  walden_cursor *c = (walden_cursor *)&opts;
  EXPECT(walden_cursor_open, WALDEN_INVALID_ARGUMENT, (NULL, NULL, &c));
  TRUE(c == NULL);
  EXPECT(walden_cursor_open, WALDEN_INVALID_ARGUMENT, (txn, NULL, NULL));
  EXPECT(walden_cursor_open, WALDEN_INVALID_ARGUMENT, (txn, "\xff", &c));
  EXPECT(walden_cursor_open, WALDEN_NOT_FOUND, (txn, "no table", &c));
  TRUE(c == NULL);
  const void *kp = &opts;
  size_t kl = 99;
  EXPECT(walden_cursor_first, WALDEN_INVALID_ARGUMENT, (NULL));
  EXPECT(walden_cursor_last, WALDEN_INVALID_ARGUMENT, (NULL));
  EXPECT(walden_cursor_seek, WALDEN_INVALID_ARGUMENT, (NULL, k, 3));
  EXPECT(walden_cursor_next, WALDEN_INVALID_ARGUMENT, (NULL));
  EXPECT(walden_cursor_prev, WALDEN_INVALID_ARGUMENT, (NULL));
  EXPECT(walden_cursor_key, WALDEN_INVALID_ARGUMENT, (NULL, &kp, &kl));
  EXPECT(walden_cursor_value, WALDEN_INVALID_ARGUMENT, (NULL, &kp, &kl));
  walden_cursor_close(NULL); /* no-op */

  EXPECT(walden_cursor_open, WALDEN_OK, (txn, NULL, &c));
  EXPECT(walden_cursor_key, WALDEN_INVALID_ARGUMENT, (c, NULL, &kl));
  EXPECT(walden_cursor_key, WALDEN_INVALID_ARGUMENT, (c, &kp, NULL));
  EXPECT(walden_cursor_value, WALDEN_INVALID_ARGUMENT, (c, NULL, &kl));
  EXPECT(walden_cursor_value, WALDEN_INVALID_ARGUMENT, (c, &kp, NULL));
  EXPECT(walden_cursor_key, WALDEN_DONE, (c, &kp, &kl)); /* not positioned yet */
  TRUE(kp == NULL && kl == 0);
  EXPECT(walden_cursor_next, WALDEN_DONE, (c)); /* not positioned: nothing next */
  EXPECT(walden_cursor_prev, WALDEN_DONE, (c));
  EXPECT(walden_cursor_seek, WALDEN_INVALID_ARGUMENT, (c, NULL, 3));
  EXPECT(walden_cursor_seek, WALDEN_INVALID_ARGUMENT, (c, huge_key, sizeof huge_key));
  EXPECT(walden_cursor_seek, WALDEN_DONE, (c, "zzz", 3)); /* nothing >= "zzz" */
  EXPECT(walden_cursor_seek, WALDEN_OK, (c, NULL, 0));    /* the first key */
  EXPECT(walden_cursor_key, WALDEN_OK, (c, &kp, &kl));
  TRUE(kl == 3 && memcmp(kp, k, 3) == 0);
  EXPECT(walden_cursor_value, WALDEN_OK, (c, &kp, &kl));
  TRUE(kl == 5 && memcmp(kp, v, 5) == 0);
  /* The cursor sees its transaction's later writes. */
  EXPECT(walden_put, WALDEN_OK, (txn, NULL, "kez", 3, "", 0));
  EXPECT(walden_cursor_next, WALDEN_OK, (c));
  EXPECT(walden_cursor_key, WALDEN_OK, (c, &kp, &kl));
  TRUE(kl == 3 && memcmp(kp, "kez", 3) == 0);
  EXPECT(walden_cursor_value, WALDEN_OK, (c, &kp, &kl));
  TRUE(kl == 0 && kp != NULL); /* an empty value: a valid pointer, length 0 */
  EXPECT(walden_cursor_next, WALDEN_DONE, (c));
  EXPECT(walden_cursor_value, WALDEN_DONE, (c, &kp, &kl));
  TRUE(kp == NULL && kl == 0);
  EXPECT(walden_cursor_last, WALDEN_OK, (c));
  EXPECT(walden_cursor_prev, WALDEN_OK, (c));
  EXPECT(walden_cursor_prev, WALDEN_DONE, (c));
  EXPECT(walden_cursor_first, WALDEN_OK, (c));

  /* ---- handles of the wrong kind are refused (the magic number) ---- */
  EXPECT(walden_put, WALDEN_INVALID_ARGUMENT, ((walden_txn *)c, NULL, k, 3, v, 5));
  TRUE(strstr(walden_errmsg(), "walden_cursor") != NULL);
  EXPECT(walden_cursor_first, WALDEN_INVALID_ARGUMENT, ((walden_cursor *)txn));
  EXPECT(walden_begin, WALDEN_INVALID_ARGUMENT, ((walden_db *)txn, 0, &txn2));
  EXPECT(walden_stats_get, WALDEN_INVALID_ARGUMENT, ((walden_db *)c, &(walden_stats){0}));
  EXPECT(walden_commit, WALDEN_INVALID_ARGUMENT, ((walden_txn *)c)); /* the registry knows it is a cursor */
  EXPECT(walden_close, WALDEN_INVALID_ARGUMENT, ((walden_db *)txn));
  walden_abort((walden_txn *)db); /* refused: nothing happens */
  MESSAGE_FROM("walden_abort");
  walden_cursor_close((walden_cursor *)txn); /* refused */
  MESSAGE_FROM("walden_cursor_close");

  /* ---- closing a database with an open transaction ---- */
  EXPECT(walden_close, WALDEN_BUSY, (db)); /* stays open and usable */

  /* ---- ending a transaction invalidates its cursors ---- */
  EXPECT(walden_commit, WALDEN_OK, (txn));
  EXPECT(walden_cursor_next, WALDEN_INVALID_ARGUMENT, (c));
  TRUE(strstr(walden_errmsg(), "transaction has ended") != NULL);
  EXPECT(walden_cursor_first, WALDEN_INVALID_ARGUMENT, (c));
  EXPECT(walden_cursor_last, WALDEN_INVALID_ARGUMENT, (c));
  EXPECT(walden_cursor_seek, WALDEN_INVALID_ARGUMENT, (c, k, 3));
  EXPECT(walden_cursor_prev, WALDEN_INVALID_ARGUMENT, (c));
  EXPECT(walden_cursor_key, WALDEN_INVALID_ARGUMENT, (c, &kp, &kl));
  EXPECT(walden_cursor_value, WALDEN_INVALID_ARGUMENT, (c, &kp, &kl));
  walden_cursor_close(c); /* still required, and allowed */

  /* ---- double frees are detected (no freed memory is read) ---- */
  EXPECT(walden_commit, WALDEN_INVALID_ARGUMENT, (txn));
  TRUE(strstr(walden_errmsg(), "not a live walden_txn") != NULL);
  walden_abort(txn);
  MESSAGE_FROM("walden_abort");
  walden_cursor_close(c);
  MESSAGE_FROM("walden_cursor_close");

  /* ---- read transactions ---- */
  EXPECT(walden_begin, WALDEN_OK, (db, 0, &txn));
  EXPECT(walden_put, WALDEN_READ_ONLY, (txn, NULL, k, 3, v, 5));
  EXPECT(walden_put, WALDEN_READ_ONLY, (txn, "new table", k, 3, v, 5));
  EXPECT(walden_delete, WALDEN_READ_ONLY, (txn, NULL, k, 3));
  EXPECT(walden_get, WALDEN_OK, (txn, NULL, k, 3, buf, sizeof buf, &len));
  TRUE(len == 5 && memcmp(buf, v, 5) == 0);
  EXPECT(walden_cursor_open, WALDEN_OK, (txn, "t", &c));
  walden_cursor *c2 = NULL;
  EXPECT(walden_cursor_open, WALDEN_OK, (txn, "t", &c2));
  EXPECT(walden_cursor_last, WALDEN_OK, (c2));
  walden_cursor_close(c2); /* closed before its transaction ends */
  walden_abort(txn);       /* c is still open: invalidated */
  EXPECT(walden_cursor_first, WALDEN_INVALID_ARGUMENT, (c));
  walden_cursor_close(c);

  /* ---- an empty table ---- */
  EXPECT(walden_begin, WALDEN_OK, (db, 1, &txn));
  EXPECT(walden_put, WALDEN_OK, (txn, "empty", k, 3, v, 5));
  EXPECT(walden_delete, WALDEN_OK, (txn, "empty", k, 3));
  EXPECT(walden_cursor_open, WALDEN_OK, (txn, "empty", &c));
  EXPECT(walden_cursor_first, WALDEN_DONE, (c));
  EXPECT(walden_cursor_last, WALDEN_DONE, (c));
  walden_cursor_close(c);
  walden_abort(txn); /* discards table "empty" */
  EXPECT(walden_begin, WALDEN_OK, (db, 0, &txn));
  EXPECT(walden_cursor_open, WALDEN_NOT_FOUND, (txn, "empty", &c));
  EXPECT(walden_commit, WALDEN_OK, (txn));

  /* ---- checkpoint and stats ---- */
  uint64_t frames = 77, backfilled = 77;
  walden_stats st;
  EXPECT(walden_checkpoint, WALDEN_INVALID_ARGUMENT, (NULL, WALDEN_CHECKPOINT_PASSIVE, &frames, &backfilled));
  EXPECT(walden_checkpoint, WALDEN_INVALID_ARGUMENT, (db, (walden_checkpoint_mode)4, &frames, &backfilled));
  EXPECT(walden_checkpoint, WALDEN_INVALID_ARGUMENT, (db, (walden_checkpoint_mode)-1, &frames, &backfilled));
  TRUE(frames == 77 && backfilled == 77); /* not written on failure */
  EXPECT(walden_checkpoint, WALDEN_OK, (db, WALDEN_CHECKPOINT_PASSIVE, NULL, NULL)); /* outputs are optional */
  EXPECT(walden_checkpoint, WALDEN_OK, (db, WALDEN_CHECKPOINT_FULL, &frames, NULL));
  EXPECT(walden_checkpoint, WALDEN_OK, (db, WALDEN_CHECKPOINT_RESTART, NULL, &backfilled));
  EXPECT(walden_checkpoint, WALDEN_OK, (db, WALDEN_CHECKPOINT_TRUNCATE, &frames, &backfilled));
  TRUE(frames == 0);
  EXPECT(walden_begin, WALDEN_OK, (db, 0, &txn)); /* a reader holds a snapshot */
  EXPECT(walden_begin, WALDEN_OK, (db, 1, &txn2));
  EXPECT(walden_put, WALDEN_OK, (txn2, NULL, "k2", 2, v, 5));
  EXPECT(walden_commit, WALDEN_OK, (txn2));
  EXPECT(walden_checkpoint, WALDEN_BUSY, (db, WALDEN_CHECKPOINT_TRUNCATE, &frames, &backfilled)); /* timeout 0 */
  EXPECT(walden_commit, WALDEN_OK, (txn));
  EXPECT(walden_stats_get, WALDEN_INVALID_ARGUMENT, (NULL, &st));
  EXPECT(walden_stats_get, WALDEN_INVALID_ARGUMENT, (db, NULL));
  EXPECT(walden_stats_get, WALDEN_OK, (db, &st));
  TRUE(st.commits == 2 && st.checkpoints >= 4 && st.db_pages > 0);

  /* ---- close, double close ---- */
  EXPECT(walden_close, WALDEN_OK, (db));
  EXPECT(walden_close, WALDEN_INVALID_ARGUMENT, (db));
  TRUE(strstr(walden_errmsg(), "not a live walden_db") != NULL);

  /* ---- a read-only database ---- */
  opts.read_only = 1;
  EXPECT(walden_open, WALDEN_OK, (path, &opts, &db));
  EXPECT(walden_begin, WALDEN_READ_ONLY, (db, 1, &txn));
  TRUE(txn == NULL);
  EXPECT(walden_checkpoint, WALDEN_READ_ONLY, (db, WALDEN_CHECKPOINT_PASSIVE, NULL, NULL));
  EXPECT(walden_begin, WALDEN_OK, (db, 0, &txn));
  EXPECT(walden_get, WALDEN_OK, (txn, NULL, "k2", 2, buf, sizeof buf, &len));
  walden_abort(txn);
  EXPECT(walden_close, WALDEN_OK, (db));

  /* ---- a file that is not a database ---- */
  char junk[4096];
  snprintf(junk, sizeof junk, "%s/junk.db", argv[1]);
  FILE *f = fopen(junk, "wb");
  if (f) {
    for (int i = 0; i < 8192; i++) fputc(i * 7, f);
    fclose(f);
  }
  EXPECT(walden_open, WALDEN_CORRUPT, (junk, NULL, &db));
  TRUE(db == NULL);

  if (failures) {
    printf("api_misuse: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("api_misuse: %d checks passed\n", checks);
  return 0;
}
