// threads.cpp - Walden from C++: RAII wrappers around the C handles, used by
// two threads at once, one writer and one reader.
//
//   threads DB [TRANSFERS]
//
// Table "accounts" holds ten balances that always sum to 1000, and the
// default table holds "version", the number of the last transfer. The
// writer makes TRANSFERS transfers (default 2000), each one write
// transaction that moves an amount between two accounts and bumps the
// version. The reader meanwhile takes snapshot after snapshot; in each it
// reads the version and sums the balances with a cursor, waits until the
// writer has committed further, and reads everything again: a snapshot must
// not change, its balances must sum to 1000, and versions must never go
// backwards from one snapshot to the next. Exits 1 on any violation.
//
// The wrappers show the ownership rules of walden.h: Db, Txn and Cursor are
// move-only; ~Txn aborts a transaction that was not committed; commit()
// releases the handle whatever walden_commit returns (it always frees it);
// a Cursor must not outlive its Txn's use, though ~Cursor after the Txn has
// ended is still safe (walden_cursor_close is allowed then).
#include "walden.h"

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace walden {

// A failed call: the code, and the thread's message at the time.
class Error : public std::runtime_error {
 public:
  Error(const char *what, walden_rc rc)
      : std::runtime_error(std::string(what) + ": " + walden_rc_name(rc) + ": " + walden_errmsg()), rc_(rc) {}
  walden_rc rc() const { return rc_; }

 private:
  walden_rc rc_;
};

inline void check(walden_rc rc, const char *what) {
  if (rc != WALDEN_OK) throw Error(what, rc);
}

class Db {
 public:
  Db(const std::string &path, const walden_options &opts) { check(walden_open(path.c_str(), &opts, &db_), "walden_open"); }
  ~Db() {
    if (db_) walden_close(db_);  // WALDEN_BUSY if a Txn is still alive: end those first
  }
  Db(const Db &) = delete;
  Db &operator=(const Db &) = delete;
  Db(Db &&o) noexcept : db_(std::exchange(o.db_, nullptr)) {}

  walden_db *get() const { return db_; }  // shared by threads: walden_db is thread-safe

  walden_stats stats() const {
    walden_stats s;
    check(walden_stats_get(db_, &s), "walden_stats_get");
    return s;
  }

 private:
  walden_db *db_ = nullptr;
};

class Txn {
 public:
  Txn(const Db &db, bool write) { check(walden_begin(db.get(), write ? 1 : 0, &txn_), "walden_begin"); }
  ~Txn() { walden_abort(txn_); }  // NULL (moved from, or committed) is a no-op
  Txn(const Txn &) = delete;
  Txn &operator=(const Txn &) = delete;
  Txn(Txn &&o) noexcept : txn_(std::exchange(o.txn_, nullptr)) {}

  void commit() {
    // walden_commit frees the transaction even when it fails.
    check(walden_commit(std::exchange(txn_, nullptr)), "walden_commit");
  }

  std::optional<std::string> get(std::string_view key, const char *table = nullptr) const {
    char buf[64];
    size_t len = 0;
    walden_rc rc = walden_get(txn_, table, key.data(), key.size(), buf, sizeof buf, &len);
    if (rc == WALDEN_NOT_FOUND) return std::nullopt;
    if (rc == WALDEN_BUFFER_TOO_SMALL) {
      std::string big(len, '\0');
      check(walden_get(txn_, table, key.data(), key.size(), big.data(), big.size(), &len), "walden_get");
      return big;
    }
    check(rc, "walden_get");
    return std::string(buf, len);
  }

  void put(std::string_view key, std::string_view val, const char *table = nullptr) {
    check(walden_put(txn_, table, key.data(), key.size(), val.data(), val.size()), "walden_put");
  }

  walden_txn *get() const { return txn_; }

 private:
  walden_txn *txn_ = nullptr;
};

class Cursor {
 public:
  Cursor(const Txn &txn, const char *table) { check(walden_cursor_open(txn.get(), table, &c_), "walden_cursor_open"); }
  ~Cursor() { walden_cursor_close(c_); }
  Cursor(const Cursor &) = delete;
  Cursor &operator=(const Cursor &) = delete;
  Cursor(Cursor &&o) noexcept : c_(std::exchange(o.c_, nullptr)) {}

  bool first() { return moved(walden_cursor_first(c_), "walden_cursor_first"); }
  bool next() { return moved(walden_cursor_next(c_), "walden_cursor_next"); }
  bool seek(std::string_view key) { return moved(walden_cursor_seek(c_, key.data(), key.size()), "walden_cursor_seek"); }

  // Valid until the cursor moves.
  std::string_view key() const {
    const void *p;
    size_t n;
    check(walden_cursor_key(c_, &p, &n), "walden_cursor_key");
    return {static_cast<const char *>(p), n};
  }
  std::string_view value() const {
    const void *p;
    size_t n;
    check(walden_cursor_value(c_, &p, &n), "walden_cursor_value");
    return {static_cast<const char *>(p), n};
  }

 private:
  static bool moved(walden_rc rc, const char *what) {
    if (rc == WALDEN_DONE) return false;
    check(rc, what);
    return true;
  }
  walden_cursor *c_ = nullptr;
};

}  // namespace walden

