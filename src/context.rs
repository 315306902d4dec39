//! Go's `context` package: cancellation and deadlines that flow down a tree of contexts.
//!
//! A [`Context`] is a cheap handle (`Clone + Send + Sync`) to a node in a tree rooted at
//! [`Context::background`]. [`Context::with_cancel`], [`Context::with_timeout`] and
//! [`Context::with_deadline`] derive a child and a [`CancelFunc`]; cancelling a context (by its
//! `CancelFunc`, its deadline, or its parent's cancellation) closes its [`Context::done`]
//! channel, sets [`Context::err`], and cancels every descendant.
//!
//! # Design (Go's context/context.go, cancelCtx and timerCtx)
//! 1. Each derived context is a node with a lock guarding its error, its done channel (made on
//!    first use, or already closed if made after cancellation), its children, and its deadline
//!    timer. Background is no node at all: its done channel is nil and never ready.
//! 2. A child registers with its nearest cancellable ancestor when it is made; if that ancestor
//!    is already cancelled the child is cancelled at once with the same error.
//! 3. Cancelling sets the error and closes the channel under the node's lock, takes the
//!    children out, releases the lock, and then cancels the children (iteratively, so a deep
//!    chain cannot overflow a goroutine's stack). A context cancelled by its own `CancelFunc`
//!    or deadline then removes itself from its parent, so a long-lived parent does not collect
//!    dead children. No two node locks are ever held at once.
//! 4. A parent holds its children strongly and a child holds its parent weakly: as in Go, a
//!    child whose `CancelFunc` is dropped without being called stays registered until its
//!    parent is cancelled (dropping a `CancelFunc` does not cancel). A pending deadline timer
//!    keeps its context alive until it fires or the context is cancelled, so a goroutine that
//!    only holds the done channel still sees it closed.
//! 5. Deadlines use a runtime timer whose action cancels the node with `DeadlineExceeded`; the
//!    action only takes locks held for a few stores and closes a channel, never blocking. A
//!    deadline no earlier than the parent's makes a plain cancellable child (Go does the same).
//!
//! 6. Causes (Go 1.20's `WithCancelCause`): cancelling records a cause beside the error; a
//!    context cancelled without one, or by its deadline, has its error as its cause, and
//!    descendants inherit the cause of the cancellation that reached them.
//! 7. `after_func` (Go 1.21's `AfterFunc`) registers a record with the node; cancellation takes
//!    the records out with the children and starts each function in its own goroutine, never
//!    running it under a node lock or on the canceller's stack (a timer action, for a deadline,
//!    runs on the scheduler's). Whoever takes the function out of its record first, the
//!    canceller or `stop`, decides whether it runs.
//! 8. Values (Go's `WithValue`) are a separate immutable chain: each context holds the newest
//!    link, a child of any kind copies its parent's, and `value` walks it newest first. Keys
//!    are compared by type and `==`, so a private key type cannot collide with another crate's.
//!
//! # Rejected alternatives
//! Go's `Context` is an interface; here it is one concrete type, so it needs no "is this parent
//! a cancelCtx" probing or propagation goroutine. Values keyed by type alone (a type map) were
//! rejected: Go's key-and-value pairs let one type name several values.

use std::any::Any;
use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::chan::{Chan, RecvChan};
use crate::runtime::timer::{Timer, TimerAction};
use crate::runtime::RuntimeRef;
use crate::util::lock;

