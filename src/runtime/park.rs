//! Park and unpark: the one primitive every blocking operation is built on.
//!
//! A waiter takes an [`Unparker`] for itself with [`current`], publishes it where a waker will
//! find it (a channel's wait queue, a mutex's waiter list, a timer), re-checks its condition and
//! calls [`park`]. A waker calls [`Unparker::unpark`]. The pair behaves like
//! `std::thread::park`/`Thread::unpark`: each unparker carries one wake-up token, so an `unpark`
//! that comes before the `park` makes that `park` return at once and no interleaving loses a
//! wake-up. `park` may also return spuriously, so callers wait in a loop on their own condition.
//!
//! Inside a goroutine, parking switches to the scheduler and frees the M for other goroutines;
//! the goroutine's state reads as waiting with the given [`WaitReason`]. Outside a goroutine (a
//! plain OS thread) the same calls park and unpark the thread.
//!
//! The goroutine protocol (the states of `G::park_state`, [`park_state`] below, with the
//! compare-and-swaps that move between them in `impl G` here):
//! 1. `park` consumes a pending token (`NOTIFIED -> EMPTY`) and returns without switching.
//! 2. Otherwise the goroutine switches to its M, and only there, with the goroutine's registers
//!    saved, does the M try `EMPTY -> PARKED`. If an `unpark` got in first (`NOTIFIED`), the M
//!    clears the token and resumes the goroutine at once.
//! 3. `unpark` moves `EMPTY -> NOTIFIED` (the goroutine has not parked yet: step 2 will see it) or
//!    `PARKED -> EMPTY`, and in the latter case, and only then, makes the goroutine runnable.
//!    Exactly one party makes a parked goroutine runnable, so it is never queued twice.
//! 4. A dump holds a parked goroutine in INSPECTING while it reads its stack; an `unpark`
//!    meanwhile becomes INSPECTING_NOTIFIED and the dumper, not the waker, readies it.
//!
//! Readying (`ready`, Go's ready) is here too: a runnable goroutine goes to `runnext` of the
//! caller's P, to the own queue of the M it lives on (m.rs), or to the global queue.
//!
//! # Wakers: the same token, seen from async code
//! The bridge to async Rust (`crate::bridge`) adds no second protocol. Both directions go
//! through this file:
//! - A goroutine in `block_on` is woken by a [`std::task::Waker`] made straight from its G
//!   (`impl Wake for G` below): `wake` is [`Unparker::unpark`], step 3 above, so a wake from any
//!   thread, before or after the park, any number of times, is one token and at most one
//!   `ready`.
//! - A future waiting in one of this crate's wait queues (a channel's, a `JoinHandle`'s) is an
//!   unparker whose target is its task's `Waker` (`Unparker::for_waker`): the waker side of
//!   every queue calls `unpark` as for a goroutine, and `unpark` calls `Waker::wake_by_ref`.
//!   Such a waiter never parks; the future's next poll re-checks its condition instead.

use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Instant;

use super::g::{self, GRef, GStatus, Switch, G};
use super::m::{self, M};
use super::sched::Sched;
use super::syscall::{leave_syscall, reenter_syscall};
use super::timer::{RawTimer, TimerAction};
use crate::trace;
use std::sync::atomic::Ordering;

/// Why a goroutine is waiting, as goroutine dumps print it (Go's waitReason strings).
///
/// ```
/// use goroutines::runtime::WaitReason;
/// assert_eq!(WaitReason::ChanReceive.to_string(), "chan receive");
/// assert_eq!(WaitReason::IoWait.as_str(), "IO wait");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum WaitReason {
    /// Not waiting.
    Zero = 0,
    /// Blocked in `Chan::recv`.
    ChanReceive,
    /// Blocked in `Chan::send`.
    ChanSend,
    /// Receiving from a nil channel: blocked forever.
    ChanReceiveNilChan,
    /// Sending on a nil channel: blocked forever.
    ChanSendNilChan,
    /// Blocked in `select!` with at least one case.
    Select,
    /// `select! {}`: blocked forever.
    SelectNoCases,
    /// In `time::sleep`.
    Sleep,
    /// Waiting for a `sync::Mutex`.
    SyncMutexLock,
    /// Waiting for a read lock of a `sync::RwLock`.
    SyncRWMutexRLock,
    /// Waiting for the write lock of a `sync::RwLock`.
    SyncRWMutexLock,
    /// In `WaitGroup::wait`.
    SyncWaitGroupWait,
    /// In `Cond::wait`.
    SyncCondWait,
    /// Waiting for `Once::call_once` run by another goroutine.
    SyncOnce,
    /// Waiting for semaphore permits.
    Semacquire,
    /// Waiting for a network file descriptor to become ready.
    IoWait,
    /// In `JoinHandle::join`.
    Join,
    /// Waiting to be scheduled on a locked OS thread.
    LockedThread,
    /// In `goroutines::block_on`, waiting for the future's waker.
    BlockOn,
}

