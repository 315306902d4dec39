//! The scheduler: goroutines (G) run by OS threads (M) holding processors (P).
//!
//! # Vocabulary (after Go's runtime/HACKING.md)
//!
//! - **G**, a goroutine (`g.rs`): a function with its own stack, an id, a state (runnable,
//!   running, waiting with a named wait reason, dead) and a wake-up token.
//! - **M**, a machine (`m.rs`): an OS thread. It runs goroutines only while it holds a P; without
//!   one it sleeps on a futex. Ms are created as needed: a few more than GOMAXPROCS in steady
//!   state, more while goroutines are locked to threads.
//! - **P**, a processor (`p.rs`): the right to run goroutines; GOMAXPROCS of them. Each P has a
//!   256-slot local run queue with a one-slot `runnext`, a timer heap and a stack cache.
//! - The **global queue** (`runq.rs`) takes goroutines made runnable outside any P, yields, and
//!   overflow from full local queues; every P checks it at least every 61st schedule.
//!
//! # Who may block what
//!
//! A goroutine blocks only by parking (`park.rs`), which switches to its M's scheduler loop
//! (`sched.rs`) on the M's own stack. The scheduler never parks a goroutine while holding one of
//! its locks, and its locks (the idle lists, the global queue, a timer heap, a stack pool) are
//! held only for short critical sections without any switch inside. A goroutine that blocks its
//! OS thread (std's blocking I/O, `std::sync`, `thread::sleep`) blocks its P with it: that is the
//! contract documented in the crate docs.
//!
//! # Seeing inside
//!
//! Every goroutine is listed in its runtime's registry (`allgs.rs`) with its spawn site, parent,
//! state and wait reason. From it come the goroutine dump (`dump.rs`, stacks walked by
//! `traceback.rs`), `metrics()` (`metrics.rs`), the deadlock detector that sysmon runs when every
//! P is idle (`deadlock.rs`), and the `GOROUTINES_DEBUG` schedtrace and SIGQUIT settings
//! (`debug.rs`). The timeline trace lives in `crate::trace`; the scheduler calls its hooks only
//! when a trace is running.
//!
//! # Stacks
//!
//! Each goroutine runs on a stack slot from a process-wide arena allocator (`stack.rs`), with a
//! guard page below it whose fault is reported by `debug/overflow.rs`. The context switch is
//! `corosensei`'s: a goroutine is a coroutine resumed by its M and suspended back to it.
//! A goroutine made with `Goroutine::stack_size` (`goroutine.rs`) gets a slot of its own size,
//! from the pool of that size.
//!
//! # Starting and waiting
//!
//! `go`, `Runtime::go` and the `Goroutine` builder (`goroutine.rs`, which passes a name and a
//! stack size to `Sched::spawn` in one `SpawnOpts`) all end in `Sched::spawn`. A `JoinHandle`
//! (`join.rs`) shares a result packet with its goroutine; `scope` (`scope.rs`) builds borrowing
//! goroutines on the same packet, counting them so the scope can wait for all of them.

pub(crate) mod builder;
pub(crate) mod debug;
pub(crate) mod g;
pub(crate) mod goroutine;
pub(crate) mod join;
pub(crate) mod local;
pub(crate) mod m;
pub(crate) mod netpoll;
pub(crate) mod offload;
pub(crate) mod p;
pub(crate) mod panic_hook;
pub mod park;
pub(crate) mod runq;
pub(crate) mod sched;
pub(crate) mod scope;
pub(crate) mod spawn;
pub(crate) mod stack;
pub(crate) mod syscall;
pub(crate) mod sysmon;
pub(crate) mod testing;
pub(crate) mod timer;

use std::io;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

pub use builder::{Builder, PanicPolicy};
pub use debug::metrics::Metrics;
pub use g::GoroutineId;
pub use goroutine::Goroutine;
pub use join::{JoinFuture, JoinHandle};
pub use local::GoroutineLocalKey;
pub use park::WaitReason;
pub(crate) use sched::can_spin;
use sched::Sched;
pub use scope::{scope, Scope, ScopedJoinHandle};