/// Why a context was cancelled (Go's `context.Canceled` and `context.DeadlineExceeded`).
///
/// ```
/// use goroutines::context::ContextError;
///
/// assert_eq!(ContextError::Canceled.to_string(), "context canceled");
/// assert_eq!(ContextError::DeadlineExceeded.to_string(), "context deadline exceeded");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// Its `CancelFunc` (or an ancestor's) was called.
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl ContextError {
    /// True for `DeadlineExceeded` (Go's `Timeout()` method on that error).
    ///
    /// ```
    /// use goroutines::context::ContextError;
    /// assert!(ContextError::DeadlineExceeded.is_timeout());
    /// assert!(!ContextError::Canceled.is_timeout());
    /// ```
    pub fn is_timeout(self) -> bool {
        self == ContextError::DeadlineExceeded
    }
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

/// A cancellation signal and optional deadline, passed down a call tree (Go's
/// `context.Context`).
///
/// ```
/// use std::time::Duration;
/// use goroutines::context::{Context, ContextError};
///
/// let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(60));
/// let (child, _child_cancel) = ctx.with_cancel();
/// cancel.cancel();
/// assert_eq!(child.done().recv(), None); // closed
/// assert_eq!(child.err(), Some(ContextError::Canceled));
/// ```
#[derive(Clone, Default)]
pub struct Context {
    /// `None` for background.
    node: Option<Arc<Node>>,
    /// The newest value (`with_value`), linked to older ones; `None`: no values.
    values: Option<Arc<ValueNode>>,
}

/// Why a context was cancelled, as [`Context::cause`] returns it: the cause given to a
/// [`CancelCauseFunc`], or else the context's [`ContextError`].
pub type Cause = Arc<dyn Error + Send + Sync>;

/// One `with_value` link.
struct ValueNode {
    key: Box<dyn Any + Send + Sync>,
    value: Box<dyn Any + Send + Sync>,
    parent: Option<Arc<ValueNode>>,
}

/// Cancels the context it was made with, and its descendants (Go's `context.CancelFunc`).
///
/// Calling it more than once is harmless; dropping it does not cancel (as in Go, a context
/// whose `CancelFunc` is never called stays registered with its parent until the parent is
/// cancelled or its deadline passes).
///
/// ```
/// use goroutines::context::Context;
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// cancel.cancel();
/// cancel.cancel();
/// assert!(ctx.err().is_some());
/// ```
#[must_use = "a context's CancelFunc should be called once its work is done (go vet's lostcancel)"]
pub struct CancelFunc {
    node: Arc<Node>,
}

/// Cancels the context it was made with, recording a cause (Go's `context.CancelCauseFunc`);
/// see [`Context::with_cancel_cause`].
#[must_use = "a context's CancelCauseFunc should be called once its work is done"]
pub struct CancelCauseFunc {
    node: Arc<Node>,
}

/// Stops an [`after_func`](Context::after_func) registration (the `stop` function Go's
/// `context.AfterFunc` returns). Dropping it does not stop anything.
pub struct AfterFuncStop {
    rec: Arc<AfterRec>,
    node: Option<Arc<Node>>,
}

/// One `after_func` registration.
struct AfterRec {
    id: u64,
    /// The function, until the canceller or `stop` takes it.
    f: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// The runtime to start it on: the one `after_func` was called on.
    rt: RuntimeRef,
}

impl AfterRec {
    fn take(&self) -> Option<Box<dyn FnOnce() + Send>> {
        lock(&self.f).take()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct Node {
    id: u64,
    /// The nearest cancellable ancestor, to leave its children map; weak (see module docs).
    parent: Option<Weak<Node>>,
    deadline: Option<Instant>,
    /// The cause recorded when the node's own deadline passes (`with_deadline_cause`); `None`:
    /// `DeadlineExceeded` itself.
    deadline_cause: Option<Cause>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    err: Option<ContextError>,
    /// Set with `err`.
    cause: Option<Cause>,
    /// `after_func` registrations, started when the context is cancelled.
    afters: HashMap<u64, Arc<AfterRec>>,
    /// Made on first `done()`; closed on cancellation.
    done: Option<Chan<()>>,
    children: HashMap<u64, Arc<Node>>,
    /// The deadline timer while armed.
    timer: Option<Timer>,
    /// The node itself while its deadline timer is armed (the timer holds it weakly).
    keepalive: Option<Arc<Node>>,
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Context {
    /// The root of every context tree: never cancelled, no deadline, and a nil done channel
    /// (Go's `context.Background`).
    ///
    /// ```
    /// use goroutines::context::Context;
    ///
    /// let bg = Context::background();
    /// assert!(bg.done().is_nil());
    /// assert_eq!(bg.err(), None);
    /// assert_eq!(bg.deadline(), None);
    /// ```
    pub fn background() -> Context {
        Context {
            node: None,
            values: None,
        }
    }

    /// A child context cancelled when the returned [`CancelFunc`] is called or this context is
    /// cancelled, whichever comes first (Go's `context.WithCancel`).
    ///
    /// ```
    /// use goroutines::context::{Context, ContextError};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert_eq!(ctx.err(), None);
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// ```
    pub fn with_cancel(&self) -> (Context, CancelFunc) {
        self.derive(self.deadline(), false, None)
    }

    /// A child context that is also cancelled, with [`ContextError::DeadlineExceeded`], at
    /// `deadline` (Go's `context.WithDeadline`). A deadline already past cancels it at once; a
    /// deadline no earlier than this context's changes nothing about timing.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use goroutines::context::{Context, ContextError};
    ///
    /// let d = Instant::now() + Duration::from_millis(2);
    /// let (ctx, _cancel) = Context::background().with_deadline(d);
    /// assert_eq!(ctx.deadline(), Some(d));
    /// ctx.done().recv();
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// ```
    pub fn with_deadline(&self, deadline: Instant) -> (Context, CancelFunc) {
        self.with_deadline_or_cause(deadline, None)
    }

    /// As [`with_deadline`](Context::with_deadline), recording `cause` as the context's
    /// [`cause`](Context::cause) when the deadline passes (Go's `context.WithDeadlineCause`).
    /// The returned [`CancelFunc`] sets no cause.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use goroutines::context::{Context, ContextError};
    ///
    /// let d = Instant::now() + Duration::from_millis(1);
    /// let (ctx, _cancel) = Context::background().with_deadline_cause(d, "backend too slow");
    /// ctx.done().recv();
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "backend too slow");
    /// ```
    pub fn with_deadline_cause(
        &self,
        deadline: Instant,
        cause: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> (Context, CancelFunc) {
        let cause: Box<dyn Error + Send + Sync> = cause.into();
        self.with_deadline_or_cause(deadline, Some(Cause::from(cause)))
    }

    /// `with_deadline_cause(now + timeout, cause)` (Go's `context.WithTimeoutCause`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::context::Context;
    ///
    /// let (ctx, _cancel) = Context::background().with_timeout_cause(Duration::from_millis(1), "slow");
    /// ctx.done().recv();
    /// assert_eq!(ctx.cause().unwrap().to_string(), "slow");
    /// ```
    pub fn with_timeout_cause(
        &self,
        timeout: Duration,
        cause: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> (Context, CancelFunc) {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.with_deadline_cause(d, cause),
            None => self.with_cancel(),
        }
    }

    /// A context with this one's values but none of its cancellation or deadline: never
    /// cancelled, even when this one is (Go's `context.WithoutCancel`).
    ///
    /// ```
    /// use goroutines::context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_value("k", 1u8).with_cancel();
    /// let detached = ctx.without_cancel();
    /// cancel.cancel();
    /// assert!(ctx.err().is_some());
    /// assert!(detached.err().is_none() && detached.done().is_nil());
    /// assert_eq!(detached.value::<_, u8>(&"k"), Some(&1));
    /// ```
    pub fn without_cancel(&self) -> Context {
        Context {
            node: None,
            values: self.values.clone(),
        }
    }

    fn with_deadline_or_cause(
        &self,
        deadline: Instant,
        cause: Option<Cause>,
    ) -> (Context, CancelFunc) {
        match self.deadline() {
            Some(cur) if cur <= deadline => self.derive(Some(cur), false, None),
            _ => self.derive(Some(deadline), true, cause),
        }
    }

    /// `with_deadline(now + timeout)` (Go's `context.WithTimeout`); a timeout too large to
    /// represent is no deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::context::{Context, ContextError};
    ///
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(1));
    /// ctx.done().recv();
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelFunc) {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.with_deadline(d),
            None => self.with_cancel(),
        }
    }

    /// A channel closed when this context is cancelled, for `select!` (Go's `Done`). The
    /// background context's is a nil channel, never ready.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::select;
    /// use goroutines::context::Context;
    /// use goroutines::time::after;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// goroutines::go(move || cancel.cancel());
    /// select! {
    ///     recv(ctx.done()) -> _ => {},
    ///     recv(after(Duration::from_secs(60))) -> _ => panic!("not cancelled"),
    /// }
    /// ```
    pub fn done(&self) -> RecvChan<()> {
        let Some(node) = &self.node else {
            return Chan::nil().receiver();
        };
        let mut st = node.lock();
        let cancelled = st.err.is_some();
        let c = st.done.get_or_insert_with(|| {
            let c = Chan::new(0);
            if cancelled {
                c.close(); // made after cancellation: Go's closedchan
            }
            c
        });
        c.receiver()
    }

    /// Why this context was cancelled, or `None` while it is not (Go's `Err`).
    ///
    /// ```
    /// use goroutines::context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert!(ctx.err().is_none());
    /// drop(cancel); // does not cancel
    /// assert!(ctx.err().is_none());
    /// ```
    pub fn err(&self) -> Option<ContextError> {
        self.node.as_ref().and_then(|n| n.lock().err)
    }

    /// When this context will be cancelled for its deadline, if it has one (its own or an
    /// ancestor's, whichever is earlier).
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::context::Context;
    ///
    /// let (ctx, _c) = Context::background().with_timeout(Duration::from_secs(60));
    /// let (child, _c2) = ctx.with_cancel();
    /// assert_eq!(child.deadline(), ctx.deadline());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.node.as_ref().and_then(|n| n.deadline)
    }

    /// As [`with_cancel`](Context::with_cancel), with a [`CancelCauseFunc`] that records why
    /// (Go's `context.WithCancelCause`); read it back with [`cause`](Context::cause).
    ///
    /// ```
    /// use goroutines::context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel_cause();
    /// let (child, _c) = ctx.with_cancel();
    /// cancel.cancel(std::io::Error::other("disk full"));
    /// assert_eq!(child.cause().unwrap().to_string(), "disk full"); // inherited
    /// ```
    pub fn with_cancel_cause(&self) -> (Context, CancelCauseFunc) {
        let (ctx, CancelFunc { node }) = self.with_cancel();
        (ctx, CancelCauseFunc { node })
    }

    /// Why this context was cancelled (Go's `context.Cause`): the cause given to the
    /// [`CancelCauseFunc`] that cancelled it or an ancestor, or else its [`err`](Context::err)
    /// as a [`Cause`]; `None` while it is not cancelled.
    ///
    /// ```
    /// use goroutines::context::{Context, ContextError};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert!(ctx.cause().is_none());
    /// cancel.cancel();
    /// let cause = ctx.cause().unwrap();
    /// assert_eq!(cause.downcast_ref::<ContextError>(), Some(&ContextError::Canceled));
    /// ```
    pub fn cause(&self) -> Option<Cause> {
        self.node.as_ref().and_then(|n| n.lock().cause.clone())
    }

    /// A child carrying `value` under `key`, cancelled with this context (Go's
    /// `context.WithValue`). [`value`](Context::value) finds it in the child and every context
    /// derived from it. Keys match by type and `==`: a key type private to a module keeps its
    /// values from colliding with anyone else's, as Go advises.
    ///
    /// ```
    /// use goroutines::context::Context;
    ///
    /// #[derive(PartialEq)]
    /// struct RequestId;
    ///
    /// let ctx = Context::background().with_value(RequestId, 42u64);
    /// let (child, _cancel) = ctx.with_cancel();
    /// assert_eq!(child.value::<_, u64>(&RequestId), Some(&42));
    /// assert_eq!(child.value::<_, u64>(&"other key"), None);
    /// ```
    pub fn with_value<K, V>(&self, key: K, value: V) -> Context
    where
        K: Any + PartialEq + Send + Sync,
        V: Any + Send + Sync,
    {
        Context {
            node: self.node.clone(),
            values: Some(Arc::new(ValueNode {
                key: Box::new(key),
                value: Box::new(value),
                parent: self.values.clone(),
            })),
        }
    }

    /// The value stored under `key` by the nearest [`with_value`](Context::with_value) (Go's
    /// `Context.Value`); `None` if there is none, or if the value found is not a `V`.
    pub fn value<K, V>(&self, key: &K) -> Option<&V>
    where
        K: Any + PartialEq,
        V: Any,
    {
        let mut link = self.values.as_deref();
        while let Some(v) = link {
            if v.key.downcast_ref::<K>() == Some(key) {
                return v.value.downcast_ref::<V>();
            }
            link = v.parent.as_deref();
        }
        None
    }

    /// Arranges for `f` to run in its own goroutine once this context is cancelled, or at once
    /// (in its own goroutine) if it already is (Go's `context.AfterFunc`). The returned handle
    /// can unregister it. On the background context, which is never cancelled, `f` never runs.
    ///
    /// ```
    /// use goroutines::context::Context;
    ///
    /// goroutines::run(|| {
    ///     let (ctx, cancel) = Context::background().with_cancel();
    ///     let c = goroutines::Chan::new(1);
    ///     let tx = c.clone();
    ///     let _stop = ctx.after_func(move || tx.send("cleaned up"));
    ///     cancel.cancel();
    ///     assert_eq!(c.recv(), Some("cleaned up"));
    /// });
    /// ```
    #[track_caller]
    pub fn after_func<F>(&self, f: F) -> AfterFuncStop
    where
        F: FnOnce() + Send + 'static,
    {
        let rec = Arc::new(AfterRec {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            f: Mutex::new(Some(Box::new(f))),
            rt: RuntimeRef::current(),
        });
        let Some(node) = &self.node else {
            return AfterFuncStop { rec, node: None };
        };
        let mut st = node.lock();
        if st.err.is_some() {
            drop(st);
            if let Some(f) = rec.take() {
                let _ = rec.rt.go_detached(f, std::panic::Location::caller());
            }
        } else {
            st.afters.insert(rec.id, rec.clone());
        }
        AfterFuncStop {
            rec,
            node: Some(node.clone()),
        }
    }

    /// Makes a child, registers it, and arms its deadline timer if `own_deadline` (cancelling
    /// with `deadline_cause` when it fires).
    fn derive(
        &self,
        deadline: Option<Instant>,
        own_deadline: bool,
        deadline_cause: Option<Cause>,
    ) -> (Context, CancelFunc) {
        let node = Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            parent: self.node.as_ref().map(Arc::downgrade),
            deadline,
            deadline_cause,
            state: Mutex::new(State::default()),
        });
        if let Some(parent) = &self.node {
            let mut ps = parent.lock();
            match ps.err {
                Some(err) => {
                    let cause = ps.cause.clone();
                    drop(ps);
                    cancel(&node, false, err, cause);
                }
                None => {
                    ps.children.insert(node.id, node.clone());
                }
            }
        }
        if let (true, Some(d)) = (own_deadline, deadline) {
            if d <= Instant::now() {
                cancel(
                    &node,
                    true,
                    ContextError::DeadlineExceeded,
                    node.deadline_cause.clone(),
                );
            } else {
                arm_deadline(&node, d);
            }
        }
        (
            Context {
                node: Some(node.clone()),
                values: self.values.clone(),
            },
            CancelFunc { node },
        )
    }
}

