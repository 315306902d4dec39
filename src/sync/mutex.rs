//! `Mutex<T>`: Go's `sync.Mutex` (normal and starvation modes) holding a value.
//!
//! The lock is `RawMutex`: one `AtomicI32` state word (LOCKED, WOKEN, STARVING and a waiter
//! count, Go's `Mutex.state`) and a semaphore count parked on in `sema.rs`. `Mutex<T>` puts a
//! value beside it and hands it out through a guard; `RwLock`'s writer lock and `Once` reuse
//! `RawMutex` alone.
//!
//! # Protocol (Go's `lockSlow`/`unlockSlow`)
//! 1. `lock`: one compare-and-swap from 0 to LOCKED; uncontended, that is all.
//! 2. Contended, normal mode: spin a few rounds while the holder runs on another P
//!    (`runtime::can_spin`), setting WOKEN so that an unlock does not also wake a sleeper; then
//!    count ourselves as a waiter and park on the semaphore (FIFO; a waiter woken before goes
//!    back to the front).
//! 3. `unlock`: subtract LOCKED; if waiters remain and none is WOKEN, take one off the count,
//!    set WOKEN and `semrelease` it. The woken waiter competes with newcomers from step 2.
//! 4. A waiter that has waited over `STARVATION_THRESHOLD` (1 ms) sets STARVING. From then on
//!    unlock hands the lock straight to the oldest waiter (`semrelease` with hand-off, LOCKED
//!    left clear for it to set), newcomers queue instead of taking it, and the last waiter, or
//!    one that waited under the threshold, switches back to normal mode.
//! 5. `lock_async` runs step 2 without the spinning as a state machine (`RawLockAsync`) whose
//!    waits are `AsyncSemaWaiter`s; dropping it mid-way undoes its part (its type's docs).
//!
//! # Invariants
//! LOCKED is set exactly while someone owns the lock, except during a starvation hand-off (see
//! `RawMutex`); the waiter count counts goroutines parked or about to park on `sema`; nothing
//! runs under a runtime lock here, and the value's own code runs only in the holder's frame.
//!
//! Rejected: poisoning (Go has none, and a panicking holder's guard unlocks on unwind: see the
//! type's docs); a `std::sync::Mutex` (it blocks the OS thread, and with it every goroutine
//! queued on the P); a queue inside each mutex (the address-keyed semaphore table keeps
//! `Mutex<()>` at eight bytes); spinning without the P check (on one P the holder cannot run
//! while we spin).

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::sema::{semacquire, semrelease, try_semacquire, AsyncSemaWaiter};
use crate::runtime::park::WaitReason;
use crate::util::{fatal, ACTIVE_SPIN_CNT};

// The state word (Go's `Mutex.state`):
/// The mutex is held.
const LOCKED: i32 = 1;
/// An unlocker need not wake anyone: a woken or spinning waiter is already on its way.
const WOKEN: i32 = 2;
/// Starvation mode: unlock hands the lock to the oldest waiter; newcomers queue at the tail.
const STARVING: i32 = 4;
/// The rest of the word counts the goroutines parked (or about to park) on `sema`.
const WAITER_SHIFT: u32 = 3;
const ONE_WAITER: i32 = 1 << WAITER_SHIFT;

/// A waiter that has waited this long switches the mutex to starvation mode.
const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);

/// The lock word and semaphore of a mutex, without the data: shared by `Mutex`, `RwLock`'s
/// writer lock and `Once`.
///
/// Invariants: `state & LOCKED` is set exactly while someone owns the lock, except during a
/// starvation-mode hand-off, where the unlocker leaves `LOCKED` clear and the woken waiter owns
/// the lock (and sets `LOCKED` as it subtracts itself from the waiter count).
pub(crate) struct RawMutex {
    state: AtomicI32,
    sema: AtomicU32,
}

impl RawMutex {
    pub(crate) const fn new() -> RawMutex {
        RawMutex {
            state: AtomicI32::new(0),
            sema: AtomicU32::new(0),
        }
    }

