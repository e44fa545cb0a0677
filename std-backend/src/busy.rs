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
//! and a commit waiting for a sync is woken by the end of the sync of this
//! process that covers it (`Gate::turn`); while another process holds
//! the sync lock, this process's next syncer looks again every 200 µs.
//! With a timeout of zero nothing sleeps: the call fails at the first
//! `Busy` (`Protocol`). The C API and the CLI add no retries of their own.

use std::time::{Duration, Instant};

/// Yields before the first sleeps.
const YIELDS: u32 = 3;
/// First sleep, and the longest.
const FIRST_SLEEP: Duration = Duration::from_micros(10);
const MAX_SLEEP: Duration = Duration::from_millis(10);
/// The longest a committer sleeps for a sync of this process before it
/// looks again (a safety net: the end of the sync wakes it).
pub(crate) const GROUP_WAIT: Duration = Duration::from_millis(2);
/// How many more syncs a committer whose sync covered its own commit runs
/// for the commits appended meanwhile, before it returns.
pub(crate) const FLUSH_AGAIN: usize = 1;
/// How often a committer looks while another process syncs the WAL.
pub(crate) const SYNC_POLL: Duration = Duration::from_micros(200);

/// The write gate of one process: its writers queue here (a mutex and a
/// condition variable, so the hand-off wakes the next at once) before they
/// try the wal-index's write lock, which then only other processes
/// contend for; and the group commit of its committers (see
/// [`Gate::turn`]). Waits are bounded by the busy timeout as every other.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    held: std::sync::Mutex<Queue>,
    free: std::sync::Condvar,
    group: std::sync::Mutex<Group>,
    /// Committers waiting for flush `n` wait on `flushed[n % 2]`: the end
    /// of flush `n` wakes them, and not those that need flush `n + 1`.
    flushed: [std::sync::Condvar; 2],
}

/// The write gate's state.
#[derive(Debug, Default)]
struct Queue {
    held: bool,
    /// Writers waiting for the gate (no wake-up call without one).
    waiting: u32,
}

/// The group commit of one process: who flushes (syncs and publishes the
/// WAL), and how many flushes ended.
#[derive(Debug, Default)]
struct Group {
    /// Flushes ended by this process's committers.
    done: u64,
    /// A committer of this process is flushing: flush `done + 1`.
    flushing: bool,
    /// Committers waiting, by the parity of the flush they wait for.
    waiting: [u32; 2],
}

/// What a waiting committer does next (from [`Gate::turn`]).
#[derive(Debug, PartialEq)]
pub(crate) enum Turn {
    /// Flush: no committer of this process is flushing. Call
    /// [`Gate::end_flush`] after.
    Flush,
    /// Look whether a published header covers the commit: the flush it
    /// waited for ended (or the wait timed out).
    Look,
}

impl Gate {
    /// Takes the gate, waiting up to `timeout`; `false` when it stayed held.
    pub(crate) fn acquire(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Ok(mut q) = self.held.lock() else { return false };
        while q.held {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            q.waiting += 1;
            let r = self.free.wait_timeout(q, left);
            q = match r {
                Ok((mut g, _)) => {
                    g.waiting -= 1;
                    g
                }
                Err(_) => return false,
            };
        }
        q.held = true;
        true
    }

    /// Releases the gate (taken with [`Gate::acquire`]).
    pub(crate) fn release(&self) {
        if let Ok(mut q) = self.held.lock() {
            q.held = false;
            if q.waiting > 0 {
                self.free.notify_one();
            }
        }
    }

    /// The flush of this process whose end a commit appended just now
    /// waits for (the ticket for [`Gate::turn`]): the next one, or the one
    /// after if a flush is under way (it may have read the tip before the
    /// commit was appended).
    pub(crate) fn ticket(&self) -> u64 {
        self.group.lock().map_or(0, |g| g.done + 1 + u64::from(g.flushing))
    }

    /// The ticket of a commit that looked after flush `ticket` and found
    /// itself not covered yet: the next flush to start, unless `ticket` has
    /// not ended yet (a wait that timed out).
    pub(crate) fn next_ticket(&self, ticket: u64) -> u64 {
        self.group.lock().map_or(ticket, |g| {
            if g.done >= ticket {
                g.done + 1 + u64::from(g.flushing)
            } else {
                ticket
            }
        })
    }

    /// Group commit, as PostgreSQL's WAL flush: a committer whose commit
    /// is appended but not yet covered by a sync flushes if no other
    /// committer of this process is flushing (one sync then covers every
    /// commit appended before it), else sleeps until flush `ticket` ended
    /// and then looks whether it was covered. The end of a flush wakes the
    /// committers it covered and one committer that needs the next flush,
    /// to lead it; the others sleep on, so each committer wakes about once.
    /// A committer waits only while a flush of this process runs, whose
    /// end wakes it; `at_most` bounds the wait all the same (then `Look`).
    pub(crate) fn turn(&self, ticket: u64, at_most: Duration) -> Turn {
        let Ok(mut g) = self.group.lock() else { return Turn::Look };
        let deadline = Instant::now() + at_most;
        loop {
            if g.done >= ticket {
                return Turn::Look;
            }
            if !g.flushing {
                g.flushing = true;
                return Turn::Flush;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Turn::Look;
            }
            let k = (ticket % 2) as usize;
            g.waiting[k] += 1;
            let r = self.flushed[k].wait_timeout(g, left);
            g = match r {
                Ok((mut g, _)) => {
                    g.waiting[k] -= 1;
                    g
                }
                Err(_) => return Turn::Look,
            };
        }
    }

