//! TCP: [`TcpListener`] and [`TcpStream`], shaped like std's.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::socket::{self, Socket};
use super::sys::{self, RawAddr};
use crate::runtime::netpoll::Dir;

/// Tries `f` on each address in turn; returns the first success or the last error.
pub(crate) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in super::lookup::resolve(&addr)? {
        match f(&a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// A TCP socket server, listening for connections (std's `TcpListener`, non-blocking
/// underneath).
///
/// Inside a goroutine, [`accept`](TcpListener::accept) parks the goroutine ("IO wait") until a
/// connection arrives; on a plain OS thread it blocks the thread.
///
/// ```
/// use std::io::{Read, Write};
/// use goroutines::net::{TcpListener, TcpStream};
///
/// goroutines::run(|| {
///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = l.local_addr().unwrap();
///     let server = goroutines::go(move || {
///         let (mut c, _) = l.accept().unwrap();
///         let mut buf = [0u8; 5];
///         c.read_exact(&mut buf).unwrap();
///         c.write_all(&buf).unwrap();
///     });
///     let mut s = TcpStream::connect(addr).unwrap();
///     s.write_all(b"hello").unwrap();
///     let mut buf = [0u8; 5];
///     s.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"hello");
///     server.join().unwrap();
/// });
/// ```
pub struct TcpListener {
    sock: Socket<std::net::TcpListener>,
}

impl TcpListener {
    /// Creates a listener bound to `addr` (port 0 picks a free port), trying each resolved
    /// address in turn, with `SO_REUSEADDR` as std sets it and a listen backlog of 4096 (capped
    /// by `net.core.somaxconn`).
    ///
    /// Name resolution (`"localhost:80"`) uses the system resolver, which blocks the thread.
    ///
    /// ```
    /// let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(l.local_addr().unwrap().port(), 0);
    /// ```
    ///
    /// # Errors
    /// The last address's error (`AddrInUse`, `PermissionDenied`, ...).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            let fd = sys::socket(sys::family_of(a), libc::SOCK_STREAM)?;
            sys::bind_listen(&fd, &RawAddr::from_inet(a), true)?;
            Ok(TcpListener::from_owned(fd))
        })
    }

    fn from_owned(fd: OwnedFd) -> TcpListener {
        TcpListener {
            sock: Socket::new(std::net::TcpListener::from(fd)),
        }
    }

    /// Accepts a connection, parking the calling goroutine until one arrives.
    ///
    /// ```
    /// use goroutines::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (s, peer) = l.accept().unwrap();
    /// assert_eq!(peer, c.local_addr().unwrap());
    /// assert_eq!(s.peer_addr().unwrap(), peer);
    /// ```
    ///
    /// # Errors
    /// The error of `accept4(2)` (`EMFILE` when out of file descriptors, ...); connections the
    /// peer aborted before they were accepted are skipped, as Go does.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let fd = self.sock.inner.as_raw_fd();
        let (s, addr) = self.sock.io.io(Dir::Read, || loop {
            match sys::accept(fd) {
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
                r => return r,
            }
        })?;
        Ok((TcpStream::from_owned(s), addr.to_inet()?))
    }

    /// An iterator over incoming connections: [`accept`](TcpListener::accept) forever.
    ///
    /// ```
    /// use goroutines::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// for s in l.incoming() {
    ///     let s = s.unwrap();
    ///     assert!(s.peer_addr().is_ok());
    ///     break;
    /// }
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address this listener is bound to.
    ///
    /// ```
    /// let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    ///
    /// # Errors
    /// The error of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.local_addr()
    }

    /// A second listener on the same socket (a `dup` of the fd).
    ///
    /// ```
    /// let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let l2 = l.try_clone().unwrap();
    /// assert_eq!(l.local_addr().unwrap(), l2.local_addr().unwrap());
    /// ```
    ///
    /// # Errors
    /// The error of `fcntl(F_DUPFD_CLOEXEC)`.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            sock: self.sock.try_clone()?,
        })
    }

    /// Converts into std's listener, switched back to blocking mode (see the `From` impl).
    ///
    /// ```
    /// let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_l: std::net::TcpListener = l.into_std();
    /// assert!(std_l.local_addr().is_ok());
    /// ```
    pub fn into_std(self) -> std::net::TcpListener {
        self.sock.into_std()
    }
}

impl From<std::net::TcpListener> for TcpListener {
    /// Takes over a std listener, switching it to non-blocking mode.
    ///
    /// ```
    /// let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let l = goroutines::net::TcpListener::from(std_l);
    /// assert!(l.local_addr().is_ok());
    /// ```
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking (it is not a valid socket).
    #[track_caller]
    fn from(l: std::net::TcpListener) -> TcpListener {
        TcpListener {
            sock: Socket::from_std_or_panic(l),
        }
    }
}

socket::fd_impls!(TcpListener, std::net::TcpListener);

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

