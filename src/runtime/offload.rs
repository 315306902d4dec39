//! System calls made by the runtime's own wrappers (`fs`, `process`, `net::lookup_host`) that
//! may block their thread: Go's system-call path where it is free, a helper thread where a
//! blocked thread would hold other goroutines.
//!
//! A goroutine started with `go` lives on the OS thread where it first ran (docs/soundness.md),
//! so while one goroutine blocks its thread in a system call, every other goroutine living on
//! that thread waits too, and if one of them is the one that would end the call (the writer of
//! a FIFO the first one opens), they deadlock. User closures given to [`crate::blocking`] must
//! run where they are called (they may touch the thread's state), but the wrappers' calls are
//! std functions on owned or borrowed plain data, which may run on any thread. So
//! [`syscall`]:
//!
//! 1. runs the call in place inside `blocking` when the calling goroutine is the only one
//!    living on its M: nothing can wait for this thread, and a page-cache hit costs no thread
//!    hop (Go's entersyscall/exitsyscall);
//! 2. otherwise hands it to a pool thread and parks the goroutine ("IO wait") until the call
//!    returned, so the goroutines living on this M keep running.
//!
//! The pool grows on demand (a thread per call in flight, up to [`MAX_THREADS`]; beyond that
//! calls queue) and a thread that stays idle for [`IDLE`] exits. The closure borrows from the
//! parked goroutine's stack: that is sound because the goroutine does not return (or unwind)
//! before the pool has finished with the closure, as with `std::thread::scope`.
//!
//! Rejected: always a pool thread (a hop of several microseconds on every `fs::metadata`, where
//! Go pays none), and always in place (the deadlock above).

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use super::park::{self, WaitReason};
use super::{g, m};

/// Most pool threads at once.
const MAX_THREADS: usize = 32;
/// A pool thread idle this long exits.
const IDLE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    state: Mutex<PoolState>,
    cv: Condvar,
}

struct PoolState {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState {
            jobs: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        cv: Condvar::new(),
    })
}

fn lock(p: &Pool) -> std::sync::MutexGuard<'_, PoolState> {
    crate::util::lock(&p.state)
}

/// Queues `job`; false if no thread can run it (none idle, and none could be started).
fn submit(job: Job) -> Result<(), Job> {
    let p = pool();
    let mut st = lock(p);
    if st.idle == 0 {
        if st.threads >= MAX_THREADS && !st.jobs.is_empty() {
            st.jobs.push_back(job);
            return Ok(());
        }
        if st.threads < MAX_THREADS {
            st.threads += 1;
            let spawned = std::thread::Builder::new()
                .name("goroutines-syscall".into())
                .spawn(worker);
            if spawned.is_err() {
                st.threads -= 1;
                if st.threads == 0 {
                    return Err(job);
                }
            }
        }
    }
    st.jobs.push_back(job);
    drop(st);
    p.cv.notify_one();
    Ok(())
}

fn worker() {
    let p = pool();
    let mut st = lock(p);
    loop {
        if let Some(job) = st.jobs.pop_front() {
            drop(st);
            // The job catches its own panic (see `syscall`).
            job();
            st = lock(p);
            continue;
        }
        // An idle pool thread cannot wake anyone: the deadlock detector counts it as the
        // runtime's own. A busy one counts as a foreign thread that may still wake the goroutine
        // it works for.
        st.idle += 1;
        let aux = crate::util::AuxThread::start();
        let (g, timeout) =
            p.cv.wait_timeout(st, IDLE)
                .unwrap_or_else(|e| e.into_inner());
        st = g;
        st.idle -= 1;
        drop(aux);
        if timeout.timed_out() && st.jobs.is_empty() {
            st.threads -= 1;
            return;
        }
    }
}

/// Runs `f`, a runtime wrapper's system call, as the module docs say: in place inside
/// `blocking` when the calling goroutine is alone on its thread (or on a plain thread), else on
/// a pool thread while the goroutine parks. A panic in `f` resumes in the caller.
pub(crate) fn syscall<F, R>(f: F) -> R
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let alone = match g::current() {
        None => true,
        Some(g) => {
            let m = m::current_m();
            // SAFETY: a goroutine runs on an M of its runtime, which lives as long as it does.
            g.migratable || m.is_null() || unsafe { &*m }.homed() <= 1
        }
    };
    if alone {
        return crate::blocking(f);
    }
    let slot: Arc<Mutex<Option<std::thread::Result<R>>>> = Arc::new(Mutex::new(None));
    let me = park::current();
    let s2 = slot.clone();
    let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
        let r = panic::catch_unwind(AssertUnwindSafe(f));
        *crate::util::lock(&s2) = Some(r);
        me.unpark();
    });
    // SAFETY: the job borrows only what `f` borrows, from the caller's frame; the caller does
    // not return or unwind before the job has run to completion (the loop below waits for its
    // result, and parking cannot unwind), and a job is never dropped unrun: `submit` either
    // queues it for a thread that runs every queued job, or hands it back.
    let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Job>(job) };
    if let Err(job) = submit(job) {
        // No thread at all: run it here (in place, as `blocking` would).
        crate::blocking(job);
    }
    loop {
        if let Some(r) = crate::util::lock(&slot).take() {
            match r {
                Ok(v) => return v,
                Err(p) => panic::resume_unwind(p),
            }
        }
        park::park(WaitReason::IoWait);
    }
}
