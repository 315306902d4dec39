//! Unix domain stream sockets: [`UnixListener`] and [`UnixStream`], shaped like std's
//! `std::os::unix::net` types.
//!
//! Both are a `Socket` (`socket.rs`) around the std type; this file holds what is theirs:
//! binding a path, accepting, connecting, and `pair`. Timeouts, deadlines, `shutdown`,
//! `try_clone`, `Read`/`Write` and the fd conversions are the socket core's.
//!
//! # How the calls work
//! - `bind` makes a non-blocking socket (`sys::socket`), binds the path (`RawAddr::from_path`
//!   rejects a path too long for `sun_path` or with a NUL byte) and listens with a backlog of
//!   4096, as for TCP. It does not remove a stale socket file: as in std, that is `AddrInUse`.
//! - `accept` is `accept4` inside `PollIo::io`, skipping `ECONNABORTED` as TCP does; the peer
//!   address is read from the new socket.
//! - `connect` differs from TCP's: a Unix socket has no pending connect, and a listener whose
//!   backlog is full answers `EAGAIN`. The call then parks for a millisecond and tries again
//!   (sleeps, on a plain thread); an `EINPROGRESS`, which Linux does not document for Unix
//!   sockets, is waited out as for TCP.
//!
//! # Invariants
//! Every fd is non-blocking before any goroutine waits on it: the ones this file makes are
//! created so, and those from std (`pair`, `From`) are switched by `Socket::from_std`.
//!
//! Rejected: std's `UnixStream::connect` (a blocking connect that waits in the kernel, with
//! the thread, while the listener's backlog is full), and a readiness wait for the `EAGAIN`
//! case (the readiness of an unconnected socket says nothing about the listener's backlog).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::socket::{self, Socket};
use super::sys::{self, RawAddr};
use crate::runtime::netpoll::Dir;
use crate::runtime::park::{self, WaitReason};

/// A Unix domain socket server (std's `UnixListener`, non-blocking underneath).
///
/// ```
/// use std::io::{Read, Write};
/// use goroutines::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("goroutines-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("listener.sock");
/// let _ = std::fs::remove_file(&path);
/// let l = UnixListener::bind(&path).unwrap();
/// goroutines::run(move || {
///     let server = goroutines::go(move || {
///         let (mut s, _) = l.accept().unwrap();
///         let mut buf = [0u8; 4];
///         s.read_exact(&mut buf).unwrap();
///         s.write_all(&buf).unwrap();
///     });
///     let mut c = UnixStream::connect(&path).unwrap();
///     c.write_all(b"ping").unwrap();
///     let mut buf = [0u8; 4];
///     c.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"ping");
///     server.join().unwrap();
///     std::fs::remove_file(&path).unwrap();
/// });
/// ```
pub struct UnixListener {
    sock: Socket<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Creates a socket file at `path` and listens on it (backlog 4096, capped by
    /// `net.core.somaxconn`).
    ///
    /// # Errors
    /// `AddrInUse` if the file exists; `InvalidInput` for a path too long for `sun_path`.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goroutines-bind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = goroutines::net::UnixListener::bind(&path).unwrap();
    /// assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let addr = RawAddr::from_path(path.as_ref())?;
        let fd = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        sys::bind_listen(&fd, &addr, false)?;
        Ok(UnixListener {
            sock: Socket::new(std::os::unix::net::UnixListener::from(fd)),
        })
    }

    /// Accepts a connection, parking the calling goroutine until one arrives.
    ///
    /// # Errors
    /// The error of `accept4(2)`.
    ///
    /// ```
    /// use goroutines::net::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("goroutines-acc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = UnixListener::bind(&path).unwrap();
    /// let _c = UnixStream::connect(&path).unwrap();
    /// let (s, _addr) = l.accept().unwrap();
    /// assert!(s.local_addr().is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let fd = self.sock.inner.as_raw_fd();
        let (s, _) = self.sock.io.io(Dir::Read, || loop {
            match sys::accept(fd) {
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
                r => return r,
            }
        })?;
        let s = UnixStream::from_owned(s);
        let addr = s.sock.inner.peer_addr()?;
        Ok((s, addr))
    }

    /// An iterator over incoming connections: [`accept`](UnixListener::accept) forever.
    ///
    /// ```
    /// use goroutines::net::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("goroutines-inc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = UnixListener::bind(&path).unwrap();
    /// let _c = UnixStream::connect(&path).unwrap();
    /// let s = l.incoming().next().unwrap().unwrap();
    /// assert!(s.peer_addr().is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The address this listener is bound to.
    ///
    /// # Errors
    /// The error of `getsockname(2)`.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goroutines-la-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = goroutines::net::UnixListener::bind(&path).unwrap();
    /// assert!(l.local_addr().unwrap().as_pathname().is_some());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.local_addr()
    }

    /// A second listener on the same socket (a `dup` of the fd).
    ///
    /// # Errors
    /// The error of `fcntl(F_DUPFD_CLOEXEC)`.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goroutines-cl-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = goroutines::net::UnixListener::bind(&path).unwrap();
    /// assert!(l.try_clone().is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            sock: self.sock.try_clone()?,
        })
    }

    /// Converts into std's listener, switched back to blocking mode.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goroutines-is-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = goroutines::net::UnixListener::bind(&path).unwrap();
    /// let l: std::os::unix::net::UnixListener = l.into_std();
    /// assert!(l.local_addr().is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn into_std(self) -> std::os::unix::net::UnixListener {
        self.sock.into_std()
    }
}

