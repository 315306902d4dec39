//! Scoped goroutines: goroutines that borrow from the caller's stack, all joined before
//! [`scope`] returns (std's `thread::scope`, with goroutines).
//!
//! Why it is sound (std's argument, unchanged):
//! 1. `scope` does not return, by value or by unwinding, until every goroutine started in it
//!    has ended *and* dropped everything it held: each goroutine's closure, and its result if
//!    nobody joined it. The closure may therefore borrow anything that outlives `'env`; its
//!    lifetime is erased to `'static` only to hand it to the scheduler.
//! 2. The count of live goroutines (`ScopeData::running`) goes up in `Scope::go` before the
//!    spawn and down in the drop of the goroutine's result packet (`join.rs`), which happens
//!    when both the goroutine and its handle are done with it. The goroutine's closure is
//!    dropped before its packet reference (`Body` declares `f` first), even when a runtime shut
//!    down drops it unrun.
//! 3. The caller waits for the count to reach zero after its closure returns or panics, parked
//!    like any goroutine (or blocked, on a plain thread) with wait reason "join"; the
//!    goroutine that brings the count to zero unparks it. The lifetimes in the signatures
//!    (`'scope` invariant, `'env: 'scope`, the handle tied to `'scope`) are std's, so a handle
//!    or a borrow cannot escape the scope.
//! 4. A panic in a scoped goroutine that was not joined makes `scope` panic with "a scoped
//!    goroutine panicked" once all are done; a panic of the closure itself is resumed instead.
//!    A joined goroutine's panic is the joiner's, as its `Err`.
//!
//! A goroutine abandoned by a runtime shut down under it never ends, so the scope waiting for it
//! never returns: a leak, never a dangling borrow.
//!
//! Stacks in this runtime are never moved or shrunk, so a parent's stack borrowed by its scoped
//! goroutines stays where it is; a future stack shrinker must skip a goroutine waiting in
//! `scope` (it waits with wait reason "join" inside `ScopeData::wait`).

use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::g::GoroutineId;
use super::goroutine::SpawnOpts;
use super::join::Packet;
use super::park::{self, Unparker, WaitReason};
use super::with_current_sched;
use crate::chan::RecvChan;
use crate::util::fatal;

/// What a scope and its goroutines share.
pub(crate) struct ScopeData {
    /// Goroutines started and whose packet has not been dropped yet.
    running: AtomicUsize,
    /// Whether one of them panicked and was not joined.
    a_panicked: AtomicBool,
    /// The caller of `scope`, woken when `running` reaches zero.
    main: Unparker,
}

impl ScopeData {
    fn increment(&self) {
        // As std: stop long before the count could wrap, whatever a program leaks.
        if self.running.fetch_add(1, Ordering::Relaxed) > usize::MAX / 2 {
            fatal("too many running goroutines in a scope");
        }
    }

    /// One goroutine is done, and so is everything it held (see the module docs).
    pub(crate) fn decrement(&self, panicked: bool) {
        if panicked {
            self.a_panicked.store(true, Ordering::Relaxed);
        }
        // Release: pairs with the Acquire load in `wait`, so what the goroutine did (its writes
        // through borrowed references, the `a_panicked` store) happens before `scope` returns.
        if self.running.fetch_sub(1, Ordering::Release) == 1 {
            self.main.unpark();
        }
    }

    /// Parks the caller of `scope` until every goroutine of the scope is done.
    fn wait(&self) {
        // Acquire: pairs with the Release in `decrement`.
        while self.running.load(Ordering::Acquire) != 0 {
            park::park(WaitReason::Join);
        }
    }
}

/// Runs `f` with a [`Scope`] whose goroutines may borrow anything that outlives the call;
/// every goroutine started with [`Scope::go`] is joined before `scope` returns (std's
/// `thread::scope`, with goroutines instead of threads).
///
/// ```
/// let data = vec![1, 2, 3, 4, 5, 6, 7, 8];
/// let mut total = 0;
/// goroutines::scope(|s| {
///     let (a, b) = data.split_at(4);
///     let ha = s.go(|| a.iter().sum::<i32>());
///     let hb = s.go(|| b.iter().sum::<i32>());
///     total = ha.join().unwrap() + hb.join().unwrap();
/// });
/// assert_eq!(total, 36);
/// ```
///
/// While it waits, the caller is parked like any waiting goroutine (its M runs others), or
/// blocked if it is a plain OS thread. Goroutines start on the caller's runtime, or the default
/// one outside a goroutine.
///
/// # Panics
/// If `f` panics, with its panic, once every goroutine is done; otherwise with "a scoped
/// goroutine panicked" if a goroutine that was not joined panicked.
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            a_panicked: AtomicBool::new(false),
            main: park::current(),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let r = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
    scope.data.wait();
    match r {
        Err(e) => panic::resume_unwind(e),
        Ok(_) if scope.data.a_panicked.load(Ordering::Relaxed) => {
            panic!("a scoped goroutine panicked")
        }
        Ok(v) => v,
    }
}

