//! `Cond`: Go's `sync.Cond`, over this crate's `Mutex`.

use std::fmt;

use super::mutex::MutexGuard;
use super::sema::NotifyList;
use crate::runtime::park::WaitReason;

/// A condition variable: goroutines wait on it for an event, holding a [`Mutex`] that guards
/// the state the event changes. Go's `sync.Cond`.
///
/// [`wait`](Cond::wait) takes a ticket, unlocks the mutex, parks until the ticket is notified,
/// and relocks. [`signal`](Cond::signal) wakes the waiter with the oldest ticket and
/// [`broadcast`](Cond::broadcast) every waiter present, so a signal is never lost to a waiter
/// that has unlocked but not yet parked, nor stolen by one that starts waiting after it (Go's
/// notifyList). Signalling does not require holding the mutex.
///
/// As in Go, `wait` may return when the condition does not hold (another goroutine may have
/// changed the state in between), so call it in a loop:
///
/// ```
/// use goroutines::sync::{Cond, Mutex};
/// use std::sync::Arc;
///
/// goroutines::run(|| {
///     let pair = Arc::new((Mutex::new(false), Cond::new()));
///     let p2 = pair.clone();
///     goroutines::go(move || {
///         *p2.0.lock() = true;
///         p2.1.signal();
///     });
///     let (m, c) = &*pair;
///     let mut ready = m.lock();
///     while !*ready {
///         ready = c.wait(ready);
///     }
/// });
/// ```
///
/// [`Mutex`]: super::Mutex
pub struct Cond {
    notify: NotifyList,
}

impl Cond {
    /// A condition variable with no waiters; usable in a `static`.
    ///
    /// ```
    /// static C: goroutines::sync::Cond = goroutines::sync::Cond::new();
    /// C.broadcast(); // nobody waits: nothing happens
    /// ```
    pub const fn new() -> Cond {
        Cond {
            notify: NotifyList::new(),
        }
    }

    /// Unlocks the guard's mutex, parks until [`signal`](Cond::signal) or
    /// [`broadcast`](Cond::broadcast) wakes this waiter, relocks the mutex and returns the new
    /// guard. The wait reason reads "sync.Cond.Wait".
    ///
    /// ```
    /// use goroutines::sync::{Cond, Mutex};
    /// use std::sync::Arc;
    ///
    /// let state = Arc::new((Mutex::new(0), Cond::new()));
    /// let s2 = state.clone();
    /// let t = std::thread::spawn(move || {
    ///     *s2.0.lock() = 1;
    ///     s2.1.broadcast();
    /// });
    /// let mut g = state.0.lock();
    /// while *g == 0 {
    ///     g = state.1.wait(g);
    /// }
    /// t.join().unwrap();
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        // Take the ticket while still holding the mutex: a signal sent after we unlock is for
        // us (or an older waiter).
        let ticket = self.notify.add();
        let mutex = guard.mutex();
        // Unlocks the mutex.
        drop(guard);
        self.notify.wait(ticket, WaitReason::SyncCondWait);
        mutex.raw().lock(WaitReason::SyncMutexLock);
        MutexGuard::relocked(mutex)
    }

    /// Wakes one waiting goroutine, the one waiting longest, if any (Go's `Signal`).
    ///
    /// ```
    /// let c = goroutines::sync::Cond::new();
    /// c.signal(); // no waiter: nothing happens, and nothing is remembered
    /// ```
    pub fn signal(&self) {
        self.notify.notify_one();
    }

    /// Wakes every waiting goroutine (Go's `Broadcast`).
    ///
    /// ```
    /// let c = goroutines::sync::Cond::new();
    /// c.broadcast();
    /// ```
    pub fn broadcast(&self) {
        self.notify.notify_all();
    }
}

impl Default for Cond {
    fn default() -> Cond {
        Cond::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond").finish_non_exhaustive()
    }
}
