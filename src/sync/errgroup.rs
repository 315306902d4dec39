//! `ErrGroup`: Go's `golang.org/x/sync/errgroup.Group`, goroutines working on one task whose
//! first error is the task's.
//!
//! Design (errgroup.go, with Rust types):
//! 1. A `WaitGroup` counts the goroutines; `wait` waits on it.
//! 2. The first `Err` is kept (later ones are dropped) and cancels the group's derived context,
//!    so the other goroutines, watching it, stop early. `wait` cancels it too, as errgroup does,
//!    so the context never outlives the group's work.
//! 3. `set_limit(n)` makes a semaphore of n permits (errgroup uses a channel of capacity n;
//!    a semaphore needs no buffer, so a large limit costs nothing); `go` acquires one before
//!    starting (parking while n goroutines run, as errgroup's `SetLimit`), `try_go` tries to,
//!    and each goroutine releases it when it ends. The semaphore is read under a lock only to
//!    clone the handle.
//! 4. A panic in a goroutine is kept too, cancels the context, and is resumed by `wait` (as
//!    errgroup does since 2025), so it is neither lost nor a hang: each goroutine's exit
//!    bookkeeping runs in a drop guard, panic or not.
//!
//! Rejected: an error type fixed to `Box<dyn Error>` (the caller picks `E`), and storing every
//! error (errgroup keeps only the first; the others are usually "context canceled").

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Semaphore, WaitGroup};
use crate::context::{CancelFunc, Context};
use crate::util::lock;

/// Goroutines working on subtasks of one task: [`wait`](ErrGroup::wait) returns the first
/// error, and a group made [`with_context`](ErrGroup::with_context) cancels its context at that
/// first error (Go's `errgroup.Group`). Clones share one group.
///
/// ```
/// use goroutines::sync::ErrGroup;
///
/// goroutines::run(|| {
///     let g = ErrGroup::new();
///     for i in 0..4 {
///         g.go(move || if i == 2 { Err(format!("task {i} failed")) } else { Ok(()) });
///     }
///     assert_eq!(g.wait(), Err("task 2 failed".to_string()));
/// });
/// ```
pub struct ErrGroup<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    wg: WaitGroup,
    /// The first error, and the first panic's payload.
    outcome: Mutex<Outcome<E>>,
    /// Cancels the context of `with_context`.
    cancel: Option<CancelFunc>,
    /// The limit's permits (`set_limit`); `None`: no limit.
    sem: Mutex<Option<Arc<Semaphore>>>,
    /// Goroutines holding a permit: `set_limit` refuses to change the limit under them.
    limited: AtomicUsize,
}

struct Outcome<E> {
    err: Option<E>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<E> Inner<E> {
    fn outcome(&self) -> MutexGuard<'_, Outcome<E>> {
        lock(&self.outcome)
    }

    fn sem(&self) -> Option<Arc<Semaphore>> {
        lock(&self.sem).clone()
    }

    fn cancel(&self) {
        if let Some(c) = &self.cancel {
            c.cancel();
        }
    }
}

/// Run as a goroutine of the group ends, even by panicking: frees its slot and counts it out.
struct Exit<E> {
    inner: Arc<Inner<E>>,
    token: Option<Arc<Semaphore>>,
}

impl<E> Drop for Exit<E> {
    fn drop(&mut self) {
        if let Some(sem) = &self.token {
            self.inner.limited.fetch_sub(1, Ordering::Relaxed);
            sem.release(1);
        }
        self.inner.wg.done();
    }
}

