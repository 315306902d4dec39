//! Leaf helpers of the whole crate: they import nothing of the runtime, so every module (the
//! scheduler, channels, sync, net, trace) may use them without an import cycle.
//!
//! - [`fatal`]: an impossible internal state ends the process (Go's `throw`).
//! - [`panic_message`]: the text of a panic payload.
//! - [`fastrand`], [`fastrandn`]: per-thread xorshift, for stealing order and select.
//! - [`ncpu`]: CPUs this process may use, cached.
//! - [`lock`]: `Mutex::lock` that ignores poisoning. The runtime's own locks guard data whose
//!   invariants hold between statements (no user code runs under them), so a panic that
//!   poisoned one left nothing half-done; refusing the lock would only turn one panic into many.
//! - [`futex_wait`], [`futex_wake`]: the Linux futex, for the channel lock and M parking.
//! - [`ACTIVE_SPIN`], [`ACTIVE_SPIN_CNT`]: Go's spin budget for a contended lock.
//! - [`AuxThread`]: accounting of the helper threads the crate starts (the deadlock detector
//!   counts them as the runtime's own).
//!
//! Rejected: keeping these in the files that first needed them (`fatal` in g.rs, `fastrand` in
//! runtime/mod.rs, two futex wrappers): every user then imported the scheduler to get a leaf.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// An impossible internal state: print and abort (Go's `throw`).
#[cold]
pub(crate) fn fatal(msg: &str) -> ! {
    eprintln!("goroutines: fatal: {msg}");
    std::process::abort()
}

/// The message of a panic payload, for fatal errors and reports.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

/// Locks `m`, ignoring poisoning (see the module docs for why that is sound here).
pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fast per-thread pseudo-random number (xorshift), for stealing order and select.
///
/// `#[inline(never)]`: it keeps state in a thread-local, whose address must not be cached
/// across a goroutine's switch to another thread (see `g::current`).
#[inline(never)]
pub(crate) fn fastrand() -> u32 {
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            // Seed from the thread-local's address and the clock; any non-zero value works.
            x = (s as *const _ as u64)
                ^ (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64))
                | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 32) as u32
    })
}

/// A uniformly random number in `0..n` (n > 0), for select's poll order.
pub(crate) fn fastrandn(n: u32) -> u32 {
    ((fastrand() as u64 * n as u64) >> 32) as u32
}

/// CPUs this process may use, cached: spinning on a lock only pays with more than one.
pub(crate) fn ncpu() -> usize {
    static NCPU: AtomicUsize = AtomicUsize::new(0);
    let n = NCPU.load(Ordering::Relaxed);
    if n != 0 {
        return n;
    }
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    NCPU.store(n, Ordering::Relaxed);
    n
}

/// Rounds of active spinning on a contended lock before sleeping, as Go's `active_spin`.
pub(crate) const ACTIVE_SPIN: u32 = 4;
/// `spin_loop` hints per round, as Go's `active_spin_cnt`.
pub(crate) const ACTIVE_SPIN_CNT: u32 = 30;

/// Sleeps while `*word == expected`, at most `timeout` (`None`: no limit). Returns on a wake,
/// a timeout, a signal or a changed word alike: callers re-check their condition and loop.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: the futex word is a live AtomicU32 borrowed for the call, and `tsp` is null or
    // points to `ts`, which outlives the call; FUTEX_WAIT only reads them.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            tsp,
        );
    }
}

/// Wakes one sleeper of `futex_wait` on `word`.
pub(crate) fn futex_wake(word: &AtomicU32) {
    // SAFETY: the futex word is a live AtomicU32; FUTEX_WAKE reads no memory through it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

/// Process-wide helper threads started by this crate (stack scavenger, SIGQUIT listener,
/// schedtrace printers, the offload pool's idle threads).
static AUX_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Counts one helper thread while it lives: create it at the thread's start and drop it when
/// the thread ends (or `forget` it for a thread that lives as long as the process).
pub(crate) struct AuxThread(());

impl AuxThread {
    pub(crate) fn start() -> AuxThread {
        AUX_THREADS.fetch_add(1, Ordering::Relaxed);
        AuxThread(())
    }

    /// Helper threads alive now (a plain counter: the deadlock detector re-reads it over
    /// its confirmation window).
    pub(crate) fn count() -> usize {
        AUX_THREADS.load(Ordering::Relaxed)
    }
}

impl Drop for AuxThread {
    fn drop(&mut self) {
        AUX_THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}
