//! Network I/O in blocking style: TCP, UDP and Unix sockets whose waits park the goroutine.
//!
//! The types mirror std's (`TcpListener`, `TcpStream`, `UdpSocket`, and `std::os::unix::net`'s
//! `UnixListener`, `UnixStream` and `UnixDatagram`): same constructors taking `ToSocketAddrs` or paths, same
//! `io::Result`s, `Read`/`Write` for the streams and for shared references to them, timeouts as
//! std spells them, and conversions from and into the std types. A server is written as Go's
//! are, one goroutine per connection:
//!
//! ```
//! use std::io::{Read, Write};
//! use goroutines::net::{TcpListener, TcpStream};
//!
//! goroutines::run(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     goroutines::go(move || {
//!         for conn in listener.incoming() {
//!             let mut conn = conn.unwrap();
//!             goroutines::go(move || {
//!                 let mut buf = [0u8; 1024];
//!                 loop {
//!                     match conn.read(&mut buf) {
//!                         Ok(0) | Err(_) => return,
//!                         Ok(n) => conn.write_all(&buf[..n]).unwrap(),
//!                     }
//!                 }
//!             });
//!         }
//!     });
//!     let mut c = TcpStream::connect(addr).unwrap();
//!     c.write_all(b"echo").unwrap();
//!     let mut buf = [0u8; 4];
//!     c.read_exact(&mut buf).unwrap();
//!     assert_eq!(&buf, b"echo");
//! });
//! ```
//!
//! # How a call waits
//!
//! Every socket is in non-blocking mode. A call first tries the system call; when the kernel
//! answers `EAGAIN` it waits for readiness and retries (`fd.rs`):
//!
//! 1. Inside a goroutine, it waits in the runtime's netpoller (`runtime/netpoll.rs`): the fd is
//!    registered with epoll, edge-triggered, the first time a goroutine has to wait on it, and the
//!    goroutine parks with wait reason "IO wait". The M under it runs other goroutines; an M
//!    looking for work, or the one idle M blocked in `epoll_wait`, sees the fd ready and makes
//!    the goroutine runnable again.
//! 2. On a plain OS thread, it waits with `poll(2)` on that one fd, blocking the thread. (The
//!    netpoller is driven by Ms, which a thread outside the runtime cannot count on.)
//!
//! Timeouts (`set_read_timeout`, `set_write_timeout`) bound each call, as `SO_RCVTIMEO` does in
//! std, and expire with `io::ErrorKind::TimedOut` (std reports `WouldBlock` on Unix; Go reports
//! a timeout error, which is what we follow). Inside a goroutine the deadline is a runtime timer
//! (`park_until`); the socket remains usable after a timeout.
//!
//! Connecting is non-blocking too (`connect` answers `EINPROGRESS`; the goroutine waits for
//! writability and then reads `SO_ERROR`), and listeners are created with a backlog of 4096
//! rather than std's 128, so that thousands of clients connecting at once are not dropped into
//! SYN retransmission.
//!
//! Name resolution (`"localhost:80"` given to `connect`, `bind` or `send_to`, and
//! [`lookup_host`]) is the system resolver's, run through the `blocking` hand-off as Go's cgo
//! resolver is (`lookup.rs`): a slow lookup keeps its M but not its P.
//!
//! # Deadlines
//!
//! Besides std's per-call timeouts, every socket has Go's absolute deadlines (`set_deadline`,
//! `set_read_deadline`, `set_write_deadline`, taking `Option<Instant>`). They belong to the socket
//! and all its `try_clone`s, and apply to operations already parked: another goroutine wakes a
//! goroutine blocked in `read` with `TimedOut` by setting a deadline in the past (`fd.rs`).
//!
//! # Closing
//!
//! Dropping a socket deregisters it from epoll and then closes it. No goroutine can be waiting
//! on it then, because waiting borrows it; to stop a goroutine parked in a read from elsewhere,
//! call `shutdown` on another handle (`try_clone`), which wakes it with end-of-file, or set a
//! deadline in the past, which wakes it with `TimedOut`.
//!
//! Rejected: `async` I/O with a reactor per runtime (it is what this crate exists to avoid), and
//! blocking system calls with the P handed to another M around each one (a thread per waiting
//! connection: 10,000 connections would need 10,000 threads).

pub(crate) mod fd;
mod lookup;
mod pollfd;
mod socket;
mod sys;
mod tcp;
mod udp;
mod unix;
mod unix_datagram;

pub use lookup::lookup_host;
pub use pollfd::PollFd;
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};
pub use unix_datagram::UnixDatagram;
