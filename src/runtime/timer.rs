//! Runtime timers: per-P 4-ary heaps run by the scheduler, no timer thread.
//!
//! A [`RawTimer`] is armed with a deadline and an action. Arming pushes an entry into a P's heap
//! (the caller's P, or a random one from a plain thread). An M running its schedule loop runs the
//! due timers of its own P; a spinning M runs those of the Ps it tries to steal from; and the M
//! that goes idle last sleeps only until the earliest deadline of all heaps (`m.rs`, `stopm`).
//!
//! Stop and reset are lazy: the timer's `state` word holds a generation and an armed bit; a heap
//! entry carries the generation it was pushed with and is discarded when it comes due if the
//! generation moved on. Firing, stopping and resetting all decide by compare-and-swap on that one
//! word, so exactly one of them wins and `stop`/`reset` report whether the timer was still
//! pending, as Go's `Timer.Stop` does. Every stop or reset counts a stale entry against the heap
//! that holds it; when stale entries pass a quarter of a heap, the heap is rebuilt without them,
//! so stopped timers never pile up.
//!
//! Actions run on the M that finds them due, in scheduler context (not on a goroutine): they must
//! not block. Unparking a goroutine, a non-blocking channel send and spawning a goroutine are all
//! fine. Actions are the runtime's own code; user code never runs here (an `after_func`'s
//! function runs in a goroutine of its own, as Go's does).
//!
//! User values still reach the heaps: an `after_func` timer's action owns the user's closure, so
//! dropping the last reference to such a timer runs the `Drop` of whatever the closure captured,
//! which may park, take locks or panic. A heap lets go of entries in two places: rebuilding
//! (under the heap's lock, from whoever arms a timer) and running due entries (on an M's
//! scheduler stack). Re-homing a retiring P's timers (under the idle lock) moves entries with
//! `adopt`, which never rebuilds, so it lets go of none. Every entry leaving a heap goes through a
//! [`Graveyard`]: it keeps only the timers whose last reference it holds (`Arc::into_inner`, so
//! exactly one holder sees the last one) and whose action says it owns user values
//! ([`FireGen::drop_on`]), and after the lock is released hands them all to one new goroutine
//! that drops them. Everything else it drops at once: the runtime's own values.
//!
//! Orphaned entries: an `after` timer sends on a channel it holds weakly, so once every handle to
//! that channel is gone (a `select!` that took another case) the entry can have no effect. Such
//! entries leave the heap in the same rebuild as stale ones; besides the stale count, a rebuild
//! runs whenever the heap has doubled since the last one, so that a loop of
//! `select! { recv(after(60s)) ... }` keeps the heap near twice its live size (Go 1.23 lets the
//! collector take unreferenced timers).
//!
//! Rejected: dropping entries after unlocking, on the caller. That fixes the deadlock of a `Drop`
//! that re-arms a timer, but `run_due`'s callers are the scheduler loop, where a `Drop` that
//! parks has no goroutine to park and one that panics kills the M with its P still owned.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::park::Unparker;
use super::sched::Sched;
use super::sched::MAX_PROCS;
use super::{with_current_sched, RuntimeRef, WeakRuntimeRef};
use crate::util::fastrand;
use crate::util::lock;

/// What a timer does when it fires.
pub(crate) enum TimerAction {
    Unpark(Unparker),
    Func(Box<dyn Fn() + Send + Sync>),
    /// A shared object told the generation of the arming that fired (see [`RawTimer::arm`]),
    /// so that a user-level timer can tell a firing of its current arming from one that raced
    /// with a stop or reset. Shared rather than boxed: the timer's own state is the action,
    /// with no allocation of its own.
    Shared(Arc<dyn FireGen>),
}

/// The action of a [`TimerAction::Shared`] timer.
pub(crate) trait FireGen: Send + Sync {
    /// Called in scheduler context when the arming of generation `gen` fires; must not block.
    fn fire(&self, gen: u64);

    /// Whether the action can no longer have any effect (`after`'s channel is gone), so that its
    /// entries may leave the heap before they are due.
    fn is_orphaned(&self) -> bool {
        false
    }

