//! UDP: [`UdpSocket`], shaped like std's.
//!
//! A `Socket` (`socket.rs`) around `std::net::UdpSocket`: std makes and binds the socket, which
//! is then switched to non-blocking mode, and every send and receive is std's call inside
//! `PollIo::io`, so a full send buffer or an empty queue parks the goroutine ("IO wait").
//! Timeouts, deadlines, `try_clone` and the fd conversions are the socket core's.
//!
//! # Invariants
//! - A datagram is sent or received whole by one system call; a wait never splits one, and a
//!   receive truncated to the buffer is std's (and the kernel's) truncation.
//! - `send_to` resolves its address once, before waiting, and sends to the first result (as
//!   std does); `bind` and `connect` try each resolved address in turn (`each_addr`).
//! - There is no `shutdown`, as in std: it means little for a connectionless socket.
//!
//! std's `bind` is used as it is, not `sys::socket` as for TCP: UDP has no listen backlog to
//! deepen and no connect that waits, the two reasons TCP makes its own sockets.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;

use super::socket::{self, Socket};
use super::tcp::each_addr;
use crate::runtime::netpoll::Dir;

/// A UDP socket (std's `UdpSocket`, non-blocking underneath). Receiving, and sending into a full
/// buffer, park the calling goroutine ("IO wait"); on a plain OS thread they block the thread.
///
/// ```
/// use goroutines::net::UdpSocket;
///
/// goroutines::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b_addr = b.local_addr().unwrap();
///     let echo = goroutines::go(move || {
///         let mut buf = [0u8; 16];
///         let (n, from) = b.recv_from(&mut buf).unwrap();
///         b.send_to(&buf[..n], from).unwrap();
///     });
///     a.send_to(b"ping", b_addr).unwrap();
///     let mut buf = [0u8; 16];
///     let (n, from) = a.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], b_addr));
///     echo.join().unwrap();
/// });
/// ```
pub struct UdpSocket {
    sock: Socket<std::net::UdpSocket>,
}

impl UdpSocket {
    socket::socket_methods!(" # trait Ops { fn read_one(&self) -> std::io::Result<usize>; fn write_one(&self) -> std::io::Result<usize>; }
 # impl Ops for goroutines::net::UdpSocket { fn read_one(&self) -> std::io::Result<usize> { self.recv(&mut [0u8; 1]) } fn write_one(&self) -> std::io::Result<usize> { self.send(b\"x\") } }
 let a = goroutines::net::UdpSocket::bind(\"127.0.0.1:0\").unwrap();
 let b = goroutines::net::UdpSocket::bind(\"127.0.0.1:0\").unwrap();
 a.connect(b.local_addr().unwrap()).unwrap();");

    /// Creates a socket bound to `addr` (port 0 picks a free port), trying each resolved address
    /// in turn.
    ///
    /// # Errors
    /// The last address's error.
    ///
    /// ```
    /// let s = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(s.local_addr().unwrap().port(), 0);
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let s = each_addr(addr, |a| std::net::UdpSocket::bind(a))?;
        Ok(UdpSocket {
            sock: Socket::from_std(s)?,
        })
    }

    /// Sets the default destination of [`send`](UdpSocket::send) and the only source
    /// [`recv`](UdpSocket::recv) accepts.
    ///
    /// # Errors
    /// The last address's error.
    ///
    /// ```
    /// use goroutines::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// b.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"hi").unwrap();
    /// let mut buf = [0u8; 4];
    /// assert_eq!(b.recv(&mut buf).unwrap(), 2);
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |a| self.sock.inner.connect(a))
    }

    /// Sends to the connected address; returns the bytes sent.
    ///
    /// # Errors
    /// `NotConnected` before [`connect`](UdpSocket::connect); `ConnectionRefused` after an ICMP
    /// port-unreachable for an earlier datagram; `TimedOut` past the write timeout.
    ///
    /// ```
    /// let a = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.send(b"self").unwrap(), 4);
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.io.io(Dir::Write, || self.sock.inner.send(buf))
    }

    /// Receives one datagram from the connected address; returns its length (truncated to
    /// `buf`).
    ///
    /// # Errors
    /// `TimedOut` past the read timeout; `ConnectionRefused` after an ICMP port-unreachable.
    ///
    /// ```
    /// let a = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"self").unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(a.recv(&mut buf).unwrap(), 4);
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io.io(Dir::Read, || self.sock.inner.recv(buf))
    }

    /// Sends one datagram to `addr` (the first address it resolves to).
    ///
    /// # Errors
    /// `InvalidInput` if `addr` resolves to nothing; the error of `sendto(2)`.
    ///
    /// ```
    /// let a = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(a.send_to(b"x", a.local_addr().unwrap()).unwrap(), 1);
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let Some(to) = super::lookup::resolve(&addr)?.next() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        self.sock
            .io
            .io(Dir::Write, || self.sock.inner.send_to(buf, to))
    }

    /// Receives one datagram; returns its length (truncated to `buf`) and its source.
    ///
    /// # Errors
    /// `TimedOut` past the read timeout; the error of `recvfrom(2)`.
    ///
    /// ```
    /// let a = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"x", a.local_addr().unwrap()).unwrap();
    /// let mut buf = [0u8; 8];
    /// let (n, from) = a.recv_from(&mut buf).unwrap();
    /// assert_eq!((n, from), (1, a.local_addr().unwrap()));
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock
            .io
            .io(Dir::Read, || self.sock.inner.recv_from(buf))
    }

    /// The address this socket is bound to.
    ///
    /// # Errors
    /// The error of `getsockname(2)`.
    ///
    /// ```
    /// let a = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(a.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.local_addr()
    }

    /// The connected address.
    ///
    /// # Errors
    /// `NotConnected` before [`connect`](UdpSocket::connect).
    ///
    /// ```
    /// let a = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(a.peer_addr().is_err());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.inner.peer_addr()
    }

    /// Converts into std's socket, switched back to blocking mode.
    ///
    /// ```
    /// let a = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s: std::net::UdpSocket = a.into_std();
    /// assert!(s.local_addr().is_ok());
    /// ```
    pub fn into_std(self) -> std::net::UdpSocket {
        self.sock.into_std()
    }
}

impl From<std::net::UdpSocket> for UdpSocket {
    /// Takes over a std socket, switching it to non-blocking mode.
    ///
    /// ```
    /// let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s = goroutines::net::UdpSocket::from(s);
    /// assert!(s.local_addr().is_ok());
    /// ```
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking (it is not a valid socket).
    #[track_caller]
    fn from(s: std::net::UdpSocket) -> UdpSocket {
        UdpSocket {
            sock: Socket::from_std_or_panic(s),
        }
    }
}

socket::fd_impls!(UdpSocket, std::net::UdpSocket);

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
