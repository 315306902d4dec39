//! Worker threads (M): OS threads that run goroutines while they hold a P.
//!
//! An M without work parks on its own futex word (Go's `note`): `notewakeup` sets the word and
//! wakes the thread, `notesleep` waits until the word is set and clears it. A P, and with it the
//! permission to run goroutines, is handed to a sleeping M through `next_p` before the wake-up.
//!
//! Each M installs an alternate signal stack so that the stack-overflow handler can run after a
//! goroutine hits its guard page (`signal.rs`).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::g::{GRef, G};
use super::p::P;

pub(crate) struct M {
    pub(crate) id: usize,
    /// Futex word: 1 when a wake-up is pending.
    wakeup: AtomicU32,
    /// A P handed to this M by another before waking it (Go's `m.nextp`).
    pub(crate) next_p: AtomicPtr<P>,
    /// Whether the M was started to spin (look for work) and counts in `Sched::nmspinning`.
    /// Written by whoever hands it a P, before the wake-up; then owned by the M.
    pub(crate) spinning: AtomicBool,
    /// The goroutine locked to this M (`lock_os_thread`), or null. Holds no count.
    pub(crate) locked_g: AtomicPtr<G>,
    /// A goroutine handed to this locked M to run, with its strong count (Go's startlockedm).
    pub(crate) next_g: AtomicPtr<G>,
    /// Id of the goroutine this M is running, 0 for none; for `scheddetail` only.
    pub(crate) curg: AtomicU64,
}

impl M {
    pub(crate) fn new(id: usize) -> M {
        M {
            id,
            wakeup: AtomicU32::new(0),
            next_p: AtomicPtr::new(std::ptr::null_mut()),
            spinning: AtomicBool::new(false),
            locked_g: AtomicPtr::new(std::ptr::null_mut()),
            next_g: AtomicPtr::new(std::ptr::null_mut()),
            curg: AtomicU64::new(0),
        }
    }

    /// Wakes the M (Go's notewakeup). Whatever the waker wrote before is visible to the M after
    /// its `sleep` returns.
    pub(crate) fn wake(&self) {
        // Release: pairs with the Acquire swap in `sleep`.
        if self.wakeup.swap(1, Ordering::Release) == 0 {
            futex_wake(&self.wakeup);
        }
    }

    /// Sleeps until woken or until `timeout` passes; true if woken (Go's notesleep).
    pub(crate) fn sleep(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            // Acquire: pairs with `wake`'s Release.
            if self.wakeup.swap(0, Ordering::Acquire) == 1 {
                return true;
            }
            let left = match deadline {
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        return false;
                    }
                    Some(d - now)
                }
                None => None,
            };
            futex_wait(&self.wakeup, 0, left);
        }
    }

    pub(crate) fn take_next_p(&self) -> *const P {
        // Acquire: pairs with the Release store of whoever handed the P over.
        self.next_p.swap(std::ptr::null_mut(), Ordering::Acquire)
    }

    pub(crate) fn take_next_g(&self) -> Option<GRef> {
        let p = self.next_g.swap(std::ptr::null_mut(), Ordering::Acquire);
        // SAFETY: a non-null `next_g` came from `Arc::into_raw` with its count (`sched::execute`).
        (!p.is_null()).then(|| unsafe { std::sync::Arc::from_raw(p as *const G) })
    }
}

fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: the futex word is a live AtomicU32 borrowed for the call; the timespec (or null)
    // outlives the call. FUTEX_WAIT only reads them.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            tsp,
        );
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: the futex word is a live AtomicU32; FUTEX_WAKE does not access memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

thread_local! {
    /// The M this thread is, or null for threads that are not Ms.
    static CURRENT_M: Cell<*const M> = const { Cell::new(std::ptr::null()) };
    /// The P this M holds, or null.
    static CURRENT_P: Cell<*const P> = const { Cell::new(std::ptr::null()) };
}

/// The calling thread's M. `#[inline(never)]` for the reason given at `g::current`.
#[inline(never)]
pub(crate) fn current_m() -> *const M {
    CURRENT_M.with(|c| c.get())
}

#[inline(never)]
pub(crate) fn set_current_m(m: *const M) {
    CURRENT_M.with(|c| c.set(m));
}

/// The P held by the calling thread's M, or null. `#[inline(never)]` as above.
#[inline(never)]
pub(crate) fn current_p() -> *const P {
    CURRENT_P.with(|c| c.get())
}

#[inline(never)]
pub(crate) fn set_current_p(p: *const P) {
    CURRENT_P.with(|c| c.set(p));
}