fn arm_deadline(node: &Arc<Node>, d: Instant) {
    let mut st = node.lock();
    if st.err.is_some() {
        return; // the parent cancelled it meanwhile
    }
    let weak = Arc::downgrade(node);
    let timer = Timer::new(TimerAction::Func(Box::new(move || {
        if let Some(n) = weak.upgrade() {
            cancel(
                &n,
                true,
                ContextError::DeadlineExceeded,
                n.deadline_cause.clone(),
            );
        }
    })));
    timer.reset(d);
    st.timer = Some(timer);
    st.keepalive = Some(node.clone());
}

/// Cancels `node` and its descendants with `err` and `cause` (`None`: `err` itself); the first
/// cancellation of a node wins. Starts the `after_func`s of every node it cancels.
fn cancel(node: &Arc<Node>, remove_from_parent: bool, err: ContextError, cause: Option<Cause>) {
    let cause = cause.unwrap_or_else(|| Arc::new(err));
    let mut work = vec![node.clone()];
    let mut first = true;
    let mut afters = Vec::new();
    while let Some(n) = work.pop() {
        let (timer, keepalive) = {
            let mut st = n.lock();
            if st.err.is_some() {
                if first {
                    return; // already cancelled: nothing to do, not even leaving the parent
                }
                continue;
            }
            st.err = Some(err);
            st.cause = Some(cause.clone());
            if let Some(c) = &st.done {
                c.close();
            }
            work.extend(st.children.drain().map(|(_, c)| c));
            afters.extend(st.afters.drain().map(|(_, a)| a));
            (st.timer.take(), st.keepalive.take())
        };
        if let Some(t) = timer {
            t.stop();
        }
        drop(keepalive);
        first = false;
    }
    for a in afters {
        if let Some(f) = a.take() {
            // In its own goroutine, as Go's AfterFunc; if the runtime is gone, `f` is dropped.
            let _ = a.rt.go_detached(f, std::panic::Location::caller());
        }
    }
    if remove_from_parent {
        if let Some(p) = node.parent.as_ref().and_then(Weak::upgrade) {
            p.lock().children.remove(&node.id);
        }
    }
}