    #[inline]
    pub(crate) fn lock(&self, reason: WaitReason) {
        // Acquire: pairs with the Release in `unlock`, so the previous holder's writes are seen.
        if self
            .state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(reason);
        }
    }

    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let old = self.state.load(Ordering::Relaxed);
        if old & (LOCKED | STARVING) != 0 {
            return false;
        }
        // Acquire: as in `lock`. Starvation mode refuses newcomers, as Go's TryLock does.
        self.state
            .compare_exchange(old, old | LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[cold]
    fn lock_slow(&self, reason: WaitReason) {
        let mut wait_start: Option<Instant> = None;
        let mut starving = false;
        let mut awoke = false;
        let mut iter = 0;
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Spin while the lock is held in normal mode and spinning can pay off: the holder
            // runs on another P and may release it within a few hundred nanoseconds.
            if old & (LOCKED | STARVING) == LOCKED && crate::runtime::can_spin(iter) {
                // Set WOKEN so that the unlocker does not wake a parked waiter to compete.
                if !awoke
                    && old & WOKEN == 0
                    && old >> WAITER_SHIFT != 0
                    && self
                        .state
                        .compare_exchange(old, old | WOKEN, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    awoke = true;
                }
                for _ in 0..ACTIVE_SPIN_CNT {
                    std::hint::spin_loop();
                }
                iter += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            // Newcomers do not take a starving mutex: they queue behind the waiters.
            if old & STARVING == 0 {
                new |= LOCKED;
            }
            if old & (LOCKED | STARVING) != 0 {
                new += ONE_WAITER;
            }
            // Switch to starvation mode, but only while the lock is held: an unlocked mutex in
            // starvation mode would wait for a hand-off that no unlock will make.
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                // We were woken (or set WOKEN while spinning): clear the flag either way.
                if new & WOKEN == 0 {
                    fatal("sync: inconsistent mutex state");
                }
                new &= !WOKEN;
            }
            // AcqRel: Acquire when this takes the lock (pairs with `unlock`'s Release).
            match self
                .state
                .compare_exchange(old, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if old & (LOCKED | STARVING) == 0 {
                        return; // locked with the CAS
                    }
                    // A waiter woken before goes back to the front of the queue.
                    let lifo = wait_start.is_some();
                    let start = *wait_start.get_or_insert_with(Instant::now);
                    semacquire(&self.sema, lifo, reason);
                    starving = starving || start.elapsed() > STARVATION_THRESHOLD;
                    // Acquire: after a hand-off (STARVING) the lock is ours without a CAS, so
                    // this load pairs with the unlocker's Release in `unlock`.
                    old = self.state.load(Ordering::Acquire);
                    if old & STARVING != 0 {
                        // Handed off: the lock is ours, but LOCKED is clear and we are still
                        // counted as a waiter. Fix both in one add.
                        if old & (LOCKED | WOKEN) != 0 || old >> WAITER_SHIFT == 0 {
                            fatal("sync: inconsistent mutex state");
                        }
                        let mut delta = LOCKED - ONE_WAITER;
                        // Leave starvation mode if we did not wait long or are the last waiter:
                        // staying in it makes every unlock a hand-off, which is slow.
                        if !starving || old >> WAITER_SHIFT == 1 {
                            delta -= STARVING;
                        }
                        // Acquire: pairs with the unlocker's Release in `unlock`.
                        self.state.fetch_add(delta, Ordering::Acquire);
                        return;
                    }
                    awoke = true;
                    iter = 0;
                }
                Err(cur) => old = cur,
            }
        }
    }

    /// Unlocks.
    ///
    /// # Safety
    /// The caller owns the lock (a guard is being dropped or forgotten on its behalf).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        // Release: pairs with the Acquire of the next `lock`.
        let new = self.state.fetch_sub(LOCKED, Ordering::Release) - LOCKED;
        if new != 0 {
            self.unlock_slow(new);
        }
    }

    #[cold]
    fn unlock_slow(&self, new: i32) {
        if (new + LOCKED) & LOCKED == 0 {
            fatal("sync: unlock of unlocked mutex");
        }
        if new & STARVING == 0 {
            let mut old = new;
            loop {
                // Nobody to wake, or someone already took the lock, or a waiter is already
                // awake, or the mutex went starving (then the lock is handed off by its owner).
                if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                    return;
                }
                let new = (old - ONE_WAITER) | WOKEN;
                match self
                    .state
                    .compare_exchange(old, new, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => {
                        semrelease(&self.sema, false);
                        return;
                    }
                    Err(cur) => old = cur,
                }
            }
        } else {
            // Starvation mode: hand the lock to the oldest waiter. LOCKED stays clear; the
            // waiter sets it. Newcomers see STARVING and queue instead of taking it.
            semrelease(&self.sema, true);
        }
    }
}

