//! Worker threads (M): OS threads that run goroutines while they hold a P.
//!
//! An M without work parks on its own futex word (Go's `note`): `notewakeup` sets the word and
//! wakes the thread, `notesleep` waits until the word is set and clears it. A P, and with it the
//! permission to run goroutines, is handed to a sleeping M through `next_p` before the wake-up.
//!
//! # Goroutines that live on an M
//!
//! A goroutine stays on the M (OS thread) where it first ran, unless it was started as
//! migratable (`go_migratable`, `Builder::migrate_goroutines`): safe code may keep a reference
//! to a thread-local, an `Rc` of a thread, a `StdoutLock` across a park, so resuming it on
//! another thread could be undefined behaviour (docs/soundness.md). Its M therefore keeps
//! its own run queues, which nobody else reads or steals from:
//!
//! - `own_next`, `own` and `own_yielded`: owner only, touched by the M's thread alone (the M's
//!   scheduler, or a goroutine running on it that readies a goroutine living here);
//! - `inbox`: where other threads put goroutines living here that they made runnable (a
//!   timer, a channel hand-off from a goroutine of another M, the netpoller). The owner drains
//!   it at each schedule. A push is published by `ninbox` (SeqCst) and, if the M sleeps waiting
//!   for own work (`wants_inbox`, SeqCst), followed by a wake-up: the Dekker pair of
//!   `Sched::push_remote` and `Sched::stopm`.
//!
//! An M with own work and no P asks for one: an idle P, or it waits in `Sched`'s list of
//! P-waiters and the next P given up goes to it (`Sched::pidleput_locked`). An M holding a P
//! while others wait gives it up after its time slice (`sched::TIME_SLICE`).
//!
//! Each M installs an alternate signal stack so that the stack-overflow handler can run after a
//! goroutine hits its guard page (`debug/overflow.rs`).

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::g::{GRef, G};
use super::p::{pstate, P};
use super::sched::{m_main, Idle, Sched, MAX_THREADS};
use super::sysmon;
use std::sync::Arc;

use crate::util::lock;
use crate::util::{fatal, futex_wait, futex_wake};

pub(crate) struct M {
    pub(crate) id: usize,
    /// Futex word: 1 when a wake-up is pending.
    wakeup: AtomicU32,
    /// A P handed to this M by another before waking it (Go's `m.nextp`).
    pub(crate) next_p: AtomicPtr<P>,
    /// Whether the M was started to spin (look for work) and counts in `Sched::nmspinning`.
    /// Written by whoever hands it a P, before the wake-up; then owned by the M.
    pub(crate) spinning: AtomicBool,
    /// The goroutine locked to this M (`lock_os_thread`), or null. Holds no count.
    pub(crate) locked_g: AtomicPtr<G>,
    /// Id of the goroutine this M is running, 0 for none; for `scheddetail` only.
    pub(crate) curg: AtomicU64,
    /// Goroutines living here, made runnable by this M's thread (module docs). Owner only.
    own: UnsafeCell<Own>,
    /// Goroutines living here made runnable by other threads (module docs).
    inbox: Mutex<Vec<GRef>>,
    /// Length of `inbox`, readable without the lock (SeqCst: the Dekker pair of the docs).
    ninbox: AtomicUsize,
    /// Length of the owner-only queues, for stats and the deadlock detector's re-check.
    nown: AtomicUsize,
    /// Live goroutines living on this M (started here, not migratable, not finished).
    homed: AtomicUsize,
    /// The M sleeps and must be woken when its inbox gets a goroutine (SeqCst, module docs).
    pub(crate) wants_inbox: AtomicBool,
    /// When this M last acquired a P (for the time slice). Owner only.
    pub(crate) p_since: Cell<Instant>,
}

#[derive(Default)]
struct Own {
    next: Option<GRef>,
    queue: VecDeque<GRef>,
    yielded: VecDeque<GRef>,
}

// SAFETY: `own` and `p_since` are touched only by the M's own thread (module docs: the M's
// scheduler, or the goroutine it is running, which runs on the same thread); everything else
// is atomic or locked.
unsafe impl Sync for M {}

