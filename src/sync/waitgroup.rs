//! `WaitGroup`: Go's `sync.WaitGroup`.
//!
//! All the state is one `AtomicU64` (the task counter in the high half, the number of waiters
//! in the low half, as Go's) and a semaphore count in `sema.rs`, behind an `Arc` that the
//! clones share.
//!
//! # Protocol
//! 1. `add(delta)` adds to the counter with one `fetch_add` (AcqRel: it publishes the task's
//!    work, and the add that reaches zero sees every other task's). If the counter is still
//!    positive, or nobody waits, that is all.
//! 2. `wait` returns at once if the counter is zero; otherwise it counts itself as a waiter with
//!    a compare-and-swap that fails if the counter changed, and parks on the semaphore.
//! 3. The `add` that brings the counter to zero with `w` waiters resets the whole word to 0 and
//!    releases the semaphore `w` times, one wake-up per waiter.
//! 4. A woken `wait` checks that the word is still 0: a non-zero word means a new round began
//!    before it could return, Go's "reused before previous Wait has returned".
//!
//! `wait_async` is step 2 and 4 as a future over an `AsyncSemaWaiter`; dropping it while
//! queued takes its waiter registration back, or, if the counter already reached zero, takes
//! the one release meant for it, so that nothing leaks into the next round. `go` is Go 1.25's
//! `WaitGroup.Go`: `add(1)` and a guard that calls `done` even if the body panics.
//!
//! # Invariants
//! The counter is never observed negative without a panic; the waiter count is only changed
//! while the counter is non-zero, and reset together with it; every counted waiter gets exactly
//! one release. Go's misuse checks are kept with Go's messages: they catch an `add` from zero
//! racing a `wait`, and a group reused too early.
//!
//! Rejected: a `Mutex` + `Cond` pair (two locks on every `done`, where one atomic add does);
//! a counter of `isize` (Go's is 32 bits, and its overflow message is kept).

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::sema::{semacquire, semrelease, try_semacquire, AsyncSemaWaiter};
use crate::runtime::park::WaitReason;

/// Waits for a collection of goroutines (or threads) to finish: Go's `sync.WaitGroup`.
///
/// [`add`](WaitGroup::add) raises the counter by the number of tasks, each task calls
/// [`done`](WaitGroup::done) when it finishes, and [`wait`](WaitGroup::wait) parks until the
/// counter is zero. Clones share one group (Go passes a `*sync.WaitGroup`). A `done` happens
/// before the return of the `wait` it releases.
///
/// The uncontended `add` and `done` are one atomic operation each.
///
/// ```
/// use goroutines::sync::WaitGroup;
///
/// goroutines::run(|| {
///     let wg = WaitGroup::new();
///     for i in 0..4 {
///         wg.add(1);
///         let wg = wg.clone();
///         goroutines::go(move || {
///             println!("task {i}");
///             wg.done();
///         });
///     }
///     wg.wait();
/// });
/// ```
#[derive(Clone, Default)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// High 32 bits: the task counter (signed). Low 32 bits: the number of waiters.
    state: AtomicU64,
    /// Released once per waiter when the counter reaches zero.
    sema: AtomicU32,
}

impl WaitGroup {
    /// A group with a zero counter.
    ///
    /// ```
    /// let wg = goroutines::sync::WaitGroup::new();
    /// wg.wait(); // the counter is zero: returns at once
    /// ```
    pub fn new() -> WaitGroup {
        WaitGroup::default()
    }

