//! The part every socket shares: try the system call, and when it would block, wait for
//! readiness (in the netpoller inside a goroutine, in `poll(2)` on a plain thread), then retry.
//! Also the read and write timeouts, which std spells `set_read_timeout`/`set_write_timeout`.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::runtime::g;
use crate::runtime::netpoll::{Dir, PollDesc};

/// Readiness waiting and timeouts for one socket fd. Must be dropped while the fd is still open
/// (declare it before the socket in a struct): dropping deregisters the fd from epoll.
pub(crate) struct PollIo {
    fd: RawFd,
    /// Null until a goroutine first has to wait on this fd; then a pooled descriptor.
    pd: AtomicPtr<PollDesc>,
    /// Nanoseconds; 0 means no timeout.
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
}

impl PollIo {
    pub(crate) fn new(fd: RawFd) -> PollIo {
        PollIo {
            fd,
            pd: AtomicPtr::new(std::ptr::null_mut()),
            read_timeout: AtomicU64::new(0),
            write_timeout: AtomicU64::new(0),
        }
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
                // SAFETY: as in `pd`.
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
        let deadline = self.timeout(d).map(|t| Instant::now() + t);
        self.io_until(d, deadline, f)
    }

    /// Like [`PollIo::io`] with an explicit deadline (`None`: wait forever).
    ///
    /// # Errors
    /// `f`'s error, or `TimedOut` when the deadline passes first.
    pub(crate) fn io_until<T>(
        &self,
        d: Dir,
        deadline: Option<Instant>,
        mut f: impl FnMut() -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
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
            match seen {
                Some((pd, s)) => pd.wait(d, s, deadline)?,
                None => {
                    // First wait on this fd: the descriptor is registered with epoll inside
                    // `wait`, after this snapshot, and registration reports readiness that
                    // arrived since the call failed, so nothing is missed.
                    let pd = self.pd_or_alloc();
                    let s = pd.seq(d);
                    pd.wait(d, s, deadline)?;
                }
            }
        }
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
        if flags & libc::O_NONBLOCK == 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
