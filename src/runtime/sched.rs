//! The scheduler: spawning, the schedule loop, finding work, stealing, and waking Ms.
//!
//! Every M runs [`m_main`]: find a runnable goroutine while holding a P, resume it on its stack,
//! act on how it switched out (yield, park or exit), repeat. [`Sched::find_runnable`] looks, in
//! Go's order: due timers of the M's own P; the global queue every 61st schedule (so it never
//! starves); `runnext` and the local queue (the queue's head first every 61st schedule, so that
//! a pair handing off through `runnext` cannot starve it); the global queue; then, as a spinning M, stealing
//! half of another P's queue (Ps in random order, four rounds, running their due timers and, in
//! the last round, taking their `runnext`). With nothing found, the M puts its P on the idle
//! list, re-checks every queue once more, and sleeps.
//!
//! Waking protocol (Go's `wakep`, the one place a wake-up could be lost). Whoever makes work
//! available (spawn, ready, a timer) first publishes it (queue push) and then, if some P is idle
//! and no M is spinning, starts one spinning M with an idle P. An M that goes idle first
//! publishes its P on the idle list and drops its spinning count, then re-checks all queues.
//! Both sides use sequentially consistent operations on the queue length or tail and on the two
//! counters (`npidle`, `nmspinning`), so either the submitter sees an idle P with no spinner and
//! starts an M, or the idling M sees the work. A spinning M that finds work calls `wakep` again,
//! so a burst of work fans out one M at a time without a thundering herd, and without system
//! calls while enough Ms are awake.
//!
//! Timers: an M going to sleep computes the earliest deadline of all timer heaps and, if it is
//! the earliest sleeper, records it in `timer_sleep` and sleeps only until then. Adding a timer
//! earlier than `timer_sleep` wakes that M (or starts one), see [`Sched::add_timer`].
//!
//! Locked goroutines (`lock_os_thread`) follow Go's startlockedm/stoplockedm: an M whose locked
//! goroutine parks hands its P to another M and sleeps; whoever later picks that goroutine from a
//! run queue hands it, with its own P, to the locked M and goes idle itself.
//!
//! Rejected: a global run queue only (one lock for every spawn and wake-up), and waking an M per
//! spawn (a system call per goroutine); both are what Go moved away from in its 2012 scheduler.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use corosensei::CoroutineResult;

use super::debug::allgs::AllGs;
use super::debug::overflow;
use super::g::{self, GRef, GStatus, Switch, G};
use super::m::{self, M};
use super::netpoll::Netpoll;
use super::p::{pstate, P};
use super::runq::{GlobalQueue, LOCAL_QUEUE_SIZE};
use super::sysmon;
use crate::trace;
use crate::util::lock;
use crate::util::{fastrand, fatal, ncpu, panic_message, ACTIVE_SPIN};

/// Most Ps a runtime can have.
pub const MAX_PROCS: usize = 4096;
/// Most Ms a runtime may create (Go's default `debug.SetMaxThreads`).
pub const MAX_THREADS: usize = 10_000;
/// How long a spinning M looks for work before giving its P back (see `steal_work`).
pub(crate) const SPIN_TIME: Duration = Duration::from_micros(20);
/// How long a spinning M leaves another P's `runnext` alone (see `steal_work`).
pub(crate) const RUNNEXT_GRACE: Duration = Duration::from_micros(3);
/// How long an M keeps its P while other Ms, with goroutines living on them, wait for one
/// (m.rs): Go's time slice, shortened because the waiting goroutines cannot move to the P.
pub(crate) const TIME_SLICE: Duration = Duration::from_millis(1);

