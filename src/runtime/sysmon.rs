//! Sysmon: the monitor thread that keeps every P busy (Go's `sysmon`).
//!
//! One thread per runtime, started with its first M. While goroutines run it wakes every 20 µs,
//! backing off to 10 ms once nothing needs doing, and sleeps for good while every P is idle
//! (an M starting wakes it). Each round it looks at every P:
//!
//! 1. A P in SYSCALL whose M has been in the same `blocking` call since the previous round
//!    (so for 20 µs or more) is taken away and handed to another M (Go's retake of `_Psyscall`):
//!    the blocked goroutine keeps its OS thread, and gets a P back, or queues for one, when the
//!    call returns.
//! 2. A P in RUNNING whose goroutine has run for more than [`HOG_LIMIT`] without parking or
//!    yielding (its schedule count has not moved) is taken away in the same way. Go preempts such a
//!    goroutine with a signal at a compiler-marked safe point; Rust has no such points, so the
//!    hog keeps its OS thread and runs on, while its P and run queue move to another M; when
//!    the hog next parks or yields, it queues for a P again. A goroutine stuck in a blocking call
//!    from std (without `blocking`) is rescued the same way. A P that sits OWNED with a stuck
//!    schedule count belongs to a goroutine spawning in a loop (`go` holds its P OWNED while it
//!    queues the new goroutine, so the compare-and-swap from RUNNING rarely lands): sysmon sets
//!    the P's `preempt` flag and the next `go` yields. Both rules start counting when sysmon
//!    first sees the stuck count, and sysmon then sleeps exactly until the limit, so the rescue
//!    comes [`HOG_LIMIT`] after that sample, not a back-off period later.
//!
//! While every P is idle sysmon sleeps until a P leaves the idle list (`Sched::pidleget` wakes
//! it, whether an M was started or an M took a P back by itself after sleeping until a timer)
//! or until the next timer is due, as Go's sysmon sleeps until `timeSleepUntil`.
//!
//! 3. If goroutines wait on sockets and nobody has polled the network for 10 ms (every M busy
//!    running goroutines that never look for work), sysmon polls it and queues the goroutines it
//!    wakes on the global queue.
//!
//! Taking a P is one compare-and-swap from the observed state to HANDOFF (p.rs); it fails if the
//! owner moved on meanwhile, so a P is never taken from an M that is using it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use super::p::pstate;
use super::p::P;
use super::sched::Sched;
use crate::util::lock;

/// A goroutine running this long without a scheduling point loses its P. Go uses 10 ms as a
/// time slice after which it preempts; here the rescue of the other goroutines is the only
/// guard against a hog, so it comes sooner: a 2 ms ticker beside a hog keeps its gaps near
/// 5 ms instead of 10 to 20.
pub(crate) const HOG_LIMIT: Duration = Duration::from_millis(5);
/// Sysmon polls the network if nobody has for this long.
const NETPOLL_STALE: Duration = Duration::from_millis(10);
/// Shortest and longest sleep between rounds.
const MIN_DELAY: Duration = Duration::from_micros(20);
/// 2 ms rather than Go's 10: the first sample of a hog waits for the next round, and the
/// rescue comes `HOG_LIMIT` after it.
const MAX_DELAY: Duration = Duration::from_millis(2);

/// What sysmon saw of one P last round.
#[derive(Clone, Copy, Default)]
struct Seen {
    tick: u32,
    since: Option<Instant>,
    syscall_seq: u64,
}

pub(crate) fn start(sched: &Arc<Sched>) {
    let weak = Arc::downgrade(sched);
    let spawned = std::thread::Builder::new()
        .name("goroutines-sysmon".into())
        .spawn(move || {
            // Sysmon runs runtime code only (timers' user code runs in goroutines), so an unwind
            // here is a runtime bug: end the process as Go's throw does, never a silent hang.
            if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(weak))) {
                crate::util::fatal(&format!(
                    "a panic unwound out of sysmon: {}",
                    crate::util::panic_message(&*e)
                ));
            }
        });
    if let Err(e) = spawned {
        crate::util::fatal(&format!("cannot start the sysmon thread: {e}"));
    }
}

fn run(weak: Weak<Sched>) {
    let mut seen: Vec<Seen> = Vec::new();
    let mut delay = MIN_DELAY;
    let mut quiet_rounds = 0u32;
    loop {
        let watch: Option<Instant>;
        {
            let Some(sched) = weak.upgrade() else { return };
            if sched.is_shut_down() {
                return;
            }
            if sched.all_idle() {
                // Nothing runs: unless that is a deadlock (which ends the process), sleep until
                // an M starts (`Sched::startm` wakes us).
                super::debug::deadlock::check(&sched);
                sched.sysmon_wait();
                seen.clear();
                delay = MIN_DELAY;
                continue;
            }
            let (mut took, w) = retake(&sched, &mut seen);
            watch = w;
            // A poller never polled yet (`last == 0`) counts as stale too: goroutines may already
            // wait on it. `poll_nonblocking` costs nothing without a poller or waiters.
            let last = sched.netpoll.last_poll();
            if last == 0
                || super::netpoll::poll_clock().saturating_sub(last)
                    > NETPOLL_STALE.as_nanos() as u64
            {
                took |= sched.netpoll.poll_nonblocking() > 0;
            }
            if took {
                quiet_rounds = 0;
                delay = MIN_DELAY;
            } else {
                quiet_rounds += 1;
                // After 1 ms of quiet rounds, back off (Go: 50 rounds of 20 µs, then doubling).
                if quiet_rounds > 50 {
                    delay = (delay * 2).min(MAX_DELAY);
                }
            }
        }
        // A suspected hog: wake when it reaches the limit, not a back-off period later.
        let wake = watch.map_or(delay, |w| w.saturating_duration_since(Instant::now()));
        std::thread::sleep(delay.min(wake).max(MIN_DELAY));
    }
}

