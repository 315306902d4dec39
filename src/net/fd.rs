//! The part every socket shares: try the system call, and when it would block, wait for
//! readiness (in the netpoller inside a goroutine, in `poll(2)` on a plain thread), then retry.
//! Also the read and write timeouts, which std spells `set_read_timeout`/`set_write_timeout`,
//! and Go's deadlines (`set_deadline`, `set_read_deadline`, `set_write_deadline`).
//!
//! # Deadlines
//!
//! A deadline is absolute and belongs to the socket, shared by its `try_clone`s (one
//! [`Deadlines`] behind an `Arc`), so another goroutine can interrupt a parked read:
//!
//! 1. An operation reads the direction's deadline and its generation before trying the call;
//!    a deadline already past fails it with `TimedOut` at once, as in Go.
//! 2. Before parking, the waiter adds its unparker to the direction's list, then parks in the
//!    netpoller until readiness, the earlier of its timeout and the deadline, or a generation
//!    other than the one it read (`PollDesc::wait`'s `interrupted`).
//! 3. Setting a deadline stores it, bumps the generation, then takes the list under its lock
//!    and unparks everyone on it. A waiter that joined the list before that lock is unparked;
//!    one that joins after sees the new generation (SeqCst on both sides) and does not park.
//!    Woken waiters retry from step 1 with the new deadline.
//!
//! On a plain OS thread (waiting in `poll(2)`), a deadline set while the thread waits applies
//! from its next wait, not to the `poll` in progress.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::runtime::park::{self, Unparker};

use crate::runtime::g;
use crate::runtime::netpoll::{Dir, PollDesc};
use crate::util::lock;

/// Readiness waiting and timeouts for one socket fd. Must be dropped while the fd is still open
/// (declare it before the socket in a struct): dropping deregisters the fd from epoll.
pub(crate) struct PollIo {
    fd: RawFd,
    /// Null until a goroutine first has to wait on this fd; then a pooled descriptor.
    pd: AtomicPtr<PollDesc>,
    /// Nanoseconds; 0 means no timeout.
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
    /// Go's deadlines, shared with the handles made by [`PollIo::clone_for`].
    deadlines: Arc<Deadlines>,
}

impl PollIo {
    pub(crate) fn new(fd: RawFd) -> PollIo {
        PollIo {
            fd,
            pd: AtomicPtr::new(std::ptr::null_mut()),
            read_timeout: AtomicU64::new(0),
            write_timeout: AtomicU64::new(0),
            deadlines: Arc::new(Deadlines::default()),
        }
    }

    /// The state for `fd`, a duplicate of this socket (`try_clone`): the same timeouts, and
    /// the same deadlines (shared, so that setting one through either handle applies to both).
    pub(crate) fn clone_for(&self, fd: RawFd) -> PollIo {
        PollIo {
            fd,
            pd: AtomicPtr::new(std::ptr::null_mut()),
            read_timeout: AtomicU64::new(self.read_timeout.load(Ordering::Relaxed)),
            write_timeout: AtomicU64::new(self.write_timeout.load(Ordering::Relaxed)),
            deadlines: self.deadlines.clone(),
        }
    }

    /// Sets the deadline of direction `d` (Go's `SetReadDeadline`/`SetWriteDeadline`), waking
    /// the goroutines parked in that direction so that they see it (module docs, step 3).
    pub(crate) fn set_deadline(&self, d: Dir, t: Option<Instant>) {
        self.deadlines.dir(d).set(t);
    }

