//! `Semaphore`: a weighted, FIFO-fair counting semaphore (golang.org/x/sync/semaphore).
//!
//! The state word holds the available permits shifted left by one, and `WAITERS` in bit 0
//! while the wait queue is not empty. Invariant: `WAITERS` is set and cleared only under the
//! queue lock, and while it is set every change of the word happens under that lock. So the
//! uncontended paths are one CAS on the word, and once anyone waits, permits are granted only in
//! queue order: a release gives permits to the waiters at the head, and stops at the first one
//! it cannot satisfy, even if a later, smaller one would fit (that would starve big requests).

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex as StdMutex;

use crate::runtime::park::{self, Unparker, WaitReason};
use crate::util::lock;

const WAITERS: usize = 1;

/// A counting semaphore of `permits` permits, acquired and released in any amounts, that parks
/// goroutines (not threads) while they wait. Waiters are served in FIFO order: a waiter asking
/// for many permits at the head of the queue holds back later, smaller requests (as
/// golang.org/x/sync/semaphore's `Weighted` does).
///
/// ```
/// use goroutines::sync::{Semaphore, WaitGroup};
/// use std::sync::Arc;
///
/// goroutines::run(|| {
///     // At most 2 workers at a time.
///     let sem = Arc::new(Semaphore::new(2));
///     let wg = WaitGroup::new();
///     for _ in 0..8 {
///         sem.acquire(1);
///         wg.add(1);
///         let (sem, wg) = (sem.clone(), wg.clone());
///         goroutines::go(move || {
///             // ... work ...
///             sem.release(1);
///             wg.done();
///         });
///     }
///     wg.wait();
/// });
/// ```
pub struct Semaphore {
    /// `available << 1 | WAITERS`; see the module docs.
    state: AtomicUsize,
    /// Total permits.
    size: usize,
    /// Waiters in arrival order; the records live on the waiters' stacks.
    queue: StdMutex<VecDeque<WaiterPtr>>,
}

struct Waiter {
    n: usize,
    unparker: Unparker,
    /// Set (Release) by the releaser that granted the permits, after unlinking the record.
    woken: AtomicBool,
}

struct WaiterPtr(*const Waiter);

// SAFETY: the record stays live while queued (its owner waits for `woken`, which is set only
// after it is unqueued) and the pointer is only used under the queue lock or by the one
// releaser that unqueued it.
unsafe impl Send for WaiterPtr {}

