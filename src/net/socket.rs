//! The socket core: what every socket type in `net/` is made of, and the public methods they
//! share.
//!
//! Each public socket type (`TcpListener`, `TcpStream`, `UdpSocket`, `UnixListener`,
//! `UnixStream`, `UnixDatagram`) is one `Socket` around the std type of the same name: the
//! std socket owns the fd and performs the system calls, and `PollIo` (`fd.rs`) turns each
//! `WouldBlock` into a wait in the netpoller, bounded by the timeouts and deadlines it stores.
//! This file holds what would otherwise be written once per type:
//!
//! - `Socket`: taking a std socket over (non-blocking mode), `try_clone` (a `dup` whose
//!   `PollIo` copies the timeouts and shares the deadlines), `into_std` (deregistered, blocking
//!   again), and reads and writes through the netpoller for the stream types;
//! - `socket_methods!`: the public timeout, deadline and `try_clone` methods of the connected
//!   types, with doctests run against each type;
//! - `shutdown_method!`, `stream_io!` and `fd_impls!`: `shutdown`, `Read`/`Write`, and the
//!   fd and std conversions.
//!
//! # Invariants
//!
//! - A `Socket`'s fd is in non-blocking mode for as long as the `Socket` lives; `into_std`
//!   clears the flag only after the `PollIo` is gone.
//! - `io` is declared before `inner`, so that dropping a socket deregisters the fd from epoll
//!   (and releases its poll descriptor) while the fd is still open; a closed fd number may be
//!   reused at once by another thread's `open`.
//! - Every handle made by `try_clone` has its own fd and its own `PollIo` (its own epoll
//!   registration), and shares the one `Deadlines` of the original.
//!
//! Rejected: a trait with default methods in place of the macros (the public methods would
//! need the trait in scope, and std's types, which these mirror, have inherent methods);
//! generic public types (`Socket<std::net::TcpStream>` as the public `TcpStream`: rustdoc
//! would show one page of generic methods, and the constructors and the methods each type
//! alone has would need per-instantiation impls anyway); sharing `shutdown` through a raw
//! `libc::shutdown` on the fd (std's own method is as short and needs no `unsafe`).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};

use super::fd::PollIo;
use crate::runtime::netpoll::Dir;

/// What the core needs of a std socket type: `dup` and the `O_NONBLOCK` flag.
pub(crate) trait StdSocket: AsRawFd + AsFd + Sized {
    /// A `dup` of the fd (std's `try_clone`).
    fn dup(&self) -> io::Result<Self>;
    /// Sets or clears `O_NONBLOCK` (std's `set_nonblocking`).
    fn nonblocking(&self, on: bool) -> io::Result<()>;
}

macro_rules! impl_std_socket {
    ($($t:ty),* $(,)?) => {$(
        impl StdSocket for $t {
            fn dup(&self) -> io::Result<Self> {
                self.try_clone()
            }

            fn nonblocking(&self, on: bool) -> io::Result<()> {
                self.set_nonblocking(on)
            }
        }
    )*};
}

impl_std_socket!(
    std::net::TcpListener,
    std::net::TcpStream,
    std::net::UdpSocket,
    std::os::unix::net::UnixListener,
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixDatagram,
);

/// One socket: the std socket that owns the fd, and its readiness, timeout and deadline state.
pub(crate) struct Socket<S> {
    // Field order matters: `io` deregisters the fd before `inner` closes it.
    pub(super) io: PollIo,
    pub(super) inner: S,
}

impl<S: StdSocket> Socket<S> {
    /// Wraps a socket that is already non-blocking (made by `sys::socket` or `sys::accept`,
    /// which pass `SOCK_NONBLOCK`).
    pub(super) fn new(inner: S) -> Socket<S> {
        Socket {
            io: PollIo::new(inner.as_raw_fd()),
            inner,
        }
    }

    /// Takes over a std socket, switching it to non-blocking mode.
    ///
    /// # Errors
    /// The error of `fcntl(2)` (the fd is not valid).
    pub(super) fn from_std(inner: S) -> io::Result<Socket<S>> {
        inner.nonblocking(true)?;
        Ok(Socket::new(inner))
    }

    /// `Socket::from_std` for the `From` impls, which cannot return an error.
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking (it is not a valid socket).
    #[track_caller]
    pub(super) fn from_std_or_panic(inner: S) -> Socket<S> {
        Socket::from_std(inner).expect("goroutines::net: cannot make the socket non-blocking")
    }

    /// A second handle (a `dup` of the fd) that starts with this one's timeouts and shares its
    /// deadlines.
    ///
    /// # Errors
    /// The error of `fcntl(F_DUPFD_CLOEXEC)` (`EMFILE`, ...).
    pub(super) fn try_clone(&self) -> io::Result<Socket<S>> {
        let inner = self.inner.dup()?;
        let io = self.io.clone_for(inner.as_raw_fd());
        Ok(Socket { io, inner })
    }