    fn pd(&self) -> Option<&'static PollDesc> {
        // Acquire: pairs with the Release CAS in `pd_or_alloc`.
        let p = self.pd.load(Ordering::Acquire);
        // SAFETY: a non-null pointer is a `&'static PollDesc` from `PollDesc::alloc`.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    fn pd_or_alloc(&self) -> &'static PollDesc {
        if let Some(pd) = self.pd() {
            return pd;
        }
        let new = PollDesc::alloc(self.fd);
        let newp = new as *const PollDesc as *mut PollDesc;
        // Release/Acquire: publishes the initialised descriptor to other goroutines' `pd()`.
        match self.pd.compare_exchange(
            std::ptr::null_mut(),
            newp,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => new,
            Err(cur) => {
                new.release();
                // SAFETY: `cur` is the non-null value another thread stored by this same CAS: a
                // `&'static PollDesc` from `PollDesc::alloc`, published by its AcqRel success
                // and read here with Acquire.
                unsafe { &*cur }
            }
        }
    }

    fn timeout_cell(&self, d: Dir) -> &AtomicU64 {
        match d {
            Dir::Read => &self.read_timeout,
            Dir::Write => &self.write_timeout,
        }
    }

    /// Sets the read or write timeout, as std's `set_read_timeout` does.
    ///
    /// # Errors
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub(crate) fn set_timeout(&self, d: Dir, t: Option<Duration>) -> io::Result<()> {
        let nanos = match t {
            None => 0,
            Some(t) if t.is_zero() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot set a 0 duration timeout",
                ))
            }
            Some(t) => u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1),
        };
        self.timeout_cell(d).store(nanos, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn timeout(&self, d: Dir) -> Option<Duration> {
        match self.timeout_cell(d).load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// Runs the non-blocking call `f` until it does not return `WouldBlock`, waiting for
    /// readiness in direction `d` in between, within the direction's timeout.
    pub(crate) fn io<T>(&self, d: Dir, f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        // A timeout too far to represent as an Instant is no deadline at all.
        let deadline = self.timeout(d).and_then(|t| Instant::now().checked_add(t));
        self.io_until(d, deadline, f)
    }

    /// Like [`PollIo::io`] with an explicit deadline (`None`: wait forever).
    ///
    /// # Errors
    /// `f`'s error, or `TimedOut` when the deadline passes first.
    pub(crate) fn io_until<T>(
        &self,
        d: Dir,
        timeout: Option<Instant>,
        mut f: impl FnMut() -> io::Result<T>,
    ) -> io::Result<T> {
        let cell = self.deadlines.dir(d);
        loop {
            // Deadlines, step 1: the generation, then the deadline it goes with. SeqCst: pairs
            // with the `gen` bump in `Deadline::set`, which follows its store of `at`, so a
            // waiter that sees the new generation sees the new deadline; one that sees the old
            // generation is interrupted in step 2 if the bump comes later.
            let gen = cell.gen.load(Ordering::SeqCst);
            let deadline = match (cell.get(), timeout) {
                (Some(dl), _) if dl <= Instant::now() => return Err(timed_out()),
                (Some(dl), Some(t)) => Some(dl.min(t)),
                (dl, t) => dl.or(t),
            };
            let in_goroutine = g::current_id().is_some();
            // Protocol step 1 (netpoll.rs): the readiness sequence before the call.
            let seen = match (in_goroutine, self.pd()) {
                (true, Some(pd)) => Some((pd, pd.seq(d))),
                _ => None,
            };
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
            if !in_goroutine {
                wait_thread(self.fd, d, deadline)?;
                continue;
            }
            let (pd, s) = match seen {
                Some(seen) => seen,
                None => {
                    // First wait on this fd: the descriptor is registered with epoll inside
                    // `wait`, after this snapshot, and registration reports readiness that
                    // arrived since the call failed, so nothing is missed.
                    let pd = self.pd_or_alloc();
                    (pd, pd.seq(d))
                }
            };
            // Deadlines, step 2. SeqCst on the `gen` load after the push: pairs with the bump in
            // `Deadline::set` (module docs, step 3); the waiters' mutex orders the push against
            // the setter's take.
            let me = park::current();
            cell.add_waiter(&me);
            let r = pd.wait(d, s, deadline, &|| cell.gen.load(Ordering::SeqCst) != gen);
            cell.remove_waiter(&me);
            r?;
        }
    }
}

/// The read and write deadlines of one socket and its clones.
#[derive(Default)]
pub(crate) struct Deadlines {
    rd: Deadline,
    wr: Deadline,
}

impl Deadlines {
    fn dir(&self, d: Dir) -> &Deadline {
        match d {
            Dir::Read => &self.rd,
            Dir::Write => &self.wr,
        }
    }
}

/// One direction's deadline (module docs, "Deadlines").
#[derive(Default)]
struct Deadline {
    /// 0: none; otherwise 1 + nanoseconds since [`epoch`] (1 for any instant before it).
    at: AtomicU64,
    /// Bumped on every change; waiters parked with an older value retry.
    gen: AtomicU64,
    /// Goroutines parked in this direction, to wake on a change.
    waiters: Mutex<Vec<Unparker>>,
}

/// The origin of the encoded deadlines.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Deadline {
    fn get(&self) -> Option<Instant> {
        // SeqCst: read after `gen` (step 1); pairs with the store in `set`, made before the
        // `gen` bump, so the deadline read is at least as new as the generation read.
        match self.at.load(Ordering::SeqCst) {
            0 => None,
            n => Some(epoch() + Duration::from_nanos(n - 1)),
        }
    }

    fn set(&self, t: Option<Instant>) {
        let enc = match t {
            None => 0,
            Some(t) => {
                let since = t.saturating_duration_since(epoch());
                u64::try_from(since.as_nanos()).unwrap_or(u64::MAX - 1) + 1
            }
        };
        // SeqCst: before the `gen` bump, so whoever reads the new generation reads this deadline.
        self.at.store(enc, Ordering::SeqCst);
        // SeqCst: pairs with the waiter's push-then-load of `gen` (module docs, step 3).
        self.gen.fetch_add(1, Ordering::SeqCst);
        let woken = std::mem::take(&mut *lock(&self.waiters));
        for u in woken {
            u.unpark();
        }
    }

    fn add_waiter(&self, me: &Unparker) {
        crate::util::lock(&self.waiters).push(me.clone());
    }

    fn remove_waiter(&self, me: &Unparker) {
        crate::util::lock(&self.waiters).retain(|u| !u.same_waiter(me));
    }
}