/// A goroutine runtime: a scheduler with its Ps and Ms.
///
/// ```
/// let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
/// let h = rt.go(|| 2 + 2);
/// assert_eq!(h.join().unwrap(), 4);
/// assert!(rt.try_go(|| ()).is_ok());
/// ```
///
/// Most programs use the process-wide default runtime through [`go`](crate::go) and
/// [`run`](crate::run); a `Runtime` from [`Builder`] gives explicit settings (tests use a fresh one
/// each). Dropping a `Runtime` stops its threads; goroutines still parked or runnable then are
/// abandoned without running their destructors, as a Go program abandons its goroutines when
/// `main` returns.
pub struct Runtime {
    sched: Arc<Sched>,
}

impl Runtime {
    pub(crate) fn from_sched(sched: Arc<Sched>) -> Runtime {
        panic_hook::install_panic_hook();
        Runtime { sched }
    }

    /// Runs `f` as the main goroutine and returns its result, blocking the calling thread (or
    /// parking the calling goroutine) until it finishes. A panic in `f` resumes in the caller.
    ///
    /// ```
    /// let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
    /// let sum = rt.run(|| {
    ///     let hs: Vec<_> = (0..10).map(|i| goroutines::go(move || i)).collect();
    ///     hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
    /// });
    /// assert_eq!(sum, 45);
    /// ```
    ///
    /// Called from a plain OS thread, this arms the deadlock detector (see
    /// [`Builder::detect_deadlock`]): if `f` and every other goroutine end up parked with
    /// nothing left that could wake them, the process exits with Go's message and a goroutine
    /// dump instead of hanging.
    #[track_caller]
    pub fn run<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let top = !g::in_goroutine();
        let (h, main) = match spawn_g(
            &self.sched,
            f,
            Location::caller(),
            goroutine::SpawnOpts::default(),
        ) {
            Ok(x) => x,
            Err(e) => panic!("{e}"),
        };
        let waiter = top.then(|| debug::deadlock::RunWaiter::new(&self.sched, main));
        let r = h.join();
        drop(waiter);
        if top {
            crate::trace::stop_from_env();
        }
        match r {
            Ok(v) => v,
            Err(p) => panic::resume_unwind(p),
        }
    }

    /// Starts a goroutine on this runtime.
    ///
    /// # Panics
    /// If no stack can be had for it (address space or memory exhausted); see [`Runtime::try_go`].
    #[track_caller]
    pub fn go<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match spawn(&self.sched, f, Location::caller(), false) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts a goroutine on this runtime that may resume on any of its OS threads after a
    /// park, as every goroutine does in Go; see [`go_migratable`](crate::go_migratable).
    ///
    /// # Safety
    /// As for [`go_migratable`](crate::go_migratable): `f` must not keep a reference to, or a
    /// value tied to, the current OS thread across a call that can park or yield.
    ///
    /// # Panics
    /// As [`Runtime::go`].
    #[track_caller]
    pub unsafe fn go_migratable<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match spawn(&self.sched, f, Location::caller(), true) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts a goroutine on this runtime, or says why it could not.
    ///
    /// # Errors
    /// `OutOfMemory` when no stack can be mapped (address space, memory or `vm.max_map_count`
    /// exhausted); `Other` after the runtime has been shut down.
    #[track_caller]
    pub fn try_go<F, T>(&self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn(&self.sched, f, Location::caller(), false)
    }

    /// This runtime's GOMAXPROCS.
    pub fn max_procs(&self) -> usize {
        self.sched.max_procs()
    }

    /// Live goroutines of this runtime.
    pub fn num_goroutine(&self) -> usize {
        self.sched.goroutine_count()
    }

    /// A snapshot of the scheduler's state, for monitoring: cheap enough to poll.
    pub fn stats(&self) -> Stats {
        stats_of(&self.sched)
    }

    /// Everything the scheduler knows about itself; see [`Metrics`].
    pub fn metrics(&self) -> Metrics {
        debug::metrics::metrics_of(&self.sched)
    }

    /// A dump of this runtime's goroutines; see [`dump`](crate::dump).
    pub fn dump(&self) -> String {
        debug::dump::dump_sched(&self.sched)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.sched.shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("max_procs", &self.max_procs())
            .finish()
    }
}

