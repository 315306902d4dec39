//! `JoinHandle`: waiting for a goroutine's result.
//!
//! The goroutine and its handle share a [`Packet`]: a lock around the result slot, the joiner
//! to wake, and the handle's done channel if one was asked for. The goroutine stores its result
//! (`complete`), then wakes the joiner and closes the done channel, both after releasing the
//! lock. A done channel asked for after the goroutine ended is made closed, so `done()` in a
//! `select!` is ready at once either way; `join_timeout` is a receive with a timeout on it.
//!
//! A scoped goroutine's packet (`scope.rs`) also holds its scope: when the packet's last
//! reference goes (the goroutine has ended and its handle was joined or dropped), it tells the
//! scope, after dropping an unjoined result, so that the result's destructor, which may borrow
//! from the scope, has run before `scope` returns (std's `thread::Packet` does the same).
//!
//! # States (`State`, under the packet's lock)
//! - `Running(joiner)`: the goroutine runs; `joiner` is the parked `join` or the polled
//!   `JoinFuture` to wake.
//! - `Done(result)`: the goroutine ended; the result waits for a joiner.
//! - `Taken`: a joiner took the result (a handle is joined once: `join` takes `self`).
//! - `Detached`: the handle was dropped first; `complete` then drops the result itself, on the
//!   goroutine, and under `PanicPolicy::Abort` a panic ends the process.
//!
//! # Invariants
//! - The result (a user value) is never dropped under the packet's lock: `complete` releases
//!   the lock before dropping a detached result, and a handle dropped after completion leaves
//!   the result in the packet, dropped with it (by `Drop for Packet` for a scoped goroutine)
//!   when the last reference goes, with no lock held.
//! - `finished` is set (Release) before the done channel is looked for, and `done_chan` checks
//!   it under the `done` lock (Acquire), so a done channel is closed exactly once either way.
//! - Wake-ups are issued after the state lock is released.
//!
//! Rejected: a channel carrying the result (`join` would allocate a channel per goroutine even
//! when nobody joins; the done channel is made only when `done()` is called); std's
//! `JoinHandle` API alone (Go programs select on a goroutine's end, hence `done()`, and wait
//! with a deadline, hence `join_timeout`).

use std::any::Any;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use super::g::GoroutineId;
use super::park::{self, Unparker, WaitReason};
use super::scope::ScopeData;
use crate::chan::{Chan, RecvChan, RecvTimeoutError};
use crate::util::lock;

/// An owned permission to wait for a goroutine and take its result, like
/// `std::thread::JoinHandle`. Dropping it detaches the goroutine, which runs on (under
/// [`PanicPolicy::Abort`](crate::PanicPolicy::Abort), a detached goroutine's panic ends the
/// process).
///
/// ```
/// let h = goroutines::go(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    packet: Arc<Packet<T>>,
    id: GoroutineId,
}

pub(crate) struct Packet<T> {
    state: Mutex<State<T>>,
    /// Closed when the goroutine ends; made by the first `done()`. Under its own lock, taken
    /// after `state`'s when both are (`complete` takes them one after the other).
    done: Mutex<Option<Chan<()>>>,
    finished: AtomicBool,
    /// The scope of a scoped goroutine, told when the packet is dropped.
    scope: Option<Arc<ScopeData>>,
    /// Set by `complete` under `state`'s lock: the goroutine panicked under
    /// `PanicPolicy::Abort`, so dropping the handle without joining ends the process.
    abort_unjoined: AtomicBool,
}

enum State<T> {
    Running(Option<Unparker>),
    Done(std::thread::Result<T>),
    Taken,
    /// The handle was dropped before the goroutine finished.
    Detached,
}

impl<T> Packet<T> {
    pub(crate) fn new() -> Arc<Packet<T>> {
        Packet::new_in(None)
    }

    /// A packet whose drop is reported to `scope` (`scope.rs`).
    pub(crate) fn new_in(scope: Option<Arc<ScopeData>>) -> Arc<Packet<T>> {
        Arc::new(Packet {
            state: Mutex::new(State::Running(None)),
            done: Mutex::new(None),
            finished: AtomicBool::new(false),
            scope,
            abort_unjoined: AtomicBool::new(false),
        })
    }