    /// The std socket, deregistered from the netpoller and switched back to blocking mode.
    /// Timeouts and deadlines set here are not carried over.
    pub(super) fn into_std(self) -> S {
        let Socket { io, inner } = self;
        drop(io);
        // A failure leaves the socket non-blocking, which std's methods report as WouldBlock;
        // the conversion cannot fail (std's `From` impls do not either).
        let _ = inner.nonblocking(false);
        inner
    }
}

impl<S> Socket<S>
where
    for<'a> &'a S: Read + Write,
{
    pub(super) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Dir::Read, || (&self.inner).read(buf))
    }

    pub(super) fn read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.io(Dir::Read, || (&self.inner).read_vectored(bufs))
    }

    pub(super) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Dir::Write, || (&self.inner).write(buf))
    }

    pub(super) fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.io
            .io(Dir::Write, || (&self.inner).write_vectored(bufs))
    }
}

/// The public timeout, deadline and `try_clone` methods of a socket type with a `sock: Socket<_>`
/// field, and with `shutdown,` first its `shutdown` too. `$setup` is doctest code that binds `a`
/// (the socket under test) and `b` (its peer, or a second socket), and gives them
/// `read_one`/`write_one` (one byte or one datagram).
macro_rules! socket_methods {
    (shutdown, $setup:literal) => {
        $crate::net::socket::socket_methods!($setup);
        $crate::net::socket::shutdown_method!($setup);
    };
    ($setup:literal) => {
        /// A second handle to the same socket (a `dup` of the fd), for example to give the read
        /// half to one goroutine and the write half to another. The clone starts with this
        /// handle's timeouts (after that each handle has its own) and shares its deadlines.
        ///
        /// # Errors
        /// The error of `fcntl(F_DUPFD_CLOEXEC)` (`EMFILE`, ...).
        ///
        /// ```
        /// use std::time::Duration;
        #[doc = $setup]
        /// a.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        /// let a2 = a.try_clone().unwrap();
        /// assert_eq!(a2.read_timeout().unwrap(), Some(Duration::from_secs(1)));
        /// a2.write_one().unwrap();
        /// drop(b);
        /// ```
        pub fn try_clone(&self) -> std::io::Result<Self> {
            Ok(Self {
                sock: self.sock.try_clone()?,
            })
        }

        /// Sets the timeout of each read (or receive): one that waits longer fails with
        /// `io::ErrorKind::TimedOut` (Go's kind; std reports `WouldBlock` on Unix) and the
        /// socket stays usable. `None` waits forever.
        ///
        /// # Errors
        /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
        ///
        /// ```
        /// use std::time::Duration;
        #[doc = $setup]
        /// a.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        /// assert_eq!(a.read_one().unwrap_err().kind(), std::io::ErrorKind::TimedOut);
        /// assert!(a.set_read_timeout(Some(Duration::ZERO)).is_err());
        /// drop(b);
        /// ```
        pub fn set_read_timeout(&self, dur: Option<std::time::Duration>) -> std::io::Result<()> {
            self.sock
                .io
                .set_timeout($crate::runtime::netpoll::Dir::Read, dur)
        }

        /// Sets the timeout of each write (or send); see `set_read_timeout`.
        ///
        /// # Errors
        /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
        ///
        /// ```
        /// use std::time::Duration;
        #[doc = $setup]
        /// a.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
        /// assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_secs(1)));
        /// drop(b);
        /// ```
        pub fn set_write_timeout(&self, dur: Option<std::time::Duration>) -> std::io::Result<()> {
            self.sock
                .io
                .set_timeout($crate::runtime::netpoll::Dir::Write, dur)
        }

        /// The read timeout.
        ///
        /// # Errors
        /// None today; `io::Result` as in std.
        ///
        /// ```
        #[doc = $setup]
        /// assert_eq!(a.read_timeout().unwrap(), None);
        /// drop(b);
        /// ```
        pub fn read_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
            Ok(self.sock.io.timeout($crate::runtime::netpoll::Dir::Read))
        }

        /// The write timeout.
        ///
        /// # Errors
        /// None today; `io::Result` as in std.
        ///
        /// ```
        #[doc = $setup]
        /// assert_eq!(a.write_timeout().unwrap(), None);
        /// drop(b);
        /// ```
        pub fn write_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
            Ok(self.sock.io.timeout($crate::runtime::netpoll::Dir::Write))
        }

        /// Sets the read and write deadlines, as Go's `SetDeadline`: absolute instants after
        /// which reads and writes fail with `io::ErrorKind::TimedOut`, including those already
        /// parked (so another goroutine holding a `try_clone` can interrupt a blocked read by
        /// setting a deadline in the past). `None` clears them. The deadline belongs to the
        /// socket and every handle made by `try_clone`; `set_read_timeout` still bounds each
        /// call on top of it.
        ///
        /// # Errors
        /// None today; `io::Result` as Go's `error`.
        ///
        /// ```
        /// use std::time::{Duration, Instant};
        #[doc = $setup]
        /// goroutines::run(move || {
        ///     let reader = a.try_clone().unwrap();
        ///     let h = goroutines::go(move || reader.read_one().unwrap_err().kind());
        ///     goroutines::time::sleep(Duration::from_millis(20)); // let it park in the read
        ///     a.set_deadline(Some(Instant::now())).unwrap(); // wakes it
        ///     assert_eq!(h.join().unwrap(), std::io::ErrorKind::TimedOut);
        ///     a.set_deadline(None).unwrap();
        ///     drop(b);
        /// });
        /// ```
        pub fn set_deadline(&self, t: Option<std::time::Instant>) -> std::io::Result<()> {
            self.sock
                .io
                .set_deadline($crate::runtime::netpoll::Dir::Read, t);
            self.sock
                .io
                .set_deadline($crate::runtime::netpoll::Dir::Write, t);
            Ok(())
        }

        /// Sets the read deadline only (Go's `SetReadDeadline`); see `set_deadline`.
        ///
        /// # Errors
        /// None today; `io::Result` as Go's `error`.
        ///
        /// ```
        /// use std::time::{Duration, Instant};
        #[doc = $setup]
        /// a.set_read_deadline(Some(Instant::now() + Duration::from_millis(10))).unwrap();
        /// let e = goroutines::run(move || a.read_one().unwrap_err());
        /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        /// drop(b);
        /// ```
        pub fn set_read_deadline(&self, t: Option<std::time::Instant>) -> std::io::Result<()> {
            self.sock
                .io
                .set_deadline($crate::runtime::netpoll::Dir::Read, t);
            Ok(())
        }

        /// Sets the write deadline only (Go's `SetWriteDeadline`); see `set_deadline`. A
        /// deadline in the past fails the next write at once.
        ///
        /// # Errors
        /// None today; `io::Result` as Go's `error`.
        ///
        /// ```
        /// use std::time::Instant;
        #[doc = $setup]
        /// a.set_write_deadline(Some(Instant::now())).unwrap();
        /// assert_eq!(a.write_one().unwrap_err().kind(), std::io::ErrorKind::TimedOut);
        /// a.set_write_deadline(None).unwrap();
        /// a.write_one().unwrap();
        /// drop(b);
        /// ```
        pub fn set_write_deadline(&self, t: Option<std::time::Instant>) -> std::io::Result<()> {
            self.sock
                .io
                .set_deadline($crate::runtime::netpoll::Dir::Write, t);
            Ok(())
        }
    };
}
pub(crate) use socket_methods;