    /// If dropping this action may run user code (it owns user values), the runtime on whose
    /// goroutine it must be dropped; `None` (the default) if it holds only the runtime's values.
    fn drop_on(&self) -> Option<RuntimeRef> {
        None
    }
}

pub(super) struct RawTimer {
    /// `generation << 1 | armed`.
    state: AtomicU64,
    /// The P whose heap holds the live entry, for counting stale entries.
    heap_of: AtomicUsize,
    action: TimerAction,
}

const ARMED: u64 = 1;

impl RawTimer {
    pub(crate) fn new(action: TimerAction) -> Arc<RawTimer> {
        Arc::new(RawTimer {
            state: AtomicU64::new(0),
            heap_of: AtomicUsize::new(usize::MAX),
            action,
        })
    }

    /// Like `new`, for an action that needs a weak handle to its own timer (a periodic timer
    /// re-arms itself).
    pub(crate) fn new_cyclic(
        f: impl FnOnce(&std::sync::Weak<RawTimer>) -> TimerAction,
    ) -> Arc<Self> {
        Arc::new_cyclic(|w| RawTimer {
            state: AtomicU64::new(0),
            heap_of: AtomicUsize::new(usize::MAX),
            action: f(w),
        })
    }

    /// Whether the timer is armed and has not fired.
    pub(crate) fn is_pending(&self) -> bool {
        // Acquire: pairs with the AcqRel updates below; only `Debug` reads this.
        self.state.load(Ordering::Acquire) & ARMED != 0
    }

