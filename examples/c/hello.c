/* hello.c - the C example of the README, verbatim: open, put in a write
 * transaction, commit, read it back, close. Usage: hello DB */
#include <stdio.h>
#include <walden.h>

int main(int argc, char **argv) {
  walden_db *db;
  walden_txn *txn;
  char value[64];
  size_t len;
  if (argc != 2 || walden_open(argv[1], NULL, &db) != WALDEN_OK) {
    fprintf(stderr, "hello: %s\n", argc == 2 ? walden_errmsg() : "usage: hello DB");
    return 1;
  }
  if (walden_begin(db, 1, &txn) != WALDEN_OK                                     /* 1: write */
      || walden_put(txn, "weather", "EWR 2013-01-01T06", 17, "39.02", 5) != WALDEN_OK
      || walden_commit(txn) != WALDEN_OK                                          /* durable, frees txn */
      || walden_begin(db, 0, &txn) != WALDEN_OK                                  /* 0: a snapshot */
      || walden_get(txn, "weather", "EWR 2013-01-01T06", 17, value, sizeof value, &len) != WALDEN_OK) {
    fprintf(stderr, "hello: %s\n", walden_errmsg());
    return 1;
  }
  printf("walden %s: EWR 2013-01-01T06 = %.*s\n", walden_version(), (int)len, value);
  walden_commit(txn); /* ends the read transaction */
  return walden_close(db) == WALDEN_OK ? 0 : 1;
}