/// The public `shutdown` of a connected socket type with a `sock: Socket<_>` field whose std
/// socket has `shutdown`; `$setup` as for `socket_methods!`.
macro_rules! shutdown_method {
    ($setup:literal) => {
        /// Shuts down the read half, the write half or both (`shutdown(2)`; it applies to every
        /// handle made by `try_clone`). For a stream socket, a goroutine parked reading it is
        /// woken and reads end-of-file (0 bytes); after the write half is shut down, writes
        /// fail.
        ///
        /// # Errors
        /// The error of `shutdown(2)` (`NotConnected`, ...).
        ///
        /// ```
        #[doc = $setup]
        /// a.shutdown(std::net::Shutdown::Write).unwrap();
        /// assert!(a.write_one().is_err());
        /// drop(b);
        /// ```
        pub fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
            self.sock.inner.shutdown(how)
        }
    };
}
pub(crate) use shutdown_method;

/// `Read` and `Write` for a stream type `$t` with a `sock: Socket<_>` field, and for `&$t`, so
/// that one goroutine can read while another writes. `flush` has nothing to do: writes go
/// straight to the kernel.
macro_rules! stream_io {
    ($t:ty) => {
        $crate::net::socket::stream_io!(@impl &$t);
        $crate::net::socket::stream_io!(@impl $t);
    };
    (@impl $t:ty) => {
        impl std::io::Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.sock.read(buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.sock.read_vectored(bufs)
            }
        }

        impl std::io::Write for $t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.sock.write(buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.sock.write_vectored(bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}
pub(crate) use stream_io;

/// `AsRawFd`, `AsFd` and the conversion back into std (`into_std`) for a socket type `$t` with
/// a `sock: Socket<$std>` field.
macro_rules! fd_impls {
    ($t:ident, $std:ty) => {
        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.sock.inner)
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.sock.inner)
            }
        }

        impl From<$t> for $std {
            #[doc = concat!("[`", stringify!($t), "::into_std`].")]
            fn from(s: $t) -> $std {
                s.into_std()
            }
        }
    };
}
pub(crate) use fd_impls;
