//! Waiting on any file descriptor: [`PollFd`], what tokio's `AsyncFd` and may's `CoIo` give.
//!
//! A `PollFd<T>` owns a value with a file descriptor (a pipe end, a tty, an eventfd, an inotify
//! or timerfd descriptor, a device), puts the fd in non-blocking mode once, and lets a goroutine
//! park until the fd is readable or writable, in the same netpoller that the sockets use
//! (`runtime/netpoll.rs`, wait reason "IO wait"). The fd is registered with epoll the first time
//! a goroutine has to wait on it, once, and deregistered when the `PollFd` is dropped or
//! [`PollFd::into_inner`] gives the value back.
//!
//! # The protocol
//!
//! [`PollFd::readable`] is a `poll(2)` with a zero timeout inside the socket types' retry loop
//! (`fd.rs`, `PollIo::io_until`): the readiness sequence of the direction is taken before the
//! zero-timeout poll, so an edge that arrives between "not ready" and the park is never lost.
//! Because it asks the kernel each time (level semantics), a `readable()` that returns does not
//! consume anything: the caller does its own non-blocking `read`, and on `WouldBlock` calls
//! `readable()` again. On a plain OS thread the wait is a blocking `poll(2)` on the one fd.
//!
//! Rejected: tokio's readiness guard with `clear_ready` (it exists to avoid the extra system
//! call under an async reactor; here the zero-timeout `poll` is what makes the wait level-
//! triggered over an edge-triggered registration, and keeps the API two plain methods).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use super::fd::{poll_once, set_nonblocking, PollIo};
use crate::runtime::netpoll::Dir;

/// A file descriptor that goroutines wait on in the netpoller.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream; // any AsRawFd: a pipe, an eventfd, a tty...
/// use goroutines::net::PollFd;
///
/// goroutines::run(|| {
///     let (a, b) = UnixStream::pair().unwrap();
///     let b = PollFd::new(b).unwrap();
///     let h = goroutines::go(move || {
///         b.readable().unwrap(); // parks the goroutine, not the thread
///         let mut buf = [0u8; 2];
///         b.get_ref().read_exact(&mut buf).unwrap();
///         buf
///     });
///     (&a).write_all(b"hi").unwrap();
///     assert_eq!(&h.join().unwrap(), b"hi");
/// });
/// ```
pub struct PollFd<T: AsRawFd> {
    // Field order and `Drop`: `io` deregisters the fd before `inner` may close it.
    io: Option<PollIo>,
    inner: Option<T>,
}

impl<T: AsRawFd> PollFd<T> {
    /// Takes `inner`, putting its fd in non-blocking mode (it stays so after
    /// [`PollFd::into_inner`]).
    ///
    /// # Errors
    /// The error of `fcntl(2)` (`EBADF` if the fd is not open).
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = goroutines::net::PollFd::new(a).unwrap();
    /// # let _ = a;
    /// ```
    pub fn new(inner: T) -> io::Result<PollFd<T>> {
        let fd = inner.as_raw_fd();
        set_nonblocking(fd)?;
        Ok(PollFd {
            io: Some(PollIo::new(fd)),
            inner: Some(inner),
        })
    }

    fn fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }

    fn io(&self) -> &PollIo {
        self.io.as_ref().expect("PollFd: io is present until drop")
    }

    fn wait(&self, d: Dir, deadline: Option<Instant>) -> io::Result<()> {
        let fd = self.fd();
        self.io().io_until(d, deadline, || {
            if poll_once(fd, d, 0)? {
                Ok(())
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            }
        })
    }

    /// Waits until the fd is readable (or at end-of-file, hung up or in error, which the next
    /// read reports), parking the goroutine.
    ///
    /// # Errors
    /// The error of `poll(2)` or of registering the fd with epoll (`EPERM` for a regular file,
    /// which is always ready: read it directly, or through [`crate::fs`]).
    ///
    /// ```
    /// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// drop(a);
    /// let b = goroutines::net::PollFd::new(b).unwrap();
    /// goroutines::run(move || b.readable().unwrap()); // a hang-up is readable
    /// ```
    pub fn readable(&self) -> io::Result<()> {
        self.wait(Dir::Read, None)
    }

    /// Waits until the fd is writable, parking the goroutine.
    ///
    /// # Errors
    /// As [`PollFd::readable`].
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = goroutines::net::PollFd::new(a).unwrap();
    /// goroutines::run(move || a.writable().unwrap());
    /// ```
    pub fn writable(&self) -> io::Result<()> {
        self.wait(Dir::Write, None)
    }

    /// [`PollFd::readable`] within `timeout`.
    ///
    /// # Errors
    /// `io::ErrorKind::TimedOut` when `timeout` passes first; otherwise as `readable`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let b = goroutines::net::PollFd::new(b).unwrap();
    /// let e = goroutines::run(move || b.readable_timeout(Duration::from_millis(5)).unwrap_err());
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn readable_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.wait(Dir::Read, Some(deadline_after(timeout)))
    }

    /// [`PollFd::writable`] within `timeout`.
    ///
    /// # Errors
    /// `io::ErrorKind::TimedOut` when `timeout` passes first; otherwise as `writable`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = goroutines::net::PollFd::new(a).unwrap();
    /// goroutines::run(move || a.writable_timeout(Duration::from_millis(5)).unwrap());
    /// ```
    pub fn writable_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.wait(Dir::Write, Some(deadline_after(timeout)))
    }

    /// The value inside.
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let fd = a.as_raw_fd();
    /// let a = goroutines::net::PollFd::new(a).unwrap();
    /// assert_eq!(a.get_ref().as_raw_fd(), fd);
    /// ```
    pub fn get_ref(&self) -> &T {
        self.inner
            .as_ref()
            .expect("PollFd: inner is present until drop")
    }

    /// Deregisters the fd from the netpoller and gives the value back (still non-blocking).
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = goroutines::net::PollFd::new(a).unwrap().into_inner();
    /// assert!(a.peer_addr().is_ok());
    /// ```
    pub fn into_inner(mut self) -> T {
        drop(self.io.take());
        self.inner
            .take()
            .expect("PollFd: inner is present until drop")
    }
}

fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl<T: AsRawFd> Drop for PollFd<T> {
    fn drop(&mut self) {
        // Deregister while the fd is still open; then `inner` (if still here) closes it.
        drop(self.io.take());
    }
}

impl<T: AsRawFd> AsRawFd for PollFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd()
    }
}

impl<T: AsRawFd + std::fmt::Debug> std::fmt::Debug for PollFd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollFd")
            .field("inner", self.get_ref())
            .finish()
    }
}
