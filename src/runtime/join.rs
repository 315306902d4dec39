//! `JoinHandle`: waiting for a goroutine's result.

use std::any::Any;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use super::g::GoroutineId;
use super::park::{self, Unparker, WaitReason};

/// An owned permission to wait for a goroutine and take its result, like
/// `std::thread::JoinHandle`. Dropping it detaches the goroutine, which runs on.
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
    finished: AtomicBool,
}

enum State<T> {
    Running(Option<Unparker>),
    Done(std::thread::Result<T>),
    Taken,
}

impl<T> Packet<T> {
    pub(crate) fn new() -> Arc<Packet<T>> {
        Arc::new(Packet {
            state: Mutex::new(State::Running(None)),
            finished: AtomicBool::new(false),
        })
    }

    /// Stores the goroutine's result and wakes a joiner. Called by the goroutine as it ends.
    pub(crate) fn complete(&self, r: Result<T, Box<dyn Any + Send>>) {
        let waiter = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
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
    }
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(packet: Arc<Packet<T>>, id: GoroutineId) -> Self {
        JoinHandle { packet, id }
    }

    /// Waits for the goroutine to finish and returns its result, or `Err` with the payload of
    /// the panic that ended it. Parks the calling goroutine, or blocks the calling OS thread.
    pub fn join(self) -> std::thread::Result<T> {
        loop {
            {
                let mut st = self.packet.state.lock().unwrap_or_else(|e| e.into_inner());
                match &mut *st {
                    State::Done(_) => match std::mem::replace(&mut *st, State::Taken) {
                        State::Done(r) => return r,
                        _ => unreachable!(),
                    },
                    State::Running(w) => *w = Some(park::current()),
                    State::Taken => unreachable!("a JoinHandle is joined once"),
                }
            }
            park::park(WaitReason::Join);
        }
    }

    /// Whether the goroutine has finished (returned or panicked).
    pub fn is_finished(&self) -> bool {
        self.packet.finished.load(Ordering::Acquire)
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
        JoinFuture {
            packet: self.packet,
            id: self.id,
        }
    }
}

/// The future of an awaited [`JoinHandle`].
///
/// Cancel-safe: dropping it detaches the goroutine, as dropping the handle does.
#[must_use = "futures do nothing unless polled"]
pub struct JoinFuture<T> {
    packet: Arc<Packet<T>>,
    id: GoroutineId,
}

impl<T> JoinFuture<T> {
    /// The goroutine's id.
    pub fn id(&self) -> GoroutineId {
        self.id
    }
}

impl<T> Future for JoinFuture<T> {
    type Output = std::thread::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.packet.state.lock().unwrap_or_else(|e| e.into_inner());
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
        }
    }
}

impl<T> std::fmt::Debug for JoinFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinFuture").field("id", &self.id).finish()
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
