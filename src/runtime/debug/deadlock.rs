//! Deadlock detection: "fatal error: all goroutines are asleep - deadlock!" (Go's `checkdead`).
//!
//! Armed while a plain OS thread waits in a top-level [`Runtime::run`](super::Runtime::run) for
//! its main goroutine, and only if the runtime was built with detection on (the default). Sysmon
//! asks [`looks_dead`] each time it finds every P idle, before it goes to sleep. The runtime is
//! dead when all of these hold:
//!
//! 1. every P is idle and no run queue holds a goroutine;
//! 2. no timer is pending (a sleeper, a ticker or an `after_func` may still wake someone);
//! 3. no goroutine waits on the network (a peer may still answer);
//! 4. every live goroutine is parked: none is running, runnable, or inside `blocking` (which
//!    may return), and every main goroutine is among the parked;
//! 5. the process has no OS thread that is not the runtime's own. A plain thread may still
//!    send on a channel or unpark a goroutine; Go programs have no such threads, Rust programs
//!    may (the test harness's threads among them), and then we say nothing.
//!
//! These are read one after another without a lock that would freeze the scheduler, so a
//! wake-up could slip between two of them. The verdict is therefore confirmed: the same checks
//! pass again after [`CONFIRM`], and no P has scheduled anything in between (the sum of the Ps'
//! schedule counts has not moved). A goroutine made runnable in between either still sits in a
//! queue (check 1 fails) or has run (the count moved). Then the process prints the message and a
//! goroutine dump to stderr and exits with status 2, as Go does.
//!
//! Rejected: checking when the last M goes idle (Go's place, under its scheduler lock): we have
//! no lock that orders all state changes, and sysmon already wakes at exactly that moment.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::g::{GRef, GStatus};
use crate::runtime::sched::Sched;

/// How long a suspected deadlock must hold still before the process is ended.
pub(crate) const CONFIRM: Duration = Duration::from_millis(20);

/// A top-level `run`: arms the detector while its thread waits for the main goroutine.
pub(crate) struct RunWaiter {
    sched: Arc<Sched>,
    main: GRef,
}

impl RunWaiter {
    pub(crate) fn new(sched: &Arc<Sched>, main: GRef) -> RunWaiter {
        lock_mains(sched).push(main.clone());
        RunWaiter {
            sched: sched.clone(),
            main,
        }
    }
}

impl Drop for RunWaiter {
    fn drop(&mut self) {
        lock_mains(&self.sched).retain(|g| !GRef::ptr_eq(g, &self.main));
    }
}

fn lock_mains(sched: &Sched) -> std::sync::MutexGuard<'_, Vec<GRef>> {
    crate::util::lock(&sched.mains)
}

/// The checks of the module docs; `Some(schedule count)` if they all pass.
pub(crate) fn looks_dead(sched: &Sched) -> Option<u64> {
    if !sched.detect_deadlock.load(Ordering::Relaxed) {
        return None;
    }
    {
        let mains = lock_mains(sched);
        if mains.is_empty() || mains.iter().any(|g| g.status() != GStatus::Waiting) {
            return None;
        }
    }
    if !sched.all_idle() || sched.any_runnable() {
        return None;
    }
    if sched.earliest_timer() != u64::MAX || sched.netpoll.waiters() > 0 {
        return None;
    }
    let ticks = sched.tick_sum();
    // Reading /proc costs microseconds; the walk over all goroutines may cost milliseconds.
    if foreign_threads(sched) {
        return None;
    }
    let mut awake = false;
    sched.allgs.for_each(|g| {
        awake |= matches!(
            g.status(),
            GStatus::Runnable | GStatus::Running | GStatus::Syscall
        );
    });
    (!awake).then_some(ticks)
}

/// Whether the process has OS threads that are not this runtime's (check 5).
fn foreign_threads(sched: &Sched) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        // Cannot tell: assume a thread that could still wake someone exists.
        return true;
    };
    let all = dir.count();
    let ms = sched.thread_count();
    let sysmon = usize::from(ms > 0);
    let waiters = lock_mains(sched).len();
    let own = ms + sysmon + waiters + crate::util::AuxThread::count();
    all > own
}

/// Sysmon, with every P idle: confirms a suspected deadlock and ends the process.
pub(crate) fn check(sched: &Sched) {
    let Some(ticks) = looks_dead(sched) else {
        return;
    };
    std::thread::sleep(CONFIRM);
    if looks_dead(sched) != Some(ticks) || sched.is_shut_down() {
        return;
    }
    let text = super::dump::dump_sched(sched);
    eprint!("fatal error: all goroutines are asleep - deadlock!\n\n{text}");
    std::process::exit(2);
}
