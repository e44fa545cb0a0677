/* Two C processes on one database: the parent creates a bank of 4
 * accounts (1000 in all), then forks a writer that makes N transfers while
 * the parent reads snapshots until the writer exits, checking on each that
 * the balances sum to 1000 and that the transfer count never goes back.
 * Run by ffi/tests/c_programs.rs, also under ASan+UBSan and valgrind.
 *
 * Usage: two_processes DB N. Prints "two_processes: ok, R snapshots, N
 * transfers" and exits 0, or prints what failed and exits 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "walden.h"

static void die(const char *who, const char *what, walden_rc rc) {
  printf("%s: %s: %s: %s\n", who, what, walden_rc_name(rc), walden_errmsg());
  exit(1);
}

static uint64_t get_u64(const char *who, walden_txn *t, const char *key) {
  uint64_t v = 0;
  size_t len = 0;
  walden_rc rc = walden_get(t, "bank", key, strlen(key), &v, sizeof v, &len);
  if (rc != WALDEN_OK || len != sizeof v) die(who, key, rc);
  return v;
}

static void put_u64(const char *who, walden_txn *t, const char *key, uint64_t v) {
  walden_rc rc = walden_put(t, "bank", key, strlen(key), &v, sizeof v);
  if (rc != WALDEN_OK) die(who, key, rc);
}

static const char *ACCOUNTS[4] = {"a0", "a1", "a2", "a3"};

static walden_db *open_db(const char *who, const char *path) {
  walden_options o;
  walden_options_default(&o);
  o.sync = WALDEN_SYNC_NORMAL;
  o.autocheckpoint_frames = 50;
  walden_db *db = NULL;
  walden_rc rc = walden_open(path, &o, &db);
  if (rc != WALDEN_OK) die(who, "walden_open", rc);
  return db;
}

static int writer(const char *path, unsigned n) {
  walden_db *db = open_db("writer", path);
  uint64_t x = 88172645463325252ull;
  for (unsigned i = 0; i < n; i++) {
    walden_txn *t = NULL;
    walden_rc rc = walden_begin(db, 1, &t);
    if (rc != WALDEN_OK) die("writer", "walden_begin", rc);
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const char *from = ACCOUNTS[x % 4], *to = ACCOUNTS[(x >> 8) % 4];
    uint64_t f = get_u64("writer", t, from);
    uint64_t amount = f ? (x >> 16) % (f + 1) : 0;
    put_u64("writer", t, from, f - amount);
    put_u64("writer", t, to, get_u64("writer", t, to) + amount);
    put_u64("writer", t, "count", get_u64("writer", t, "count") + 1);
    rc = walden_commit(t);
    if (rc != WALDEN_OK) die("writer", "walden_commit", rc);
  }
  walden_rc rc = walden_close(db);
  if (rc != WALDEN_OK) die("writer", "walden_close", rc);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: two_processes DB N\n");
    return 2;
  }
  const char *path = argv[1];
  unsigned n = (unsigned)strtoul(argv[2], NULL, 10);
  walden_db *db = open_db("parent", path);
  walden_txn *t = NULL;
  walden_rc rc = walden_begin(db, 1, &t);
  if (rc != WALDEN_OK) die("parent", "walden_begin", rc);
  for (int i = 0; i < 4; i++) put_u64("parent", t, ACCOUNTS[i], 250);
  put_u64("parent", t, "count", 0);
  rc = walden_commit(t);
  if (rc != WALDEN_OK) die("parent", "walden_commit", rc);
  /* Nothing of this handle crosses the fork: each process opens its own. */
  rc = walden_close(db);
  if (rc != WALDEN_OK) die("parent", "walden_close", rc);
  fflush(stdout);

  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) _exit(writer(path, n));
  db = open_db("reader", path);
  unsigned long snapshots = 0;
  uint64_t last = 0;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    rc = walden_begin(db, 0, &t);
    if (rc != WALDEN_OK) die("reader", "walden_begin", rc);
    uint64_t sum = 0;
    for (int i = 0; i < 4; i++) sum += get_u64("reader", t, ACCOUNTS[i]);
    uint64_t count = get_u64("reader", t, "count");
    walden_abort(t);
    snapshots++;
    if (sum != 1000) {
      printf("reader: balances sum to %llu at count %llu\n", (unsigned long long)sum, (unsigned long long)count);
      return 1;
    }
    if (count < last) {
      printf("reader: count went back from %llu to %llu\n", (unsigned long long)last, (unsigned long long)count);
      return 1;
    }
    last = count;
    if (done == pid) break;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("writer process failed (status %d)\n", status);
    return 1;
  }
  if (last != n) {
    printf("reader: %llu transfers after the writer exited, not %u\n", (unsigned long long)last, n);
    return 1;
  }
  rc = walden_close(db);
  if (rc != WALDEN_OK) die("parent", "walden_close", rc);
  printf("two_processes: ok, %lu snapshots, %u transfers\n", snapshots, n);
  return 0;
}
