//! Processors (P): the right to run goroutines. GOMAXPROCS of them exist; an M must hold one to
//! run goroutines.
//!
//! A P owns a local run queue with a one-slot `runnext` in front of it, a timer heap, and a
//! small cache of free goroutine stacks. Fields marked "owner only" are touched only by the M
//! that holds the P; a P changes hands through the idle list (under `Sched::idle`'s lock) or
//! through an M's `next_p` slot (Release store, Acquire take), which orders the previous owner's
//! writes before the next owner's reads.

use std::cell::UnsafeCell;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
use std::sync::Arc;

use super::g::{GRef, G};
use super::m::{self, M};
use super::runq::{GlobalQueue, LocalQueue};
use super::sched::{Idle, Sched, MAX_PROCS};
use super::stack::{self, Stack};
use super::timer::TimerHeap;
use std::time::Instant;

/// Stacks a P keeps for itself before returning half to the shared pool (Go keeps 64 free Gs).
const STACK_CACHE_MAX: usize = 64;

/// States of a P, the low three bits of `P::state`; the other bits hold the address of the
/// owning M where there is one.
///
/// The owner moves its P between OWNED and RUNNING around every goroutine it runs, and to
/// SYSCALL around `blocking`. Sysmon may take a P away only in RUNNING (a goroutine hogging it)
/// or SYSCALL (a goroutine blocked in a system call), by compare-and-swap to HANDOFF; so an M
/// that finds its compare-and-swap back to OWNED failing knows it lost its P, and never uses a P
/// that someone else may own.
pub(crate) mod pstate {
    /// On the idle list; no owner.
    pub const IDLE: usize = 0;
    /// Its M runs scheduler code, or goroutine code that uses the P (spawn, ready): not
    /// retakeable.
    pub const OWNED: usize = 1;
    /// Its M runs a goroutine: retakeable if the goroutine runs too long.
    pub const RUNNING: usize = 2;
    /// Its M's goroutine is in `blocking`: retakeable after about 20 µs.
    pub const SYSCALL: usize = 3;
    /// Beyond GOMAXPROCS: on no list, no owner.
    pub const RETIRED: usize = 4;
    /// Being handed to an M (by `startm` or sysmon); no owner.
    pub const HANDOFF: usize = 5;
    pub const MASK: usize = 7;
}

/// Goroutine ids a P reserves at once (Go's `_GoidCacheBatch`).
const GOID_BATCH: u64 = 16;

pub(crate) struct P {
    pub(crate) id: usize,
    /// Address of the `Sched` this P belongs to (`Arc::as_ptr`).
    pub(crate) sched: usize,
    /// `owner M address | pstate`. IDLE and RETIRED are entered under `Sched::idle`'s lock.
    pub(crate) state: AtomicUsize,
    /// Bumped on each entry to `blocking`, so sysmon can tell one long call from two short ones.
    pub(crate) syscall_seq: AtomicU64,
    /// Set by sysmon when the P's goroutine has not rescheduled for [`HOG_LIMIT`] while the P
    /// was OWNED (a goroutine spawning in a loop holds it OWNED inside each `go`, where sysmon
    /// cannot retake it); `go` yields at its next call (`sched::preempt_point`). Cleared by the
    /// owner at each schedule.
    ///
    /// [`HOG_LIMIT`]: super::sysmon::HOG_LIMIT
    pub(crate) preempt: AtomicBool,
    pub(crate) runq: LocalQueue,
    /// A goroutine to run next, ahead of the queue: the one just spawned or woken, so that a
    /// producer and consumer hand off without queue traffic. Holds an `Arc<G>` as a raw pointer.
    /// Swapped by the owner; taken by CAS by thieves.
    runnext: AtomicPtr<G>,
    /// Schedules done, for the every-61st check of the global queue. Owner only.
    pub(crate) sched_tick: AtomicU32,
    /// Free stacks. Owner only.
    stack_cache: UnsafeCell<Vec<Stack>>,
    pub(crate) timers: TimerHeap,
    /// Goroutines parked by this P's owners, and goroutines (or batches) stolen by them, for
    /// `metrics()`. Written only by the owner (a plain load and store), read by anyone.
    pub(crate) parks: AtomicU64,
    pub(crate) steals: AtomicU64,
    /// Goroutines started minus goroutines finished by this P's owners (negative when more
    /// finished here than started); `Sched::goroutine_count` sums them. Owner only, like the
    /// counters above: spawn and exit then touch no cache line shared with other Ms.
    pub(crate) ngoroutine_delta: AtomicI64,
    /// Goroutine ids reserved for this P, `[next, end)` (Go's `goidcache`). Owner only.
    goid_next: AtomicU64,
    goid_end: AtomicU64,
}