impl M {
    pub(crate) fn new(id: usize) -> M {
        M {
            id,
            wakeup: AtomicU32::new(0),
            next_p: AtomicPtr::new(std::ptr::null_mut()),
            spinning: AtomicBool::new(false),
            locked_g: AtomicPtr::new(std::ptr::null_mut()),
            curg: AtomicU64::new(0),
            own: UnsafeCell::new(Own::default()),
            inbox: Mutex::new(Vec::new()),
            ninbox: AtomicUsize::new(0),
            nown: AtomicUsize::new(0),
            homed: AtomicUsize::new(0),
            wants_inbox: AtomicBool::new(false),
            p_since: Cell::new(Instant::now()),
        }
    }

    /// Wakes the M (Go's notewakeup). Whatever the waker wrote before is visible to the M after
    /// its `sleep` returns.
    pub(crate) fn wake(&self) {
        // Release: pairs with the Acquire swap in `sleep`.
        if self.wakeup.swap(1, Ordering::Release) == 0 {
            futex_wake(&self.wakeup);
        }
    }

    /// Sleeps until woken or until `timeout` passes; true if woken (Go's notesleep).
    pub(crate) fn sleep(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            // Acquire: pairs with `wake`'s Release.
            if self.wakeup.swap(0, Ordering::Acquire) == 1 {
                return true;
            }
            let left = match deadline {
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        return false;
                    }
                    Some(d - now)
                }
                None => None,
            };
            futex_wait(&self.wakeup, 0, left);
        }
    }

    pub(crate) fn take_next_p(&self) -> *const P {
        // Acquire: pairs with the Release store of whoever handed the P over.
        self.next_p.swap(std::ptr::null_mut(), Ordering::Acquire)
    }

    /// The owner-only queues. Callers run on this M's thread and keep the borrow short (no
    /// call out while holding it).
    #[allow(clippy::mut_from_ref)]
    fn own(&self) -> &mut Own {
        debug_assert!(
            std::ptr::eq(current_m(), self),
            "own queue touched off its M"
        );
        // SAFETY: only this M's thread calls `own` (callers' contract, checked in debug
        // builds), never re-entrantly (each method below borrows once and returns).
        unsafe { &mut *self.own.get() }
    }

    /// Owner: queues a goroutine living here; `next` puts it ahead of the others (the woken
    /// goroutine runs next, as `runnext`), pushing the previous `next` to the queue's back.
    pub(crate) fn push_own(&self, g: GRef, next: bool) {
        let own = self.own();
        if next {
            if let Some(old) = own.next.replace(g) {
                own.queue.push_back(old);
            }
        } else {
            own.queue.push_back(g);
        }
        self.nown.fetch_add(1, Ordering::Relaxed);
    }

    /// Owner: queues a goroutine living here that yielded: it runs after the others.
    pub(crate) fn push_yielded(&self, g: GRef) {
        self.own().yielded.push_back(g);
        self.nown.fetch_add(1, Ordering::Relaxed);
    }

    /// Owner: the next goroutine living here to run. `head_first` takes the queue's head ahead
    /// of `next` (fairness, see `Sched::find_runnable`); `yielded` also takes yielded ones.
    pub(crate) fn pop_own(&self, head_first: bool, yielded: bool) -> Option<GRef> {
        let own = self.own();
        let g = if head_first {
            own.queue.pop_front().or_else(|| own.next.take())
        } else {
            own.next.take().or_else(|| own.queue.pop_front())
        };
        let g = match g {
            Some(g) => Some(g),
            None if yielded => own.yielded.pop_front(),
            None => None,
        };
        if g.is_some() {
            self.nown.fetch_sub(1, Ordering::Relaxed);
        }
        g
    }

    /// Owner: takes a yielded goroutine living here.
    pub(crate) fn pop_yielded(&self) -> Option<GRef> {
        let g = self.own().yielded.pop_front();
        if g.is_some() {
            self.nown.fetch_sub(1, Ordering::Relaxed);
        }
        g
    }

    /// Another thread: queues a goroutine living here. True if the M sleeps waiting for one
    /// (the caller must wake it).
    pub(crate) fn push_inbox(&self, g: GRef) -> bool {
        lock(&self.inbox).push(g);
        // SeqCst: the Dekker pair with `wants_inbox` (module docs): we publish the push, then
        // read the flag; the sleeper publishes the flag, then reads `ninbox`.
        self.ninbox.fetch_add(1, Ordering::SeqCst);
        self.wants_inbox.load(Ordering::SeqCst)
    }

    /// Whether other threads queued goroutines living here (SeqCst: see `push_inbox`).
    pub(crate) fn has_inbox(&self) -> bool {
        self.ninbox.load(Ordering::SeqCst) > 0
    }

    /// Owner: moves the inbox into the own queue, in the order the goroutines were readied.
    pub(crate) fn drain_inbox(&self) {
        if self.ninbox.load(Ordering::Relaxed) == 0 {
            return;
        }
        let gs = std::mem::take(&mut *lock(&self.inbox));
        self.ninbox.fetch_sub(gs.len(), Ordering::Relaxed);
        self.nown.fetch_add(gs.len(), Ordering::Relaxed);
        self.own().queue.extend(gs);
    }

    /// Whether goroutines living here are runnable (readable from any thread, approximately).
    pub(crate) fn has_own_work(&self) -> bool {
        self.nown.load(Ordering::Relaxed) > 0 || self.has_inbox()
    }

    /// A goroutine starts living here (`delta` 1) or ends (-1).
    pub(crate) fn add_homed(&self, delta: isize) {
        if delta > 0 {
            self.homed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.homed.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Live goroutines living here (runtime/offload.rs asks whether a caller is alone).
    pub(crate) fn homed(&self) -> usize {
        self.homed.load(Ordering::Relaxed)
    }

    /// Runnable goroutines living here, for stats and traces.
    pub(crate) fn queued(&self) -> usize {
        self.nown.load(Ordering::Relaxed) + self.ninbox.load(Ordering::Relaxed)
    }
}

thread_local! {
    /// The M this thread is, or null for threads that are not Ms.
    static CURRENT_M: Cell<*const M> = const { Cell::new(std::ptr::null()) };
    /// The P this M holds, or null.
    static CURRENT_P: Cell<*const P> = const { Cell::new(std::ptr::null()) };
}

/// The calling thread's M. `#[inline(never)]` for the reason given at `g::current`.
#[inline(never)]
pub(crate) fn current_m() -> *const M {
    CURRENT_M.with(|c| c.get())
}

#[inline(never)]
pub(crate) fn set_current_m(m: *const M) {
    CURRENT_M.with(|c| c.set(m));
}

/// The P held by the calling thread's M, or null. `#[inline(never)]` as above.
#[inline(never)]
pub(crate) fn current_p() -> *const P {
    CURRENT_P.with(|c| c.get())
}

#[inline(never)]
pub(crate) fn set_current_p(p: *const P) {
    CURRENT_P.with(|c| c.set(p));
}

// ---- starting, stopping and handing off Ms ----

impl Sched {
    /// Starts a spinning M if there is an idle P and nobody is spinning (see the module docs).
    pub(crate) fn wakep(&self) {
        // SeqCst fence: orders the caller's publication of work (a queue push, which may be a
        // mere Release store) before the loads below; pairs with the fence in `any_runnable`
        // on the idling side, so that one of the two sides sees the other (module docs).
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.npidle.load(Ordering::SeqCst) == 0 || self.nmspinning.load(Ordering::SeqCst) != 0 {
            return;
        }
        // SeqCst: the waking protocol's counters (sched.rs module docs).
        if self
            .nmspinning
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        match self.pidleget() {
            Some(p) => self.startm(p, true),
            None => {
                // SeqCst: the waking protocol's counters (sched.rs module docs).
                self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Hands `p` (in HANDOFF) to the first P-waiter, returned for the caller to wake; `None`
    /// (and `p` back on the idle list) if nobody waits.
    pub(crate) fn give_p_to_waiter(&self, idle: &mut Idle, p: &P) -> Option<Arc<M>> {
        let Some(w) = idle.pwait.pop_front() else {
            p.set_unowned(pstate::IDLE);
            idle.ps.push(p.id);
            // SeqCst: the waking protocol's counters (sched.rs module docs).
            self.npidle.store(idle.ps.len(), Ordering::SeqCst);
            return None;
        };
        self.npwait.store(idle.pwait.len(), Ordering::Relaxed);
        // Release: hands the P (and the previous owner's writes to it) to the waiter, whose
        // `take_next_p` Acquires it.
        w.next_p.store(p as *const P as *mut P, Ordering::Release);
        Some(w)
    }

    /// The calling M has goroutines living on it to run and no P: take an idle P, or wait
    /// until one is handed over (m.rs). False on shutdown.
    pub(crate) fn get_p_for_own(&self, m: &Arc<M>) -> bool {
        {
            let mut idle = self.idle();
            if let Some(p) = self.pidleget_locked(&mut idle) {
                drop(idle);
                self.acquire_p(m, p);
                return true;
            }
            idle.pwait.push_back(m.clone());
            self.npwait.store(idle.pwait.len(), Ordering::Relaxed);
        }
        loop {
            let p = m.take_next_p();
            if !p.is_null() {
                self.acquire_p(m, self.p_ref(p));
                return true;
            }
            if self.shutdown.load(Ordering::Relaxed) {
                return false;
            }
            m.sleep(None);
        }
    }

    /// The time slice of the module docs: the caller's M gives its P to the first P-waiter.
    /// True if it did (the M then has no P).
    pub(crate) fn yield_p_to_waiter(&self, m: &M, p: &P) -> bool {
        let w = {
            let mut idle = self.idle();
            if idle.pwait.is_empty() {
                return false;
            }
            set_current_p(std::ptr::null());
            p.set_unowned(pstate::HANDOFF);
            self.give_p_to_waiter(&mut idle, p)
        };
        if m.spinning.swap(false, Ordering::Relaxed) {
            // SeqCst: the waking protocol's counters (sched.rs module docs).
            self.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(w) = w {
            self.netpoll.wake_m(&w);
        }
        true
    }

    /// Runs `p` on an idle M, or a new one (Go's startm).
    pub(crate) fn startm(&self, p: &P, spinning: bool) {
        self.sysmon.wake();
        let m = {
            let mut idle = self.idle();
            if idle.pwait.is_empty() {
                idle.ms.pop()
            } else {
                // An M waiting for a P has work of its own: it gets the P, and looks at the
                // P's queues after its own (the reason we were called).
                let w = self.give_p_to_waiter(&mut idle, p);
                drop(idle);
                if spinning {
                    // SeqCst: the waking protocol's counters (sched.rs module docs).
                    self.nmspinning.fetch_sub(1, Ordering::SeqCst);
                }
                if let Some(w) = w {
                    self.netpoll.wake_m(&w);
                }
                return;
            }
        };
        match m {
            Some(m) => {
                m.spinning.store(spinning, Ordering::Relaxed);
                // Release: hands the P (and the previous owner's writes to it) to the M.
                m.next_p.store(p as *const P as *mut P, Ordering::Release);
                // net: also breaks its epoll_wait if it is the M blocked in the netpoller.
                self.netpoll.wake_m(&m);
            }
            None => self.new_m(p, spinning),
        }
    }

    pub(crate) fn new_m(&self, p: &P, spinning: bool) {
        let (m, have) = {
            let mut allm = lock(&self.allm);
            if allm.len() >= MAX_THREADS {
                fatal(&format!(
                    "thread exhaustion: this runtime already has {MAX_THREADS} threads (Ms)"
                ));
            }
            let m = Arc::new(M::new(allm.len()));
            allm.push(m.clone());
            if allm.len() == 1 {
                sysmon::start(&self.self_arc());
            }
            (m, allm.len() - 1)
        };
        m.spinning.store(spinning, Ordering::Relaxed);
        // Release: hands the P to the new M; pairs with the Acquire in `take_next_p` (p.rs docs).
        m.next_p.store(p as *const P as *mut P, Ordering::Release);
        let sched = self.self_arc();
        let name = format!("goroutines-m{}", m.id);
        let res = match crate::fault::thread_spawn() {
            Some(e) => Err(e),
            None => std::thread::Builder::new()
                .name(name)
                .spawn(move || m_main(sched, m)),
        };
        // As Go's newosproc throws: the P was handed to this M, and the goroutines that made us
        // start it may have no other M to run them (the first M runs `main`), so carrying on
        // could hang the program instead of ending it.
        if let Err(e) = res {
            fatal(&format!(
                "cannot start an OS thread for the scheduler (have {have} already): {e}"
            ));
        }
    }

    /// Sleeps the M (without a P) until another hands it one, or until goroutines living on it
    /// become runnable (then it returns without a P, and `find_runnable` asks for one); as the
    /// earliest sleeper, only until the next timer, then runs timers itself. A `locked` M (its
    /// goroutine is locked to it and parked) takes no P for other work: it sleeps until its own
    /// goroutines are runnable. Returns false on shutdown.
    pub(crate) fn stopm(&self, m: &Arc<M>, locked: bool) -> bool {
        loop {
            if self.shutdown.load(Ordering::Relaxed) {
                return false;
            }
            if !locked {
                self.idle().ms.push(m.clone());
            }
            // SeqCst: the Dekker pair with `M::push_inbox` (m.rs): we publish that we sleep,
            // then look at the inbox; a pusher publishes its push, then looks at the flag.
            m.wants_inbox.store(true, Ordering::SeqCst);
            let own = m.has_own_work();
            // Become the timed sleeper if our deadline is the earliest.
            let mut deadline = if own || locked {
                u64::MAX
            } else {
                self.earliest_timer()
            };
            let mut timed = false;
            if deadline != u64::MAX {
                // SeqCst: the timed sleeper's half of the pair with `add_timer` (timer.rs), which
                // pushes and then loads `timer_sleep`: either it sees this deadline or our re-check
                // sees its timer.
                let cur = self.timer_sleep.load(Ordering::SeqCst);
                if deadline < cur
                    && self
                        .timer_sleep
                        .compare_exchange(cur, deadline, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                {
                    self.timer_sleeper
                        .store(Arc::as_ptr(m) as *mut M, Ordering::SeqCst);
                    timed = true;
                    // Re-check after publishing: a timer added meanwhile either saw our
                    // deadline (and will wake us) or is visible here.
                    deadline = deadline.min(self.earliest_timer());
                }
            }
            let timeout = timed.then(|| Duration::from_nanos(deadline.saturating_sub(self.now())));
            let woken = if own || timeout == Some(Duration::ZERO) {
                false
            } else if locked {
                m.sleep(None)
            } else {
                // net: the timed sleeper, or the first idle M while goroutines wait on fds,
                // sleeps in epoll_wait instead of on its futex (`netpoll.rs`).
                self.netpoll.sleep_m(m, timed, timeout)
            };
            m.wants_inbox.store(false, Ordering::Relaxed);
            if timed {
                // SeqCst: as when it was armed above (the pair with `add_timer`).
                let _ = self.timer_sleep.compare_exchange(
                    deadline,
                    u64::MAX,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
            }
            let p = m.take_next_p();
            if !p.is_null() {
                // SAFETY: a handed-over P is a live P of this Sched (`startm`).
                self.acquire_p(m, unsafe { &*p });
                return true;
            }
            if locked {
                if m.has_own_work() {
                    return true;
                }
                continue;
            }
            // Woken for a timer or shutdown, or timed out: leave the idle list, unless someone
            // already took us off it to hand us a P, in which case wait for that P.
            let removed = {
                let mut idle = self.idle();
                let before = idle.ms.len();
                idle.ms.retain(|x| !Arc::ptr_eq(x, m));
                idle.ms.len() != before
            };
            if !removed {
                // Acquire: pairs with `startm`'s Release store of `next_p`.
                while m.next_p.load(Ordering::Acquire).is_null()
                    && !self.shutdown.load(Ordering::Relaxed)
                {
                    m.sleep(Some(Duration::from_millis(10)));
                }
                let p = m.take_next_p();
                if !p.is_null() {
                    // SAFETY: a handed-over P is a live P of this Sched (`startm`).
                    self.acquire_p(m, unsafe { &*p });
                    return true;
                }
                continue;
            }
            let _ = woken;
            if m.has_own_work() {
                return true;
            }
            // Timers may be due: run them with an idle P if there is one.
            if self.earliest_timer() <= self.now() {
                if let Some(p) = self.pidleget() {
                    self.acquire_p(m, p);
                    self.run_all_timers(self.now());
                    return true;
                }
            }
        }
    }

    /// Gives away a P whose M is about to block (Go's handoffp).
    pub(crate) fn handoffp(&self, p: &P) {
        if p.has_work() || self.global.len() > 0 {
            self.startm(p, false);
            return;
        }
        // SeqCst: the waking protocol's counters (sched.rs module docs).
        if self.nmspinning.load(Ordering::SeqCst) == 0
            && self.npidle.load(Ordering::SeqCst) == 0
            && self
                .nmspinning
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.startm(p, true);
            return;
        }
        let when = p.timers.next_when();
        let waiter = {
            let mut idle = self.idle();
            self.pidleput_locked(&mut idle, p)
        };
        if let Some(w) = waiter {
            self.netpoll.wake_m(&w);
            return;
        }
        // SeqCst: the timed-sleeper pair, as in `add_timer`.
        if when != u64::MAX && when < self.timer_sleep.load(Ordering::SeqCst) {
            self.wakep();
        }
        if self.any_runnable() {
            self.wakep();
        }
    }
}