impl WaitReason {
    /// All wait reasons, in declaration order (`WaitReason as u8` indexes it).
    pub(crate) const ALL: [WaitReason; 19] = [
        WaitReason::Zero,
        WaitReason::ChanReceive,
        WaitReason::ChanSend,
        WaitReason::ChanReceiveNilChan,
        WaitReason::ChanSendNilChan,
        WaitReason::Select,
        WaitReason::SelectNoCases,
        WaitReason::Sleep,
        WaitReason::SyncMutexLock,
        WaitReason::SyncRWMutexRLock,
        WaitReason::SyncRWMutexLock,
        WaitReason::SyncWaitGroupWait,
        WaitReason::SyncCondWait,
        WaitReason::SyncOnce,
        WaitReason::Semacquire,
        WaitReason::IoWait,
        WaitReason::Join,
        WaitReason::LockedThread,
        WaitReason::BlockOn,
    ];

    pub(crate) fn from_u8(v: u8) -> WaitReason {
        WaitReason::ALL
            .get(v as usize)
            .copied()
            .unwrap_or(WaitReason::Zero)
    }

    /// The text Go prints for this wait reason in a goroutine dump.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Zero => "",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceiveNilChan => "chan receive (nil chan)",
            WaitReason::ChanSendNilChan => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Sleep => "sleep",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncRWMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncRWMutexLock => "sync.RWMutex.Lock",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::SyncCondWait => "sync.Cond.Wait",
            WaitReason::SyncOnce => "sync.Once",
            WaitReason::Semacquire => "semacquire",
            WaitReason::IoWait => "IO wait",
            WaitReason::Join => "join",
            WaitReason::LockedThread => "locked to thread",
            WaitReason::BlockOn => "block_on",
        }
    }
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Wakes one goroutine or OS thread; cheap to clone, `Send + Sync`.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use goroutines::runtime::park::{self, WaitReason};
///
/// goroutines::run(|| {
///     let ready = Arc::new(AtomicBool::new(false));
///     let me = park::current();
///     let r = ready.clone();
///     goroutines::go(move || {
///         r.store(true, Ordering::Release);
///         me.unpark();
///     });
///     // Wait in a loop: park may return spuriously.
///     while !ready.load(Ordering::Acquire) {
///         park::park(WaitReason::Zero);
///     }
/// });
/// ```
#[derive(Clone)]
pub struct Unparker(Target);

#[derive(Clone)]
enum Target {
    Goroutine(GRef),
    Thread(std::thread::Thread),
    /// An async task waiting in a queue of this crate: `unpark` wakes it.
    Waker(Waker),
}

impl Unparker {
    pub(crate) fn for_goroutine(g: GRef) -> Unparker {
        Unparker(Target::Goroutine(g))
    }

    /// An unparker that wakes an async task: what a future of this crate leaves in a wait queue.
    pub(crate) fn for_waker(w: Waker) -> Unparker {
        Unparker(Target::Waker(w))
    }

    /// Whether this unparker would wake the same task as `w` (so a re-poll need not replace it).
    pub(crate) fn wakes(&self, w: &Waker) -> bool {
        match &self.0 {
            Target::Waker(mine) => mine.will_wake(w),
            _ => false,
        }
    }

    /// Makes the waiter runnable, or, if it has not parked yet, makes its next `park` return at
    /// once.
    pub fn unpark(&self) {
        match &self.0 {
            Target::Goroutine(g) => {
                if g.notify() {
                    ready(g.clone());
                }
            }
            Target::Thread(t) => t.unpark(),
            Target::Waker(w) => w.wake_by_ref(),
        }
    }

    /// Whether this unparker wakes the same waiter as `other`.
    pub fn same_waiter(&self, other: &Unparker) -> bool {
        match (&self.0, &other.0) {
            (Target::Goroutine(a), Target::Goroutine(b)) => GRef::ptr_eq(a, b),
            (Target::Thread(a), Target::Thread(b)) => a.id() == b.id(),
            (Target::Waker(a), Target::Waker(b)) => a.will_wake(b),
            _ => false,
        }
    }
}

impl std::fmt::Debug for Unparker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Target::Goroutine(g) => write!(f, "Unparker(goroutine {})", g.id()),
            Target::Thread(t) => write!(f, "Unparker({:?})", t.id()),
            Target::Waker(_) => f.write_str("Unparker(waker)"),
        }
    }
}

