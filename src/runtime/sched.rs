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

use std::io;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use corosensei::CoroutineResult;

use super::allgs::AllGs;
use super::g::{self, fatal, Co, GRef, GStatus, GoroutineId, Switch, G};
use super::m::{self, M};
use super::netpoll::Netpoll;
use super::p::{pstate, P};
use super::park::{Unparker, WaitReason};
use super::runq::{GlobalQueue, LOCAL_QUEUE_SIZE};
use super::timer::{Entry, RawTimer, TimerAction};
use super::{fastrand, signal, sysmon};
use crate::trace;

/// Most Ps a runtime can have.
pub const MAX_PROCS: usize = 4096;
/// Most Ms a runtime may create (Go's default `debug.SetMaxThreads`).
pub const MAX_THREADS: usize = 10_000;
/// How long a spinning M looks for work before giving its P back (see `steal_work`).
const SPIN_TIME: Duration = Duration::from_micros(20);
/// How long a spinning M leaves another P's `runnext` alone (see `steal_work`).
const RUNNEXT_GRACE: Duration = Duration::from_micros(3);
/// How long an M keeps its P while other Ms, with goroutines living on them, wait for one
/// (m.rs): Go's time slice, shortened because the waiting goroutines cannot move to the P.
pub(crate) const TIME_SLICE: Duration = Duration::from_millis(1);

pub(crate) struct Sched {
    /// Usable bytes of every goroutine stack of this runtime.
    pub(crate) stack_size: usize,
    /// The Ps, created on demand and never freed before the runtime: `Box<P>` raw pointers.
    allp: Box<[AtomicPtr<P>]>,
    gomaxprocs: AtomicUsize,
    pub(crate) global: GlobalQueue,
    /// Idle Ps and Ms. Lock order: `idle`, then a timer heap, then the global queue.
    idle: Mutex<Idle>,
    /// Length of `idle.ps`, readable without the lock (SeqCst, see the module docs).
    npidle: AtomicUsize,
    /// Ms spinning (looking for work while holding a P).
    nmspinning: AtomicUsize,
    /// Every M ever started.
    allm: Mutex<Vec<Arc<M>>>,
    /// Goroutines started minus finished outside any P; the Ps keep their own counts
    /// (`P::ngoroutine_delta`), summed by `goroutine_count`.
    ngoroutine: AtomicI64,
    shutdown: AtomicBool,
    epoch: Instant,
    /// Deadline (nanoseconds since `epoch`) at which the timed sleeper wakes; `u64::MAX` if none.
    timer_sleep: AtomicU64,
    /// The timed sleeper. Holds no count: Ms live as long as the runtime (`allm`).
    timer_sleeper: AtomicPtr<M>,
    /// Whether sysmon sleeps until an M starts (`sysmon.rs`); guarded by `sysmon_lock`.
    sysmon_sleeping: AtomicBool,
    sysmon_lock: Mutex<()>,
    sysmon_cv: std::sync::Condvar,
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
    npwait: AtomicUsize,
    /// Whether an unjoined goroutine panic ends the process (`Builder::panic_policy`).
    pub(crate) panic_abort: AtomicBool,
}

struct Idle {
    ps: Vec<usize>,
    ms: Vec<Arc<M>>,
    /// Ms with goroutines living on them to run and no P, first come first served (m.rs).
    pwait: std::collections::VecDeque<Arc<M>>,
}

// SAFETY: `allp` holds pointers to `P`s that are `Send + Sync` and owned by the Sched; the rest
// are atomics and locks.
unsafe impl Send for Sched {}
// SAFETY: as above.
unsafe impl Sync for Sched {}