/// The iterator of [`TcpListener::incoming`]; it never returns `None`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection (std's `TcpStream`, non-blocking underneath).
///
/// Reads and writes that would block park the calling goroutine ("IO wait") until the netpoller
/// sees the socket ready; on a plain OS thread they block the thread. `Read` and `Write` are
/// implemented for `&TcpStream` too, so one goroutine can read while another writes:
///
/// ```
/// use std::io::{Read, Write};
/// use std::sync::Arc;
/// use goroutines::net::{TcpListener, TcpStream};
///
/// goroutines::run(|| {
///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
///     let c = Arc::new(TcpStream::connect(l.local_addr().unwrap()).unwrap());
///     let (mut s, _) = l.accept().unwrap();
///     let c2 = c.clone();
///     let reader = goroutines::go(move || {
///         let mut buf = [0u8; 3];
///         (&*c2).read_exact(&mut buf).unwrap();
///         buf
///     });
///     (&*c).write_all(b"abc").unwrap();
///     let mut buf = [0u8; 3];
///     s.read_exact(&mut buf).unwrap();
///     s.write_all(&buf).unwrap();
///     assert_eq!(&reader.join().unwrap(), b"abc");
/// });
/// ```
pub struct TcpStream {
    sock: Socket<std::net::TcpStream>,
}

impl TcpStream {
    socket::socket_methods!(shutdown, " # use std::io::{Read, Write};
 # trait Ops { fn read_one(&self) -> std::io::Result<usize>; fn write_one(&self) -> std::io::Result<usize>; }
 # impl Ops for goroutines::net::TcpStream { fn read_one(&self) -> std::io::Result<usize> { let mut s = self; s.read(&mut [0u8; 1]) } fn write_one(&self) -> std::io::Result<usize> { let mut s = self; s.write(b\"x\") } }
 let l = std::net::TcpListener::bind(\"127.0.0.1:0\").unwrap();
 let a = goroutines::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
 let b = l.accept().unwrap();");

    fn from_owned(fd: OwnedFd) -> TcpStream {
        TcpStream {
            sock: Socket::new(std::net::TcpStream::from(fd)),
        }
    }

    /// Opens a connection to `addr`, trying each resolved address in turn. Inside a goroutine,
    /// waiting for the handshake parks the goroutine.
    ///
    /// ```
    /// use goroutines::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    ///
    /// # Errors
    /// The last address's error: `ConnectionRefused` for a closed port, ...
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| TcpStream::connect_until(a, None))
    }

    /// Opens a connection to `addr`, giving up with `TimedOut` after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let a = l.local_addr().unwrap();
    /// let s = TcpStream::connect_timeout(&a, Duration::from_secs(5)).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), a);
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` for a zero timeout (as std); `TimedOut`; the connect error. A timeout
    /// too large for an `Instant` (`Duration::MAX`) means no timeout, as with std.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        // As std: a timeout too long to represent (`Duration::MAX`) waits without a deadline.
        TcpStream::connect_until(addr, Instant::now().checked_add(timeout))
    }

    fn connect_until(addr: &SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
        let fd = sys::socket(sys::family_of(addr), libc::SOCK_STREAM)?;
        let done = sys::start_connect(fd.as_raw_fd(), &RawAddr::from_inet(addr))?;
        let s = TcpStream::from_owned(fd);
        if !done {
            let raw = s.sock.inner.as_raw_fd();
            // Connected once SO_ERROR is clear and the socket has a peer; until then "would
            // block" on writability (Go's netFD.connect does the same checks).
            s.sock.io.io_until(Dir::Write, deadline, || {
                if let Some(e) = sys::take_error(raw)? {
                    return Err(e);
                }
                match s.sock.inner.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })?;
        }
        Ok(s)
    }

    /// The address of the remote end.
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone, or the error of `getpeername(2)`.
    ///
    /// ```
    /// # let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = goroutines::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.peer_addr()
    }

    /// The local address of this end.
    ///
    /// # Errors
    /// The error of `getsockname(2)`.
    ///
    /// ```
    /// # let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = goroutines::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm). Go sets it on every connection; std and
    /// this crate leave it off by default.
    ///
    /// # Errors
    /// The error of `setsockopt(2)`.
    ///
    /// ```
    /// # let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = goroutines::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_nodelay(true).unwrap();
    /// assert!(s.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.inner.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// The error of `getsockopt(2)`.
    ///
    /// ```
    /// # let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = goroutines::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(!s.nodelay().unwrap());
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.sock.inner.nodelay()
    }

    /// Reads without removing the data from the queue.
    ///
    /// # Errors
    /// As [`Read::read`].
    ///
    /// ```
    /// use std::io::Write;
    /// let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut c = goroutines::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (s, _) = l.accept().unwrap();
    /// c.write_all(b"x").unwrap();
    /// let mut b = [0u8; 1];
    /// assert_eq!(s.peek(&mut b).unwrap(), 1);
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io.io(Dir::Read, || self.sock.inner.peek(buf))
    }

    /// Converts into std's stream, switched back to blocking mode. Timeouts set here are not
    /// carried over.
    ///
    /// ```
    /// # let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = goroutines::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s: std::net::TcpStream = c.into_std();
    /// assert!(s.peer_addr().is_ok());
    /// ```
    pub fn into_std(self) -> std::net::TcpStream {
        self.sock.into_std()
    }
}

socket::stream_io!(TcpStream);

impl From<std::net::TcpStream> for TcpStream {
    /// Takes over a std stream, switching it to non-blocking mode. Timeouts set on the std
    /// stream (`SO_RCVTIMEO`) have no effect here; use [`TcpStream::set_read_timeout`].
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s = goroutines::net::TcpStream::from(s);
    /// assert!(s.peer_addr().is_ok());
    /// ```
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking (it is not a valid socket).
    #[track_caller]
    fn from(s: std::net::TcpStream) -> TcpStream {
        TcpStream {
            sock: Socket::from_std_or_panic(s),
        }
    }
}

socket::fd_impls!(TcpStream, std::net::TcpStream);

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("addr", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
