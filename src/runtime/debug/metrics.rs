//! `metrics()`: one plain struct with what the scheduler knows about itself.
//!
//! Counters are read one after another without stopping the scheduler, so the numbers are each
//! exact at the moment they were read but not one consistent instant (as Go's runtime/metrics).
//! The goroutine counts by state come from a walk over every goroutine (`allgs.rs`), and the
//! stack residency from asking the kernel about every stack in use: a call costs time in
//! proportion to the goroutines alive (about 20 ms per million). For a cheap poll of queue
//! depths, use [`stats`](crate::stats).

use std::sync::atomic::Ordering;

use crate::runtime::g::GStatus;
use crate::runtime::m::M;
use crate::runtime::p::{pstate, P};
use crate::runtime::park::WaitReason;
use crate::runtime::sched::Sched;
use crate::runtime::sched::MAX_PROCS;
use std::sync::Arc;

use crate::util::lock;

/// What the scheduler knows about itself, from [`metrics`](crate::metrics) or
/// [`Runtime::metrics`](crate::Runtime::metrics).
///
/// ```
/// let rt = goroutines::Builder::new().max_procs(2).build().unwrap();
/// let m = rt.run(|| {
///     let c = goroutines::chan::Chan::<i32>::new(0);
///     let rx = c.clone();
///     let h = goroutines::go(move || rx.recv());
///     // Let it park on the channel.
///     while goroutines::metrics().waiting == 0 {
///         goroutines::yield_now();
///     }
///     let m = goroutines::metrics();
///     c.send(1);
///     h.join().unwrap();
///     m
/// });
/// assert_eq!(m.max_procs, 2);
/// assert_eq!(m.local_queues.len(), 2);
/// assert!(m.running >= 1); // the main goroutine, asking
/// assert_eq!(m.waiting_by_reason, vec![(goroutines::runtime::WaitReason::ChanReceive, 1)]);
/// assert!(m.parks >= 1);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// GOMAXPROCS.
    pub max_procs: usize,
    /// Goroutines started and not finished.
    pub goroutines: usize,
    /// Goroutines on an OS thread, running their own code.
    pub running: usize,
    /// Goroutines in a run queue, waiting for a P.
    pub runnable: usize,
    /// Goroutines parked (on a channel, a lock, a timer, a socket...).
    pub waiting: usize,
    /// Goroutines inside [`blocking`](crate::blocking).
    pub syscall: usize,
    /// The parked goroutines by wait reason, most common first; reasons with none are left out.
    pub waiting_by_reason: Vec<(WaitReason, usize)>,
    /// Goroutines in each P's local run queue (with `runnext`), by P.
    pub local_queues: Vec<usize>,
    /// Goroutines in the global run queue.
    pub global_queue: usize,
    /// OS threads (Ms) started.
    pub threads: usize,
    /// Ms asleep without a P.
    pub idle_threads: usize,
    /// Ms spinning: holding a P and looking for work.
    pub spinning_threads: usize,
    /// Successful steals from another P's run queue since the runtime started.
    pub steals: u64,
    /// Goroutines parked since the runtime started.
    pub parks: u64,
    /// Timers in the heaps, including stopped ones not yet cleaned up.
    pub timers: usize,
    /// Goroutines waiting on a socket or other file descriptor.
    pub netpoll_waiters: usize,
    /// Address space reserved for goroutine stacks, in bytes (process-wide: all runtimes share
    /// the stack arenas).
    pub stack_reserved_bytes: usize,
    /// Memory of goroutine stacks resident in RAM, in bytes (process-wide).
    pub stack_resident_bytes: usize,
}

pub(crate) fn metrics_of(s: &Sched) -> Metrics {
    let mut m = Metrics {
        max_procs: s.max_procs(),
        goroutines: s.goroutine_count(),
        ..Metrics::default()
    };
    let mut by_reason = [0usize; WaitReason::ALL.len()];
    s.allgs.for_each(|g| match g.status() {
        GStatus::Running => m.running += 1,
        GStatus::Runnable => m.runnable += 1,
        GStatus::Syscall => m.syscall += 1,
        GStatus::Waiting => {
            m.waiting += 1;
            by_reason[g.wait_reason() as usize] += 1;
        }
        GStatus::Dead => {}
    });
    m.waiting_by_reason = WaitReason::ALL
        .iter()
        .zip(by_reason)
        .filter(|&(_, n)| n > 0)
        .map(|(&r, n)| (r, n))
        .collect();
    m.waiting_by_reason
        .sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    (m.global_queue, m.local_queues) = s.queue_depths();
    m.threads = s.thread_count();
    (m.idle_threads, m.spinning_threads) = s.idle_and_spinning_ms();
    // Every P ever created, retired ones too (Ps are created in id order and never freed).
    for p in (0..MAX_PROCS).map_while(|i| s.p_by_id(i)) {
        m.steals += p.steals.load(Ordering::Relaxed);
        m.parks += p.parks.load(Ordering::Relaxed);
    }
    m.timers = s.timer_count();
    m.netpoll_waiters = s.netpoll.waiters();
    (m.stack_reserved_bytes, m.stack_resident_bytes) = crate::runtime::stack::memory();
    m
}

// ---- the scheduler getters behind metrics() and the debug dumps ----

impl Sched {
    /// Goroutines started and not finished (Go's NumGoroutine). The per-P counts are read one
    /// after another, so a goroutine started and finished meanwhile may be missed or counted.
    pub(crate) fn goroutine_count(&self) -> usize {
        let ps: i64 = (0..MAX_PROCS)
            .map_while(|i| self.p(i))
            .map(|p| p.ngoroutine_delta.load(Ordering::Relaxed))
            .sum();
        (self.ngoroutine.load(Ordering::Relaxed) + ps).max(0) as usize
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
        // Acquire: pairs with the Release (or AcqRel) update of the P's state word by whoever last
        // changed its owner, so the owner M it names is one whose hand-over we see.
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
        lock(&self.allm).clone()
    }

    /// Idle Ps.
    pub(crate) fn idle_procs(&self) -> usize {
        // SeqCst: the same load the waking protocol makes; a snapshot here.
        self.npidle.load(Ordering::SeqCst)
    }

    /// Milliseconds since this runtime was created.
    pub(crate) fn uptime_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub(crate) fn thread_count(&self) -> usize {
        lock(&self.allm).len()
    }

    pub(crate) fn timer_count(&self) -> usize {
        (0..self.max_procs())
            .filter_map(|i| self.p(i))
            .map(|p| p.timers.len())
            .sum()
    }
}
