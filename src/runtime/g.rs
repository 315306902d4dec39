//! The goroutine record (G): identity, state, wait reason, and the coroutine that holds its stack.
//!
//! Ownership protocol: at any moment a G is in exactly one place: a run queue (local, `runnext`
//! or global), running on one M, parked (referenced only by the unparkers that wakers hold), or
//! dead. Only the M that took it from a run queue touches its coroutine; that hand-over goes
//! through the queue's Acquire/Release, so the coroutine field needs no lock.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::mem::ManuallyDrop;
use std::num::NonZeroU64;
use std::panic::Location;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use corosensei::{Coroutine, Yielder};

use super::debug::traceback::{self, Regs};
use super::m::M;
use super::park::WaitReason;
use super::sched::Sched;
use super::stack::Stack;
use crate::util::fatal;

pub(crate) type GRef = Arc<G>;

/// Identifies a goroutine for the life of the process; ids are never reused.
///
/// ```
/// let h = goroutines::go(|| ());
/// let id = h.id();
/// h.join().unwrap();
/// assert!(id.as_u64() > 0);
/// assert_eq!(format!("goroutine {id}"), format!("goroutine {}", id.as_u64()));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GoroutineId(pub(crate) NonZeroU64);

impl GoroutineId {
    /// The id as a number, as Go's tracebacks print it ("goroutine 17").
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for GoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoroutineId({})", self.0)
    }
}

impl fmt::Display for GoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a goroutine asks its M to do when it switches out.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Switch {
    /// Put me on the global queue and run something else (Go's Gosched).
    Yield,
    /// Park me, unless a wake-up token is already there (see `park.rs`).
    Park,
    /// I lost my P during `blocking`: queue me for one.
    Requeue,
}

/// The state of a goroutine, as dumps, metrics and the deadlock detector read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum GStatus {
    /// In a run queue.
    Runnable = 0,
    /// On an M.
    Running = 1,
    /// Parked, with a wait reason.
    Waiting = 2,
    /// Finished.
    Dead = 3,
    /// On an M, inside `blocking` (Go's _Gsyscall).
    Syscall = 4,
}

impl GStatus {
    fn from_u8(v: u8) -> GStatus {
        match v {
            0 => GStatus::Runnable,
            1 => GStatus::Running,
            2 => GStatus::Waiting,
            3 => GStatus::Dead,
            _ => GStatus::Syscall,
        }
    }

    /// Go's name for the state, as dumps print it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GStatus::Runnable => "runnable",
            GStatus::Running => "running",
            GStatus::Waiting => "waiting",
            GStatus::Dead => "dead",
            GStatus::Syscall => "syscall",
        }
    }

    /// Go's number for the state (`_Grunnable` and so on), as `scheddetail` prints it.
    pub(crate) fn go_number(self) -> u8 {
        match self {
            GStatus::Runnable => 1,
            GStatus::Running => 2,
            GStatus::Syscall => 3,
            GStatus::Waiting => 4,
            GStatus::Dead => 6,
        }
    }
}

pub(crate) type Co = Coroutine<(), Switch, (), Stack>;

/// The stack and entry closure of a goroutine that has not started yet (`G::pending`).
type Pending = (Stack, Box<dyn FnOnce() + Send>);