impl CancelFunc {
    /// Cancels the context with [`ContextError::Canceled`] (unless it was already cancelled),
    /// closes its done channel, cancels its descendants and removes it from its parent.
    ///
    /// ```
    /// use goroutines::context::Context;
    ///
    /// let (parent, pcancel) = Context::background().with_cancel();
    /// let (child, ccancel) = parent.with_cancel();
    /// ccancel.cancel();
    /// assert!(child.err().is_some());
    /// assert!(parent.err().is_none());
    /// pcancel.cancel();
    /// ```
    pub fn cancel(&self) {
        cancel(&self.node, true, ContextError::Canceled, None);
    }
}

impl CancelCauseFunc {
    /// Cancels the context with [`ContextError::Canceled`] and `cause` (unless it was already
    /// cancelled), as [`CancelFunc::cancel`] does; [`Context::cause`] then returns `cause`.
    ///
    /// ```
    /// use goroutines::context::{Context, ContextError};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel_cause();
    /// cancel.cancel("upstream closed");
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "upstream closed");
    /// ```
    pub fn cancel(&self, cause: impl Into<Box<dyn Error + Send + Sync>>) {
        let cause: Box<dyn Error + Send + Sync> = cause.into();
        cancel(
            &self.node,
            true,
            ContextError::Canceled,
            Some(Cause::from(cause)),
        );
    }
}