// SAFETY: `stack_cache` is touched only by the P's owner, and ownership is handed over with
// Acquire/Release (module docs); all other fields are atomics or internally locked.
unsafe impl Sync for P {}
// SAFETY: a P moves between threads only as a whole, with its owner-only fields handed over
// with Release/Acquire (module docs); `Stack` is a plain address range, owning nothing
// thread-bound.
unsafe impl Send for P {}

impl P {
    pub(crate) fn state(&self) -> usize {
        // Acquire: pairs with the Release (or AcqRel) update of the P's state word by whoever last
        // changed its owner, so the owner M it names is one whose hand-over we see.
        self.state.load(Ordering::Acquire) & pstate::MASK
    }

    /// Sets a state without an owner (IDLE, RETIRED, HANDOFF).
    pub(crate) fn set_unowned(&self, st: usize) {
        // Release: the previous owner's writes to the P happen before the next owner's reads.
        self.state.store(st, Ordering::Release);
    }

    pub(crate) fn new(id: usize, sched: usize) -> P {
        P {
            id,
            sched,
            state: AtomicUsize::new(pstate::RETIRED),
            syscall_seq: AtomicU64::new(0),
            preempt: AtomicBool::new(false),
            runq: LocalQueue::new(),
            runnext: AtomicPtr::new(std::ptr::null_mut()),
            sched_tick: AtomicU32::new(0),
            stack_cache: UnsafeCell::new(Vec::new()),
            timers: TimerHeap::new(),
            parks: AtomicU64::new(0),
            steals: AtomicU64::new(0),
            ngoroutine_delta: AtomicI64::new(0),
            goid_next: AtomicU64::new(0),
            goid_end: AtomicU64::new(0),
        }
    }

    /// Owner only: adds `d` to this P's goroutine count.
    pub(crate) fn add_goroutines(&self, d: i64) {
        self.ngoroutine_delta.store(
            self.ngoroutine_delta.load(Ordering::Relaxed) + d,
            Ordering::Relaxed,
        );
    }

    /// Owner only: a fresh goroutine id, taken from `global` sixteen at a time.
    pub(crate) fn next_goid(&self, global: &AtomicU64) -> u64 {
        let mut next = self.goid_next.load(Ordering::Relaxed);
        if next == self.goid_end.load(Ordering::Relaxed) {
            next = global.fetch_add(GOID_BATCH, Ordering::Relaxed);
            self.goid_end.store(next + GOID_BATCH, Ordering::Relaxed);
        }
        self.goid_next.store(next + 1, Ordering::Relaxed);
        next
    }