    /// Disarms the timer. True if this call stopped it before it fired.
    ///
    /// Orderings of the state word: arming (Release half of AcqRel) pairs with `claim`'s
    /// Acquire, so the M that fires an arming sees what the arming thread wrote before it; a
    /// stop or reset (Acquire half) that loses to a claim sees the claim's writes. The runtime's
    /// own actions need no more than the word itself (user-level timers keep their state under
    /// their own mutex), so these could be Relaxed; they stay AcqRel because on x86 and arm64
    /// a compare-and-swap costs the same either way, and a future action that publishes
    /// through the word would otherwise be a silent race.
    pub(crate) fn stop(self: &Arc<Self>, sched: &super::sched::Sched) -> bool {
        // Acquire: see above.
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & ARMED == 0 {
                return false;
            }
            let new = (s | ARMED) + 1; // next generation, disarmed
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    sched.timer_went_stale(self.heap_of.load(Ordering::Relaxed));
                    return true;
                }
                Err(cur) => s = cur,
            }
        }
    }

    /// Arms the timer for `when`, replacing any pending deadline. True if it was pending.
    pub(crate) fn reset(self: &Arc<Self>, sched: &super::sched::Sched, when: Instant) -> bool {
        self.arm(sched, when).0
    }

    /// Like `reset`, also returning the generation of the new arming, which a `Shared` action
    /// is given when this arming fires.
    pub(crate) fn arm(self: &Arc<Self>, sched: &super::sched::Sched, when: Instant) -> (bool, u64) {
        // Acquire, and AcqRel for the exchange: see `stop`.
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let new = ((s | ARMED) + 1) | ARMED; // next generation, armed
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let was = s & ARMED != 0;
                    if was {
                        sched.timer_went_stale(self.heap_of.load(Ordering::Relaxed));
                    }
                    sched.add_timer(Entry {
                        when: sched.nanos(when),
                        gen: new,
                        timer: self.clone(),
                    });
                    return (was, new);
                }
                Err(cur) => s = cur,
            }
        }
    }

    /// Tries to fire the entry of generation `gen`: true if it won and the action must run.
    fn claim(&self, gen: u64) -> bool {
        // AcqRel: the Acquire half pairs with the arming's Release (see `stop`).
        self.state
            .compare_exchange(gen, gen & !ARMED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// See [`FireGen::drop_on`].
    fn drop_on(&self) -> Option<RuntimeRef> {
        match &self.action {
            TimerAction::Shared(f) => f.drop_on(),
            // The runtime's own closures (`after`'s send, a context's deadline).
            TimerAction::Unpark(_) | TimerAction::Func(_) => None,
        }
    }

    fn run(&self, gen: u64) {
        match &self.action {
            TimerAction::Unpark(u) => u.unpark(),
            TimerAction::Func(f) => f(),
            TimerAction::Shared(f) => f.fire(gen),
        }
    }
}

// ---- the facade: all that time/, context and the bridge see of runtime timers ----

/// A runtime timer bound to the runtime it was made on, so that its users arm, stop and reset
/// it without naming the scheduler. Dropping it does not stop the timer: an armed timer's heap
/// entry holds the timer (and its action) until it fires or goes stale.
pub(crate) struct Timer {
    raw: Arc<RawTimer>,
    rt: RuntimeRef,
}

/// What a timer's own action holds to re-arm the timer: it keeps neither the timer nor its
/// runtime alive (a cycle through the heap would).
#[derive(Clone)]
pub(crate) struct WeakTimer {
    raw: std::sync::Weak<RawTimer>,
    rt: WeakRuntimeRef,
}

impl Timer {
    /// A disarmed timer on the calling goroutine's runtime (or the default one).
    pub(crate) fn new(action: TimerAction) -> Timer {
        Timer {
            raw: RawTimer::new(action),
            rt: RuntimeRef::current(),
        }
    }

    /// Like `new`, for an action that re-arms its own timer (given a [`WeakTimer`] to it).
    pub(crate) fn new_cyclic(f: impl FnOnce(WeakTimer) -> TimerAction) -> Timer {
        let rt = RuntimeRef::current();
        let weak_rt = rt.downgrade();
        let raw = RawTimer::new_cyclic(|me| {
            f(WeakTimer {
                raw: me.clone(),
                rt: weak_rt,
            })
        });
        Timer { raw, rt }
    }

    /// Disarms the timer; true if this call stopped it before it fired.
    pub(crate) fn stop(&self) -> bool {
        self.raw.stop(self.rt.sched())
    }

    /// Arms the timer for `when`, replacing any pending deadline; true if it was pending.
    pub(crate) fn reset(&self, when: Instant) -> bool {
        self.raw.reset(self.rt.sched(), when)
    }

    /// Like `reset`, returning the generation of the new arming, which a
    /// [`TimerAction::Shared`] action is given when this arming fires.
    pub(crate) fn arm(&self, when: Instant) -> u64 {
        self.raw.arm(self.rt.sched(), when).1
    }

    /// Whether the timer is armed and has not fired.
    pub(crate) fn is_pending(&self) -> bool {
        self.raw.is_pending()
    }
}

impl WeakTimer {
    /// Arms the timer for `when` (see [`Timer::arm`]); `None`, arming nothing, if the timer or
    /// its runtime is gone.
    pub(crate) fn arm(&self, when: Instant) -> Option<u64> {
        let (raw, rt) = (self.raw.upgrade()?, self.rt.upgrade()?);
        Some(raw.arm(rt.sched(), when).1)
    }

    /// The timer's runtime, if it is still alive.
    pub(crate) fn runtime(&self) -> Option<RuntimeRef> {
        self.rt.upgrade()
    }
}

/// Arms, for `when`, a timer that nobody stops or resets (`after`), on the calling goroutine's
/// runtime, without taking a counted reference to the runtime.
pub(crate) fn start_detached(action: TimerAction, when: Instant) {
    let raw = RawTimer::new(action);
    with_current_sched(|s| raw.reset(s, when));
}

pub(crate) struct Entry {
    /// Deadline in nanoseconds since the runtime's epoch.
    pub(crate) when: u64,
    gen: u64,
    timer: Arc<RawTimer>,
}

impl Entry {
    fn stale(&self) -> bool {
        self.timer.state.load(Ordering::Relaxed) != self.gen
    }

    /// Stale, or an action that can have no effect any more: either way, firing does nothing.
    fn dead(&self) -> bool {
        self.stale() || matches!(&self.timer.action, TimerAction::Shared(f) if f.is_orphaned())
    }
}

/// The heap size below which orphaned entries are not looked for.
const MIN_SWEEP: usize = 256;

/// One P's timers.
pub(crate) struct TimerHeap {
    heap: Mutex<Vec<Entry>>,
    /// Earliest deadline in the heap (`u64::MAX` if empty), readable without the lock.
    next: AtomicU64,
    /// Entries known to be stale.
    stale: AtomicUsize,
    /// Heap size at which the next push sweeps out orphaned entries (see `FireGen::is_orphaned`):
    /// twice the size left by the last sweep, so that sweeping costs O(1) per push amortized.
    /// Read and written under `heap`'s lock.
    sweep_at: AtomicUsize,
}

impl TimerHeap {
    pub(crate) fn new() -> Self {
        TimerHeap {
            heap: Mutex::new(Vec::new()),
            next: AtomicU64::new(u64::MAX),
            stale: AtomicUsize::new(0),
            sweep_at: AtomicUsize::new(MIN_SWEEP),
        }
    }

    /// Earliest deadline, or `u64::MAX`.
    pub(crate) fn next_when(&self) -> u64 {
        // SeqCst: the heap's half of the timed-sleeper pair (`add_timer` stores here, then loads
        // `timer_sleep`; the sleeper stores `timer_sleep`, then loads this).
        self.next.load(Ordering::SeqCst)
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.heap).len()
    }

    /// Takes an entry re-homed from a retiring P's heap. The caller holds the idle lock, so
    /// this never rebuilds the heap: a rebuild may hand timers to a new goroutine, and starting
    /// one may take the idle lock. The next `push` rebuilds if needed.
    pub(crate) fn adopt(&self, pid: usize, e: Entry) {
        e.timer.heap_of.store(pid, Ordering::Relaxed);
        let mut h = lock(&self.heap);
        h.push(e);
        let n = h.len() - 1;
        sift_up(&mut h, n);
        // SeqCst: as in `push`.
        self.next.store(h[0].when, Ordering::SeqCst);
    }

    pub(crate) fn push(&self, pid: usize, e: Entry) {
        e.timer.heap_of.store(pid, Ordering::Relaxed);
        let mut gone = Vec::new();
        {
            let mut h = lock(&self.heap);
            let stale = self.stale.load(Ordering::Relaxed);
            let sweep = h.len() >= self.sweep_at.load(Ordering::Relaxed);
            if sweep || (stale > 64 && stale > h.len() / 4) {
                // In place; the dead entries move out, to be let go after unlocking.
                let mut i = 0;
                while i < h.len() {
                    if h[i].dead() {
                        gone.push(h.swap_remove(i));
                    } else {
                        i += 1;
                    }
                }
                heapify(&mut h);
                self.stale.store(0, Ordering::Relaxed);
                self.sweep_at
                    .store((2 * h.len()).max(MIN_SWEEP), Ordering::Relaxed);
            }
            h.push(e);
            let n = h.len() - 1;
            sift_up(&mut h, n);
            // SeqCst: an idle M stores its sleep deadline and then reads `next`; an adder
            // stores `next` and then reads the sleep deadline (`Sched::add_timer`). One of
            // them sees the other.
            self.next.store(h[0].when, Ordering::SeqCst);
        }
        // Outside the lock, and user values go to a goroutine (module docs).
        let mut grave = Graveyard::default();
        for e in gone {
            grave.bury(e);
        }
        grave.close();
    }

    pub(crate) fn went_stale(&self) {
        self.stale.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs the timers due at `now`. Returns how many fired.
    pub(crate) fn run_due(&self, now: u64) -> usize {
        if self.next_when() > now {
            return 0;
        }
        let mut due = Vec::new();
        {
            let mut h = lock(&self.heap);
            while let Some(top) = h.first() {
                if top.when > now {
                    break;
                }
                due.push(pop(&mut h));
            }
            // SeqCst: as in `push`.
            self.next
                .store(h.first().map_or(u64::MAX, |e| e.when), Ordering::SeqCst);
        }
        let mut fired = 0;
        let mut grave = Graveyard::default();
        for e in due {
            if e.timer.claim(e.gen) {
                e.timer.run(e.gen);
                fired += 1;
            } else {
                // Stale entries were counted by `stop`/`reset`; this one is gone now.
                let _ = self
                    .stale
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| s.checked_sub(1));
            }
            // We are on an M's scheduler stack: user values go to a goroutine (module docs).
            grave.bury(e);
        }
        grave.close();
        fired
    }

    /// Removes every entry (when a P retires), to be re-homed.
    pub(crate) fn take_all(&self) -> Vec<Entry> {
        let mut h = lock(&self.heap);
        // SeqCst: the heap's half of the timed-sleeper pair (`add_timer` stores here, then loads
        // `timer_sleep`; the sleeper stores `timer_sleep`, then loads this).
        self.next.store(u64::MAX, Ordering::SeqCst);
        self.stale.store(0, Ordering::Relaxed);
        std::mem::take(&mut *h)
    }
}