pub(crate) struct Sched {
    /// Usable bytes of every goroutine stack of this runtime.
    pub(crate) stack_size: usize,
    /// The Ps, created on demand and never freed before the runtime: `Box<P>` raw pointers.
    pub(crate) allp: Box<[AtomicPtr<P>]>,
    pub(crate) gomaxprocs: AtomicUsize,
    pub(crate) global: GlobalQueue,
    /// Idle Ps and Ms. Lock order: `idle`, then a timer heap, then the global queue.
    pub(crate) idle: Mutex<Idle>,
    /// Length of `idle.ps`, readable without the lock (SeqCst, see the module docs).
    pub(crate) npidle: AtomicUsize,
    /// Ms spinning (looking for work while holding a P).
    pub(crate) nmspinning: AtomicUsize,
    /// Every M ever started.
    pub(crate) allm: Mutex<Vec<Arc<M>>>,
    /// Goroutines started minus finished outside any P; the Ps keep their own counts
    /// (`P::ngoroutine_delta`), summed by `goroutine_count`.
    pub(crate) ngoroutine: AtomicI64,
    pub(crate) shutdown: AtomicBool,
    pub(crate) epoch: Instant,
    /// Deadline (nanoseconds since `epoch`) at which the timed sleeper wakes; `u64::MAX` if none.
    pub(crate) timer_sleep: AtomicU64,
    /// The timed sleeper. Holds no count: Ms live as long as the runtime (`allm`).
    pub(crate) timer_sleeper: AtomicPtr<M>,
    /// Sysmon's sleep while every P is idle (sysmon.rs).
    pub(crate) sysmon: sysmon::Sleep,
    /// The netpoller (net): epoll, created on first use (`netpoll.rs`).
    pub(crate) netpoll: Netpoll,
    /// Every live goroutine (`allgs.rs`).
    pub(crate) allgs: AllGs,
    /// The main goroutines of top-level `Runtime::run` calls, whose OS threads wait for them:
    /// the deadlock detector is armed while there is one (`deadlock.rs`).
    pub(crate) mains: Mutex<Vec<GRef>>,
    /// Whether the deadlock detector may end the process (`Builder::detect_deadlock`).
    pub(crate) detect_deadlock: AtomicBool,
    /// Every goroutine of this runtime may migrate (`Builder::migrate_goroutines`).
    pub(crate) migrate_all: AtomicBool,
    /// Length of `idle.pwait`, readable without the lock (for the time slice).
    pub(crate) npwait: AtomicUsize,
    /// Whether an unjoined goroutine panic ends the process (`Builder::panic_policy`).
    pub(crate) panic_abort: AtomicBool,
}

pub(crate) struct Idle {
    pub(crate) ps: Vec<usize>,
    pub(crate) ms: Vec<Arc<M>>,
    /// Ms with goroutines living on them to run and no P, first come first served (m.rs).
    pub(crate) pwait: std::collections::VecDeque<Arc<M>>,
}

// SAFETY: `allp` holds pointers to `P`s that are `Send + Sync` and owned by the Sched; the rest
// are atomics and locks.
unsafe impl Send for Sched {}
// SAFETY: shared references reach `allp`'s Ps only through `p()` (Acquire, pairing with the
// Release that published them) and use only their atomics, locks and owner-only fields under
// the P ownership protocol (p.rs); every other field is an atomic, a lock or immutable.
unsafe impl Sync for Sched {}

impl Sched {
    pub(crate) fn new(max_procs: usize, stack_size: usize) -> Arc<Sched> {
        let sched = Arc::new(Sched {
            stack_size,
            allp: (0..MAX_PROCS)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            gomaxprocs: AtomicUsize::new(0),
            global: GlobalQueue::new(),
            idle: Mutex::new(Idle {
                ps: Vec::new(),
                ms: Vec::new(),
                pwait: std::collections::VecDeque::new(),
            }),
            npidle: AtomicUsize::new(0),
            nmspinning: AtomicUsize::new(0),
            allm: Mutex::new(Vec::new()),
            ngoroutine: AtomicI64::new(0),
            shutdown: AtomicBool::new(false),
            epoch: Instant::now(),
            timer_sleep: AtomicU64::new(u64::MAX),
            timer_sleeper: AtomicPtr::new(std::ptr::null_mut()),
            sysmon: sysmon::Sleep::new(),
            netpoll: Netpoll::new(),
            allgs: AllGs::new(),
            mains: Mutex::new(Vec::new()),
            detect_deadlock: AtomicBool::new(true),
            migrate_all: AtomicBool::new(false),
            npwait: AtomicUsize::new(0),
            panic_abort: AtomicBool::new(false),
        });
        sched.set_max_procs(max_procs);
        overflow::install_handler();
        sched
    }