    /// Ends a flush ([`Turn::Flush`], whatever its result): wakes the
    /// committers that waited for it. With `again`, when committers wait
    /// for the next flush, the caller leads that one at once (`true`: call
    /// `end_flush` again after it), which saves the wake-up of a sleeping
    /// leader between two syncs; else one of them is woken to lead it.
    pub(crate) fn end_flush(&self, again: bool) -> bool {
        let Ok(mut g) = self.group.lock() else { return false };
        g.done += 1;
        let k = (g.done % 2) as usize;
        if g.waiting[k] > 0 {
            self.flushed[k].notify_all();
        }
        let next = g.waiting[1 - k] > 0;
        g.flushing = again && next;
        if next && !again {
            self.flushed[1 - k].notify_one();
        }
        g.flushing
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
    use std::sync::Arc;

    const LONG: Duration = Duration::from_secs(20);

    #[test]
    fn one_committer_flushes_while_the_others_wait_for_its_end() {
        let g = Arc::new(Gate::default());
        // A commit appended while nobody flushes waits for the next flush.
        assert_eq!(g.ticket(), 1);
        assert_eq!(g.turn(1, LONG), Turn::Flush);
        // Appended during that flush: it may have read the tip before, so
        // the commit waits for the flush after it.
        assert_eq!(g.ticket(), 2);
        // A committer that appended before the flush began (ticket 1) and
        // one that appended during it (ticket 2) sleep.
        let covered = {
            let g = g.clone();
            std::thread::spawn(move || (g.turn(1, LONG), Instant::now()))
        };
        let next = {
            let g = g.clone();
            std::thread::spawn(move || g.turn(2, LONG))
        };
        while g.group.lock().map_or(0, |g| g.waiting[0] + g.waiting[1]) < 2 {
            std::thread::yield_now();
        }
        let ended = Instant::now();
        assert!(!g.end_flush(false));
        // The first looks (flush 1 covered it), the second leads flush 2,
        // both woken by the end of flush 1, not by their timeouts.
        let (t, woke) = covered.join().unwrap();
        assert_eq!(t, Turn::Look);
        assert!(woke.duration_since(ended) < LONG / 2);
        assert_eq!(next.join().unwrap(), Turn::Flush);
        assert_eq!(g.ticket(), 3);
        assert!(!g.end_flush(true), "nobody waits for flush 3: no flush again");
        assert_eq!(g.ticket(), 3);
        assert_eq!(g.turn(3, LONG), Turn::Flush);
    }

    #[test]
    fn the_syncer_flushes_again_for_the_commits_appended_meanwhile() {
        let g = Arc::new(Gate::default());
        assert_eq!(g.turn(g.ticket(), LONG), Turn::Flush);
        let t = g.ticket();
        let waiter = {
            let g = g.clone();
            std::thread::spawn(move || g.turn(t, LONG))
        };
        while g.group.lock().map_or(0, |g| g.waiting[0] + g.waiting[1]) < 1 {
            std::thread::yield_now();
        }
        // Flush 1 ends; the caller leads flush 2 at once (nobody is woken
        // to lead it), whose end wakes the waiter covered by it.
        assert!(g.end_flush(true));
        assert_eq!(g.ticket(), 3);
        assert!(!g.end_flush(true));
        assert_eq!(waiter.join().unwrap(), Turn::Look);
    }

    #[test]
    fn a_wait_is_bounded_and_a_timed_out_ticket_is_kept() {
        let g = Gate::default();
        assert_eq!(g.turn(1, LONG), Turn::Flush);
        let t = Instant::now();
        assert_eq!(g.turn(2, Duration::from_millis(20)), Turn::Look);
        assert!(t.elapsed() >= Duration::from_millis(20));
        // Not covered after a timeout: still waiting for flush 2.
        assert_eq!(g.next_ticket(2), 2);
        assert!(!g.end_flush(false));
        assert_eq!(g.next_ticket(1), 2, "flush 1 ended and flush 2 has not begun");
        assert_eq!(g.turn(2, LONG), Turn::Flush);
        assert_eq!(g.next_ticket(1), 3, "flush 2 runs: the next to begin is 3");
    }

    #[test]
    fn the_gate_admits_one_writer_at_a_time() {
        let g = Arc::new(Gate::default());
        assert!(g.acquire(LONG));
        assert!(!g.acquire(Duration::from_millis(5)));
        let other = {
            let g = g.clone();
            std::thread::spawn(move || g.acquire(LONG))
        };
        while g.held.lock().map_or(0, |q| q.waiting) < 1 {
            std::thread::yield_now();
        }
        g.release();
        assert!(other.join().unwrap());
        assert!(!g.acquire(Duration::ZERO));
        g.release();
        assert!(g.acquire(Duration::ZERO));
    }

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