    /// Stores the goroutine's result and wakes a joiner. Called by the goroutine as it ends;
    /// `abort` if it panicked under `PanicPolicy::Abort`, which ends the process at once if
    /// the handle is gone, or when it is dropped unjoined.
    pub(crate) fn complete(&self, r: Result<T, Box<dyn Any + Send>>, abort: bool) {
        let waiter = {
            let mut st = lock(&self.state);
            if matches!(*st, State::Detached) {
                drop(st);
                if abort {
                    abort_unjoined(super::g::current_id());
                }
                // Nobody will take the result: drop it here, on the goroutine, not wherever
                // the last reference to the packet goes.
                drop(r);
                // Release: pairs with the Acquire in `is_finished`: a caller that sees true sees
                // the result dropped.
                self.finished.store(true, Ordering::Release);
                return;
            }
            self.abort_unjoined.store(abort, Ordering::Relaxed);
            let prev = std::mem::replace(&mut *st, State::Done(r));
            // Release: pairs with `is_finished`'s Acquire.
            self.finished.store(true, Ordering::Release);
            match prev {
                State::Running(w) => w,
                _ => None,
            }
        };
        if let Some(w) = waiter {
            w.unpark();
        }
        // After `finished` is set: a `done()` that finds no channel here sees `finished` and
        // makes a closed one (see `done_chan`).
        let done = lock(&self.done).take();
        if let Some(c) = done {
            c.close();
        }
    }

    /// Waits for the result and takes it.
    pub(crate) fn join(&self) -> std::thread::Result<T> {
        loop {
            {
                let mut st = lock(&self.state);
                match &mut *st {
                    State::Done(_) => match std::mem::replace(&mut *st, State::Taken) {
                        State::Done(r) => return r,
                        _ => unreachable!(),
                    },
                    State::Running(w) => *w = Some(park::current()),
                    State::Taken | State::Detached => unreachable!("a JoinHandle is joined once"),
                }
            }
            park::park(WaitReason::Join);
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        // Acquire: pairs with the Release store in `complete`.
        self.finished.load(Ordering::Acquire)
    }

    /// The channel closed when the goroutine ends.
    pub(crate) fn done_chan(&self) -> RecvChan<()> {
        let mut done = lock(&self.done);
        if let Some(c) = &*done {
            return c.receiver();
        }
        let c = Chan::new(0);
        // Checked under the `done` lock, which `complete` takes after setting `finished`:
        // either it finds this channel and closes it, or `finished` is already visible here.
        if self.is_finished() {
            c.close();
        } else {
            *done = Some(c.clone());
        }
        c.receiver()
    }

    /// Waits at most `timeout` for the goroutine to end; true if it has.
    pub(crate) fn wait_timeout(&self, timeout: Duration) -> bool {
        if self.is_finished() {
            return true;
        }
        match self.done_chan().recv_timeout(timeout) {
            Err(RecvTimeoutError::Closed) => true,
            Ok(()) | Err(RecvTimeoutError::Timeout) => self.is_finished(),
        }
    }
}

impl<T> Drop for Packet<T> {
    fn drop(&mut self) {
        let Some(scope) = self.scope.take() else {
            return;
        };
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        // A panic nobody joined is the scope's to report.
        let unhandled_panic = matches!(st, State::Done(Err(_)));
        // Drop the unjoined result now, before the scope may return: it may borrow from it. A
        // panic in its destructor cannot unwind out of a goroutine's exit; abort as std does.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            *st = State::Taken;
        }));
        if r.is_err() {
            crate::util::fatal("the result of a scoped goroutine panicked when dropped");
        }
        scope.decrement(unhandled_panic);
    }
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(packet: Arc<Packet<T>>, id: GoroutineId) -> Self {
        JoinHandle { packet, id }
    }

    /// Waits for the goroutine to finish and returns its result, or `Err` with the payload of
    /// the panic that ended it. Parks the calling goroutine, or blocks the calling OS thread.
    pub fn join(self) -> std::thread::Result<T> {
        self.packet.join()
    }

    /// Whether the goroutine has finished (returned or panicked): `join` would not wait.
    ///
    /// ```
    /// let h = goroutines::go(|| 1);
    /// while !h.is_finished() {
    ///     goroutines::yield_now();
    /// }
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.packet.is_finished()
    }

    /// A channel closed when the goroutine finishes, to wait for it in a `select!` (beside a
    /// timeout, a context, other goroutines). Nothing is ever sent on it; a receive returns
    /// `None` once the goroutine has finished. Each call returns the same channel.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::select;
    /// use goroutines::time::after;
    ///
    /// goroutines::run(|| {
    ///     let h = goroutines::go(|| 6 * 7);
    ///     select! {
    ///         recv(h.done()) -> _ => {}
    ///         recv(after(Duration::from_secs(60))) -> _ => panic!("timed out"),
    ///     }
    ///     assert!(h.is_finished());
    ///     assert_eq!(h.join().unwrap(), 42);
    /// });
    /// ```
    pub fn done(&self) -> RecvChan<()> {
        self.packet.done_chan()
    }

    /// As [`join`](JoinHandle::join), waiting at most `timeout`: `Ok` with what `join` returns
    /// if the goroutine finished in time, or `Err` with the handle back, to wait again or drop.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// goroutines::run(|| {
    ///     let c = goroutines::Chan::<()>::new(0);
    ///     let rx = c.clone();
    ///     let h = goroutines::go(move || rx.recv());
    ///     let h = h.join_timeout(Duration::from_millis(10)).unwrap_err(); // still blocked
    ///     c.close();
    ///     assert_eq!(h.join_timeout(Duration::from_secs(60)).unwrap().unwrap(), None);
    /// });
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<std::thread::Result<T>, JoinHandle<T>> {
        if self.packet.wait_timeout(timeout) {
            Ok(self.packet.join())
        } else {
            Err(self)
        }
    }

    /// The goroutine's id.
    pub fn id(&self) -> GoroutineId {
        self.id
    }
}