    /// Adds `delta`, which may be negative, to the counter; when it reaches zero every waiter is
    /// released.
    ///
    /// As in Go, an `add` with a positive delta that starts from zero must happen before the
    /// `wait`, and a group reused for a new round must see all `wait`s of the previous round
    /// return first.
    ///
    /// # Panics
    /// With "sync: negative WaitGroup counter" if the counter would go below zero, with
    /// "sync: WaitGroup counter overflow" if it would pass `i32::MAX` (Go's counter is 32 bits
    /// too), and with "sync: WaitGroup misuse: Add called concurrently with Wait" on detectable
    /// misuse.
    ///
    /// ```
    /// let wg = goroutines::sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.add(-2);
    /// wg.wait();
    /// ```
    #[track_caller]
    pub fn add(&self, delta: isize) {
        let Ok(delta) = i32::try_from(delta) else {
            // The counter is never negative, so a delta below i32::MIN makes it negative, and one
            // above i32::MAX overflows it, whatever its value.
            if delta < 0 {
                panic!("sync: negative WaitGroup counter");
            }
            panic!("sync: WaitGroup counter overflow");
        };
        // AcqRel: Release publishes the task's work to the waiter (pairs with the Acquire load
        // in `wait`); Acquire lets the one that reaches zero see the other tasks' work too.
        let state = self
            .inner
            .state
            .fetch_add((delta as i64 as u64) << 32, Ordering::AcqRel)
            .wrapping_add((delta as i64 as u64) << 32);
        let v = (state >> 32) as i32;
        let w = state as u32;
        let before = v.wrapping_sub(delta);
        if delta > 0 && before.checked_add(delta).is_none() {
            // Undo our add so the group stays usable for whoever catches the panic.
            self.inner
                .state
                .fetch_sub((delta as i64 as u64) << 32, Ordering::Relaxed);
            panic!("sync: WaitGroup counter overflow");
        }
        if v < 0 {
            panic!("sync: negative WaitGroup counter");
        }
        if w != 0 && delta > 0 && v == delta {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        if v > 0 || w == 0 {
            return;
        }
        self.release_waiters(state, w);
    }

    /// The counter went to zero with `w` waiters: reset the state and wake them.
    #[cold]
    #[track_caller]
    fn release_waiters(&self, state: u64, w: u32) {
        // No Add may run concurrently now (Adds from zero must happen before Wait, and Wait
        // does not register while the counter is zero); a cheap check catches misuse.
        if self.inner.state.load(Ordering::Relaxed) != state {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        self.inner.state.store(0, Ordering::Relaxed);
        for _ in 0..w {
            // `semrelease` publishes everything before it (SeqCst) to the waiter it wakes.
            semrelease(&self.inner.sema, false);
        }
    }

    /// Decrements the counter by one (Go's `Done`).
    ///
    /// # Panics
    /// With "sync: negative WaitGroup counter" if the counter was already zero.
    ///
    /// ```
    /// let wg = goroutines::sync::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// wg.wait();
    /// ```
    #[track_caller]
    #[inline]
    pub fn done(&self) {
        self.add(-1);
    }

    /// Parks until the counter is zero.
    ///
    /// # Panics
    /// With "sync: WaitGroup is reused before previous Wait has returned" if another round of
    /// `add` started before this `wait` could return.
    ///
    /// ```
    /// use goroutines::sync::WaitGroup;
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// let wg2 = wg.clone();
    /// let t = std::thread::spawn(move || wg2.done()); // plain threads work too
    /// wg.wait();
    /// t.join().unwrap();
    /// ```
    #[track_caller]
    pub fn wait(&self) {
        // Acquire: pairs with the Release of the `add` that brought the counter to zero.
        let mut state = self.inner.state.load(Ordering::Acquire);
        loop {
            if state >> 32 == 0 {
                return;
            }
            // Register as a waiter.
            // Relaxed on success: the wake-up that ends the wait comes through `semrelease`,
            // which publishes everything before it (SeqCst). Acquire on failure: a `cur` with a
            // zero counter returns at once, so it pairs with the Release of the zeroing `add`.
            match self.inner.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    semacquire(&self.inner.sema, false, WaitReason::SyncWaitGroupWait);
                    if self.inner.state.load(Ordering::Relaxed) != 0 {
                        panic!("sync: WaitGroup is reused before previous Wait has returned");
                    }
                    return;
                }
                Err(cur) => state = cur,
            }
        }
    }
}

impl WaitGroup {
    /// Runs `f` in a new goroutine counted by the group: `add(1)`, then `done()` when `f`
    /// returns or panics (Go 1.25's `WaitGroup.Go`). A panic in `f` is reported as any
    /// goroutine's and does not keep `wait` waiting.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use goroutines::sync::WaitGroup;
    ///
    /// goroutines::run(|| {
    ///     let wg = WaitGroup::new();
    ///     let n = Arc::new(AtomicUsize::new(0));
    ///     for _ in 0..4 {
    ///         let n = n.clone();
    ///         wg.go(move || {
    ///             n.fetch_add(1, Ordering::Relaxed);
    ///         });
    ///     }
    ///     wg.wait();
    ///     assert_eq!(n.load(Ordering::Relaxed), 4);
    /// });
    /// ```
    ///
    /// # Panics
    /// If no stack can be had for the goroutine (as [`go`](crate::go)).
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        /// Counts the goroutine out however it ends.
        struct Done(WaitGroup);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.done();
            }
        }
        let site = std::panic::Location::caller();
        self.add(1);
        let done = Done(self.clone());
        let body = move || {
            let _done = done;
            f();
        };
        let r = crate::runtime::go_detached(body, site);
        if let Err(e) = r {
            // The body was dropped unrun, and `done` with it: the counter is back.
            panic!("{e}");
        }
    }

    /// Waits until the counter is zero, as a future (the async twin of
    /// [`wait`](WaitGroup::wait)): a tokio task can wait for goroutines without blocking its
    /// worker.
    ///
    /// Cancel-safe: a future dropped while waiting leaves the group as if it had never waited
    /// (it unregisters itself, or, if the counter reached zero meanwhile, takes the wake-up that
    /// was meant for it).
    ///
    /// # Panics
    /// When polled, with "sync: WaitGroup is reused before previous Wait has returned", as
    /// `wait`.
    ///
    /// ```
    /// use goroutines::sync::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// for _ in 0..3 {
    ///     wg.add(1);
    ///     let wg = wg.clone();
    ///     goroutines::go(move || wg.done());
    /// }
    /// goroutines::block_on(wg.wait_async());
    /// ```
    pub fn wait_async(&self) -> WaitFuture<'_> {
        WaitFuture {
            wg: self,
            waiter: None,
            done: false,
        }
    }
}