impl From<std::os::unix::net::UnixListener> for UnixListener {
    /// Takes over a std listener, switching it to non-blocking mode.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goroutines-fs-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// let l = goroutines::net::UnixListener::from(l);
    /// assert!(l.local_addr().is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking (it is not a valid socket).
    #[track_caller]
    fn from(l: std::os::unix::net::UnixListener) -> UnixListener {
        UnixListener {
            sock: Socket::from_std_or_panic(l),
        }
    }
}

socket::fd_impls!(UnixListener, std::os::unix::net::UnixListener);

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

/// The iterator of [`UnixListener::incoming`]; it never returns `None`.
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A Unix domain stream connection (std's `UnixStream`, non-blocking underneath). Like
/// [`TcpStream`](super::TcpStream), `Read` and `Write` are implemented for `&UnixStream` too.
///
/// ```
/// use std::io::{Read, Write};
/// let (mut a, mut b) = goroutines::net::UnixStream::pair().unwrap();
/// goroutines::run(move || {
///     let h = goroutines::go(move || {
///         let mut buf = [0u8; 2];
///         b.read_exact(&mut buf).unwrap();
///         buf
///     });
///     a.write_all(b"ok").unwrap();
///     assert_eq!(&h.join().unwrap(), b"ok");
/// });
/// ```
pub struct UnixStream {
    sock: Socket<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    socket::socket_methods!(shutdown, " # use std::io::{Read, Write};
 # trait Ops { fn read_one(&self) -> std::io::Result<usize>; fn write_one(&self) -> std::io::Result<usize>; }
 # impl Ops for goroutines::net::UnixStream { fn read_one(&self) -> std::io::Result<usize> { let mut s = self; s.read(&mut [0u8; 1]) } fn write_one(&self) -> std::io::Result<usize> { let mut s = self; s.write(b\"x\") } }
 let (a, b) = goroutines::net::UnixStream::pair().unwrap();");

    fn from_owned(fd: OwnedFd) -> UnixStream {
        UnixStream {
            sock: Socket::new(std::os::unix::net::UnixStream::from(fd)),
        }
    }

    /// Connects to the socket at `path`. When the listener's backlog is full the kernel answers
    /// `EAGAIN` (Unix sockets have no pending connect); the call then retries every millisecond,
    /// parking the goroutine in between.
    ///
    /// # Errors
    /// `NotFound` if nothing is at `path`; `ConnectionRefused` if nobody listens there.
    ///
    /// ```
    /// let e = goroutines::net::UnixStream::connect("/nonexistent/goroutines.sock").unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = RawAddr::from_path(path.as_ref())?;
        let fd = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        debug_assert_eq!(addr.family(), libc::AF_UNIX);
        loop {
            match sys::start_connect(fd.as_raw_fd(), &addr) {
                Ok(true) => return Ok(UnixStream::from_owned(fd)),
                Ok(false) => {
                    // EINPROGRESS is not documented for Unix sockets; wait as for TCP.
                    let s = UnixStream::from_owned(fd);
                    let raw = s.sock.inner.as_raw_fd();
                    s.sock.io.io(Dir::Write, || match sys::take_error(raw)? {
                        Some(e) => Err(e),
                        None => Ok(()),
                    })?;
                    return Ok(s);
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    let t = Instant::now() + Duration::from_millis(1);
                    if crate::runtime::g::current_id().is_some() {
                        park::park_until(WaitReason::IoWait, t);
                    } else {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A connected pair of sockets (`socketpair(2)`).
    ///
    /// # Errors
    /// The error of `socketpair(2)` (`EMFILE`, ...).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (mut a, mut b) = goroutines::net::UnixStream::pair().unwrap();
    /// a.write_all(b"x").unwrap();
    /// let mut buf = [0u8; 1];
    /// b.read_exact(&mut buf).unwrap();
    /// assert_eq!(&buf, b"x");
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from(a), UnixStream::from(b)))
    }

    /// The address of the remote end.
    ///
    /// # Errors
    /// The error of `getpeername(2)`.
    ///
    /// ```
    /// let (a, _b) = goroutines::net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.peer_addr()
    }

    /// The address of this end.
    ///
    /// # Errors
    /// The error of `getsockname(2)`.
    ///
    /// ```
    /// let (a, _b) = goroutines::net::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.local_addr()
    }

    /// Converts into std's stream, switched back to blocking mode.
    ///
    /// ```
    /// let (a, _b) = goroutines::net::UnixStream::pair().unwrap();
    /// let a: std::os::unix::net::UnixStream = a.into_std();
    /// assert!(a.peer_addr().is_ok());
    /// ```
    pub fn into_std(self) -> std::os::unix::net::UnixStream {
        self.sock.into_std()
    }
}

socket::stream_io!(UnixStream);

impl From<std::os::unix::net::UnixStream> for UnixStream {
    /// Takes over a std stream, switching it to non-blocking mode.
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = goroutines::net::UnixStream::from(a);
    /// assert!(a.peer_addr().is_ok());
    /// ```
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking (it is not a valid socket).
    #[track_caller]
    fn from(s: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream {
            sock: Socket::from_std_or_panic(s),
        }
    }
}

socket::fd_impls!(UnixStream, std::os::unix::net::UnixStream);

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