/// Entries leaving a heap, sorted into what may be dropped here and what must be dropped on a
/// goroutine (module docs).
#[derive(Default)]
struct Graveyard {
    /// Timers whose last reference we took and whose actions own user values.
    timers: Vec<RawTimer>,
    /// Their runtime, to spawn the goroutine that drops them.
    sched: Option<RuntimeRef>,
}

impl Graveyard {
    fn bury(&mut self, e: Entry) {
        // `into_inner`: of all the holders letting go at once, exactly one gets the timer; the
        // others drop a count and nothing else. A `Timer` handle dropped by its user last drops
        // the action there, in user context, which is fine.
        let Some(raw) = Arc::into_inner(e.timer) else {
            return;
        };
        match raw.drop_on() {
            Some(sched) => {
                self.sched.get_or_insert(sched);
                self.timers.push(raw);
            }
            None => drop(raw),
        }
    }

    /// Hands the kept timers to one goroutine that drops them (Go drops them in the collector,
    /// off the scheduler, too).
    fn close(mut self) {
        let (Some(sched), false) = (self.sched.take(), self.timers.is_empty()) else {
            return;
        };
        let timers = std::mem::take(&mut self.timers);
        let site = std::panic::Location::caller();
        // On error (no stack can be mapped, or the runtime shut down) the closure and the
        // values in it are leaked rather than dropped here.
        let _ = sched.go_detached(move || drop(timers), site);
    }
}