/// The future of [`WaitGroup::wait_async`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitFuture<'a> {
    wg: &'a WaitGroup,
    /// Registered in the state's waiter count and queued on the semaphore.
    waiter: Option<AsyncSemaWaiter>,
    done: bool,
}

impl fmt::Debug for WaitFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture").field("wg", self.wg).finish()
    }
}

impl WaitFuture<'_> {
    fn finish(&mut self) -> Poll<()> {
        self.done = true;
        if self.wg.inner.state.load(Ordering::Relaxed) != 0 {
            panic!("sync: WaitGroup is reused before previous Wait has returned");
        }
        Poll::Ready(())
    }
}

impl Future for WaitFuture<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(());
        }
        let sema = &this.wg.inner.sema;
        if let Some(w) = &this.waiter {
            if !w.poll_woken(cx.waker()) {
                return Poll::Pending;
            }
            // As `semacquire` after its park: a hand-off, or compete for the count.
            let ticket = w.ticket();
            this.waiter = None;
            if ticket || try_semacquire(sema) {
                return this.finish();
            }
            // Lost the count (it cannot happen with one release per waiter, but `semacquire`
            // allows it): queue again; our registration in the state still stands.
            return match AsyncSemaWaiter::acquire(sema, false, cx.waker()) {
                None => this.finish(),
                Some(w) => {
                    this.waiter = Some(w);
                    Poll::Pending
                }
            };
        }
        // As `wait`: register as a waiter unless the counter is zero.
        // Acquire: pairs with the Release of the `add` that brought the counter to zero.
        let mut state = this.wg.inner.state.load(Ordering::Acquire);
        loop {
            if state >> 32 == 0 {
                this.done = true;
                return Poll::Ready(());
            }
            // Orderings as in `wait`: Relaxed on success (the wake-up comes through
            // `semrelease`), Acquire on failure (pairs with the Release of the zeroing `add`).
            match this.wg.inner.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(cur) => state = cur,
            }
        }
        match AsyncSemaWaiter::acquire(sema, false, cx.waker()) {
            None => this.finish(),
            Some(w) => {
                this.waiter = Some(w);
                Poll::Pending
            }
        }
    }
}

impl Drop for WaitFuture<'_> {
    fn drop(&mut self) {
        let Some(w) = self.waiter.take() else {
            return;
        };
        let state = &self.wg.inner.state;
        // Still queued and the counter not yet zero: take our registration back, under the
        // bucket lock so that no release pops our record in between.
        let left = w.cancel(|| {
            let mut s = state.load(Ordering::Relaxed);
            loop {
                if s >> 32 == 0 || s as u32 == 0 {
                    // The counter reached zero: `release_waiters` counted us and is (or was)
                    // releasing one count for us.
                    return false;
                }
                match state.compare_exchange_weak(s, s - 1, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => return true,
                    Err(cur) => s = cur,
                }
            }
        });
        if !left && !w.ticket() {
            // Woken: the release meant for us is in the semaphore; take it so that it does not
            // leak into the group's next round. (It is there: one release per counted waiter.)
            while !try_semacquire(&self.wg.inner.sema) {
                std::thread::yield_now();
            }
        }
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.state.load(Ordering::Relaxed);
        f.debug_struct("WaitGroup")
            .field("counter", &((s >> 32) as i32))
            .field("waiters", &(s as u32))
            .finish()
    }
}