namespace {

constexpr int kAccounts = 10;
constexpr long kTotal = 1000;
const char *const kTable = "accounts";

std::string account_key(int i) {
  char k[16];
  std::snprintf(k, sizeof k, "acct:%02d", i);
  return k;
}

long to_long(std::string_view s) { return std::strtol(std::string(s).c_str(), nullptr, 10); }

struct Snapshot {
  long version = -1;
  long sum = 0;
  int accounts = 0;
  long balance[kAccounts] = {};
};

Snapshot read_snapshot(const walden::Txn &txn) {
  Snapshot s;
  auto v = txn.get("version");
  if (!v) throw std::runtime_error("no version key");
  s.version = to_long(*v);
  walden::Cursor c(txn, kTable);
  for (bool on = c.first(); on; on = c.next()) {
    if (s.accounts == kAccounts) throw std::runtime_error("too many accounts");
    if (c.key() != account_key(s.accounts)) throw std::runtime_error("unexpected key " + std::string(c.key()));
    s.balance[s.accounts] = to_long(c.value());
    s.sum += s.balance[s.accounts];
    s.accounts++;
  }
  return s;
}

bool same(const Snapshot &a, const Snapshot &b) {
  if (a.version != b.version || a.sum != b.sum || a.accounts != b.accounts) return false;
  for (int i = 0; i < kAccounts; i++)
    if (a.balance[i] != b.balance[i]) return false;
  return true;
}

std::atomic<long> committed{0};
std::atomic<bool> writer_done{false};
std::atomic<bool> failed{false};

void writer(const walden::Db &db, long transfers) {
  try {
    for (long i = 1, attempt = 1; i <= transfers; attempt++) {
      walden::Txn w(db, true);
      int from = static_cast<int>(i % kAccounts), to = static_cast<int>((i * 7 + 3) % kAccounts);
      if (from == to) to = (to + 1) % kAccounts;
      long a = to_long(w.get(account_key(from), kTable).value_or("0"));
      long b = to_long(w.get(account_key(to), kTable).value_or("0"));
      long amount = std::min(a, i % 37 + 1);
      w.put(account_key(from), std::to_string(a - amount), kTable);
      w.put(account_key(to), std::to_string(b + amount), kTable);
      w.put("version", std::to_string(i));
      if (attempt % 97 == 0) continue;  // changed our mind: ~Txn aborts, nobody sees it
      w.commit();
      committed.store(i, std::memory_order_release);
      i++;
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "writer: %s\n", e.what());
    failed = true;
  }
  writer_done = true;
}

void reader(const walden::Db &db, long *snapshots, long *overlapped) {
  try {
    long last_version = -1;
    while (!failed) {
      bool done_before = writer_done.load(std::memory_order_acquire);
      walden::Txn r(db, false);
      Snapshot a = read_snapshot(r);
      if (a.accounts != kAccounts || a.sum != kTotal)
        throw std::runtime_error("snapshot at version " + std::to_string(a.version) + " sums to " + std::to_string(a.sum));
      if (a.version < last_version) throw std::runtime_error("version went backwards");
      last_version = a.version;
      // Wait (briefly) for the writer to commit past this snapshot.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (!writer_done && committed.load(std::memory_order_acquire) <= a.version &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
      bool moved_on = committed.load(std::memory_order_acquire) > a.version;
      Snapshot b = read_snapshot(r);
      if (!same(a, b)) throw std::runtime_error("a snapshot changed while it was open");
      // A read transaction cannot write.
      try {
        r.put("version", "-1");
        throw std::runtime_error("put in a read transaction succeeded");
      } catch (const walden::Error &e) {
        if (e.rc() != WALDEN_READ_ONLY) throw;
      }
      (*snapshots)++;
      if (moved_on) (*overlapped)++;
      if (done_before) break;  // this snapshot began after the last commit
    }
    if (last_version != committed.load()) throw std::runtime_error("the last snapshot missed commits");
  } catch (const std::exception &e) {
    std::fprintf(stderr, "reader: %s\n", e.what());
    failed = true;
  }
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s DB [TRANSFERS]\n", argv[0]);
    return 2;
  }
  long transfers = argc == 3 ? std::strtol(argv[2], nullptr, 10) : 2000;
  try {
    walden_options opts;
    walden_options_default(&opts);
    opts.sync = WALDEN_SYNC_NORMAL;
    opts.autocheckpoint_frames = 64;  // checkpoints run while the reader holds snapshots
    opts.busy_timeout_ms = 5000;
    walden::Db db(argv[1], opts);
    {
      walden::Txn w(db, true);
      for (int i = 0; i < kAccounts; i++) w.put(account_key(i), std::to_string(kTotal / kAccounts), kTable);
      w.put("version", "0");
      w.commit();
    }
    long snapshots = 0, overlapped = 0;
    std::thread r(reader, std::cref(db), &snapshots, &overlapped);
    std::thread w(writer, std::cref(db), transfers);
    w.join();
    r.join();
    if (failed) return 1;
    walden_stats s = db.stats();
    long commits = committed.load();
    std::printf("writer: %ld transfers committed (every 97th attempt aborted)\n", commits);
    std::printf("reader: %ld snapshots, %ld with commits during them; the balances always summed to %ld\n", snapshots,
                overlapped, kTotal);
    std::printf("stats: %" PRIu64 " commits, %" PRIu64 " checkpoints\n", s.commits, s.checkpoints);
    if (commits < 1 || snapshots < 1 || overlapped < 1 || s.commits != static_cast<uint64_t>(commits) + 1) {
      std::fprintf(stderr, "threads: unexpected counts\n");
      return 1;
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "threads: %s\n", e.what());
    return 1;
  }
  std::puts("threads: all checks passed");
  return 0;
}
