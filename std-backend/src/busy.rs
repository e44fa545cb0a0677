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
//!   starvation policy), or the wal-index header is torn under a publisher
//!   that was preempted between its two copies (`Protocol`, as in
//!   `begin_read`; seen with 16 committing threads on 2 cores);
//! - [`crate::Database::begin_read`]: commits and checkpoints kept changing
//!   the wal-index (`Protocol`);
//! - [`crate::Database::checkpoint`] in modes other than `Passive`: the
//!   write lock, or readers that still need frames or the WAL.
//!
//! - [`crate::WriteTxn::commit`]: another connection is syncing the WAL;
//!   its sync, or the next, covers this commit (group commit).
//!
//! Between attempts the thread yields, then sleeps 10 µs doubling to 10 ms,
//! as SQLite's busy handler and `walTryBeginRead` back off, never past the
//! deadline; writers of one handle queue on its `Gate` (woken at once),
//! and a commit waiting for a sync is woken by this process's next sync or
//! looks again every 200 µs. With a timeout of zero nothing sleeps: the call fails at the
//! first `Busy` (`Protocol`). The C API and the CLI add no retries of their
//! own.

use std::time::{Duration, Instant};

/// Yields before the first sleeps.
const YIELDS: u32 = 3;
/// First sleep, and the longest.
const FIRST_SLEEP: Duration = Duration::from_micros(10);
const MAX_SLEEP: Duration = Duration::from_millis(10);

/// The write gate of one process: its writers queue here (a mutex and a
/// condition variable, so the hand-off wakes the next at once) before they
/// try the wal-index's write lock, which then only other processes
/// contend for; and the signal of a completed sync, which wakes the
/// commits of this process waiting for it (group commit). Waits are bounded
/// by the busy timeout as every other.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    held: std::sync::Mutex<bool>,
    free: std::sync::Condvar,
    synced: std::sync::Mutex<u64>,
    sync_done: std::sync::Condvar,
}

impl Gate {
    /// Takes the gate, waiting up to `timeout`; `false` when it stayed held.
    pub(crate) fn acquire(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Ok(mut held) = self.held.lock() else { return false };
        while *held {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            held = match self.free.wait_timeout(held, left) {
                Ok((g, _)) => g,
                Err(_) => return false,
            };
        }
        *held = true;
        true
    }

    /// Releases the gate (taken with [`Gate::acquire`]).
    pub(crate) fn release(&self) {
        if let Ok(mut held) = self.held.lock() {
            *held = false;
            self.free.notify_one();
        }
    }

    /// A sync of the WAL completed: wakes the waiting commits.
    pub(crate) fn synced(&self) {
        if let Ok(mut n) = self.synced.lock() {
            *n = n.wrapping_add(1);
            self.sync_done.notify_all();
        }
    }

    /// Waits until the next [`Gate::synced`] or for `at_most` (a sync by
    /// another process is seen by polling).
    pub(crate) fn wait_sync(&self, at_most: Duration) {
        if let Ok(n) = self.synced.lock() {
            let seen = *n;
            let _ = self.sync_done.wait_timeout_while(n, at_most, |n| *n == seen);
        }
    }
}

/// The wait of one call: a deadline and the current back-off.
pub(crate) struct Wait {
    deadline: Instant,
    attempts: u32,
    sleep: Duration,
}

impl Wait {
    /// A wait that ends `timeout` from now.
    pub(crate) fn new(timeout: Duration) -> Wait {
        Wait {
            deadline: Instant::now() + timeout,
            attempts: 0,
            sleep: FIRST_SLEEP,
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
            self.sleep = (self.sleep * 2).min(MAX_SLEEP);
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