impl AfterFuncStop {
    /// Unregisters the function: true if that kept it from running, false if it was already
    /// started (the context was cancelled) or stopped (Go's `stop`).
    ///
    /// ```
    /// use goroutines::context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let stop = ctx.after_func(|| unreachable!("stopped first"));
    /// assert!(stop.stop());
    /// assert!(!stop.stop());
    /// cancel.cancel();
    /// ```
    pub fn stop(&self) -> bool {
        let stopped = self.rec.take().is_some();
        if stopped {
            if let Some(n) = &self.node {
                n.lock().afters.remove(&self.rec.id);
            }
        }
        stopped
    }
}

impl fmt::Debug for CancelCauseFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelCauseFunc")
    }
}

impl fmt::Debug for AfterFuncStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFuncStop").finish_non_exhaustive()
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelFunc")
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            None => f.write_str("context.Background"),
            Some(n) => {
                let st = n.lock();
                f.debug_struct("Context")
                    .field("deadline", &n.deadline)
                    .field("err", &st.err)
                    .field("children", &st.children.len())
                    .finish()
            }
        }
    }
}

// A panic cannot leave a context half-updated: its state changes under its lock.
impl std::panic::UnwindSafe for Context {}
impl std::panic::RefUnwindSafe for Context {}
impl std::panic::UnwindSafe for CancelFunc {}
impl std::panic::RefUnwindSafe for CancelFunc {}