/// The unparker of the calling goroutine, or of the calling OS thread outside a goroutine.
pub fn current() -> Unparker {
    match g::current() {
        Some(g) => Unparker(Target::Goroutine(g)),
        None => Unparker(Target::Thread(std::thread::current())),
    }
}

/// Parks the caller until its unparker is used (or spuriously). See the module docs.
pub fn park(reason: WaitReason) {
    match g::current() {
        Some(g) => park_current(&g, reason),
        None => std::thread::park(),
    }
}

/// Like [`park`], but also returns once `deadline` has passed.
///
/// ```
/// use std::time::{Duration, Instant};
/// use goroutines::runtime::park::{park_until, WaitReason};
///
/// goroutines::run(|| {
///     let deadline = Instant::now() + Duration::from_millis(2);
///     while Instant::now() < deadline {
///         park_until(WaitReason::Sleep, deadline);
///     }
/// });
/// ```
pub fn park_until(reason: WaitReason, deadline: Instant) {
    match g::current() {
        Some(g) => park_current_until(&g, reason, deadline),
        None => {
            let now = Instant::now();
            if deadline > now {
                std::thread::park_timeout(deadline - now);
            }
        }
    }
}

/// A goroutine's own waker, for `block_on`: waking it is [`Unparker::unpark`] on the goroutine,
/// so it uses the park token (step 3 of the module docs) and needs no allocation: the `Waker`
/// holds a reference count of the G itself.
impl Wake for G {
    fn wake(self: Arc<Self>) {
        if self.notify() {
            ready(self);
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.notify() {
            ready(self.clone());
        }
    }
}

/// The waker of a plain OS thread in `block_on`: `Thread::unpark`, std's own token.
pub(crate) struct ThreadWaker(pub(crate) std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

// ---- the G side: the park word ----

/// Values of `G::park_state`.
pub(crate) mod park_state {
    /// No token, not parked.
    pub const EMPTY: u8 = 0;
    /// Switched out and waiting for `unpark`.
    pub const PARKED: u8 = 1;
    /// An `unpark` came while the goroutine was not parked: its next park returns at once.
    pub const NOTIFIED: u8 = 2;
    /// Parked, and a dump is reading its stack: nobody may resume it (`G::begin_inspect`).
    pub const INSPECTING: u8 = 3;
    /// As INSPECTING, and an `unpark` came meanwhile: the dumper readies it when done.
    pub const INSPECTING_NOTIFIED: u8 = 4;
}

impl G {
    /// The goroutine itself: consumes a pending token. True if there was one.
    pub(crate) fn take_token(&self) -> bool {
        // Acquire: pairs with the Release in `notify`, so what the waker wrote before unparking
        // is visible to the woken goroutine.
        self.park_state
            .compare_exchange(
                park_state::NOTIFIED,
                park_state::EMPTY,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// The M, after the goroutine switched out with `Switch::Park`: true if it is now parked,
    /// false if a token was pending (consumed) and the goroutine must run again.
    pub(crate) fn commit_park(&self) -> bool {
        // AcqRel: Release publishes the goroutine's saved state to whoever later readies it;
        // Acquire (on failure, via the swap below) pairs with `notify`.
        match self.park_state.compare_exchange(
            park_state::EMPTY,
            park_state::PARKED,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => true,
            Err(_) => {
                self.park_state.store(park_state::EMPTY, Ordering::Relaxed);
                false
            }
        }
    }

    /// A waker: delivers the token. True if the goroutine was parked, in which case the caller,
    /// and only it, must make it runnable.
    pub(crate) fn notify(&self) -> bool {
        let mut s = self.park_state.load(Ordering::Relaxed);
        loop {
            let (new, wake) = match s {
                park_state::NOTIFIED | park_state::INSPECTING_NOTIFIED => return false,
                park_state::EMPTY => (park_state::NOTIFIED, false),
                // A dump holds the goroutine: leave the wake-up to the dumper.
                park_state::INSPECTING => (park_state::INSPECTING_NOTIFIED, false),
                _ => (park_state::EMPTY, true),
            };
            // AcqRel: Release pairs with `take_token`'s Acquire; Acquire pairs with
            // `commit_park`'s Release so the parked goroutine's state is visible before we queue
            // it.
            match self
                .park_state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return wake,
                Err(cur) => s = cur,
            }
        }
    }
}

impl G {
    /// A dumper: holds a parked goroutine parked while it reads its stack. True if the
    /// goroutine was parked; then the caller must call `end_inspect`.
    pub(crate) fn begin_inspect(&self) -> bool {
        // Acquire: pairs with `commit_park`'s Release, so the registers the goroutine saved
        // before switching, and its stack, are visible here.
        self.park_state
            .compare_exchange(
                park_state::PARKED,
                park_state::INSPECTING,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// A dumper is done reading; true if an `unpark` came meanwhile, in which case the caller,
    /// and only it, must make the goroutine runnable (as `notify`'s caller would have).
    pub(crate) fn end_inspect(&self) -> bool {
        match self.park_state.compare_exchange(
            park_state::INSPECTING,
            park_state::PARKED,
            // Acquire on failure: pairs with the waker's Release in `notify`, as there.
            Ordering::Release,
            Ordering::Acquire,
        ) {
            Ok(_) => false,
            Err(_) => {
                // INSPECTING_NOTIFIED: only `notify` moves it there, and only we move it on.
                self.park_state.store(park_state::EMPTY, Ordering::Relaxed);
                true
            }
        }
    }
}

// ---- parking and readying goroutines ----

impl Sched {
    /// Makes a parked goroutine runnable (Go's ready): into `runnext` of the caller's P, so the
    /// woken goroutine runs next, or to the global queue from outside the runtime.
    ///
    /// A goroutine that lives on an M (m.rs) goes to that M's own queue instead: directly when
    /// the caller runs on that M, through its inbox otherwise.
    pub(crate) fn ready(&self, g: GRef) {
        g.set_status(GStatus::Runnable);
        if trace::enabled() {
            trace::go_unpark(g.id().as_u64(), g::current_id().map(g::GoroutineId::as_u64));
        }
        let home = g.home.load(Ordering::Relaxed);
        if !home.is_null() {
            if std::ptr::eq(home, m::current_m()) {
                // SAFETY: `home` is the calling thread's M, which lives as long as its Sched.
                unsafe { &*home }.push_own(g, true);
            } else {
                // SAFETY: Ms live as long as the Sched (`allm`), and the G holds its Sched.
                self.push_remote(unsafe { &*home }, g);
            }
            return;
        }
        match self.current_p() {
            Some(p) => p.put(g, true, &self.global),
            None => self.global.push(g),
        }
        self.wakep();
    }

    /// Queues `g`, which lives on `home`, from another thread, and wakes `home` if it sleeps
    /// waiting for such work (m.rs module docs).
    pub(crate) fn push_remote(&self, home: &M, g: GRef) {
        if home.push_inbox(g) {
            self.netpoll.wake_m(home);
        }
    }
}

/// Parks the running goroutine `g` (park.rs).
pub(crate) fn park_current(g: &G, reason: WaitReason) {
    if g.take_token() {
        return;
    }
    g.set_wait_reason(reason);
    g.mark_wait_start();
    let pinned = pin_if_unwinding(g);
    let sys = leave_syscall(g);
    g.switch_out(Switch::Park);
    reenter_syscall(g, sys);
    unpin(g, pinned);
    g.set_wait_reason(WaitReason::Zero);
}

/// A goroutine that switches while unwinding a panic (a `Drop` that parks) must come back on
/// the same OS thread: std keeps the panic count in a thread-local, and unwinding that finished
/// on another thread would leave both threads' counts wrong. A goroutine that lives on its M
/// (the default) does anyway; a migratable one is given this M as its home for that switch
/// only. Returns whether it pinned.
pub(crate) fn pin_if_unwinding(g: &G) -> bool {
    if !std::thread::panicking() || !g.home.load(Ordering::Relaxed).is_null() {
        return false;
    }
    // Relaxed: read by the readier after the park protocol's Acquire (see `G::home`).
    g.home.store(m::current_m() as *mut M, Ordering::Relaxed);
    true
}

pub(crate) fn unpin(g: &G, pinned: bool) {
    if pinned {
        g.home.store(std::ptr::null_mut(), Ordering::Relaxed);
    }
}

/// Parks the running goroutine `g` until unparked or `deadline`.
pub(crate) fn park_current_until(g: &GRef, reason: WaitReason, deadline: Instant) {
    if g.take_token() || deadline <= Instant::now() {
        return;
    }
    let t = RawTimer::new(TimerAction::Unpark(Unparker::for_goroutine(g.clone())));
    t.reset(&g.sched, deadline);
    park_current(g, reason);
    t.stop(&g.sched);
}

/// Makes `g` runnable on its runtime.
pub(crate) fn ready(g: GRef) {
    let sched = g.sched.clone();
    sched.ready(g);
}

/// Go's Gosched.
pub(crate) fn yield_current() {
    match g::current() {
        Some(g) => {
            let pinned = pin_if_unwinding(&g);
            let sys = leave_syscall(&g);
            g.switch_out(Switch::Yield);
            reenter_syscall(&g, sys);
            unpin(&g, pinned);
        }
        None => std::thread::yield_now(),
    }
}