pub(crate) struct G {
    id: GoroutineId,
    /// The wake-up protocol of `park.rs` (`park::park_state`); moved only by the
    /// compare-and-swaps there.
    pub(super) park_state: AtomicU8,
    /// A `GStatus`, kept for observability only; no decision reads it.
    status: AtomicU8,
    /// A `WaitReason`, meaningful while `status` is Waiting.
    wait_reason: AtomicU8,
    /// The runtime this goroutine belongs to: where it is queued when made runnable.
    pub(crate) sched: Arc<Sched>,
    /// Touched only by the M running or resuming this G (see the module docs). `None` once the
    /// goroutine has finished and its stack went back to the pool.
    co: UnsafeCell<Option<ManuallyDrop<Co>>>,
    /// A goroutine not started yet whose stack is untouched: its coroutine is made by the M that
    /// first runs it (see `sched::Sched::spawn`). Touched only by the M owning the G.
    pending: UnsafeCell<Option<Pending>>,
    /// Set by the goroutine itself when it starts; read only by the goroutine itself.
    yielder: Cell<*const Yielder<(), Switch>>,
    /// The M this goroutine is locked to (`lock_os_thread`), or null. Written by the goroutine
    /// itself; read by schedulers after taking the G from a queue (ordered by the queue).
    pub(crate) locked_m: AtomicPtr<M>,
    /// The M this goroutine lives on: the one where it first ran, set by that M before the
    /// first resume and never changed; null before, and always for a migratable goroutine
    /// unless it is locked (`lock_os_thread` sets it for the lock's duration). Read by
    /// whoever readies the goroutine, after the park protocol's Acquire (`notify` pairs with
    /// `commit_park`'s Release, which follows the store).
    pub(crate) home: AtomicPtr<M>,
    /// Started with `go_migratable` (or a runtime that migrates every goroutine): may resume on
    /// any M, as in Go. Set at spawn, read-only after.
    pub(crate) migratable: bool,
    /// Nesting depth of `lock_os_thread`; touched only by the goroutine itself.
    pub(crate) lock_depth: Cell<u32>,
    /// The goroutine's `goroutine_local!` values (local.rs); touched only by the goroutine
    /// itself.
    pub(crate) locals: UnsafeCell<super::local::Locals>,
    /// Inside `blocking`: whether the goroutine put its P in SYSCALL (`syscall::ENTERED`), or
    /// runs the call without one (`syscall::WITHOUT_P`), or is not in a call (`syscall::NONE`).
    /// Touched only by the goroutine itself (`sched::enter_syscall` and friends).
    pub(crate) syscall: Cell<u8>,
    /// Whether the goroutine is inside `block_on` (nested calls panic); touched only by the
    /// goroutine itself.
    pub(crate) in_block_on: Cell<bool>,
    /// Where `go` was called, captured with `#[track_caller]`.
    pub(crate) spawn_site: &'static Location<'static>,
    /// The goroutine that called `go` (0: a plain thread).
    pub(crate) parent: u64,
    /// When the goroutine last parked, in [`coarse_nanos`]; meaningful while it waits.
    wait_since: AtomicU64,
    /// pc, sp and frame pointer of `switch_out`'s frame at the goroutine's last switch: where
    /// a dump starts walking its stack. Written by the goroutine itself before it switches;
    /// published to a dumper by `commit_park`'s Release and `begin_inspect`'s Acquire.
    regs: [AtomicUsize; 3],
    /// The top of the goroutine's stack (exclusive), set when its coroutine is made; the stack
    /// reaches down `stack_size` bytes from it.
    stack_top: AtomicUsize,
    /// Usable bytes of the goroutine's stack, set with `stack_top`.
    stack_size: AtomicUsize,
    /// The name given with `Goroutine::name`, for dumps and panic messages. Set before the G is
    /// shared, never changed.
    pub(crate) name: Option<Arc<str>>,
    /// Shard of the registry (`allgs.rs`) and index in it; `u32::MAX` if not registered.
    pub(crate) registry_shard: AtomicU32,
    pub(crate) registry_slot: AtomicU32,
}

// SAFETY: the non-Sync fields (`co`, `pending`, `yielder`, `lock_depth`, `syscall`, `locals`,
// `in_block_on`) are touched only by the goroutine itself or by the one M that currently owns
// the G, with ownership handed over through the run queues' Acquire/Release operations (module
// docs). The coroutine's captured data is `Send` because `go` requires `F: Send`. Values the
// goroutine keeps on its stack across switches may be `!Send` (a thread-local's reference, an
// `Rc` of a thread): they never reach another thread, because a goroutine resumes only on its
// home M once started (`home`), unless its author vouched for it with an `unsafe` opt-in to
// migration (docs/soundness.md).
unsafe impl Send for G {}
// SAFETY: a shared `&G` reaches the non-Sync fields only through the owner rule above (the
// goroutine itself or its owning M); every other field is an atomic, `Sync` itself
// (`sched`), or plain data fixed at spawn (`id`, `migratable`, `spawn_site`, `parent`, `name`).
unsafe impl Sync for G {}