/// The slow path of `lock_async`: `lock_slow` as a state machine, without the spinning (a
/// future does not spin), each semaphore wait an [`AsyncSemaWaiter`].
///
/// Dropping it mid-way leaves the mutex as if the future had never waited (`Drop` below):
/// - still queued: leave the queue, and take our waiter count back unless an unlocker has
///   already counted us out for a wake-up on its way (the count reads zero only then; that
///   wake-up then finds no record and leaves its count in the semaphore, which the next waiter
///   takes as its own wake-up, as any early `semrelease` in Go is taken);
/// - woken in normal mode: if we got the count, we are the woken waiter: clear WOKEN and, if
///   the mutex is free and has waiters, wake one as `unlock_slow` would; if a newcomer took the
///   count, it took over the woken waiter's part and we do nothing;
/// - handed the lock in starvation mode: finish the hand-off (as `lock_slow` does) and unlock,
///   which hands it on.
pub(crate) struct RawLockAsync {
    waiter: Option<AsyncSemaWaiter>,
    wait_start: Option<Instant>,
    starving: bool,
    awoke: bool,
}

impl RawLockAsync {
    pub(crate) const fn new() -> RawLockAsync {
        RawLockAsync {
            waiter: None,
            wait_start: None,
            starving: false,
            awoke: false,
        }
    }

    /// Drives the lock; `Ready` once the caller owns it.
    pub(crate) fn poll(
        &mut self,
        m: &RawMutex,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        use std::task::Poll;
        if let Some(w) = &self.waiter {
            if !w.poll_woken(cx.waker()) {
                return Poll::Pending;
            }
            let ticket = w.ticket();
            self.waiter = None;
            if !ticket && !try_semacquire(&m.sema) {
                // Robbed of the count by a newcomer (as `semacquire`'s loop): wait again.
                let lifo = self.wait_start.is_some();
                if let Some(w) = AsyncSemaWaiter::acquire(&m.sema, lifo, cx.waker()) {
                    self.waiter = Some(w);
                    return Poll::Pending;
                }
            }
            if self.after_wake(m) {
                return Poll::Ready(());
            }
        } else if !self.awoke && m.try_lock_fast() {
            return Poll::Ready(());
        }
        let mut old = m.state.load(Ordering::Relaxed);
        loop {
            let mut new = old;
            if old & STARVING == 0 {
                new |= LOCKED;
            }
            if old & (LOCKED | STARVING) != 0 {
                new += ONE_WAITER;
            }
            if self.starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if self.awoke {
                if new & WOKEN == 0 {
                    fatal("sync: inconsistent mutex state");
                }
                new &= !WOKEN;
            }
            // AcqRel: as in `lock_slow`.
            match m
                .state
                .compare_exchange(old, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if old & (LOCKED | STARVING) == 0 {
                        return Poll::Ready(());
                    }
                    let lifo = self.wait_start.is_some();
                    self.wait_start.get_or_insert_with(Instant::now);
                    match AsyncSemaWaiter::acquire(&m.sema, lifo, cx.waker()) {
                        Some(w) => {
                            self.waiter = Some(w);
                            return Poll::Pending;
                        }
                        None => {
                            if self.after_wake(m) {
                                return Poll::Ready(());
                            }
                            old = m.state.load(Ordering::Relaxed);
                        }
                    }
                }
                Err(cur) => old = cur,
            }
        }
    }

    /// What `lock_slow` does once `semacquire` returned: true if a starvation-mode hand-off
    /// made the lock ours, else the caller competes again as the woken waiter.
    fn after_wake(&mut self, m: &RawMutex) -> bool {
        let start = self.wait_start.unwrap_or_else(Instant::now);
        self.starving = self.starving || start.elapsed() > STARVATION_THRESHOLD;
        // Acquire: as in `lock_slow`, pairs with the unlocker's Release in `unlock` when a
        // hand-off made the lock ours.
        let old = m.state.load(Ordering::Acquire);
        if old & STARVING != 0 {
            m.finish_handoff(old, self.starving);
            return true;
        }
        self.awoke = true;
        false
    }
}