    /// Owner only: counts a park.
    pub(crate) fn count_park(&self) {
        self.parks
            .store(self.parks.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Owner only: counts a steal.
    pub(crate) fn count_steal(&self) {
        self.steals
            .store(self.steals.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Owner only: queues `g`; with `next`, in `runnext`, kicking the previous occupant to the
    /// tail of the local queue (Go's runqput).
    pub(crate) fn put(&self, g: GRef, next: bool, global: &GlobalQueue) {
        if next {
            // AcqRel: Release publishes `g` to a thief's Acquire CAS; Acquire takes ownership of
            // the old pointer.
            let old = self
                .runnext
                .swap(Arc::into_raw(g) as *mut G, Ordering::AcqRel);
            if old.is_null() {
                return;
            }
            // SAFETY: a non-null runnext pointer came from `Arc::into_raw` and the swap moved its
            // strong count to us.
            let old = unsafe { Arc::from_raw(old as *const G) };
            self.runq.push(old, global);
        } else {
            self.runq.push(g, global);
        }
    }

    /// Takes `runnext` (owner or thief).
    pub(crate) fn take_runnext(&self) -> Option<GRef> {
        let cur = self.runnext.load(Ordering::Relaxed);
        if cur.is_null() {
            return None;
        }
        // Acquire: pairs with the Release in `put`.
        match self.runnext.compare_exchange(
            cur,
            std::ptr::null_mut(),
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            // SAFETY: the CAS took the pointer, and its strong count, out of the slot.
            Ok(p) => Some(unsafe { Arc::from_raw(p as *const G) }),
            Err(_) => None,
        }
    }

    pub(crate) fn has_runnext(&self) -> bool {
        !self.runnext.load(Ordering::Relaxed).is_null()
    }

    /// Owner only: the next goroutine from `runnext` or the local queue.
    pub(crate) fn get(&self) -> Option<GRef> {
        self.take_runnext().or_else(|| self.runq.pop())
    }

    pub(crate) fn has_work(&self) -> bool {
        self.has_runnext() || !self.runq.is_empty()
    }

    /// Owner only: a stack of `size` bytes from the cache or the shared pool.
    pub(crate) fn alloc_stack(&self, size: usize) -> std::io::Result<Stack> {
        // SAFETY: owner only (module docs).
        let cache = unsafe { &mut *self.stack_cache.get() };
        if let Some(i) = cache.iter().rposition(|s| s.size() == size) {
            return Ok(cache.swap_remove(i));
        }
        stack::alloc_batch(size, STACK_CACHE_MAX / 2, cache)?;
        Ok(cache
            .pop()
            .expect("alloc_batch returned at least one stack"))
    }

    /// Owner only: keeps a finished goroutine's stack for reuse.
    pub(crate) fn free_stack(&self, s: Stack) {
        // SAFETY: owner only (module docs).
        let cache = unsafe { &mut *self.stack_cache.get() };
        cache.push(s);
        if cache.len() > STACK_CACHE_MAX {
            let keep = STACK_CACHE_MAX / 2;
            stack::free_batch(cache.drain(keep..));
        }
    }

    /// Owner only, when the P retires: gives every cached stack back.
    pub(crate) fn flush_stacks(&self) {
        // SAFETY: owner only (module docs).
        let cache = unsafe { &mut *self.stack_cache.get() };
        stack::free_batch(cache.drain(..));
    }
}

impl Drop for P {
    fn drop(&mut self) {
        drop(self.take_runnext());
        stack::free_batch(self.stack_cache.get_mut().drain(..));
    }
}

// ---- the Ps of a Sched: lookup, ownership, GOMAXPROCS, the idle list ----

impl Sched {
    pub(crate) fn p(&self, id: usize) -> Option<&P> {
        let p = self.allp[id].load(Ordering::Acquire);
        // SAFETY: non-null entries are `Box<P>` pointers published with Release in
        // `set_max_procs` and freed only when the Sched is dropped.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// The P held by the calling thread if it is an M of this runtime and still owns it,
    /// guarded so that sysmon cannot take it away while the caller uses it (see `p.rs`).
    pub(crate) fn current_p(&self) -> Option<PGuard<'_>> {
        let p = m::current_p();
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null current P was acquired by this thread's M, and Ps live as long as
        // their Sched; whether the M still owns it is checked below.
        let p = unsafe { &*p };
        if p.sched != self as *const Sched as usize {
            return None;
        }
        let me = m::current_m() as usize;
        let s = p.state.load(Ordering::Acquire);
        if s == me | pstate::OWNED {
            return Some(PGuard { p, restore: 0 });
        }
        // Acquire: pairs with the Release of the previous owner's hand-over.
        if s == me | pstate::RUNNING
            && p.state
                .compare_exchange(s, me | pstate::OWNED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            return Some(PGuard { p, restore: s });
        }
        None
    }

    /// This M now owns `p` (taken from the idle list or handed over).
    pub(crate) fn acquire_p(&self, m: &M, p: &P) {
        // Release: pairs with sysmon's and guards' Acquire loads of the state.
        p.state
            .store(m as *const M as usize | pstate::OWNED, Ordering::Release);
        m::set_current_p(p);
        m.p_since.set(Instant::now());
    }

    /// A P pointer handed over through an M's `next_p`.
    pub(crate) fn p_ref(&self, p: *const P) -> &P {
        // SAFETY: handed-over P pointers come from `p()` of this Sched, and Ps live as long as
        // their Sched.
        unsafe { &*p }
    }

    /// This M gives up `p`, leaving it in state `st` without an owner.
    pub(crate) fn release_p(&self, p: &P, st: usize) {
        m::set_current_p(std::ptr::null());
        p.set_unowned(st);
    }

    /// Changes GOMAXPROCS; returns the previous value. Ps beyond the new value retire at their
    /// owner's next schedule; new Ps start idle and get Ms as work appears.
    pub(crate) fn set_max_procs(self: &Arc<Self>, n: usize) -> usize {
        assert!(
            (1..=MAX_PROCS).contains(&n),
            "goroutines: set_max_procs: {n} is outside 1..={MAX_PROCS}"
        );
        let old;
        let mut waiters = Vec::new();
        {
            let mut idle = self.idle();
            // Relaxed: the count is written only here, under the idle lock we hold.
            old = self.gomaxprocs.load(Ordering::Relaxed);
            for id in old..n {
                if self.p(id).is_none() {
                    let p = Box::into_raw(Box::new(P::new(id, Arc::as_ptr(self) as usize)));
                    // Release: publishes the new P to `p()`'s Acquire.
                    self.allp[id].store(p, Ordering::Release);
                }
            }
            // Release: publishes the Ps stored in `allp` above to `max_procs`'s Acquire; no
            // Dekker pair involves the count, so nothing needs SeqCst here.
            self.gomaxprocs.store(n, Ordering::Release);
            for id in 0..old.max(n) {
                let p = self.p(id).expect("created above");
                let st = p.state();
                if id < n && st == pstate::RETIRED {
                    p.set_unowned(pstate::IDLE);
                    idle.ps.push(id);
                } else if id >= n && st == pstate::IDLE {
                    idle.ps.retain(|&x| x != id);
                    p.set_unowned(pstate::RETIRED);
                    self.rehome_timers(p);
                }
            }
            // SeqCst: the waking protocol's counters (sched.rs module docs).
            self.npidle.store(idle.ps.len(), Ordering::SeqCst);
            // New Ps go to Ms waiting for one first.
            while !idle.pwait.is_empty() {
                let Some(p) = self.pidleget_locked(&mut idle) else {
                    break;
                };
                let w = self.give_p_to_waiter(&mut idle, p);
                if let Some(w) = w {
                    waiters.push(w);
                }
            }
        }
        for w in waiters {
            self.netpoll.wake_m(&w);
        }
        if old != 0 {
            for _ in old..n {
                self.wakep();
            }
        }
        old
    }

    pub(crate) fn rehome_timers(&self, p: &P) {
        if p.id == 0 {
            return;
        }
        let p0 = self.p(0).expect("P 0 always exists");
        // `adopt`, not `push`: we hold the idle lock, and a push may start a goroutine.
        for e in p.timers.take_all() {
            p0.timers.adopt(0, e);
        }
    }

    pub(crate) fn pidleget(&self) -> Option<&P> {
        let mut idle = self.idle();
        self.pidleget_locked(&mut idle)
    }

    pub(crate) fn pidleget_locked(&self, idle: &mut Idle) -> Option<&P> {
        let id = idle.ps.pop()?;
        // SeqCst: the waking protocol's counters (sched.rs module docs).
        self.npidle.store(idle.ps.len(), Ordering::SeqCst);
        let p = self.p(id).expect("idle P exists");
        p.set_unowned(pstate::HANDOFF);
        // A P leaves idle: sysmon must watch it again (Go wakes sysmon in the same place). An M
        // that slept until a timer and takes a P back by itself starts no M, so `startm` alone
        // would leave sysmon asleep while a hog runs (issue 11, item 1).
        self.sysmon.wake();
        Some(p)
    }

    /// Puts `p` on the idle list, or hands it to the first M waiting for a P; then returns
    /// that M, which the caller must wake after unlocking (`wake_m`).
    #[must_use]
    pub(crate) fn pidleput_locked(&self, idle: &mut Idle, p: &P) -> Option<Arc<M>> {
        if !idle.pwait.is_empty() {
            p.set_unowned(pstate::HANDOFF);
            return self.give_p_to_waiter(idle, p);
        }
        p.set_unowned(pstate::IDLE);
        idle.ps.push(p.id);
        // SeqCst: see the module docs.
        self.npidle.store(idle.ps.len(), Ordering::SeqCst);
        None
    }

    /// The owner of a P beyond GOMAXPROCS gives everything on it away. True if it retired it.
    pub(crate) fn retire(&self, m: &M, p: &P) -> bool {
        let idle = self.idle();
        if p.id < self.max_procs() {
            return false;
        }

        let mut moved = p.runq.drain();
        moved.extend(p.take_runnext());
        if !moved.is_empty() {
            self.global.push_batch(moved);
        }
        self.rehome_timers(p);
        p.flush_stacks();
        self.release_p(p, pstate::RETIRED);
        drop(idle);
        if m.spinning.swap(false, Ordering::Relaxed) {
            // SeqCst: the waking protocol's counters (sched.rs module docs).
            self.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        self.wakep();
        true
    }
}

/// A P used by the calling M (see `Sched::current_p`); puts the P back in RUNNING when it was
/// taken from there.
pub(crate) struct PGuard<'a> {
    pub(crate) p: &'a P,
    restore: usize,
}

impl std::ops::Deref for PGuard<'_> {
    type Target = P;
    fn deref(&self) -> &P {
        self.p
    }
}

impl Drop for PGuard<'_> {
    fn drop(&mut self) {
        if self.restore != 0 {
            // Release: our writes to the P happen before a retaker's Acquire.
            self.p.state.store(self.restore, Ordering::Release);
        }
    }
}