/// Awaiting a `JoinHandle` waits for the goroutine without blocking the executor's thread: the
/// output is what [`JoinHandle::join`] returns.
///
/// ```
/// let h = goroutines::go(|| 6 * 7);
/// let v = goroutines::block_on(async move { h.await.unwrap() });
/// assert_eq!(v, 42);
/// ```
impl<T> IntoFuture for JoinHandle<T> {
    type Output = std::thread::Result<T>;
    type IntoFuture = JoinFuture<T>;

    fn into_future(self) -> JoinFuture<T> {
        JoinFuture { handle: self }
    }
}

/// The future of an awaited [`JoinHandle`].
///
/// Cancel-safe: dropping it detaches the goroutine, as dropping the handle does.
#[must_use = "futures do nothing unless polled"]
pub struct JoinFuture<T> {
    /// Dropped with the future: a pending one detaches the goroutine (`JoinHandle`'s `Drop`).
    handle: JoinHandle<T>,
}

impl<T> JoinFuture<T> {
    /// The goroutine's id.
    pub fn id(&self) -> GoroutineId {
        self.handle.id
    }
}

impl<T> Future for JoinFuture<T> {
    type Output = std::thread::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = crate::util::lock(&self.handle.packet.state);
        match &mut *st {
            State::Done(_) => match std::mem::replace(&mut *st, State::Taken) {
                State::Done(r) => Poll::Ready(r),
                _ => unreachable!(),
            },
            State::Running(w) => {
                if !w.as_ref().is_some_and(|u| u.wakes(cx.waker())) {
                    *w = Some(Unparker::for_waker(cx.waker().clone()));
                }
                Poll::Pending
            }
            State::Taken => panic!("`JoinHandle` future polled after completion"),
            // Only dropping the handle detaches, and the future owns it.
            State::Detached => unreachable!("a JoinFuture's goroutine was detached"),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let mut st = lock(&self.packet.state);
        match &*st {
            State::Running(_) => *st = State::Detached,
            State::Done(Err(_)) if self.packet.abort_unjoined.load(Ordering::Relaxed) => {
                drop(st);
                abort_unjoined(Some(self.id));
            }
            _ => {}
        }
    }
}

impl<T> std::fmt::Debug for JoinFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinFuture")
            .field("id", &self.handle.id)
            .finish()
    }
}

/// `PanicPolicy::Abort`: a goroutine's panic that no one will join ends the process, as an
/// unrecovered panic ends a Go program (status 2). The panic itself was reported by the hook.
#[cold]
fn abort_unjoined(id: Option<GoroutineId>) -> ! {
    let id = id.map_or("?".to_string(), |id| id.to_string());
    eprintln!("goroutines: goroutine {id} panicked and was not joined (panic policy Abort)");
    std::process::exit(2)
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