impl RawMutex {
    /// The uncontended `lock`.
    fn try_lock_fast(&self) -> bool {
        // Acquire: as in `lock`.
        self.state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// A starvation-mode hand-off made the lock ours: LOCKED is clear and we are still counted
    /// as a waiter; fix both in one add (as `lock_slow`).
    fn finish_handoff(&self, old: i32, starving: bool) {
        if old & (LOCKED | WOKEN) != 0 || old >> WAITER_SHIFT == 0 {
            fatal("sync: inconsistent mutex state");
        }
        let mut delta = LOCKED - ONE_WAITER;
        if !starving || old >> WAITER_SHIFT == 1 {
            delta -= STARVING;
        }
        // Acquire: pairs with the unlocker's Release in `unlock`.
        self.state.fetch_add(delta, Ordering::Acquire);
    }

    /// Undoes a `RawLockAsync` dropped before it completed (see its docs).
    pub(crate) fn cancel_async(&self, l: &mut RawLockAsync) {
        let Some(w) = l.waiter.take() else {
            return;
        };
        let state = &self.state;
        let left = w.cancel(|| {
            let mut old = state.load(Ordering::Relaxed);
            loop {
                if old >> WAITER_SHIFT == 0 {
                    // Counted out already by an unlocker whose wake-up is on its way.
                    return true;
                }
                match state.compare_exchange_weak(
                    old,
                    old - ONE_WAITER,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(cur) => old = cur,
                }
            }
        });
        if left {
            return;
        }
        if w.ticket() {
            // Handed the lock: take it and give it back.
            let start = l.wait_start.unwrap_or_else(Instant::now);
            let starving = l.starving || start.elapsed() > STARVATION_THRESHOLD;
            // Acquire: the hand-off made the lock ours; pairs with the unlocker's Release.
            self.finish_handoff(self.state.load(Ordering::Acquire), starving);
            // SAFETY: the hand-off made the lock ours.
            unsafe { self.unlock() };
            return;
        }
        if !try_semacquire(&self.sema) {
            // A newcomer took the count and plays the woken waiter.
            return;
        }
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            if old & WOKEN == 0 {
                fatal("sync: inconsistent mutex state");
            }
            let mut new = old & !WOKEN;
            let wake = old & (LOCKED | STARVING) == 0 && old >> WAITER_SHIFT != 0;
            if wake {
                new = (new - ONE_WAITER) | WOKEN;
            }
            match self
                .state
                .compare_exchange(old, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    if wake {
                        semrelease(&self.sema, false);
                    }
                    return;
                }
                Err(cur) => old = cur,
            }
        }
    }
}

