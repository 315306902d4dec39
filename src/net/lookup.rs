//! Name resolution that parks only the goroutine: [`lookup_host`] and the resolver behind every
//! `connect`, `bind` and `send_to` given a name.
//!
//! The system resolver (`getaddrinfo`, which reads `/etc/hosts`, `nsswitch.conf` and asks DNS)
//! has no non-blocking interface, so it runs as Go's cgo resolver runs it: as a system call
//! through the `blocking` hand-off (`runtime/syscall.rs`). The goroutine keeps its M; if the lookup
//! takes longer than a sysmon round (about 20 µs), its P moves to another M and the goroutines
//! queued behind it run on. An address literal (`"127.0.0.1:80"`, `"[::1]:443"`, a
//! `SocketAddr`) is parsed without entering `blocking` at all.
//!
//! Rejected for now: a pure-Rust DNS resolver (it would not honour `nsswitch.conf`, mDNS or
//! whatever else the system resolver is configured with, which is why Go falls back to cgo), and
//! a dedicated pool of resolver threads (a thread hop even for an `/etc/hosts` hit; `blocking`
//! already bounds the threads to the lookups that are actually slow at the same time).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::runtime::offload::syscall as blocking;

/// Resolves `host_and_port` (`"example.com:80"`, `"localhost:8080"`, `"[::1]:443"`) to socket
/// addresses, as std's `ToSocketAddrs for &str` does, parking the goroutine rather than
/// blocking its P (tokio's `lookup_host` shape).
///
/// # Errors
/// `InvalidInput` for a string without a port or with an invalid one; the resolver's error for
/// a name that does not resolve (std's, from `getaddrinfo`).
///
/// ```
/// goroutines::run(|| {
///     let addrs: Vec<_> = goroutines::net::lookup_host("localhost:80").unwrap().collect();
///     assert!(addrs.iter().any(|a| a.ip().is_loopback() && a.port() == 80));
///     assert!(goroutines::net::lookup_host("localhost").is_err()); // no port
/// });
/// ```
pub fn lookup_host(host_and_port: &str) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    if let Ok(a) = host_and_port.parse::<SocketAddr>() {
        return Ok(vec![a].into_iter());
    }
    blocking(|| host_and_port.to_socket_addrs())
}

/// `addr.to_socket_addrs()` through the `blocking` hand-off, for the generic `ToSocketAddrs`
/// arguments of `connect`, `bind` and `send_to` (which may be names). A `SocketAddr` argument
/// costs two uncontended compare-and-swaps more than calling std directly.
///
/// In place (`crate::blocking`), never on a pool thread: a generic argument need not be `Send`.
pub(crate) fn resolve<A: ToSocketAddrs>(addr: &A) -> io::Result<A::Iter> {
    crate::blocking(|| addr.to_socket_addrs())
}