impl Semaphore {
    /// A semaphore with `permits` permits, all available; usable in a `static`.
    ///
    /// # Panics
    /// If `permits` exceeds `isize::MAX`.
    ///
    /// ```
    /// let s = goroutines::sync::Semaphore::new(3);
    /// assert!(s.try_acquire(3));
    /// assert!(!s.try_acquire(1));
    /// ```
    #[track_caller]
    pub const fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= isize::MAX as usize,
            "semaphore: too many permits"
        );
        Semaphore {
            state: AtomicUsize::new(permits << 1),
            size: permits,
            queue: StdMutex::new(VecDeque::new()),
        }
    }

    /// Acquires `n` permits, parking (wait reason "semacquire") until they are available and
    /// every earlier waiter has been served.
    ///
    /// # Panics
    /// If `n` exceeds the semaphore's size: that acquire could never succeed (x/sync's
    /// `Acquire` would block until its context is cancelled).
    ///
    /// ```
    /// let s = goroutines::sync::Semaphore::new(4);
    /// s.acquire(3);
    /// s.release(3);
    /// ```
    #[track_caller]
    pub fn acquire(&self, n: usize) {
        if !self.try_acquire(n) {
            self.acquire_slow(n);
        }
    }

    #[cold]
    #[track_caller]
    fn acquire_slow(&self, n: usize) {
        if n > self.size {
            panic!(
                "semaphore: acquire of {n} permits exceeds the size {}",
                self.size
            );
        }
        let mut q = lock(&self.queue);
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS == 0 && s >> 1 >= n {
                // Acquire: pairs with the Release of the permits' last release.
                match self.state.compare_exchange_weak(
                    s,
                    s - (n << 1),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(cur) => s = cur,
                }
                continue;
            }
            if s & WAITERS != 0 {
                break;
            }
            match self.state.compare_exchange_weak(
                s,
                s | WAITERS,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(cur) => s = cur,
            }
        }
        let w = Waiter {
            n,
            unparker: park::current(),
            woken: AtomicBool::new(false),
        };
        q.push_back(WaiterPtr(&w));
        drop(q);
        // Acquire: pairs with the Release store of `woken` in `release`, after which the
        // permits are ours.
        while !w.woken.load(Ordering::Acquire) {
            park::park(WaitReason::Semacquire);
        }
    }

    /// Acquires `n` permits if they are available now and nobody is waiting (as x/sync's
    /// `TryAcquire`, which does not jump the queue).
    ///
    /// ```
    /// let s = goroutines::sync::Semaphore::new(1);
    /// assert!(s.try_acquire(1));
    /// assert!(!s.try_acquire(1));
    /// s.release(1);
    /// assert!(s.try_acquire(1));
    /// ```
    #[inline]
    pub fn try_acquire(&self, n: usize) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 || s >> 1 < n {
                return false;
            }
            // Acquire: pairs with the Release in `release`.
            match self.state.compare_exchange_weak(
                s,
                s - (n << 1),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(cur) => s = cur,
            }
        }
    }

    /// Releases `n` permits, granting them to waiters in FIFO order.
    ///
    /// # Panics
    /// With "semaphore: released more than held" if the available permits would exceed the
    /// size (also when `n` is so large that the sum overflows, as `release(usize::MAX)` does).
    ///
    /// ```
    /// let s = goroutines::sync::Semaphore::new(2);
    /// s.acquire(2);
    /// s.release(1);
    /// s.release(1);
    /// assert!(s.try_acquire(2));
    /// ```
    #[track_caller]
    pub fn release(&self, n: usize) {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & WAITERS == 0 {
            if (s >> 1).checked_add(n).map_or(true, |v| v > self.size) {
                panic!("semaphore: released more than held");
            }
            // Release: pairs with the Acquire of the next acquire.
            match self.state.compare_exchange_weak(
                s,
                s + (n << 1),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(cur) => s = cur,
            }
        }
        self.release_slow(n);
    }

    #[cold]
    #[track_caller]
    fn release_slow(&self, n: usize) {
        let mut q = lock(&self.queue);
        let s = self.state.load(Ordering::Relaxed);
        if s & WAITERS == 0 {
            // The queue emptied meanwhile: back to the lock-free path.
            drop(q);
            return self.release(n);
        }
        // WAITERS is set and we hold the lock: the word is ours to change (module docs).
        let mut avail = s >> 1;
        if avail.checked_add(n).map_or(true, |v| v > self.size) {
            panic!("semaphore: released more than held");
        }
        avail += n;
        let mut wake = Vec::new();
        while let Some(front) = q.front() {
            // SAFETY: queued records are live (see `WaiterPtr`), and we hold the lock.
            let want = unsafe { (*front.0).n };
            if want > avail {
                break;
            }
            avail -= want;
            wake.extend(q.pop_front());
        }
        let waiters = if q.is_empty() { 0 } else { WAITERS };
        // Release: the permits we hand back become visible to the next lock-free acquire.
        self.state.store(avail << 1 | waiters, Ordering::Release);
        drop(q);
        for w in wake {
            // SAFETY: unqueued by us; the owner waits for `woken`, so the record is live until
            // the store below. Clone the unparker first: the owner may return right after.
            let u = unsafe { (*w.0).unparker.clone() };
            // SAFETY: the record is still live (its owner waits for `woken`, and this is that
            // store); `woken` is atomic, so the owner's concurrent load is no data race.
            // Release: pairs with the waiter's Acquire load of `woken`.
            unsafe { (*w.0).woken.store(true, Ordering::Release) };
            u.unpark();
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("Semaphore")
            .field("size", &self.size)
            .field("available", &(s >> 1))
            .field("waiters", &(s & WAITERS != 0))
            .finish()
    }
}
