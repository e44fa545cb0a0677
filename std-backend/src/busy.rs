//! The one waiting policy of Walden.
//!
//! The core never waits: a lock another connection holds is `Busy` at
//! once, and a wal-index that keeps changing under a reader is retried a
//! bounded number of times without sleeping, then `Protocol`. Every wait is
//! here, in the std backend, and [`crate::Options::busy_timeout`] is its
//! only bound, for every call that can wait:
//!
//! - [`crate::Database::open`]: another process is recovering the database
//!   or closing it (it holds the `-shm` file's DMS lock exclusively), or, in
//!   the exclusive locking mode, another handle holds the database file;
//! - [`crate::Database::begin_write`]: another writer holds the write lock,
//!   or old readers hold the WAL at its soft limit (the checkpoint
//!   starvation policy);
//! - [`crate::Database::begin_read`]: commits and checkpoints kept changing
//!   the wal-index (`Protocol`);
//! - [`crate::Database::checkpoint`] in modes other than `Passive`: the
//!   write lock, or readers that still need frames or the WAL.
//!
//! - [`crate::WriteTxn::commit`]: another connection is syncing the WAL;
//!   its sync, or the next, covers this commit (group commit).
//!
//! Between attempts the thread yields, then sleeps 10 µs doubling to 10 ms
//! (200 µs for a commit waiting for a sync), as SQLite's busy handler and
//! `walTryBeginRead` back off, never past the deadline. With a timeout of zero nothing sleeps: the call fails at the
//! first `Busy` (`Protocol`). The C API and the CLI add no retries of their
//! own.

use std::time::{Duration, Instant};

/// Yields before the first sleeps.
const YIELDS: u32 = 3;
/// First sleep, and the longest.
const FIRST_SLEEP: Duration = Duration::from_micros(10);
const MAX_SLEEP: Duration = Duration::from_millis(10);

/// The longest sleep of a commit waiting for another connection's sync
/// of the WAL: a sync takes about a millisecond, so a waiter looks again
/// soon (a commit's latency stays near two syncs).
const COMMIT_MAX_SLEEP: Duration = Duration::from_micros(200);

/// The wait of one call: a deadline and the current back-off.
pub(crate) struct Wait {
    deadline: Instant,
    attempts: u32,
    sleep: Duration,
    max_sleep: Duration,
}

impl Wait {
    /// A wait that ends `timeout` from now.
    pub(crate) fn new(timeout: Duration) -> Wait {
        Wait {
            deadline: Instant::now() + timeout,
            attempts: 0,
            sleep: FIRST_SLEEP,
            max_sleep: MAX_SLEEP,
        }
    }

    /// The wait of a commit for the sync that covers it (group commit):
    /// sleeps of at most 200 µs.
    pub(crate) fn for_commit(timeout: Duration) -> Wait {
        Wait {
            max_sleep: COMMIT_MAX_SLEEP,
            ..Wait::new(timeout)
        }
    }

    /// Pauses before the next attempt: `false` (and no pause) once the
    /// deadline has passed.
    pub(crate) fn pause(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        self.attempts += 1;
        if self.attempts <= YIELDS {
            std::thread::yield_now();
        } else {
            std::thread::sleep(self.sleep.min(self.deadline - now));
            self.sleep = (self.sleep * 2).min(self.max_sleep);
        }
        true
    }

    /// Runs `f` until it returns something other than an error `retry`
    /// accepts, pausing between attempts, until the deadline.
    pub(crate) fn retry<T, E>(&mut self, mut f: impl FnMut() -> Result<T, E>, retry: impl Fn(&E) -> bool) -> Result<T, E> {
        loop {
            match f() {
                Err(e) if retry(&e) && self.pause() => {}
                r => return r,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_timeout_never_pauses() {
        let mut w = Wait::new(Duration::ZERO);
        assert!(!w.pause());
        let mut calls = 0;
        let r: Result<(), ()> = w.retry(
            || {
                calls += 1;
                Err(())
            },
            |_| true,
        );
        assert_eq!((r, calls), (Err(()), 1));
    }

    #[test]
    fn waits_until_the_deadline_then_gives_up() {
        let t = Instant::now();
        let mut w = Wait::new(Duration::from_millis(30));
        let r: Result<(), u8> = w.retry(|| Err(1), |&e| e == 1);
        assert_eq!(r, Err(1));
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(30), "{took:?}");
    }

    #[test]
    fn stops_at_an_error_it_does_not_retry() {
        let mut w = Wait::new(Duration::from_secs(60));
        let mut calls = 0;
        let r: Result<(), u8> = w.retry(
            || {
                calls += 1;
                Err(if calls < 3 { 1 } else { 2 })
            },
            |&e| e == 1,
        );
        assert_eq!((r, calls), (Err(2), 3));
    }
}