/// A snapshot of a runtime's scheduler, from [`Runtime::stats`] or [`stats`](crate::stats).
///
/// ```
/// let rt = goroutines::Builder::new().max_procs(2).build().unwrap();
/// rt.run(|| ());
/// let s = rt.stats();
/// assert_eq!(s.max_procs, 2);
/// assert_eq!(s.local_queues.len(), 2);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Stats {
    /// GOMAXPROCS.
    pub max_procs: usize,
    /// Goroutines started and not finished.
    pub goroutines: usize,
    /// OS threads (Ms) started.
    pub threads: usize,
    /// Goroutines in the global run queue.
    pub global_queue: usize,
    /// Goroutines in each P's local run queue (with `runnext`).
    pub local_queues: Vec<usize>,
    /// Timers in the heaps, including stopped ones not yet cleaned up.
    pub timers: usize,
    /// Usable bytes of each goroutine stack.
    pub stack_size: usize,
}

fn stats_of(s: &Sched) -> Stats {
    let (global_queue, local_queues) = s.queue_depths();
    Stats {
        max_procs: s.max_procs(),
        goroutines: s.goroutine_count(),
        threads: s.thread_count(),
        global_queue,
        local_queues,
        timers: s.timer_count(),
        stack_size: s.stack_size,
    }
}

pub(crate) fn spawn<F, T>(
    sched: &Arc<Sched>,
    f: F,
    site: &'static Location<'static>,
    migratable: bool,
) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let h = spawn_g(
        sched,
        f,
        site,
        goroutine::SpawnOpts {
            migratable,
            ..Default::default()
        },
    )
    .map(|(h, _)| h);
    // A goroutine spawning in a loop never parks: let sysmon make it yield (issue 11, item 7).
    syscall::preempt_point();
    h
}

/// The runtime a value belongs to, for the crate's modules outside the runtime (time, context,
/// sync): enough to start a goroutine there and to arm a timer there (`timer::Timer`), nothing
/// of `Sched` itself. Holding one keeps the runtime's state alive, not its threads.
#[derive(Clone)]
pub(crate) struct RuntimeRef(Arc<Sched>);

/// A [`RuntimeRef`] that does not keep the runtime alive: what a timer's action holds, so that
/// a timer left in a heap does not keep its runtime's state from being freed.
#[derive(Clone)]
pub(crate) struct WeakRuntimeRef(std::sync::Weak<Sched>);

impl RuntimeRef {
    /// The calling goroutine's runtime, or the default one (started if need be).
    pub(crate) fn current() -> RuntimeRef {
        with_current_sched(|s| RuntimeRef(s.clone()))
    }

    pub(crate) fn downgrade(&self) -> WeakRuntimeRef {
        WeakRuntimeRef(Arc::downgrade(&self.0))
    }

    /// Starts `f` as a goroutine on this runtime with its handle dropped, as `go` does: under
    /// `PanicPolicy::Abort` its panic ends the process (`time::after_func`'s function, as Go's).
    pub(crate) fn go<F>(&self, f: F, site: &'static Location<'static>) -> io::Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        spawn(&self.0, f, site, false).map(drop)
    }

    /// Starts `f` as a detached goroutine on this runtime (see [`go_detached`]).
    pub(crate) fn go_detached<F>(&self, f: F, site: &'static Location<'static>) -> io::Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        spawn_detached(&self.0, f, site)
    }

    pub(crate) fn sched(&self) -> &Arc<Sched> {
        &self.0
    }
}

impl WeakRuntimeRef {
    pub(crate) fn upgrade(&self) -> Option<RuntimeRef> {
        self.0.upgrade().map(RuntimeRef)
    }
}

/// Starts `f` as a detached goroutine (see [`spawn_detached`]) on the calling goroutine's
/// runtime, or the default one.
pub(crate) fn go_detached<F>(f: F, site: &'static Location<'static>) -> io::Result<()>
where
    F: FnOnce() + Send + 'static,
{
    with_current_sched(|s| spawn_detached(s, f, site))
}