static NEXT_GOROUTINE_ID: AtomicU64 = AtomicU64::new(1);

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
            sysmon_sleeping: AtomicBool::new(false),
            sysmon_lock: Mutex::new(()),
            sysmon_cv: std::sync::Condvar::new(),
            netpoll: Netpoll::new(),
            allgs: AllGs::new(),
            mains: Mutex::new(Vec::new()),
            detect_deadlock: AtomicBool::new(true),
            migrate_all: AtomicBool::new(false),
            npwait: AtomicUsize::new(0),
            panic_abort: AtomicBool::new(false),
        });
        sched.set_max_procs(max_procs);
        signal::install_handler();
        sched
    }

    fn idle(&self) -> MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn max_procs(&self) -> usize {
        self.gomaxprocs.load(Ordering::SeqCst)
    }

    fn p(&self, id: usize) -> Option<&P> {
        let p = self.allp[id].load(Ordering::Acquire);
        // SAFETY: non-null entries are `Box<P>` pointers published with Release in
        // `set_max_procs` and freed only when the Sched is dropped.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// The P held by the calling thread if it is an M of this runtime and still owns it,
    /// guarded so that sysmon cannot take it away while the caller uses it (see `p.rs`).
    fn current_p(&self) -> Option<PGuard<'_>> {
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
    fn acquire_p(&self, m: &M, p: &P) {
        // Release: pairs with sysmon's and guards' Acquire loads of the state.
        p.state
            .store(m as *const M as usize | pstate::OWNED, Ordering::Release);
        m::set_current_p(p);
        m.p_since.set(Instant::now());
    }

    /// A P pointer handed over through an M's `next_p`.
    fn p_ref(&self, p: *const P) -> &P {
        // SAFETY: handed-over P pointers come from `p()` of this Sched, and Ps live as long as
        // their Sched.
        unsafe { &*p }
    }

    /// This M gives up `p`, leaving it in state `st` without an owner.
    fn release_p(&self, p: &P, st: usize) {
        m::set_current_p(std::ptr::null());
        p.set_unowned(st);
    }

    pub(crate) fn nanos(&self, t: Instant) -> u64 {
        match t.checked_duration_since(self.epoch) {
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1),
            None => 0,
        }
    }

    fn now(&self) -> u64 {
        self.nanos(Instant::now())
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
            old = self.gomaxprocs.load(Ordering::SeqCst);
            for id in old..n {
                if self.p(id).is_none() {
                    let p = Box::into_raw(Box::new(P::new(id, Arc::as_ptr(self) as usize)));
                    // Release: publishes the new P to `p()`'s Acquire.
                    self.allp[id].store(p, Ordering::Release);
                }
            }
            self.gomaxprocs.store(n, Ordering::SeqCst);
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

    fn rehome_timers(&self, p: &P) {
        if p.id == 0 {
            return;
        }
        let p0 = self.p(0).expect("P 0 always exists");
        // `adopt`, not `push`: we hold the idle lock, and a push may start a goroutine.
        for e in p.timers.take_all() {
            p0.timers.adopt(0, e);
        }
    }

    // ---- spawning and readying ----

    /// Starts a goroutine running `f` (Go's newproc): it goes to `runnext` of the caller's P, or
    /// to the global queue from outside the runtime. `site` is where `go` was called; `opts`
    /// carries what `Goroutine` set (name, stack size), checked by the caller.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        f: F,
        site: &'static Location<'static>,
        opts: super::goroutine::SpawnOpts,
    ) -> io::Result<GRef>
    where
        F: FnOnce() + Send + 'static,
    {
        if self.shutdown.load(Ordering::Relaxed) {
            return Err(io::Error::other(
                "goroutines: the runtime has been shut down",
            ));
        }
        let p = self.current_p();
        let raw_id = match &p {
            Some(p) => p.next_goid(&NEXT_GOROUTINE_ID),
            None => NEXT_GOROUTINE_ID.fetch_add(1, Ordering::Relaxed),
        };
        let id = GoroutineId(std::num::NonZeroU64::new(raw_id).expect("id overflow"));
        let parent = g::current_id();
        let mut g = G::new(
            id,
            self.clone(),
            site,
            parent.map_or(0, |p| p.as_u64()),
            opts.migratable || self.migrate_all.load(Ordering::Relaxed),
        );
        g.name = opts.name;
        let g = Arc::new(g);
        let stack_size = opts.stack_size.unwrap_or(self.stack_size);
        let stack = match &p {
            Some(p) => p.alloc_stack(stack_size)?,
            None => {
                let mut v = Vec::with_capacity(1);
                super::stack::alloc_batch(stack_size, 1, &mut v)?;
                v.pop().expect("alloc_batch returned at least one stack")
            }
        };
        if stack.touched {
            // SAFETY: `g` is new and not yet shared: we are its only owner.
            unsafe { g.install(make_coroutine(&g, stack, f)) };
        } else {
            // An untouched stack faults on first use: leave that to the M that first runs the
            // goroutine, so that a goroutine spawning many others does not take every fault
            // itself (the million example spreads its faults over all Ms this way).
            // SAFETY: as above.
            unsafe { g.install_pending(stack, Box::new(f)) };
        }
        match &p {
            Some(p) => p.add_goroutines(1),
            None => {
                self.ngoroutine.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.allgs
            .insert(&g, p.as_ref().map_or_else(|| fastrand() as usize, |p| p.id));
        if trace::enabled() {
            trace::go_create(id, parent, site, g.name.as_ref());
        }
        match p {
            Some(p) => p.put(g.clone(), true, &self.global),
            None => self.global.push(g.clone()),
        }
        self.wakep();
        Ok(g)
    }

    /// Makes a parked goroutine runnable (Go's ready): into `runnext` of the caller's P, so the
    /// woken goroutine runs next, or to the global queue from outside the runtime.
    ///
    /// A goroutine that lives on an M (m.rs) goes to that M's own queue instead: directly when
    /// the caller runs on that M, through its inbox otherwise.
    pub(crate) fn ready(&self, g: GRef) {
        g.set_status(GStatus::Runnable);
        if trace::enabled() {
            trace::go_unpark(g.id(), g::current_id());
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
    fn push_remote(&self, home: &M, g: GRef) {
        if home.push_inbox(g) {
            self.netpoll.wake_m(home);
        }
    }

    /// Starts a spinning M if there is an idle P and nobody is spinning (see the module docs).
    pub(crate) fn wakep(&self) {
        // SeqCst fence: orders the caller's publication of work (a queue push, which may be a
        // mere Release store) before the loads below; pairs with the fence in `any_runnable`
        // on the idling side, so that one of the two sides sees the other (module docs).
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.npidle.load(Ordering::SeqCst) == 0 || self.nmspinning.load(Ordering::SeqCst) != 0 {
            return;
        }
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
                self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    fn pidleget(&self) -> Option<&P> {
        let mut idle = self.idle();
        self.pidleget_locked(&mut idle)
    }

    fn pidleget_locked(&self, idle: &mut Idle) -> Option<&P> {
        let id = idle.ps.pop()?;
        self.npidle.store(idle.ps.len(), Ordering::SeqCst);
        let p = self.p(id).expect("idle P exists");
        p.set_unowned(pstate::HANDOFF);
        // A P leaves idle: sysmon must watch it again (Go wakes sysmon in the same place). An M
        // that slept until a timer and takes a P back by itself starts no M, so `startm` alone
        // would leave sysmon asleep while a hog runs (issue 11, item 1).
        self.wake_sysmon();
        Some(p)
    }

    /// Wakes sysmon if it sleeps because every P was idle.
    fn wake_sysmon(&self) {
        // SeqCst: pairs with the store of `sysmon_sleeping` in `sysmon_wait`, which re-checks
        // `npidle` after it: either we see the flag, or sysmon sees the P we took.
        if self.sysmon_sleeping.load(Ordering::SeqCst) {
            let _g = self.sysmon_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.sysmon_sleeping.store(false, Ordering::SeqCst);
            self.sysmon_cv.notify_one();
        }
    }

    /// Puts `p` on the idle list, or hands it to the first M waiting for a P; then returns
    /// that M, which the caller must wake after unlocking (`wake_m`).
    #[must_use]
    fn pidleput_locked(&self, idle: &mut Idle, p: &P) -> Option<Arc<M>> {
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

    /// Hands `p` (in HANDOFF) to the first P-waiter, returned for the caller to wake; `None`
    /// (and `p` back on the idle list) if nobody waits.
    fn give_p_to_waiter(&self, idle: &mut Idle, p: &P) -> Option<Arc<M>> {
        let Some(w) = idle.pwait.pop_front() else {
            p.set_unowned(pstate::IDLE);
            idle.ps.push(p.id);
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
    fn get_p_for_own(&self, m: &Arc<M>) -> bool {
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
    fn yield_p_to_waiter(&self, m: &M, p: &P) -> bool {
        let w = {
            let mut idle = self.idle();
            if idle.pwait.is_empty() {
                return false;
            }
            m::set_current_p(std::ptr::null());
            p.set_unowned(pstate::HANDOFF);
            self.give_p_to_waiter(&mut idle, p)
        };
        if m.spinning.swap(false, Ordering::Relaxed) {
            self.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(w) = w {
            self.netpoll.wake_m(&w);
        }
        true
    }

    /// Runs `p` on an idle M, or a new one (Go's startm).
    fn startm(&self, p: &P, spinning: bool) {
        self.wake_sysmon();
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

    fn new_m(&self, p: &P, spinning: bool) {
        let m = {
            let mut allm = self.allm.lock().unwrap_or_else(|e| e.into_inner());
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
            m
        };
        m.spinning.store(spinning, Ordering::Relaxed);
        m.next_p.store(p as *const P as *mut P, Ordering::Release);
        let sched = self.self_arc();
        let name = format!("goroutines-m{}", m.id);
        let res = std::thread::Builder::new()
            .name(name)
            .spawn(move || m_main(sched, m));
        if let Err(e) = res {
            fatal(&format!("cannot start an OS thread for the scheduler: {e}"));
        }
    }

    fn self_arc(&self) -> Arc<Sched> {
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

    // ---- timers ----

    /// Pushes a timer entry on the caller's P (or a random P) and wakes a sleeper that would
    /// otherwise oversleep it.
    pub(crate) fn add_timer(&self, e: Entry) {
        let when = e.when;
        // Any P's heap will do (heaps are locked); the caller's keeps timers near their users.
        let pid = match self.current_p() {
            Some(p) => p.id,
            None => fastrand() as usize % self.max_procs(),
        };
        let p = self.p(pid).expect("P below GOMAXPROCS exists");
        p.timers.push(p.id, e);
        // SeqCst: pairs with the sleeper's store of `timer_sleep` (module docs).
        let sleep = self.timer_sleep.load(Ordering::SeqCst);
        if when < sleep {
            let m = self.timer_sleeper.load(Ordering::SeqCst);
            if sleep != u64::MAX && !m.is_null() {
                // net: `wake_m` also breaks its epoll_wait if it is blocked in the netpoller.
                // SAFETY: Ms live as long as the Sched (`allm`).
                self.netpoll.wake_m(unsafe { &*m });
            } else {
                self.wakep();
            }
        }
    }

    pub(crate) fn timer_went_stale(&self, pid: usize) {
        if let Some(p) = (pid < MAX_PROCS).then(|| self.p(pid)).flatten() {
            p.timers.went_stale();
        }
    }

    pub(crate) fn earliest_timer(&self) -> u64 {
        (0..self.max_procs())
            .filter_map(|i| self.p(i))
            .map(|p| p.timers.next_when())
            .min()
            .unwrap_or(u64::MAX)
    }

    fn run_all_timers(&self, now: u64) {
        for i in 0..self.max_procs() {
            if let Some(p) = self.p(i) {
                p.timers.run_due(now);
            }
        }
    }

    // ---- finding work ----

    /// Blocks until the M holds a P and has a goroutine to run; `None` on shutdown.
    ///
    /// Order: the own queues of a locked M only; the time slice (P-waiters); due timers; the
    /// global queue every 61st schedule; goroutines living on this M and the P's `runnext` and
    /// queue (heads first every 61st schedule, so that hand-off pairs cannot starve them); the
    /// global queue; goroutines of this M that yielded; the network; stealing.
    fn find_runnable(&self, m: &Arc<M>) -> Option<GRef> {
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
            let busy = procs.saturating_sub(self.npidle.load(Ordering::SeqCst));
            let spinning = m.spinning.load(Ordering::Relaxed);
            if spinning || 2 * self.nmspinning.load(Ordering::SeqCst) < busy {
                if !spinning {
                    m.spinning.store(true, Ordering::Relaxed);
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
                self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
            if self.any_runnable() {
                if let Some(p2) = self.pidleget() {
                    self.acquire_p(m, p2);
                    m.spinning.store(true, Ordering::Relaxed);
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
    fn pop_p(&self, p: &P, heads: bool) -> Option<GRef> {
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
    fn found(&self, m: &M, g: GRef) -> GRef {
        if m.spinning.swap(false, Ordering::Relaxed) {
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
    fn steal_work(&self, m: &M, p: &P) -> Option<GRef> {
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

    /// The owner of a P beyond GOMAXPROCS gives everything on it away. True if it retired it.
    fn retire(&self, m: &M, p: &P) -> bool {
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
            self.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        self.wakep();
        true
    }

    /// Sleeps the M (without a P) until another hands it one, or until goroutines living on it
    /// become runnable (then it returns without a P, and `find_runnable` asks for one); as the
    /// earliest sleeper, only until the next timer, then runs timers itself. A `locked` M (its
    /// goroutine is locked to it and parked) takes no P for other work: it sleeps until its own
    /// goroutines are runnable. Returns false on shutdown.
    fn stopm(&self, m: &Arc<M>, locked: bool) -> bool {
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

    // ---- running goroutines ----

    /// Runs `g` until it switches out, and acts on why (Go's execute plus the tail of mcall).
    fn execute(&self, m: &Arc<M>, g: GRef) {
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
                // SAFETY: as above.
                unsafe { g.install(make_coroutine(&g, stack, f)) };
            }
            // SAFETY: as above.
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
    fn requeue(&self, m: &M, g: GRef, homed: bool) {
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
    fn trace_start(&self, g: &G, p: *const P) {
        let (pid, local) = match (!p.is_null()).then(|| self.p_ref(p)) {
            Some(p) => (Some(p.id), self.local_queue_len(p)),
            None => (None, 0),
        };
        trace::go_start(g.id(), g.spawn_site, pid, local, self.global.len());
    }

    /// A goroutine finished: recycle its stack.
    fn goexit(&self, m: &M, g: GRef) {
        g.set_status(GStatus::Dead);
        if !g.migratable && std::ptr::eq(g.home.load(Ordering::Relaxed), m) {
            m.add_homed(-1);
        }
        if std::ptr::eq(m.locked_g.load(Ordering::Relaxed), Arc::as_ptr(&g)) {
            m.locked_g.store(std::ptr::null_mut(), Ordering::Relaxed);
        }
        // SAFETY: this M owns the finished G (g.rs module docs).
        let stack = unsafe { g.coroutine() }.take().map(|co| {
            let mut stack = std::mem::ManuallyDrop::into_inner(co).into_stack();
            stack.touched = true;
            stack
        });
        match self.current_p() {
            Some(p) => {
                if let Some(s) = stack {
                    p.free_stack(s);
                }
                p.add_goroutines(-1);
            }
            None => {
                if let Some(s) = stack {
                    super::stack::free_batch([s]);
                }
                self.ngoroutine.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Goroutines started and not finished (Go's NumGoroutine). The per-P counts are read one
    /// after another, so a goroutine started and finished meanwhile may be missed or counted.
    pub(crate) fn goroutine_count(&self) -> usize {
        let ps: i64 = (0..MAX_PROCS)
            .map_while(|i| self.p(i))
            .map(|p| p.ngoroutine_delta.load(Ordering::Relaxed))
            .sum();
        (self.ngoroutine.load(Ordering::Relaxed) + ps).max(0) as usize
    }

    /// Gives away a P whose M is about to block (Go's handoffp).
    fn handoffp(&self, p: &P) {
        if p.has_work() || self.global.len() > 0 {
            self.startm(p, false);
            return;
        }
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
        if when != u64::MAX && when < self.timer_sleep.load(Ordering::SeqCst) {
            self.wakep();
        }
        if self.any_runnable() {
            self.wakep();
        }
    }

    // ---- for sysmon ----

    pub(crate) fn p_by_id(&self, id: usize) -> Option<&P> {
        self.p(id)
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// Whether every P is idle (nothing runs, nothing to monitor).
    pub(crate) fn all_idle(&self) -> bool {
        self.npidle.load(Ordering::SeqCst) >= self.max_procs()
    }

    /// Sysmon sleeps until a P leaves idle, or until the next timer (Go's `timeSleepUntil`:
    /// the M that runs that timer may find a hog to watch), or at most a second.
    pub(crate) fn sysmon_wait(&self) {
        let g = self.sysmon_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.sysmon_sleeping.store(true, Ordering::SeqCst);
        // Re-check after publishing `sysmon_sleeping`: `startm` runs after a P left the idle
        // list, so either it sees the flag or we see the busy P.
        if !self.all_idle() || self.is_shut_down() {
            self.sysmon_sleeping.store(false, Ordering::SeqCst);
            return;
        }
        let next = self.earliest_timer();
        let limit = if next == u64::MAX {
            Duration::from_secs(1)
        } else {
            Duration::from_nanos(next.saturating_sub(self.now())).min(Duration::from_secs(1))
        };
        let (_g, _) = self
            .sysmon_cv
            .wait_timeout_while(g, limit, |_| self.sysmon_sleeping.load(Ordering::SeqCst))
            .unwrap_or_else(|e| e.into_inner());
        self.sysmon_sleeping.store(false, Ordering::SeqCst);
    }

    /// Takes `p` away from its M if its state word is still `word` (sysmon.rs), and hands it to
    /// another M. True if it did.
    pub(crate) fn retake(&self, p: &P, word: usize) -> bool {
        // AcqRel: Acquire pairs with the owner's Release when it entered RUNNING or SYSCALL, so
        // its writes to the P are visible before we hand the P on.
        if p.state
            .compare_exchange(word, pstate::HANDOFF, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.handoffp(p);
        true
    }

    /// Stops every M: idle ones now, running ones at their next schedule.
    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        {
            let _g = self.sysmon_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.sysmon_sleeping.store(false, Ordering::SeqCst);
            self.sysmon_cv.notify_one();
        }
        self.netpoll.shutdown(); // net: breaks a blocking epoll_wait
        let ms: Vec<Arc<M>> = self.allm.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for m in ms {
            m.wake();
        }
    }

    /// Counts of goroutines and queue depths, for `runtime::stats`.
    pub(crate) fn queue_depths(&self) -> (usize, Vec<usize>) {
        let locals = (0..self.max_procs())
            .filter_map(|i| self.p(i))
            .map(|p| self.local_queue_len(p))
            .collect();
        (self.global.len(), locals)
    }

    /// Runnable goroutines queued on `p`, and those living on its owner M (m.rs).
    pub(crate) fn local_queue_len(&self, p: &P) -> usize {
        let word = p.state.load(Ordering::Acquire);
        let owner = (word & !pstate::MASK) as *const M;
        // SAFETY: a non-null owner in a P's state word is an M of this Sched, and Ms live as
        // long as the Sched (`allm`).
        let own = (!owner.is_null()).then(|| unsafe { &*owner }.queued());
        p.runq.len() as usize + usize::from(p.has_runnext()) + own.unwrap_or(0)
    }

    /// Schedules done by all Ps: moves whenever any goroutine runs.
    pub(crate) fn tick_sum(&self) -> u64 {
        (0..self.max_procs())
            .filter_map(|i| self.p(i))
            .map(|p| u64::from(p.sched_tick.load(Ordering::Relaxed)))
            .sum()
    }

    /// Ms sleeping without a P, and Ms spinning.
    pub(crate) fn idle_and_spinning_ms(&self) -> (usize, usize) {
        (
            self.idle().ms.len(),
            self.nmspinning.load(Ordering::Relaxed),
        )
    }

    /// Every M, for `scheddetail`.
    pub(crate) fn all_ms(&self) -> Vec<Arc<M>> {
        self.allm.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Idle Ps.
    pub(crate) fn idle_procs(&self) -> usize {
        self.npidle.load(Ordering::SeqCst)
    }

    /// Milliseconds since this runtime was created.
    pub(crate) fn uptime_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub(crate) fn thread_count(&self) -> usize {
        self.allm.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub(crate) fn timer_count(&self) -> usize {
        (0..self.max_procs())
            .filter_map(|i| self.p(i))
            .map(|p| p.timers.len())
            .sum()
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

/// Records the end of a run of `g` in the trace.
#[cold]
fn trace_stop(g: &G, p: *const P, r: &CoroutineResult<Switch, ()>) {
    // SAFETY: as in `Sched::p_ref`: a P pointer of this M is a live P of its Sched.
    let pid = (!p.is_null()).then(|| unsafe { (*p).id });
    // A goroutine that lost its P (a hog, a long `blocking`) still parked or yielded: say so.
    // Only a Requeue, which is the loss itself, reads as preempted.
    let why = match r {
        CoroutineResult::Return(()) => trace::StopReason::Exit,
        CoroutineResult::Yield(Switch::Park) => trace::StopReason::Park(g.wait_reason()),
        CoroutineResult::Yield(Switch::Yield) => trace::StopReason::Yield,
        CoroutineResult::Yield(Switch::Requeue) => trace::StopReason::Preempted,
    };
    trace::go_stop(g.id(), pid, why);
}

/// The coroutine that runs `f` as goroutine `g` on `stack`.
fn make_coroutine<F: FnOnce() + Send + 'static>(g: &GRef, stack: super::stack::Stack, f: F) -> Co {
    g.set_stack(stack.top(), stack.size());
    let gp = SendPtr(Arc::as_ptr(g));
    Co::with_stack(stack, move |yielder, ()| {
        let gp = gp;
        // SAFETY: the G owns this coroutine, so it outlives the coroutine's body.
        unsafe { (*gp.0).set_yielder(yielder) };
        f();
        // Goroutine-locals not dropped by `f`'s wrapper (a detached goroutine's): dropped
        // here, in the goroutine, never on whichever thread drops the G (local.rs). A panic
        // was reported by the hook; it ends nothing else.
        let _ = std::panic::catch_unwind(super::local::destroy_current);
    })
}

struct SendPtr(*const G);
// SAFETY: the pointer is only dereferenced by the goroutine that the G describes, on whatever M
// runs it; the G is `Sync`.
unsafe impl Send for SendPtr {}

/// The body of every M thread. Anything that unwinds out of the scheduler (a runtime bug, or
/// user code that ran where it must not) ends the process with a `goroutines: fatal:` message,
/// as Go's throw does: an M that died silently would leave its P owned forever and the program
/// hung.
fn m_main(sched: Arc<Sched>, m: Arc<M>) {
    let id = m.id;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m_loop(sched, m)));
    if let Err(e) = r {
        fatal(&format!(
            "a panic unwound out of the scheduler on M{id}: {}",
            g::panic_message(&*e)
        ));
    }
}

fn m_loop(sched: Arc<Sched>, m: Arc<M>) {
    m::set_current_m(Arc::as_ptr(&m));
    signal::install_altstack();
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

// ---- what goroutines call ----

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
fn pin_if_unwinding(g: &G) -> bool {
    if !std::thread::panicking() || !g.home.load(Ordering::Relaxed).is_null() {
        return false;
    }
    // Relaxed: read by the readier after the park protocol's Acquire (see `G::home`).
    g.home.store(m::current_m() as *mut M, Ordering::Relaxed);
    true
}

fn unpin(g: &G, pinned: bool) {
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

/// Runs `f`, which may block its OS thread, after telling the scheduler (Go's entersyscall and
/// exitsyscall). See `goroutines::blocking`.
///
/// Unlike a Go system call, `f` is arbitrary Rust and may park or yield the goroutine (a
/// channel receive inside `blocking`). A switch leaves the syscall state first and enters it
/// again when the goroutine resumes ([`park_current`], [`yield_current`]): a parked goroutine
/// must not leave its P in SYSCALL, where the next schedule on it would fail its
/// compare-and-swap and drop the P for sysmon to find much later (issue 11, item 2).
pub(crate) fn blocking<F: FnOnce() -> R, R>(f: F) -> R {
    let Some(g) = g::current() else { return f() };
    if g.syscall.get() != g::syscall::NONE {
        // Nested: the outer call already told the scheduler.
        return f();
    }
    enter_syscall(&g);
    struct Exit<'a>(&'a GRef);
    impl Drop for Exit<'_> {
        fn drop(&mut self) {
            exit_syscall(self.0);
        }
    }
    let _exit = Exit(&g);
    f()
}

/// The running goroutine `g` enters a blocking call: its P goes from RUNNING to SYSCALL, where
/// sysmon may hand it to another M.
fn enter_syscall(g: &G) {
    let p = m::current_p();
    let me = m::current_m() as usize;
    // SAFETY: the current P pointer is live for the life of its Sched (ownership is checked by
    // the compare-and-swap).
    let entered = !p.is_null()
        && unsafe { &*p }
            .state
            // AcqRel: Release publishes our use of the P to a sysmon that retakes it.
            .compare_exchange(
                me | pstate::RUNNING,
                me | pstate::SYSCALL,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
    if entered {
        // SAFETY: as above.
        unsafe { &*p }.syscall_seq.fetch_add(1, Ordering::Relaxed);
        g.set_status(GStatus::Syscall);
        g.syscall.set(g::syscall::ENTERED);
    } else {
        // Sysmon already took the P (we ran too long): nothing to hand off.
        g.syscall.set(g::syscall::WITHOUT_P);
    }
}

/// Leaves the syscall state without giving up the goroutine's claim to run: SYSCALL back to
/// RUNNING if sysmon left the P alone, else the M goes on without a P. Returns the state that
/// `g.syscall` had, for `reenter_syscall`.
fn leave_syscall(g: &G) -> u8 {
    let st = g.syscall.replace(g::syscall::NONE);
    if st != g::syscall::ENTERED {
        return st;
    }
    g.set_status(GStatus::Running);
    let p = m::current_p();
    let me = m::current_m() as usize;
    // SAFETY: `ENTERED` means this M put its current P in SYSCALL; Ps live as long as the Sched.
    let kept = unsafe { &*p }
        .state
        // Acquire: pairs with the Release of whoever owned the P meanwhile, if anyone.
        .compare_exchange(
            me | pstate::SYSCALL,
            me | pstate::RUNNING,
            Ordering::Acquire,
            Ordering::Relaxed,
        )
        .is_ok();
    if !kept {
        // Sysmon handed the P to another M: we have none now.
        m::set_current_p(std::ptr::null());
    }
    st
}

/// After a switch inside `blocking`, on whatever M resumed the goroutine: enter the syscall
/// state again if the goroutine was in it.
fn reenter_syscall(g: &G, st: u8) {
    if st != g::syscall::NONE {
        enter_syscall(g);
    }
}

/// The end of a `blocking` call: keep the P if sysmon left it, else take an idle P, else queue
/// for one (Go's exitsyscall).
fn exit_syscall(g: &GRef) {
    let st = leave_syscall(g);
    g.set_status(GStatus::Running);
    if st != g::syscall::ENTERED || !m::current_p().is_null() {
        return;
    }
    if let Some(p2) = g.sched.pidleget() {
        // Release: as in `execute`, publishes our scheduler writes to a retaker.
        p2.state
            .store(m::current_m() as usize | pstate::RUNNING, Ordering::Release);
        m::set_current_p(p2);
        return;
    }
    let pinned = pin_if_unwinding(g);
    g.switch_out(Switch::Requeue);
    unpin(g, pinned);
}

/// Called by `go` after it spawned, and by a `select!` that took its `default` case, where a
/// goroutine looping without ever parking passes. (Not by `try_send`/`try_recv`: the runtime's
/// own code calls those while it holds locks, where a yield could deadlock its M.) Yields if sysmon asked this P to (see `P::preempt`); if sysmon took the P
/// away meanwhile (the goroutines living on this M, m.rs, can run only here, so a loop that went
/// on without a P would starve them: yielding queues it for a P with them instead); or if other
/// Ms wait for a P and this M has had its time slice.
pub(crate) fn preempt_point() {
    if !g::in_goroutine() {
        return;
    }
    let p = m::current_p();
    if p.is_null() {
        return;
    }
    // SAFETY: a non-null current P is a live P of this M's Sched; its fields are atomics.
    let p = unsafe { &*p };
    let owner = p.state.load(Ordering::Relaxed) & !pstate::MASK;
    let me = m::current_m();
    let lost = owner != me as usize;
    // SAFETY: a P holds the address of its live Sched (`P::sched`); `me` is this thread's M,
    // whose `p_since` only this thread touches.
    let slice_over = !lost
        && unsafe { &*(p.sched as *const Sched) }
            .npwait
            .load(Ordering::Relaxed)
            > 0
        && unsafe { &*me }.p_since.get().elapsed() >= TIME_SLICE;
    if lost || slice_over || p.preempt.load(Ordering::Relaxed) {
        if !lost {
            p.preempt.store(false, Ordering::Relaxed);
        }
        yield_current();
    }
}

/// Go's LockOSThread.
pub(crate) fn lock_os_thread() {
    let Some(g) = g::current() else { return };
    let depth = g.lock_depth.get();
    g.lock_depth.set(depth + 1);
    if depth == 0 {
        let m = m::current_m();
        if g.migratable {
            // It lives on this M while locked (m.rs); only its goroutine calls this.
            g.home.store(m as *mut M, Ordering::Relaxed);
        }
        g.locked_m.store(m as *mut M, Ordering::Release);
        // SAFETY: the calling goroutine runs on this M, which lives as long as its Sched.
        unsafe {
            (*m).locked_g
                .store(Arc::as_ptr(&g) as *mut G, Ordering::Relaxed)
        };
    }
}

/// Go's UnlockOSThread.
pub(crate) fn unlock_os_thread() {
    let Some(g) = g::current() else { return };
    let depth = g.lock_depth.get();
    if depth == 0 {
        return;
    }
    g.lock_depth.set(depth - 1);
    if depth == 1 {
        if g.migratable {
            g.home.store(std::ptr::null_mut(), Ordering::Relaxed);
        }
        let m = g.locked_m.swap(std::ptr::null_mut(), Ordering::Release);
        if !m.is_null() {
            // SAFETY: as in `lock_os_thread`: a locked goroutine runs only on its M.
            unsafe { (*m).locked_g.store(std::ptr::null_mut(), Ordering::Relaxed) };
        }
    }
}