impl<E: Send + 'static> ErrGroup<E> {
    /// A group with no context and no limit (Go's zero `errgroup.Group`).
    pub fn new() -> ErrGroup<E> {
        ErrGroup::make(None)
    }

    /// A group and a context derived from `ctx`, cancelled at the group's first error (or
    /// panic), or when [`wait`](ErrGroup::wait) returns, whichever comes first (Go's
    /// `errgroup.WithContext`).
    ///
    /// ```
    /// use goroutines::context::Context;
    /// use goroutines::sync::ErrGroup;
    ///
    /// goroutines::run(|| {
    ///     let (g, ctx) = ErrGroup::with_context(&Context::background());
    ///     let c = ctx.clone();
    ///     g.go(move || {
    ///         c.done().recv(); // a worker that runs until cancelled
    ///         Err("cancelled")
    ///     });
    ///     g.go(|| Err("failed"));
    ///     assert_eq!(g.wait(), Err("failed"));
    ///     assert!(ctx.err().is_some());
    /// });
    /// ```
    pub fn with_context(ctx: &Context) -> (ErrGroup<E>, Context) {
        let (ctx, cancel) = ctx.with_cancel();
        (ErrGroup::make(Some(cancel)), ctx)
    }

    fn make(cancel: Option<CancelFunc>) -> ErrGroup<E> {
        ErrGroup {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                outcome: Mutex::new(Outcome {
                    err: None,
                    panic: None,
                }),
                cancel,
                sem: Mutex::new(None),
                limited: AtomicUsize::new(0),
            }),
        }
    }

    /// Runs `f` in a new goroutine of the group. With a limit set and reached, parks until a
    /// goroutine of the group ends (Go's `Group.Go`).
    ///
    /// # Panics
    /// If no stack can be had for the goroutine (as [`go`](crate::go)).
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let token = self.inner.sem();
        if let Some(sem) = &token {
            sem.acquire(1);
        }
        self.start(f, token, Location::caller());
    }

    /// As [`go`](ErrGroup::go), but only if the limit leaves room now: false (and `f` dropped
    /// unrun) if the group already runs as many goroutines as its limit (Go's `Group.TryGo`).
    ///
    /// ```
    /// use goroutines::sync::ErrGroup;
    ///
    /// goroutines::run(|| {
    ///     let g = ErrGroup::<()>::new();
    ///     g.set_limit(1);
    ///     let c = goroutines::Chan::<()>::new(0);
    ///     let rx = c.clone();
    ///     assert!(g.try_go(move || { rx.recv(); Ok(()) }));
    ///     assert!(!g.try_go(|| Ok(()))); // full
    ///     c.close();
    ///     g.wait().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, f: F) -> bool
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let token = self.inner.sem();
        if let Some(sem) = &token {
            if !sem.try_acquire(1) {
                return false;
            }
        }
        self.start(f, token, Location::caller());
        true
    }

    fn start<F>(&self, f: F, token: Option<Arc<Semaphore>>, site: &'static Location<'static>)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        if token.is_some() {
            self.inner.limited.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.wg.add(1);
        let exit = Exit {
            inner: self.inner.clone(),
            token,
        };
        let body = move || {
            let exit = exit;
            match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    let first = {
                        let mut o = exit.inner.outcome();
                        let first = o.err.is_none();
                        if first {
                            o.err = Some(e);
                        }
                        first
                    };
                    if first {
                        exit.inner.cancel();
                    }
                }
                Err(p) => {
                    {
                        let mut o = exit.inner.outcome();
                        if o.panic.is_none() {
                            o.panic = Some(p);
                        }
                    }
                    exit.inner.cancel();
                }
            }
            // `exit` drops here: the slot is freed and the goroutine counted out last.
        };
        let r = crate::runtime::go_detached(body, site);
        if let Err(e) = r {
            // The body was dropped unrun, and with it `exit`: the count is back where it was.
            panic!("{e}");
        }
    }

    /// Limits the group to `n` goroutines at once: [`go`](ErrGroup::go) then parks while `n`
    /// run, and [`try_go`](ErrGroup::try_go) returns false (Go's `Group.SetLimit`). A limit of
    /// 0 lets no goroutine start; a limit above `isize::MAX` is `isize::MAX`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use goroutines::sync::ErrGroup;
    ///
    /// goroutines::run(|| {
    ///     let g = ErrGroup::<()>::new();
    ///     g.set_limit(2);
    ///     let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    ///     for _ in 0..10 {
    ///         let (now, max) = (now.clone(), max.clone());
    ///         g.go(move || {
    ///             max.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
    ///             goroutines::yield_now();
    ///             now.fetch_sub(1, Ordering::SeqCst);
    ///             Ok(())
    ///         });
    ///     }
    ///     g.wait().unwrap();
    ///     assert!(max.load(Ordering::SeqCst) <= 2);
    /// });
    /// ```
    ///
    /// # Panics
    /// With "errgroup: modify limit while N goroutines in the group are still active" (Go's
    /// message) if goroutines started under a limit are still running.
    #[track_caller]
    pub fn set_limit(&self, n: usize) {
        let mut sem = lock(&self.inner.sem);
        let active = self.inner.limited.load(Ordering::Relaxed);
        if active != 0 {
            drop(sem);
            panic!(
                "errgroup: modify limit while {active} goroutines in the group are still active"
            );
        }
        *sem = Some(Arc::new(Semaphore::new(n.min(isize::MAX as usize))));
    }

    /// Waits for every goroutine of the group, cancels the group's context, and returns the
    /// first error (Go's `Group.Wait`).
    ///
    /// # Panics
    /// With the payload of a goroutine's panic, if one panicked.
    pub fn wait(self) -> Result<(), E> {
        self.inner.wg.wait();
        self.inner.cancel();
        let (err, p) = {
            let mut o = self.inner.outcome();
            (o.err.take(), o.panic.take())
        };
        if let Some(p) = p {
            panic::resume_unwind(p);
        }
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<E: Send + 'static> Default for ErrGroup<E> {
    fn default() -> ErrGroup<E> {
        ErrGroup::new()
    }
}

impl<E> Clone for ErrGroup<E> {
    fn clone(&self) -> ErrGroup<E> {
        ErrGroup {
            inner: self.inner.clone(),
        }
    }
}

impl<E> fmt::Debug for ErrGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.inner.outcome();
        f.debug_struct("ErrGroup")
            .field("wait_group", &self.inner.wg)
            .field("failed", &o.err.is_some())
            .field("panicked", &o.panic.is_some())
            .finish_non_exhaustive()
    }
}