#[cfg(test)]
mod tests {
    use super::*;

    fn children(c: &Context) -> usize {
        c.node.as_ref().map_or(0, |n| n.lock().children.len())
    }

    /// Ported from Go's TestCancelRemoves (context_test.go): a child cancelled by its own
    /// CancelFunc or deadline leaves its parent's children.
    #[test]
    fn cancel_removes_child() {
        let (parent, pcancel) = Context::background().with_cancel();
        let (_c1, cancel1) = parent.with_cancel();
        let (_c2, cancel2) = parent.with_timeout(Duration::from_secs(60));
        assert_eq!(children(&parent), 2);
        cancel1.cancel();
        assert_eq!(children(&parent), 1);
        cancel2.cancel();
        assert_eq!(children(&parent), 0);
        let (c3, _cancel3) = parent.with_timeout(Duration::from_millis(1));
        assert_eq!(children(&parent), 1);
        c3.done().recv();
        // The timer's cancel removes the child after closing the channel: wait for it.
        let start = Instant::now();
        while children(&parent) != 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "timed-out child not removed"
            );
            std::thread::yield_now();
        }
        pcancel.cancel();
    }

    /// A parent cancelled holds no children afterwards, and a pending deadline timer keeps its
    /// context alive only until cancellation.
    #[test]
    fn cancel_releases_everything() {
        let (parent, pcancel) = Context::background().with_cancel();
        let (child, c) = parent.with_timeout(Duration::from_secs(60));
        let weak = Arc::downgrade(child.node.as_ref().unwrap());
        drop(child);
        drop(c);
        assert!(weak.upgrade().is_some(), "registered child dropped early");
        pcancel.cancel();
        assert_eq!(children(&parent), 0);
        assert!(weak.upgrade().is_none(), "cancelled child leaked");
    }
}
