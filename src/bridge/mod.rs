//! The bridge to async Rust, both ways: goroutines that await futures ([`block_on`]) and futures
//! that await goroutines (`Chan::recv_async`, `JoinHandle: IntoFuture`, `time::sleep_async`...).
//!
//! # What blocks what
//! - [`block_on`] inside a goroutine polls the future on the goroutine's own stack and, while the
//!   future is pending, parks the goroutine ("block_on" in dumps): its M runs other goroutines.
//!   On a plain OS thread it parks the thread.
//! - The futures of this crate never block the thread that polls them: a pending one leaves its
//!   task's `Waker` in the same wait queue a parked goroutine would use and returns `Pending`.
//!
//! # One protocol: the park token
//! `block_on`'s `Waker` is the goroutine's own G (`impl Wake for G` in `runtime/park.rs`), so a
//! wake is `Unparker::unpark`: a wake-up token. The loop is
//! 1. poll the future; `Ready` returns;
//! 2. `park` (which consumes a token left by a wake that came during the poll and returns at
//!    once, or switches out until a wake);
//! 3. go to 1.
//!
//! A wake from any thread at any moment either finds the goroutine parked (and readies it, once)
//! or leaves the token that step 2 consumes: none is lost, and a thousand wakes during one poll
//! cost one extra poll at most. A stale token (a wake that arrives after `block_on` returned)
//! makes some later park return early, which every park loop already tolerates.
//!
//! In the other direction a future waiting on a channel, a join, a semaphore (`WaitGroup`,
//! `Mutex`) or a timer is an `Unparker` with a waker target (`Unparker::for_waker`) in the same
//! queue a goroutine would use; the waker side calls `unpark` exactly as for a goroutine. Each
//! such future lives beside its blocking twin: `chan/future.rs` (and how channel futures keep
//! cancel safety), `runtime/join.rs`, `sync/sema.rs` (`AsyncSemaWaiter`) with
//! `sync/waitgroup.rs` and `sync/mutex.rs`, and `bridge/sleep.rs`.
//!
//! # Rejected
//! - A thread-local "current executor" with its own run queue of tasks: a second scheduler
//!   beside the goroutine scheduler, and `block_on` would have to drive unrelated tasks.
//! - A `Waker` that allocates an `Arc` per `block_on`: the G is already reference-counted, and
//!   `block_on` lends the future a waker that borrows its own count of the G (clones take
//!   counts of their own), so a ready future costs no atomic operation on the waker.

mod sleep;

pub use sleep::{sleep_async, Sleep};

use std::cell::Cell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};

use crate::runtime::g::{self, GRef, G};
use crate::runtime::park::{self, ThreadWaker, WaitReason};

/// The panic message of a nested [`block_on`].
const NESTED: &str = "goroutines::block_on called from a future polled by block_on";

thread_local! {
    /// Whether this plain OS thread is inside `block_on` (goroutines keep the flag in their G,
    /// since they move between threads).
    static THREAD_IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// Runs a future to completion on the calling goroutine (or thread) and returns its output.
///
/// Inside a goroutine the future is polled on the goroutine's own stack, and while it is pending
/// the goroutine parks (wait reason "block_on"), freeing its M for other goroutines; the future's
/// `Waker` is `Send + Sync` and may be woken from any thread (a tokio worker, a plain thread,
/// another goroutine) any number of times; a wake that comes before the goroutine parks is not
/// lost. On a plain OS thread, `block_on` parks the thread.
///
/// `block_on` does not drive any async runtime: a future that needs one (a tokio socket, a tokio
/// timer) must be spawned on that runtime, and the goroutine awaits the `JoinHandle`
/// (see `goroutines::tokio::spawn_on` with the `tokio` feature). Calling `block_on` on a tokio
/// worker thread blocks that worker, which is the caller's mistake, as with any blocking call.
///
/// # Panics
/// "goroutines::block_on called from a future polled by block_on" when called while a future is
/// being polled by `block_on` on the same goroutine or thread: the outer future could never be
/// woken while the inner one parks. A panic of the future propagates to the caller.
///
/// ```
/// use goroutines::Chan;
///
/// let ch = Chan::new(0);
/// let tx = ch.clone();
/// goroutines::go(move || tx.send(7));
/// // A goroutine awaiting a future: the goroutine parks, its M runs the sender.
/// let v = goroutines::go(move || goroutines::block_on(async move { ch.recv_async().await }))
///     .join()
///     .unwrap();
/// assert_eq!(v, Some(7));
/// ```
#[track_caller]
pub fn block_on<F: Future>(f: F) -> F::Output {
    match g::current() {
        Some(g) => {
            if g.in_block_on.replace(true) {
                panic!("{NESTED}");
            }
            let _reset = Reset(|| g.in_block_on.set(false));
            // SAFETY: `g` (an `Arc<G>`) outlives `waker`, which is only lent to the future
            // (`ManuallyDrop`: it owns no count; clones made by the future take their own).
            let waker = ManuallyDrop::new(unsafe { Waker::from_raw(g_raw_waker(&g)) });
            run(f, &waker)
        }
        None => {
            if THREAD_IN_BLOCK_ON.with(|c| c.replace(true)) {
                panic!("{NESTED}");
            }
            let _reset = Reset(|| THREAD_IN_BLOCK_ON.with(|c| c.set(false)));
            let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
            run(f, &waker)
        }
    }
}

/// The poll-park loop of the module docs.
fn run<F: Future>(f: F, waker: &Waker) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        // Spurious returns (a stale token) only cost another poll.
        park::park(WaitReason::BlockOn);
    }
}

/// A `RawWaker` for `g` that borrows the caller's reference count (see `block_on`): the
/// same functions as std's `Waker::from(Arc<G>)`, minus one increment and decrement per call.
fn g_raw_waker(g: &GRef) -> RawWaker {
    RawWaker::new(Arc::as_ptr(g) as *const (), &G_WAKER)
}

static G_WAKER: RawWakerVTable = RawWakerVTable::new(g_clone, g_wake, g_wake_by_ref, g_drop);

/// # Safety
/// `p` came from `Arc::<G>::as_ptr` of a live G (all four functions).
unsafe fn g_clone(p: *const ()) -> RawWaker {
    // SAFETY: `p` points at a live `Arc<G>`'s G; the clone owns the count it adds.
    unsafe { Arc::increment_strong_count(p as *const G) };
    RawWaker::new(p, &G_WAKER)
}

/// # Safety
/// As `g_clone`; called on an owned waker (a clone), whose count it consumes.
unsafe fn g_wake(p: *const ()) {
    // SAFETY: an owned waker holds one count of the G (taken in `g_clone`).
    let g = unsafe { Arc::from_raw(p as *const G) };
    Wake::wake(g);
}

/// # Safety
/// As `g_clone`.
unsafe fn g_wake_by_ref(p: *const ()) {
    // SAFETY: the G is live for the waker's lifetime; ManuallyDrop keeps its count untouched.
    let g = ManuallyDrop::new(unsafe { Arc::from_raw(p as *const G) });
    Wake::wake_by_ref(&*g);
}

/// # Safety
/// As `g_clone`; called on an owned waker, never on `block_on`'s borrowed one (ManuallyDrop).
unsafe fn g_drop(p: *const ()) {
    // SAFETY: an owned waker holds one count of the G.
    drop(unsafe { Arc::from_raw(p as *const G) });
}

/// Runs its closure when dropped, also on unwinding.
struct Reset<F: FnMut()>(F);

impl<F: FnMut()> Drop for Reset<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}
