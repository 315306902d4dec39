//! The channel lock: a small futex mutex (Go's `lock_futex.go`).
//!
//! A channel's lock is held only for a few loads and stores, a move of one value and a few
//! pointer updates; it is never held across a park, and no user code (not even a `Drop`) runs
//! under it. So the uncontended path is one compare-and-swap to take it and one swap to release
//! it, and a contended locker spins briefly before sleeping on the futex, as Go's runtime locks
//! do. While it sleeps it blocks its M (and the P with it), exactly as a Go runtime lock does;
//! the critical sections are short enough that this is rare and brief.
//!
//! `std::sync::Mutex` was rejected because `select` locks a run-time number of channels of
//! different element types in address order and unlocks them later, which guards (tied to one
//! scope each) cannot express without boxing.
//!
//! States of `key`: `UNLOCKED`, `LOCKED` (no sleeper), `SLEEPING` (locked, and a locker may be
//! asleep on the futex: the unlocker must wake one).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::util::{futex_wait, futex_wake, ncpu, ACTIVE_SPIN, ACTIVE_SPIN_CNT};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const SLEEPING: u32 = 2;

pub(crate) struct Lock {
    key: AtomicU32,
}

impl Lock {
    pub(crate) const fn new() -> Lock {
        Lock {
            key: AtomicU32::new(UNLOCKED),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) {
        // Acquire: pairs with the Release swap in `unlock`, so everything the previous holder
        // wrote under the lock is visible to us.
        if self
            .key
            .compare_exchange_weak(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
    }

    #[cold]
    fn lock_slow(&self) {
        // Acquire on every successful acquisition below: same pairing as in `lock`.
        let mut wait = self.key.swap(LOCKED, Ordering::Acquire);
        if wait == UNLOCKED {
            return;
        }
        // We may have overwritten SLEEPING with LOCKED: from now on we take the lock with
        // `wait`, which remembers that sleepers may exist, so the final unlock still wakes them.
        let spin = if ncpu() > 1 { ACTIVE_SPIN } else { 0 };
        loop {
            for _ in 0..spin {
                if self.try_take(wait) {
                    return;
                }
                for _ in 0..ACTIVE_SPIN_CNT {
                    std::hint::spin_loop();
                }
            }
            if self.try_take(wait) {
                return;
            }
            std::thread::yield_now();
            // Acquire: finding UNLOCKED makes the lock ours; pairs with the Release swap in
            // `unlock`.
            if self.key.swap(SLEEPING, Ordering::Acquire) == UNLOCKED {
                return;
            }
            wait = SLEEPING;
            futex_wait(&self.key, SLEEPING, None);
        }
    }

    fn try_take(&self, wait: u32) -> bool {
        while self.key.load(Ordering::Relaxed) == UNLOCKED {
            if self
                .key
                // Acquire on success: pairs with the Release swap in `unlock`; a failure takes
                // nothing, so Relaxed.
                .compare_exchange(UNLOCKED, wait, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
        }
        false
    }

    #[inline]
    pub(crate) fn unlock(&self) {
        // Release: pairs with the Acquire of the next `lock`.
        if self.key.swap(UNLOCKED, Ordering::Release) == SLEEPING {
            futex_wake(&self.key);
        }
    }
}