impl Drop for PollIo {
    fn drop(&mut self) {
        if let Some(pd) = self.pd() {
            pd.release();
        }
    }
}

fn poll_events(d: Dir) -> libc::c_short {
    match d {
        Dir::Read => libc::POLLIN,
        Dir::Write => libc::POLLOUT,
    }
}

/// One `poll(2)` on `fd` for direction `d`; true if ready (or in error, which the next call reports).
pub(crate) fn poll_once(fd: RawFd, d: Dir, timeout_ms: libc::c_int) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd,
        events: poll_events(d),
        revents: 0,
    };
    loop {
        // SAFETY: `p` is one live pollfd.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(r > 0);
    }
}

/// A plain OS thread waits for readiness with `poll(2)` on the one fd.
fn wait_thread(fd: RawFd, d: Dir, deadline: Option<Instant>) -> io::Result<()> {
    loop {
        let ms = match deadline {
            None => -1,
            Some(dl) => {
                let now = Instant::now();
                if now >= dl {
                    return Err(timed_out());
                }
                (dl - now)
                    .as_nanos()
                    .div_ceil(1_000_000)
                    .min(i32::MAX as u128) as libc::c_int
            }
        };
        if poll_once(fd, d, ms)? {
            return Ok(());
        }
    }
}

pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "i/o timeout")
}

/// Puts `fd` in non-blocking mode (`O_NONBLOCK`), keeping its other status flags.
///
/// # Errors
/// The error of `fcntl(2)` (`EBADF` for a closed fd).
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL take no pointers; a bad fd is reported as EBADF.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        if flags & libc::O_NONBLOCK == 0
            && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