impl G {
    pub(crate) fn new(
        id: GoroutineId,
        sched: Arc<Sched>,
        spawn_site: &'static Location<'static>,
        parent: u64,
        migratable: bool,
    ) -> G {
        G {
            id,
            park_state: AtomicU8::new(super::park::park_state::EMPTY),
            status: AtomicU8::new(GStatus::Runnable as u8),
            wait_reason: AtomicU8::new(0),
            sched,
            co: UnsafeCell::new(None),
            pending: UnsafeCell::new(None),
            yielder: Cell::new(std::ptr::null()),
            locked_m: AtomicPtr::new(std::ptr::null_mut()),
            home: AtomicPtr::new(std::ptr::null_mut()),
            migratable,
            lock_depth: Cell::new(0),
            locals: UnsafeCell::new(Vec::new()),
            syscall: Cell::new(super::syscall::state::NONE),
            in_block_on: Cell::new(false),
            spawn_site,
            parent,
            wait_since: AtomicU64::new(0),
            regs: Default::default(),
            stack_top: AtomicUsize::new(0),
            stack_size: AtomicUsize::new(0),
            name: None,
            registry_shard: AtomicU32::new(0),
            registry_slot: AtomicU32::new(u32::MAX),
        }
    }

    pub(crate) fn id(&self) -> GoroutineId {
        self.id
    }

    pub(crate) fn set_status(&self, s: GStatus) {
        self.status.store(s as u8, Ordering::Relaxed);
    }

    pub(crate) fn status(&self) -> GStatus {
        GStatus::from_u8(self.status.load(Ordering::Relaxed))
    }

    pub(crate) fn set_wait_reason(&self, r: WaitReason) {
        self.wait_reason.store(r as u8, Ordering::Relaxed);
    }

    pub(crate) fn wait_reason(&self) -> WaitReason {
        WaitReason::from_u8(self.wait_reason.load(Ordering::Relaxed))
    }

    /// Records the start of a wait, for dumps ("chan receive, 3 minutes").
    pub(crate) fn mark_wait_start(&self) {
        self.wait_since.store(coarse_nanos(), Ordering::Relaxed);
    }

    /// How long the goroutine had waited at `now` (a [`coarse_nanos`] reading), if it waits.
    pub(crate) fn waited(&self, now: u64) -> std::time::Duration {
        let since = self.wait_since.load(Ordering::Relaxed);
        std::time::Duration::from_nanos(now.saturating_sub(since))
    }

    /// Records where the goroutine's stack starts (its highest address, exclusive) and its size.
    /// Both are published to a dumper as `regs` are (`commit_park` / `begin_inspect`).
    pub(crate) fn set_stack(&self, top: usize, size: usize) {
        self.stack_top.store(top, Ordering::Relaxed);
        self.stack_size.store(size, Ordering::Relaxed);
    }

    /// The usable range of the goroutine's stack, `[lo, hi)`; empty before it has one.
    pub(crate) fn stack_bounds(&self) -> std::ops::Range<usize> {
        let top = self.stack_top.load(Ordering::Relaxed);
        top.saturating_sub(self.stack_size.load(Ordering::Relaxed))..top
    }

    /// The registers saved at the goroutine's last switch.
    pub(crate) fn saved_regs(&self) -> Regs {
        Regs {
            pc: self.regs[0].load(Ordering::Relaxed),
            sp: self.regs[1].load(Ordering::Relaxed),
            bp: self.regs[2].load(Ordering::Relaxed),
        }
    }

    /// # Safety
    /// The caller is the M that owns this G (module docs) and no other reference to the
    /// coroutine is live.
    pub(crate) unsafe fn install(&self, co: Co) {
        // SAFETY: the caller is the M that owns this G and holds no other reference to the
        // coroutine, so this write aliases nothing.
        unsafe { *self.co.get() = Some(ManuallyDrop::new(co)) };
    }

    /// Installs a goroutine whose coroutine is made on its first run.
    ///
    /// # Safety
    /// As for `install`: the caller owns this G.
    pub(crate) unsafe fn install_pending(&self, stack: Stack, f: Box<dyn FnOnce() + Send>) {
        // SAFETY: the caller is the M that owns this G; only the owner touches `pending`.
        unsafe { *self.pending.get() = Some((stack, f)) };
    }

    /// Takes the pending body, if the goroutine has not been started.
    ///
    /// # Safety
    /// As for `install`: the caller owns this G.
    pub(crate) unsafe fn take_pending(&self) -> Option<(Stack, Box<dyn FnOnce() + Send>)> {
        // SAFETY: the caller is the M that owns this G; only the owner touches `pending`.
        unsafe { (*self.pending.get()).take() }
    }

