//! `Once`: Go's `sync.Once`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use super::mutex::RawMutex;
use crate::runtime::park::WaitReason;

/// Runs a function exactly once: Go's `sync.Once`.
///
/// Callers that arrive while the first call runs park (wait reason "sync.Once") until it
/// returns, and then return without calling their own function. As in Go, a call whose function
/// panics counts as done: the panic propagates to that caller, later callers return at once and
/// [`is_completed`](Once::is_completed) is true (no poisoning, unlike `std::sync::Once`).
///
/// The completed fast path is one atomic load.
///
/// ```
/// use goroutines::sync::Once;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static INIT: Once = Once::new();
/// static CALLS: AtomicUsize = AtomicUsize::new(0);
/// goroutines::run(|| {
///     let hs: Vec<_> = (0..8)
///         .map(|_| goroutines::go(|| INIT.call_once(|| { CALLS.fetch_add(1, Ordering::Relaxed); })))
///         .collect();
///     hs.into_iter().for_each(|h| h.join().unwrap());
/// });
/// assert_eq!(CALLS.load(Ordering::Relaxed), 1);
/// ```
pub struct Once {
    /// Set once the first call has returned or panicked.
    done: AtomicBool,
    /// Held while the first call runs; later callers queue on it.
    m: RawMutex,
}

impl Once {
    /// A `Once` that has not run; usable in a `static`.
    ///
    /// ```
    /// static O: goroutines::sync::Once = goroutines::sync::Once::new();
    /// assert!(!O.is_completed());
    /// ```
    pub const fn new() -> Once {
        Once {
            done: AtomicBool::new(false),
            m: RawMutex::new(),
        }
    }

    /// Calls `f` if no call of `call_once` on this `Once` has run yet; otherwise waits for the
    /// running one to finish (if any) and returns. Calling `call_once` on the same `Once` from
    /// inside `f` deadlocks, as in Go.
    ///
    /// ```
    /// let o = goroutines::sync::Once::new();
    /// let mut n = 0;
    /// o.call_once(|| n += 1);
    /// o.call_once(|| n += 1);
    /// assert_eq!(n, 1);
    /// ```
    #[inline]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        // Acquire: pairs with the Release store in `Finish::drop`, so `f`'s effects are seen.
        if !self.done.load(Ordering::Acquire) {
            self.call_slow(f);
        }
    }

    #[cold]
    fn call_slow<F: FnOnce()>(&self, f: F) {
        self.m.lock(WaitReason::SyncOnce);
        // Declared first, dropped last: unlock after `done` is set, even if `f` panics.
        let _unlock = Unlock(&self.m);
        if !self.done.load(Ordering::Relaxed) {
            let _finish = Finish(&self.done);
            f();
        }
    }

    /// Whether a call has finished (returned or panicked).
    ///
    /// ```
    /// let o = goroutines::sync::Once::new();
    /// o.call_once(|| {});
    /// assert!(o.is_completed());
    /// ```
    #[inline]
    pub fn is_completed(&self) -> bool {
        // Acquire: pairs with the Release store in `Finish::drop`, so a caller that sees `true`
        // sees `f`'s effects.
        self.done.load(Ordering::Acquire)
    }
}

struct Unlock<'a>(&'a RawMutex);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        // SAFETY: constructed right after locking the mutex, dropped once.
        unsafe { self.0.unlock() }
    }
}

struct Finish<'a>(&'a AtomicBool);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        // Release: pairs with the Acquire loads in `call_once` and `is_completed`.
        self.0.store(true, Ordering::Release);
    }
}

impl Default for Once {
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("done", &self.is_completed())
            .finish()
    }
}