    pub(crate) fn idle(&self) -> MutexGuard<'_, Idle> {
        lock(&self.idle)
    }

    pub(crate) fn max_procs(&self) -> usize {
        // Acquire: pairs with the Release store in `set_max_procs`, so every P below the count
        // read is visible in `allp` (no caller needs more: the count is read again at every
        // schedule, and a P beyond a shrunk count retires at its owner's next one).
        self.gomaxprocs.load(Ordering::Acquire)
    }

    pub(crate) fn self_arc(&self) -> Arc<Sched> {
        // Every P holds the address of its Sched, and Ps are reachable only through a live
        // `Arc<Sched>` (a runtime handle, an M or a goroutine); see `P::sched`.
        let p0 = self.p(0).expect("P 0 always exists");
        // SAFETY: `p0.sched` is `Arc::as_ptr` of this Sched, which is alive (we are borrowing
        // it), so adding a strong count and taking it back as an Arc is sound.
        unsafe {
            Arc::increment_strong_count(p0.sched as *const Sched);
            Arc::from_raw(p0.sched as *const Sched)
        }
    }

    /// Blocks until the M holds a P and has a goroutine to run; `None` on shutdown.
    ///
    /// Order: the own queues of a locked M only; the time slice (P-waiters); due timers; the
    /// global queue every 61st schedule; goroutines living on this M and the P's `runnext` and
    /// queue (heads first every 61st schedule, so that hand-off pairs cannot starve them); the
    /// global queue; goroutines of this M that yielded; the network; stealing.
    pub(crate) fn find_runnable(&self, m: &Arc<M>) -> Option<GRef> {
        loop {
            if self.shutdown.load(Ordering::Relaxed) {
                return None;
            }
            let locked = !m.locked_g.load(Ordering::Relaxed).is_null();
            let Some(p) = self.current_p() else {
                if m.has_own_work() {
                    if !self.get_p_for_own(m) {
                        return None;
                    }
                } else if !self.stopm(m, locked) {
                    return None;
                }
                continue;
            };
            let p: &P = p.p;
            if p.id >= self.max_procs() && self.retire(m, p) {
                continue;
            }
            m.drain_inbox();
            if locked {
                // Go's stoplockedm: a locked M runs only the goroutines that live on it (its
                // locked goroutine among them, when readied); with none, its P goes to others.
                if let Some(g) = m.pop_own(false, true) {
                    return Some(g);
                }
                self.release_p(p, pstate::HANDOFF);
                if m.spinning.swap(false, Ordering::Relaxed) {
                    // SeqCst: the waking protocol's counters (sched.rs module docs).
                    self.nmspinning.fetch_sub(1, Ordering::SeqCst);
                }
                self.handoffp(p);
                continue;
            }
            if self.npwait.load(Ordering::Relaxed) > 0
                && m.p_since.get().elapsed() >= TIME_SLICE
                && self.yield_p_to_waiter(m, p)
            {
                continue;
            }
            // Reading the clock costs tens of nanoseconds here: only with timers pending.
            if p.timers.next_when() != u64::MAX {
                p.timers.run_due(self.now());
                m.drain_inbox();
            }
            let tick = p.sched_tick.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if tick % 61 == 0 {
                if let Some(g) = self.global.pop_into(&p.runq, 1, 1) {
                    return Some(self.found(m, g));
                }
            }
            if tick % 61 == 45 {
                if let Some(g) = m.pop_yielded() {
                    return Some(self.found(m, g));
                }
            }
            // Every 61st schedule (half-way between the global checks) the queues' heads go
            // ahead of `runnext` and the own `next`: two goroutines handing off to each other
            // through them would otherwise starve everything queued behind them. Go bounds
            // the pair by one shared 10 ms time slice that sysmon preempts; we cannot preempt,
            // so we bound it by count. The own queue and the P's queue take turns being first.
            let heads = tick % 61 == 30;
            let g = if tick % 2 == 0 {
                m.pop_own(heads, false).or_else(|| self.pop_p(p, heads))
            } else {
                self.pop_p(p, heads).or_else(|| m.pop_own(heads, false))
            };
            if let Some(g) = g {
                return Some(self.found(m, g));
            }
            let share = self.global.len() / self.max_procs() + 1;
            if let Some(g) = self
                .global
                .pop_into(&p.runq, share, (LOCAL_QUEUE_SIZE / 2) as usize)
            {
                return Some(self.found(m, g));
            }
            if let Some(g) = m.pop_yielded() {
                return Some(self.found(m, g));
            }
            // net: poll the network without blocking (Go's netpoll(0) in findRunnable); woken
            // goroutines land in our runnext and local queue, or our own queue.
            if self.netpoll.poll_nonblocking() > 0 {
                m.drain_inbox();
                if let Some(g) = m.pop_own(false, false).or_else(|| p.get()) {
                    return Some(self.found(m, g));
                }
            }
            // Steal, as a spinning M, unless half the busy Ps already have a spinner.
            let procs = self.max_procs();
            // SeqCst: the waking protocol's counters (sched.rs module docs).
            let busy = procs.saturating_sub(self.npidle.load(Ordering::SeqCst));
            let spinning = m.spinning.load(Ordering::Relaxed);
            if spinning || 2 * self.nmspinning.load(Ordering::SeqCst) < busy {
                if !spinning {
                    m.spinning.store(true, Ordering::Relaxed);
                    // SeqCst: the waking protocol's counters (sched.rs module docs).
                    self.nmspinning.fetch_add(1, Ordering::SeqCst);
                }
                if let Some(g) = self.steal_work(m, p) {
                    return Some(self.found(m, g));
                }
            }
            // Nothing: give the P back, then look once more before sleeping.
            let waiter = {
                let mut idle = self.idle();
                if self.global.len() > 0 || p.has_work() || m.has_own_work() {
                    continue;
                }
                m::set_current_p(std::ptr::null());
                self.pidleput_locked(&mut idle, p)
            };
            if let Some(w) = waiter {
                self.netpoll.wake_m(&w);
            }
            if m.spinning.swap(false, Ordering::Relaxed) {
                // SeqCst: the waking protocol's counters (sched.rs module docs).
                self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
            if self.any_runnable() {
                if let Some(p2) = self.pidleget() {
                    self.acquire_p(m, p2);
                    m.spinning.store(true, Ordering::Relaxed);
                    // SeqCst: the waking protocol's counters (sched.rs module docs).
                    self.nmspinning.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
            }
            if !self.stopm(m, false) {
                return None;
            }
        }
    }

    /// The P's `runnext` and queue; the queue's head first if `heads`.
    pub(crate) fn pop_p(&self, p: &P, heads: bool) -> Option<GRef> {
        if heads {
            p.runq.pop().or_else(|| p.take_runnext())
        } else {
            p.get()
        }
    }

    pub(crate) fn any_runnable(&self) -> bool {
        // SeqCst: the re-check of the idling side (module docs).
        std::sync::atomic::fence(Ordering::SeqCst);
        self.global.len() > 0
            || (0..self.max_procs())
                .filter_map(|i| self.p(i))
                .any(|p| p.has_work())
    }

    /// A spinning M found work: stop spinning and let another M spin in its place (Go's
    /// resetspinning).
    pub(crate) fn found(&self, m: &M, g: GRef) -> GRef {
        if m.spinning.swap(false, Ordering::Relaxed) {
            // SeqCst: the waking protocol's counters (sched.rs module docs).
            self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            self.wakep();
        }
        g
    }

    /// Spinning: look for work on other Ps (and the global queue) for up to [`SPIN_TIME`].
    ///
    /// The spin window covers several scheduling rounds of a busy P, so that a stream of spawns
    /// or wake-ups finds this M still spinning (no futex wake each time), and costs nothing
    /// noticeable when the program goes idle. A victim's `runnext` is taken only after
    /// [`RUNNEXT_GRACE`]: the goroutine that filled it usually parks a moment later and lets its
    /// own M run it, without a migration (Go waits 3 µs for the same reason).
    pub(crate) fn steal_work(&self, m: &M, p: &P) -> Option<GRef> {
        let n = self.max_procs();
        let start = Instant::now();
        loop {
            let elapsed = start.elapsed();
            let take_runnext = elapsed >= RUNNEXT_GRACE;
            let first = fastrand() as usize % n;
            for i in 0..n {
                let Some(victim) = self.p((first + i) % n) else {
                    continue;
                };
                if std::ptr::eq(victim, p) {
                    continue;
                }
                if victim.timers.next_when() != u64::MAX && victim.timers.run_due(self.now()) > 0 {
                    if let Some(g) = p.get() {
                        return Some(g);
                    }
                }
                if let Some(g) = victim.runq.steal_into(&p.runq) {
                    p.count_steal();
                    return Some(g);
                }
                if take_runnext {
                    if let Some(g) = victim.take_runnext() {
                        p.count_steal();
                        return Some(g);
                    }
                }
            }
            if let Some(g) = p.get() {
                return Some(g);
            }
            // Goroutines living on this M, readied by others while it spins.
            if m.has_inbox() {
                m.drain_inbox();
                if let Some(g) = m.pop_own(false, false) {
                    return Some(g);
                }
            }
            let share = self.global.len() / n + 1;
            if let Some(g) = self
                .global
                .pop_into(&p.runq, share, (LOCAL_QUEUE_SIZE / 2) as usize)
            {
                return Some(g);
            }
            if n == 1 || elapsed >= SPIN_TIME || self.shutdown.load(Ordering::Relaxed) {
                return None;
            }
            for _ in 0..32 {
                std::hint::spin_loop();
            }
        }
    }

    /// Runs `g` until it switches out, and acts on why (Go's execute plus the tail of mcall).
    pub(crate) fn execute(&self, m: &Arc<M>, g: GRef) {
        let me = Arc::as_ptr(m);
        let home = g.home.load(Ordering::Relaxed);
        if home.is_null() {
            if !g.migratable {
                // First run: the goroutine lives on this M from now on (m.rs). Relaxed: the
                // store reaches readiers through the park protocol (see `G::home`).
                g.home.store(me as *mut M, Ordering::Relaxed);
                m.add_homed(1);
            }
        } else if !std::ptr::eq(home, me) {
            fatal("a goroutine living on one M was taken by another");
        }
        loop {
            g.set_status(GStatus::Running);
            // The P becomes retakeable while the goroutine runs (p.rs).
            let p = m::current_p();
            let me = me as usize;
            if !p.is_null() {
                let p = self.p_ref(p);
                p.preempt.store(false, Ordering::Relaxed);
                // Release: publishes this M's scheduler writes to whoever retakes the P.
                p.state.store(me | pstate::RUNNING, Ordering::Release);
            }
            g::set_current(Arc::as_ptr(&g));
            m.curg.store(g.id().as_u64(), Ordering::Relaxed);
            if trace::enabled() {
                self.trace_start(&g, p);
            }
            // SAFETY: this M took `g` from a run queue (or was handed it), so it owns the G and
            // its coroutine (g.rs module docs).
            if let Some((stack, f)) = unsafe { g.take_pending() } {
                // SAFETY: this M owns `g` (taken from a run queue), and no coroutine is installed:
                // `take_pending` just took the pending stack and closure that stood in for one.
                unsafe { g.install(super::spawn::make_coroutine(&g, stack, f)) };
            }
            // SAFETY: this M owns `g` and with it the coroutine (g.rs module docs); nothing else
            // touches the coroutine until the goroutine switches out and is queued again.
            let co = unsafe { g.coroutine() }
                .as_mut()
                .unwrap_or_else(|| fatal("running a goroutine without a stack"));
            let r = co.resume(());
            g::set_current(std::ptr::null());
            m.curg.store(0, Ordering::Relaxed);
            // Take the P back for scheduler work, unless sysmon took it away meanwhile (a hog,
            // or a long `blocking` call), in which case this M goes on without one.
            let p = m::current_p();
            let lost = p.is_null()
                || self
                    .p_ref(p)
                    .state
                    .compare_exchange(
                        me | pstate::RUNNING,
                        me | pstate::OWNED,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_err();
            if lost {
                m::set_current_p(std::ptr::null());
            }
            if trace::enabled() {
                trace_stop(&g, p, &r);
            }
            if let (false, CoroutineResult::Yield(Switch::Park)) = (lost, &r) {
                self.p_ref(p).count_park();
            }
            let homed = !g.home.load(Ordering::Relaxed).is_null();
            match r {
                CoroutineResult::Yield(Switch::Yield) => {
                    g.set_status(GStatus::Runnable);
                    if homed {
                        m.push_yielded(g);
                    } else {
                        self.global.push(g);
                        self.wakep();
                    }
                    return;
                }
                CoroutineResult::Yield(Switch::Park) => {
                    g.set_status(GStatus::Waiting);
                    if !g.commit_park() {
                        // A wake-up came first: run it again at once, if we still have a P.
                        if lost {
                            self.requeue(m, g, homed);
                            return;
                        }
                        continue;
                    }
                    return;
                }
                CoroutineResult::Yield(Switch::Requeue) => {
                    // Back from a long `blocking` call without a P: queue for one.
                    self.requeue(m, g, homed);
                    return;
                }
                CoroutineResult::Return(()) => {
                    self.goexit(m, g);
                    return;
                }
            }
        }
    }

    /// Queues `g`, which switched out on `m` and must run again: on `m` itself if it lives
    /// there, else on the global queue.
    pub(crate) fn requeue(&self, m: &M, g: GRef, homed: bool) {
        g.set_status(GStatus::Runnable);
        if homed {
            m.push_own(g, false);
        } else {
            self.global.push(g);
            self.wakep();
        }
    }

    /// Records the start of a run of `g` on `p` (null: no P) in the trace.
    #[cold]
    pub(crate) fn trace_start(&self, g: &G, p: *const P) {
        let (pid, local) = match (!p.is_null()).then(|| self.p_ref(p)) {
            Some(p) => (Some(p.id), self.local_queue_len(p)),
            None => (None, 0),
        };
        trace::go_start(g.id().as_u64(), g.spawn_site, pid, local, self.global.len());
    }

    /// Stops every M: idle ones now, running ones at their next schedule.
    pub(crate) fn shutdown(&self) {
        // Relaxed: the flag publishes no data, and its readers (Relaxed) poll it in their loops;
        // every sleeper is woken below through its own lock, futex word or eventfd, whose
        // Release/Acquire (or system call) orders this store before its re-check.
        self.shutdown.store(true, Ordering::Relaxed);
        self.sysmon.wake_always();
        self.netpoll.shutdown(); // net: breaks a blocking epoll_wait
        let ms: Vec<Arc<M>> = lock(&self.allm).clone();
        for m in ms {
            m.wake();
        }
    }
}

impl Drop for Sched {
    fn drop(&mut self) {
        for slot in self.allp.iter() {
            let p = slot.swap(std::ptr::null_mut(), Ordering::Relaxed);
            if !p.is_null() {
                // SAFETY: `p` came from `Box::into_raw` in `set_max_procs`, and with the Sched
                // being dropped no M or goroutine can reach it any more.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

/// Records the end of a run of `g` in the trace.
#[cold]
fn trace_stop(g: &G, p: *const P, r: &CoroutineResult<Switch, ()>) {
    // SAFETY: as in `Sched::p_ref`: a P pointer of this M is a live P of its Sched.
    let pid = (!p.is_null()).then(|| unsafe { (*p).id });
    // A goroutine that lost its P (a hog, a long `blocking`) still parked or yielded: say so.
    // Only a Requeue, which is the loss itself, reads as preempted.
    let why = match r {
        CoroutineResult::Return(()) => trace::StopReason::Exit,
        CoroutineResult::Yield(Switch::Park) => trace::StopReason::Park(g.wait_reason().as_str()),
        CoroutineResult::Yield(Switch::Yield) => trace::StopReason::Yield,
        CoroutineResult::Yield(Switch::Requeue) => trace::StopReason::Preempted,
    };
    trace::go_stop(g.id().as_u64(), pid, why);
}

/// The body of every M thread. Anything that unwinds out of the scheduler (a runtime bug, or
/// user code that ran where it must not) ends the process with a `goroutines: fatal:` message,
/// as Go's throw does: an M that died silently would leave its P owned forever and the program
/// hung.
pub(crate) fn m_main(sched: Arc<Sched>, m: Arc<M>) {
    let id = m.id;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m_loop(sched, m)));
    if let Err(e) = r {
        fatal(&format!(
            "a panic unwound out of the scheduler on M{id}: {}",
            panic_message(&*e)
        ));
    }
}

fn m_loop(sched: Arc<Sched>, m: Arc<M>) {
    m::set_current_m(Arc::as_ptr(&m));
    overflow::install_altstack();
    let p = m.take_next_p();
    if p.is_null() {
        fatal("an M started without a P");
    }
    sched.acquire_p(&m, sched.p_ref(p));
    while let Some(g) = sched.find_runnable(&m) {
        sched.execute(&m, g);
    }
    // Shut down: drop the P without putting it back; nothing will run it.
    m::set_current_p(std::ptr::null());
    m::set_current_m(std::ptr::null());
}

/// Go's `sync_runtime_canSpin`, for `sync::Mutex`: whether a locker on its `iter`th round may
/// spin instead of parking. Only a few rounds, only with another CPU, only when some other P
/// runs (the holder may be there and release soon; with every other P idle or spinning, the
/// holder is parked and spinning is wasted), and not while goroutines wait in the caller's
/// P's run queue (they could run instead, and one of them may be the holder). A plain OS
/// thread may spin whenever there is another CPU.
pub(crate) fn can_spin(iter: u32) -> bool {
    if iter >= ACTIVE_SPIN || ncpu() <= 1 {
        return false;
    }
    if !g::in_goroutine() {
        return true;
    }
    let p = m::current_p();
    if p.is_null() {
        return true;
    }
    // SAFETY: in a goroutine, the current P is the P of the M running us; Ps live as long as
    // their Sched, which our goroutine keeps alive. Only atomics are read.
    let p = unsafe { &*p };
    // SAFETY: a P holds the address of its live Sched (`P::sched`).
    let sched = unsafe { &*(p.sched as *const Sched) };
    let others = sched.npidle.load(Ordering::Relaxed) + sched.nmspinning.load(Ordering::Relaxed);
    sched.max_procs() > others + 1 && !p.has_work()
}
