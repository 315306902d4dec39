//! Unix domain datagram sockets: [`UnixDatagram`], shaped like std's
//! `std::os::unix::net::UnixDatagram`, with receives and sends that park the goroutine.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::socket::{self, Socket};
use crate::runtime::netpoll::Dir;

/// A Unix datagram socket (std's `UnixDatagram`, non-blocking underneath).
///
/// Inside a goroutine, `recv`/`recv_from` park the goroutine ("IO wait") until a datagram
/// arrives, and `send`/`send_to` park while the receiver's buffer is full; on a plain OS thread
/// they block the thread.
///
/// ```
/// use goroutines::net::UnixDatagram;
/// goroutines::run(|| {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     let h = goroutines::go(move || {
///         let mut buf = [0u8; 16];
///         let n = b.recv(&mut buf).unwrap(); // parks until `a` sends
///         buf[..n].to_vec()
///     });
///     a.send(b"datagram").unwrap();
///     assert_eq!(h.join().unwrap(), b"datagram");
/// });
/// ```
pub struct UnixDatagram {
    sock: Socket<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    socket::socket_methods!(shutdown, " # trait Ops { fn read_one(&self) -> std::io::Result<usize>; fn write_one(&self) -> std::io::Result<usize>; }
 # impl Ops for goroutines::net::UnixDatagram { fn read_one(&self) -> std::io::Result<usize> { self.recv(&mut [0u8; 1]) } fn write_one(&self) -> std::io::Result<usize> { self.send(b\"x\") } }
 let (a, b) = goroutines::net::UnixDatagram::pair().unwrap();");

    fn wrap(inner: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            sock: Socket::from_std(inner)?,
        })
    }

    /// A socket bound to `path`.
    ///
    /// # Errors
    /// As std: `AddrInUse` if `path` exists, `NotFound` for a missing directory.
    ///
    /// ```
    /// let e = goroutines::net::UnixDatagram::bind("/nonexistent/d.sock").unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::wrap(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address.
    ///
    /// # Errors
    /// The error of `socket(2)`.
    ///
    /// ```
    /// assert!(goroutines::net::UnixDatagram::unbound().is_ok());
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::wrap(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of sockets (`socketpair(2)`).
    ///
    /// # Errors
    /// The error of `socketpair(2)`.
    ///
    /// ```
    /// let (a, b) = goroutines::net::UnixDatagram::pair().unwrap();
    /// a.send(b"x").unwrap();
    /// assert_eq!(b.recv(&mut [0u8; 4]).unwrap(), 1);
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::wrap(a)?, UnixDatagram::wrap(b)?))
    }

    /// Sets the default destination of `send` and the only source `recv` accepts.
    ///
    /// # Errors
    /// As std: `NotFound` or `ConnectionRefused` if nothing is bound at `path`.
    ///
    /// ```
    /// let s = goroutines::net::UnixDatagram::unbound().unwrap();
    /// assert!(s.connect("/nonexistent/d.sock").is_err());
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.sock.inner.connect(path)
    }

    /// The socket's own address.
    ///
    /// # Errors
    /// The error of `getsockname(2)`.
    ///
    /// ```
    /// assert!(goroutines::net::UnixDatagram::unbound().unwrap().local_addr().unwrap().is_unnamed());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.local_addr()
    }

    /// The address of the connected peer.
    ///
    /// # Errors
    /// `NotConnected` before `connect`.
    ///
    /// ```
    /// let e = goroutines::net::UnixDatagram::unbound().unwrap().peer_addr().unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotConnected);
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.peer_addr()
    }

    /// Receives one datagram and the address it came from, parking until one arrives.
    ///
    /// # Errors
    /// `TimedOut` past the read timeout (or the read deadline).
    ///
    /// ```
    /// let (a, b) = goroutines::net::UnixDatagram::pair().unwrap();
    /// a.send(b"hi").unwrap();
    /// let (n, _from) = b.recv_from(&mut [0u8; 4]).unwrap();
    /// assert_eq!(n, 2);
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock
            .io
            .io(Dir::Read, || self.sock.inner.recv_from(buf))
    }

    /// Receives one datagram (truncated to `buf`), parking until one arrives.
    ///
    /// # Errors
    /// `TimedOut` past the read timeout (or the read deadline).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_a, b) = goroutines::net::UnixDatagram::pair().unwrap();
    /// b.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    /// assert_eq!(b.recv(&mut [0u8; 4]).unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io.io(Dir::Read, || self.sock.inner.recv(buf))
    }

    /// Sends one datagram to the socket bound at `path`.
    ///
    /// # Errors
    /// As std: `NotFound`/`ConnectionRefused` if nothing is bound there; `TimedOut` past the
    /// write timeout while the receiver's buffer stays full.
    ///
    /// ```
    /// let s = goroutines::net::UnixDatagram::unbound().unwrap();
    /// assert!(s.send_to(b"x", "/nonexistent/d.sock").is_err());
    /// ```
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.sock
            .io
            .io(Dir::Write, || self.sock.inner.send_to(buf, path))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    /// `NotConnected` before `connect`; `TimedOut` past the write timeout.
    ///
    /// ```
    /// let e = goroutines::net::UnixDatagram::unbound().unwrap().send(b"x").unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotConnected);
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.io.io(Dir::Write, || self.sock.inner.send(buf))
    }

    /// The pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    /// The error of `getsockopt(2)`.
    ///
    /// ```
    /// let (a, _b) = goroutines::net::UnixDatagram::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.inner.take_error()
    }

    /// Converts into std's socket, switched back to blocking mode.
    ///
    /// ```
    /// let (a, _b) = goroutines::net::UnixDatagram::pair().unwrap();
    /// let a: std::os::unix::net::UnixDatagram = a.into_std();
    /// assert!(a.peer_addr().is_ok());
    /// ```
    pub fn into_std(self) -> std::os::unix::net::UnixDatagram {
        self.sock.into_std()
    }
}

impl From<std::os::unix::net::UnixDatagram> for UnixDatagram {
    /// Takes over a std socket, switching it to non-blocking mode.
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking (it is not a valid socket).
    #[track_caller]
    fn from(s: std::os::unix::net::UnixDatagram) -> UnixDatagram {
        UnixDatagram {
            sock: Socket::from_std_or_panic(s),
        }
    }
}

socket::fd_impls!(UnixDatagram, std::os::unix::net::UnixDatagram);

impl std::fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