/// A mutual-exclusion lock protecting a `T`, parking goroutines (not threads) while they wait:
/// Go's `sync.Mutex`.
///
/// # Fairness
/// In normal mode, waiters queue in FIFO order but a woken waiter competes with newly arriving
/// lockers, which usually win (they are already running): that keeps throughput high. Lockers
/// spin briefly before parking when the holder runs on another P. Once a waiter has waited more
/// than 1 ms the mutex switches to starvation mode: unlock hands the lock directly to the oldest
/// waiter, and newcomers neither take it nor spin but queue at the tail. It returns to normal
/// mode when a waiter that waited less than 1 ms, or the last waiter, gets it.
///
/// # No poisoning
/// Go's mutexes have no poisoning, and neither does this one: if a goroutine panics while
/// holding the guard, unwinding drops the guard and unlocks the mutex, and the next locker gets
/// the value as the panicking code left it. [`lock`](Mutex::lock) therefore returns the guard
/// directly, not a `LockResult`.
///
/// Guards may be sent to other goroutines and threads (Go lets any goroutine unlock), and a
/// goroutine may hold one across blocking calls, during which it may move to another OS thread.
///
/// The uncontended `lock` and `unlock` are one atomic operation each.
///
/// ```
/// use goroutines::sync::{Mutex, WaitGroup};
/// use std::sync::Arc;
///
/// goroutines::run(|| {
///     let counter = Arc::new(Mutex::new(0));
///     let wg = WaitGroup::new();
///     for _ in 0..10 {
///         let (counter, wg) = (counter.clone(), wg.clone());
///         wg.add(1);
///         goroutines::go(move || {
///             *counter.lock() += 1;
///             wg.done();
///         });
///     }
///     wg.wait();
///     assert_eq!(*counter.lock(), 10);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one holder at a time, possibly on another thread,
// so `T: Send` is what moving or sharing the mutex requires (as for `std::sync::Mutex`).
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: shared `&Mutex<T>` gives exclusive access to `T` to one thread at a time (the lock
// protocol of `RawMutex`), never `&T` to two at once, so `T: Send` suffices, as for std's.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`; usable in a `static`.
    ///
    /// ```
    /// use goroutines::sync::Mutex;
    /// static NAMES: Mutex<Vec<&str>> = Mutex::new(Vec::new());
    /// NAMES.lock().push("gopher");
    /// assert_eq!(NAMES.lock().len(), 1);
    /// ```
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns its value.
    ///
    /// ```
    /// let m = goroutines::sync::Mutex::new(String::from("go"));
    /// assert_eq!(m.into_inner(), "go");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, parking the calling goroutine (or blocking the calling thread) until it
    /// is free, and returns a guard that unlocks it when dropped.
    ///
    /// Locking a mutex the caller already holds deadlocks, as in Go.
    ///
    /// ```
    /// let m = goroutines::sync::Mutex::new(1);
    /// *m.lock() += 1;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock(WaitReason::SyncMutexLock);
        MutexGuard::new(self)
    }

    /// Locks the mutex as a future (the async twin of [`lock`](Mutex::lock)), for a tokio task
    /// sharing state with goroutines; the guard is `lock`'s.
    ///
    /// Waits in the same queue as goroutines, in Go's order (normal and starvation modes),
    /// without spinning. Cancel-safe: a future dropped before it completed does not hold the
    /// lock and leaves the queue as if it had never waited (a lock handed to it meanwhile is
    /// handed on).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goroutines::sync::Mutex;
    ///
    /// let m = Arc::new(Mutex::new(0));
    /// let m2 = m.clone();
    /// goroutines::go(move || *m2.lock() += 1).join().unwrap();
    /// let v = goroutines::block_on(async { *m.lock_async().await });
    /// assert_eq!(v, 1);
    /// ```
    pub fn lock_async(&self) -> LockFuture<'_, T> {
        LockFuture {
            mutex: self,
            raw: RawLockAsync::new(),
            done: false,
        }
    }

    /// Locks the mutex if it is free right now (Go's `TryLock`); `None` if it is held or
    /// waiters are being handed the lock in starvation mode.
    ///
    /// ```
    /// let m = goroutines::sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard::new(self))
    }

    /// A mutable reference to the value; no locking is needed since the borrow is exclusive.
    ///
    /// ```
    /// let mut m = goroutines::sync::Mutex::new(1);
    /// *m.get_mut() = 5;
    /// assert_eq!(*m.lock(), 5);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The raw lock, for `Cond`.
    pub(crate) fn raw(&self) -> &RawMutex {
        &self.raw
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Access to the value of a locked [`Mutex`]; unlocks it when dropped (also on unwind).
///
/// ```
/// let m = goroutines::sync::Mutex::new(vec![1]);
/// let mut g = m.lock();
/// g.push(2);
/// drop(g); // unlocks
/// assert_eq!(*m.lock(), [1, 2]);
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Keeps the auto traits off: `Send` and `Sync` are implemented below with the right bounds.
    _marker: PhantomData<*mut T>,
}

// SAFETY: the guard gives `&mut T` on whatever thread holds it, so moving it needs `T: Send`;
// unlocking from another thread is fine for this mutex (no owner thread is recorded).
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
// SAFETY: a shared guard gives only `&T`, so sharing it needs `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

/// The future of [`Mutex::lock_async`].
#[must_use = "futures do nothing unless polled"]
pub struct LockFuture<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    raw: RawLockAsync,
    done: bool,
}

// SAFETY: the future holds `&Mutex<T>` (shareable for `T: Send`, as the mutex is `Sync` then)
// and a semaphore waiter that is `Send`; completing it yields a guard, `Send` for `T: Send`.
unsafe impl<T: ?Sized + Send> Send for LockFuture<'_, T> {}

impl<T: ?Sized> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture").finish_non_exhaustive()
    }
}

impl<'a, T: ?Sized> std::future::Future for LockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<MutexGuard<'a, T>> {
        let this = &mut *self;
        if this.done {
            panic!("`lock_async` future polled after completion");
        }
        match this.raw.poll(&this.mutex.raw, cx) {
            std::task::Poll::Ready(()) => {
                this.done = true;
                std::task::Poll::Ready(MutexGuard::new(this.mutex))
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            self.mutex.raw.cancel_async(&mut self.raw);
        }
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(mutex: &'a Mutex<T>) -> Self {
        MutexGuard {
            mutex,
            _marker: PhantomData,
        }
    }

    /// The mutex this guard holds, for `Cond::wait`.
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }

    /// A guard for a mutex that the caller has just locked, for `Cond::wait`.
    pub(crate) fn relocked(mutex: &'a Mutex<T>) -> Self {
        MutexGuard::new(mutex)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means the mutex is held by us.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the mutex is held by us, and `&mut self` makes this access exclusive.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard's existence means we hold the lock.
        unsafe { self.mutex.raw.unlock() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
