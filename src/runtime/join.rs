//! `JoinHandle`: waiting for a goroutine's result.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::g::GoroutineId;
use super::park::{self, Unparker, WaitReason};

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
    finished: AtomicBool,
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
        Arc::new(Packet {
            state: Mutex::new(State::Running(None)),
            finished: AtomicBool::new(false),
            abort_unjoined: AtomicBool::new(false),
        })
    }

    /// Stores the goroutine's result and wakes a joiner. Called by the goroutine as it ends;
    /// `abort` if it panicked under `PanicPolicy::Abort`, which ends the process at once if
    /// the handle is gone, or when it is dropped unjoined.
    pub(crate) fn complete(&self, r: Result<T, Box<dyn Any + Send>>, abort: bool) {
        let waiter = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if matches!(*st, State::Detached) {
                drop(st);
                if abort {
                    abort_unjoined(super::g::current_id());
                }
                // Nobody will take the result: drop it here, on the goroutine, not wherever
                // the last reference to the packet goes.
                drop(r);
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
                    State::Taken | State::Detached => unreachable!("a JoinHandle is joined once"),
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

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let mut st = self.packet.state.lock().unwrap_or_else(|e| e.into_inner());
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