/// As `spawn` with the handle dropped at once, without making one: for goroutines the crate
/// starts on a user's behalf and never joins (`ErrGroup::go`, `WaitGroup::go`, `after_func`).
/// A panic in `f` is reported by the panic hook and ends only this goroutine, as with a
/// dropped `JoinHandle`.
fn spawn_detached<F>(sched: &Arc<Sched>, f: F, site: &'static Location<'static>) -> io::Result<()>
where
    F: FnOnce() + Send + 'static,
{
    let body = move || {
        let _ = panic::catch_unwind(AssertUnwindSafe(f));
    };
    sched
        .spawn(body, site, goroutine::SpawnOpts::default())
        .map(drop)
}

/// As `spawn`, with what a `Goroutine` builder set.
pub(crate) fn spawn_with<F, T>(
    sched: &Arc<Sched>,
    f: F,
    site: &'static Location<'static>,
    opts: goroutine::SpawnOpts,
) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let h = spawn_g(sched, f, site, opts).map(|(h, _)| h);
    syscall::preempt_point();
    h
}

/// As `spawn_with`, also returning the goroutine's record.
fn spawn_g<F, T>(
    sched: &Arc<Sched>,
    f: F,
    site: &'static Location<'static>,
    opts: goroutine::SpawnOpts,
) -> io::Result<(JoinHandle<T>, g::GRef)>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let packet = join::Packet::new();
    let p2 = packet.clone();
    let g = sched.spawn(
        move || {
            let r = panic::catch_unwind(AssertUnwindSafe(f));
            // The goroutine's locals are dropped here, in the goroutine, before a joiner can
            // see the result (local.rs); a panicking destructor ends like any goroutine panic.
            let r = match panic::catch_unwind(local::destroy_current) {
                Ok(()) => r,
                Err(e) => r.and(Err(e)),
            };
            let abort = r.is_err()
                && g::current().is_some_and(|g| g.sched.panic_abort.load(Ordering::Relaxed));
            p2.complete(r, abort);
        },
        site,
        opts,
    )?;
    Ok((JoinHandle::new(packet, g.id()), g))
}

static DEFAULT: OnceLock<Runtime> = OnceLock::new();

/// The process-wide runtime, started on first use.
///
/// # Panics
/// If `GOMAXPROCS` or `GOROUTINES_STACK_SIZE` holds an invalid value.
pub(crate) fn default_runtime() -> &'static Runtime {
    DEFAULT.get_or_init(|| match Builder::new().build() {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    })
}

/// Calls `f` with the calling goroutine's runtime, or the default one, without cloning handles.
fn with_current_sched<R>(f: impl FnOnce(&Arc<Sched>) -> R) -> R {
    match g::current() {
        Some(g) => f(&g.sched),
        None => f(&default_runtime().sched),
    }
}

/// Starts a goroutine running `f` and returns a handle to join it (Go's `go f()`).
///
/// Inside a goroutine the new one joins the caller's runtime; elsewhere it joins the
/// process-wide default runtime, started on first use.
///
/// ```
/// let h = goroutines::go(|| "hello from a goroutine");
/// assert_eq!(h.join().unwrap(), "hello from a goroutine");
/// ```
///
/// # Panics
/// If no stack can be mapped for it (see [`Runtime::try_go`]), or if the default runtime cannot
/// start because `GOMAXPROCS` or `GOROUTINES_STACK_SIZE` is invalid.
#[track_caller]
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let site = Location::caller();
    let r = with_current_sched(|s| spawn(s, f, site, false));
    match r {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    }
}