/// One round over the Ps; true if a P was taken away, and the earliest moment a suspected hog
/// reaches the limit.
fn retake(sched: &Sched, seen: &mut Vec<Seen>) -> (bool, Option<Instant>) {
    let n = sched.max_procs();
    if seen.len() < n {
        seen.resize(n, Seen::default());
    }
    let now = Instant::now();
    let mut took = false;
    let mut watch: Option<Instant> = None;
    for (id, s) in seen.iter_mut().enumerate().take(n) {
        let Some(p) = sched.p_by_id(id) else { continue };
        // Acquire: pairs with the Release (or AcqRel) update of the P's state word by whoever last
        // changed its owner, so the owner M it names is one whose hand-over we see.
        let word = p.state.load(Ordering::Acquire);
        let st = word & pstate::MASK;
        match st {
            pstate::SYSCALL => {
                s.since = None;
                let seq = p.syscall_seq.load(Ordering::Relaxed);
                if s.syscall_seq != seq {
                    // A new call since last round: give it until the next one.
                    s.syscall_seq = seq;
                    continue;
                }
                took |= sched.retake(p, word);
            }
            pstate::RUNNING | pstate::OWNED => {
                let tick = p.sched_tick.load(Ordering::Relaxed);
                match s.since {
                    Some(t) if s.tick == tick => {
                        let due = t + HOG_LIMIT;
                        if now < due {
                            watch = Some(watch.map_or(due, |w| w.min(due)));
                            continue;
                        }
                        // Either state: the next `go` of a spawning loop yields.
                        p.preempt.store(true, Ordering::Relaxed);
                        if st == pstate::RUNNING && sched.retake(p, word) {
                            took = true;
                            s.since = None;
                        } else {
                            // Keep watching: the hog may be between a spawn's OWNED and
                            // RUNNING; the next round tries again.
                            watch = Some(now);
                        }
                    }
                    _ => {
                        s.tick = tick;
                        s.since = Some(now);
                        let due = now + HOG_LIMIT;
                        watch = Some(watch.map_or(due, |w| w.min(due)));
                    }
                }
            }
            _ => s.since = None,
        }
    }
    (took, watch)
}

// ---- sysmon's sleep ----

/// Sysmon's sleep while every P is idle (Go's `sched.sysmonwait`): sysmon's own state, poked
/// by whoever takes a P off the idle list (`P::pidleget_locked`) and by shutdown.
pub(crate) struct Sleep {
    /// Whether sysmon sleeps or is about to. Set and cleared under `lock`; read without it by
    /// `wake` (the Dekker pair described there).
    sleeping: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Sleep {
    pub(crate) fn new() -> Sleep {
        Sleep {
            sleeping: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }

    /// Wakes sysmon if it sleeps. Called after a P left the idle list.
    pub(crate) fn wake(&self) {
        // SeqCst: the Dekker pair with `sleep`, which stores `sleeping` and then re-checks
        // the idle count; we changed the idle count (SeqCst, p.rs) and then load the flag:
        // either we see the flag, or sysmon sees the P we took.
        if self.sleeping.load(Ordering::SeqCst) {
            self.wake_always();
        }
    }

    /// Wakes sysmon whether or not it looks asleep (shutdown).
    pub(crate) fn wake_always(&self) {
        let _g = lock(&self.lock);
        // Relaxed: written and read under `lock`.
        self.sleeping.store(false, Ordering::Relaxed);
        self.cv.notify_one();
    }

    /// Sleeps until `wake` or `limit()`, unless `still_idle()`, checked after publishing the
    /// flag, says there is work to watch.
    fn sleep(&self, still_idle: impl Fn() -> bool, limit: impl FnOnce() -> Duration) {
        let g = lock(&self.lock);
        // SeqCst: see `wake`.
        self.sleeping.store(true, Ordering::SeqCst);
        if !still_idle() {
            self.sleeping.store(false, Ordering::Relaxed);
            return;
        }
        let (_g, _) = self
            .cv
            .wait_timeout_while(g, limit(), |_| self.sleeping.load(Ordering::Relaxed))
            .unwrap_or_else(|e| e.into_inner());
        self.sleeping.store(false, Ordering::Relaxed);
    }
}

// ---- the Sched side of sysmon ----

impl Sched {
    pub(crate) fn p_by_id(&self, id: usize) -> Option<&P> {
        self.p(id)
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// Whether every P is idle (nothing runs, nothing to monitor).
    pub(crate) fn all_idle(&self) -> bool {
        // SeqCst: the waking protocol's counters (sched.rs module docs).
        self.npidle.load(Ordering::SeqCst) >= self.max_procs()
    }

    /// Sysmon sleeps until a P leaves idle, or until the next timer (Go's `timeSleepUntil`:
    /// the M that runs that timer may find a hog to watch), or at most a second.
    pub(crate) fn sysmon_wait(&self) {
        self.sysmon.sleep(
            || self.all_idle() && !self.is_shut_down(),
            || {
                let next = self.earliest_timer();
                let limit = Duration::from_secs(1);
                if next == u64::MAX {
                    limit
                } else {
                    Duration::from_nanos(next.saturating_sub(self.now())).min(limit)
                }
            },
        );
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
}