/// Starts goroutines that may borrow from outside the [`scope`] that made it.
///
/// `'scope` is the scope's own lifetime, `'env` that of what its goroutines borrow.
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    /// Invariant in `'scope`, so a goroutine cannot be given a shorter borrow (std's reason).
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// An owned permission to join a scoped goroutine; it cannot outlive its scope. Dropping it
/// leaves the goroutine to be joined by the scope.
pub struct ScopedJoinHandle<'scope, T> {
    packet: Arc<Packet<T>>,
    id: GoroutineId,
    _scope: PhantomData<&'scope ()>,
}

/// A scoped goroutine's closure and its packet; `f` is declared first so it is dropped first
/// (module docs, point 2).
struct Body<F, T> {
    f: F,
    packet: Arc<Packet<T>>,
}

impl<F: FnOnce() -> T, T> Body<F, T> {
    fn run(self) {
        let Body { f, packet } = self;
        let r = panic::catch_unwind(AssertUnwindSafe(f));
        // Goroutine-locals are dropped in the goroutine, before the scope can end (local.rs).
        let r = match panic::catch_unwind(super::local::destroy_current) {
            Ok(()) => r,
            Err(e) => r.and(Err(e)),
        };
        // A scoped goroutine's panic reaches the scope's caller: never unjoined.
        packet.complete(r, false);
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Starts a goroutine running `f`, which may borrow from outside the scope.
    ///
    /// ```
    /// let mut counts = [0usize; 4];
    /// let words = ["a", "bb", "ccc", "dddd"];
    /// goroutines::scope(|s| {
    ///     for (c, w) in counts.iter_mut().zip(&words) {
    ///         s.go(move || *c = w.len());
    ///     }
    /// });
    /// assert_eq!(counts, [1, 2, 3, 4]);
    /// ```
    ///
    /// # Panics
    /// If no stack can be had for the goroutine (as [`go`](crate::go)).
    #[track_caller]
    pub fn go<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        match self.spawn(f, Location::caller(), SpawnOpts::default()) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    pub(crate) fn spawn<F, T>(
        &'scope self,
        f: F,
        site: &'static Location<'static>,
        opts: SpawnOpts,
    ) -> std::io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.data.increment();
        let packet = Packet::new_in(Some(self.data.clone()));
        let body = Body {
            f,
            packet: packet.clone(),
        };
        let main: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || body.run());
        // SAFETY: only the lifetime changes. The box borrows data that outlives 'scope; `scope`
        // does not return before the count raised above is brought down again, which happens
        // when the box's packet is dropped, after the box's other contents (module docs), so
        // nothing the box borrows is used after 'scope ends. If the spawn fails, the box is
        // dropped here, before this function returns.
        let main: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(main) };
        let g = with_current_sched(|s| s.spawn(main, site, opts))?;
        Ok(ScopedJoinHandle {
            packet,
            id: g.id(),
            _scope: PhantomData,
        })
    }
}

impl<'scope, T> ScopedJoinHandle<'scope, T> {
    /// Waits for the goroutine to finish and returns its result, or `Err` with the payload of
    /// its panic (which then does not make the scope panic).
    ///
    /// ```
    /// goroutines::scope(|s| {
    ///     let h = s.go(|| panic!("oops"));
    ///     assert!(h.join().is_err());
    /// }); // joined: the scope does not panic
    /// ```
    pub fn join(self) -> std::thread::Result<T> {
        self.packet.join()
    }

    /// Whether the goroutine has finished: `join` would not wait.
    pub fn is_finished(&self) -> bool {
        self.packet.is_finished()
    }

    /// A channel closed when the goroutine finishes, for `select!` (see
    /// [`JoinHandle::done`](crate::JoinHandle::done)).
    pub fn done(&self) -> RecvChan<()> {
        self.packet.done_chan()
    }

    /// The goroutine's id.
    pub fn id(&self) -> GoroutineId {
        self.id
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("running", &self.data.running.load(Ordering::Relaxed))
            .field("a_panicked", &self.data.a_panicked.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