/// Starts a goroutine that may resume on any OS thread of its runtime after it parks or
/// yields, as every goroutine does in Go: work stealing, the hand-off of a P whose thread is
/// inside [`blocking`] or hogged, and wake-ups from other threads may all move it, so it is
/// never stuck behind its thread.
///
/// A goroutine started with [`go`] stays on the OS thread where it first ran, which is what
/// makes [`go`] sound: safe code may keep a `&` to a thread-local, an `Rc` kept by a thread, a
/// `StdoutLock` or a `rand::rngs::ThreadRng` across a channel receive, and resuming it on
/// another thread would be a data race. See docs/soundness.md for the analysis and the
/// figures.
///
/// ```
/// let h = // SAFETY: the closure keeps nothing tied to its OS thread across `yield_now`.
///     unsafe { goroutines::go_migratable(|| { goroutines::yield_now(); 2 + 2 }) };
/// assert_eq!(h.join().unwrap(), 4);
/// ```
///
/// # Safety
/// Across every call that can park or yield (channel operations, `sync` locks and waits,
/// `time::sleep`, socket I/O, `yield_now`, `blocking`, `join`), `f` and everything it calls
/// must not keep:
/// - a reference obtained from a `thread_local!` (`LOCAL.with(|v| ... park ... )`), or a
///   pointer computed from one;
/// - a value that belongs to the current OS thread: an `Rc` or `RefCell` shared with a
///   thread-local, a `ThreadRng`, a lock guard of a thread-affine lock (`StdoutLock`, a
///   `ReentrantLock` guard), a `MutexGuard` of `std::sync::Mutex` whose unlock must happen on
///   the locking thread on some platforms;
/// - anything a library documents as `!Send` for thread-affinity reasons.
///
/// Reading a thread-local afresh after the park is not enough either: the compiler may keep a
/// thread-local's address across a call within one function (llvm-project #98479; measured in
/// docs/soundness.md). Use [`goroutine_local!`](crate::goroutine_local) for per-goroutine state.
///
/// # Panics
/// As [`go`].
#[track_caller]
pub unsafe fn go_migratable<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let site = Location::caller();
    let r = with_current_sched(|s| spawn(s, f, site, true));
    match r {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    }
}

/// Runs `f` as the main goroutine of the default runtime and returns its result (Go's `main`).
///
/// ```
/// let v = goroutines::run(|| goroutines::go(|| 7).join().unwrap());
/// assert_eq!(v, 7);
/// ```
///
/// A program whose goroutines all end up asleep exits with Go's "fatal error: all goroutines
/// are asleep - deadlock!" and a goroutine dump; see [`Builder::detect_deadlock`].
#[track_caller]
pub fn run<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    default_runtime().run(f)
}

/// Lets other goroutines run; the caller goes to the back of the global queue (Go's
/// `runtime.Gosched`). Outside a goroutine, yields the OS thread.
///
/// ```
/// goroutines::run(|| goroutines::yield_now());
/// ```
pub fn yield_now() {
    park::yield_current();
}

/// Live goroutines (started and not finished) of the caller's runtime, or of the default one
/// outside a goroutine (Go's `runtime.NumGoroutine`).
///
/// ```
/// goroutines::run(|| assert!(goroutines::num_goroutine() >= 1));
/// ```
pub fn num_goroutine() -> usize {
    with_current_sched(|s| s.goroutine_count())
}

/// GOMAXPROCS of the caller's runtime (or the default one).
///
/// ```
/// assert!(goroutines::max_procs() >= 1);
/// ```
pub fn max_procs() -> usize {
    with_current_sched(|s| s.max_procs())
}

/// Sets GOMAXPROCS of the caller's runtime (or the default one) and returns the previous value;
/// `0` only queries. It takes effect while goroutines run: extra Ps start taking work at once,
/// and Ps beyond the new value retire at their next scheduling point.
///
/// ```
/// let old = goroutines::set_max_procs(0);
/// assert_eq!(goroutines::set_max_procs(old), old);
/// ```
///
/// # Panics
/// If `n` exceeds 4096.
#[track_caller]
pub fn set_max_procs(n: usize) -> usize {
    with_current_sched(|s| {
        if n == 0 {
            s.max_procs()
        } else {
            s.set_max_procs(n)
        }
    })
}

/// The id of the calling goroutine, or `None` on a plain OS thread.
///
/// ```
/// assert_eq!(goroutines::current_id(), None);
/// let h = goroutines::go(|| goroutines::current_id());
/// let id = h.id();
/// assert_eq!(h.join().unwrap(), Some(id));
/// ```
pub fn current_id() -> Option<GoroutineId> {
    g::current_id()
}