fn sift_up(h: &mut [Entry], mut i: usize) {
    while i > 0 {
        let parent = (i - 1) / 4;
        if h[parent].when <= h[i].when {
            break;
        }
        h.swap(parent, i);
        i = parent;
    }
}

fn sift_down(h: &mut [Entry], mut i: usize) {
    let n = h.len();
    loop {
        let first = 4 * i + 1;
        if first >= n {
            return;
        }
        let mut min = first;
        for c in first + 1..(first + 4).min(n) {
            if h[c].when < h[min].when {
                min = c;
            }
        }
        if h[i].when <= h[min].when {
            return;
        }
        h.swap(i, min);
        i = min;
    }
}

fn pop(h: &mut Vec<Entry>) -> Entry {
    let last = h.len() - 1;
    h.swap(0, last);
    let e = h.pop().expect("non-empty heap");
    if !h.is_empty() {
        sift_down(h, 0);
    }
    e
}

fn heapify(h: &mut [Entry]) {
    for i in (0..h.len() / 4 + 1).rev() {
        sift_down(h, i);
    }
}

// ---- the Sched side: time base, adding timers, waking the timed sleeper ----

impl Sched {
    pub(crate) fn nanos(&self, t: Instant) -> u64 {
        match t.checked_duration_since(self.epoch) {
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1),
            None => 0,
        }
    }

    pub(crate) fn now(&self) -> u64 {
        self.nanos(Instant::now())
    }

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

    pub(crate) fn run_all_timers(&self, now: u64) {
        for i in 0..self.max_procs() {
            if let Some(p) = self.p(i) {
                p.timers.run_due(now);
            }
        }
    }
}