    /// # Safety
    /// As for `install`: the caller owns this G.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn coroutine(&self) -> &mut Option<ManuallyDrop<Co>> {
        // SAFETY: the caller is the M that owns this G and holds no other reference to the
        // coroutine, so the `&mut` is unique while it is used.
        unsafe { &mut *self.co.get() }
    }

    pub(crate) fn set_yielder(&self, y: &Yielder<(), Switch>) {
        self.yielder.set(y as *const _);
    }

    /// Switches from this goroutine to its M, which acts on `why`; returns when resumed.
    ///
    /// Must be called by the goroutine itself, on its own stack.
    /// `#[inline(never)]`: the frame whose registers are saved below stays live, unchanged,
    /// until the goroutine resumes; a dump walks the stack from it (`dump.rs`).
    #[inline(never)]
    pub(crate) fn switch_out(&self, why: Switch) {
        let y = self.yielder.get();
        if y.is_null() {
            fatal("switch_out outside a started goroutine");
        }
        let r = traceback::capture();
        self.regs[0].store(r.pc, Ordering::Relaxed);
        self.regs[1].store(r.sp, Ordering::Relaxed);
        self.regs[2].store(r.bp, Ordering::Relaxed);
        // SAFETY: `yielder` was set by this goroutine when it started and points into the
        // coroutine's initial frame on this goroutine's stack, which lives until the coroutine
        // returns; we are that goroutine, running, so the frame is live.
        unsafe { (*y).suspend(why) };
    }
}

impl Drop for G {
    fn drop(&mut self) {
        self.sched.allgs.remove(self);
        if let Some((stack, f)) = self.pending.get_mut().take() {
            // Never started: nothing ran on the stack, so it goes back to the pool.
            drop(f);
            super::stack::free_batch([stack]);
        }
        if let Some(co) = self.co.get_mut().take() {
            // A goroutine dropped before finishing belongs to a runtime that was shut down.
            // Unwinding it here would run its code on a foreign thread outside any scheduler, so
            // it is abandoned as Go abandons goroutines when main returns: its stack stays
            // reserved and nothing on it is dropped.
            let co = ManuallyDrop::into_inner(co);
            if co.done() {
                drop(co);
            } else {
                std::mem::forget(co);
                // Its goroutine-locals are abandoned with it, for the same reason.
                std::mem::forget(std::mem::take(self.locals.get_mut()));
            }
        }
    }
}

thread_local! {
    /// The goroutine running on this thread, or null. Set by the M around each resume.
    static CURRENT_G: Cell<*const G> = const { Cell::new(std::ptr::null()) };
}

/// The running goroutine, if the caller is one.
///
/// `#[inline(never)]`: a migratable goroutine may resume on another OS thread after any switch,
/// and LLVM may keep a thread-local's address across a call in one function; computing the
/// address inside a function that is never inlined makes every call read the current thread's
/// slot.
#[inline(never)]
pub(crate) fn current() -> Option<GRef> {
    let p = CURRENT_G.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null CURRENT_G points to the G that this M is running; the M holds a strong
    // count on it for as long as the pointer is set, so adding one more is sound.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

/// Whether the caller runs inside a goroutine.
#[inline(never)]
pub(crate) fn in_goroutine() -> bool {
    !CURRENT_G.with(|c| c.get()).is_null()
}

/// The id of the running goroutine, without touching its reference count.
#[inline(never)]
pub(crate) fn current_id() -> Option<GoroutineId> {
    let p = CURRENT_G.with(|c| c.get());
    // SAFETY: a non-null CURRENT_G points to the G this M is running, and the M holds a
    // strong count on it for as long as the pointer is set, so reading `id` is sound.
    (!p.is_null()).then(|| unsafe { (*p).id })
}

/// Called by the M around resuming `g`.
#[inline(never)]
pub(crate) fn set_current(g: *const G) {
    CURRENT_G.with(|c| c.set(g));
}

/// A cheap monotonic clock (nanoseconds, a few milliseconds of resolution) for wait times:
/// `CLOCK_MONOTONIC_COARSE` is read from the vDSO without a system call.
pub(crate) fn coarse_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