/// Runs `f`, which may block its OS thread (a system call, a blocking library function), without
/// blocking the other goroutines (Go's entersyscall and exitsyscall).
///
/// The goroutine keeps its OS thread while `f` runs; if `f` takes longer than about 20 µs, the
/// scheduler hands this goroutine's P to another thread so the goroutines queued behind it keep
/// running. When `f` returns, the goroutine gets a P back, or queues for one. Outside a goroutine
/// this just calls `f`.
///
/// Without `blocking`, a goroutine that blocks its thread in std's blocking functions is still
/// rescued after 5 ms by the scheduler's monitor, which treats it as a goroutine hogging its P
/// (see [`crate::runtime`]); `blocking` makes the hand-off 250 times sooner.
///
/// `f` may park the goroutine (receive from a channel, lock a `sync::Mutex`, sleep): the
/// goroutine leaves the blocking state while it is parked and enters it again when it
/// resumes, so its P serves the other goroutines meanwhile, at full speed.
///
/// ```
/// use std::time::Duration;
/// goroutines::run(|| {
///     let n = goroutines::blocking(|| {
///         std::thread::sleep(Duration::from_millis(5)); // stands in for a blocking syscall
///         42
///     });
///     assert_eq!(n, 42);
/// });
/// ```
pub fn blocking<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    syscall::blocking(f)
}

/// Pins the calling goroutine to its OS thread (M) until a matching [`unlock_os_thread`]: no
/// other goroutine runs on that thread meanwhile, and this goroutine runs on no other thread (Go's
/// `runtime.LockOSThread`). Calls nest. Use it for thread-affine code: thread-locals kept across
/// a blocking call, OpenGL contexts, `setns`. A no-op on a plain OS thread.
///
/// ```
/// goroutines::run(|| {
///     goroutines::lock_os_thread();
///     let t = std::thread::current().id();
///     goroutines::yield_now();
///     assert_eq!(std::thread::current().id(), t);
///     goroutines::unlock_os_thread();
/// });
/// ```
pub fn lock_os_thread() {
    syscall::lock_os_thread();
}

/// Undoes one [`lock_os_thread`]; when the count reaches zero the goroutine may migrate again.
pub fn unlock_os_thread() {
    syscall::unlock_os_thread();
}

/// Everything the caller's runtime (or the default one) knows about itself: goroutines by
/// state and wait reason, queue depths, threads, steals, parks, timers, network waiters and stack
/// memory. It walks every goroutine; see [`Metrics`].
///
/// ```
/// let m = goroutines::run(|| goroutines::metrics());
/// assert!(m.goroutines >= 1 && m.running >= 1);
/// ```
pub fn metrics() -> Metrics {
    with_current_sched(|s| debug::metrics::metrics_of(s))
}

/// Every goroutine of the caller's runtime (or the default one), as Go prints them: id, state,
/// wait reason and how long it has waited, the stack, and where it was started.
///
/// ```
/// use goroutines::chan::Chan;
/// goroutines::run(|| {
///     let c = Chan::<()>::new(0);
///     let rx = c.clone();
///     let h = goroutines::go(move || rx.recv());
///     while goroutines::metrics().waiting == 0 {
///         goroutines::yield_now();
///     }
///     let text = goroutines::dump();
///     assert!(text.contains(&format!("goroutine {} [chan receive", h.id())));
///     assert!(text.contains("[running]")); // the caller
///     c.close();
///     h.join().unwrap();
/// });
/// ```
///
/// The calling goroutine and the parked ones are shown with their stacks, taken without
/// stopping the program (a parked goroutine is held parked while its stack is read); a goroutine
/// running on another thread, or runnable, is shown without one. Frames are resolved from the
/// binary's debug information: build with `debug = 1` (or more) for file and line numbers.
pub fn dump() -> String {
    with_current_sched(|s| debug::dump::dump_sched(s))
}

/// A snapshot of the caller's runtime (or the default one).
///
/// ```
/// let s = goroutines::stats();
/// assert!(s.max_procs >= 1);
/// ```
pub fn stats() -> Stats {
    with_current_sched(|s| stats_of(s))
}
