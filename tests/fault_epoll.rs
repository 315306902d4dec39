//! Fault injection (issue 16, item 3d): registering one socket with epoll fails. That socket's
//! operation returns the error; every other socket goes on; once registration works again the
//! socket works too.
//!
//! Needs `--features fault-injection` (src/fault.rs).

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use goroutines::go;
use goroutines::net::{TcpListener, TcpStream};

#[test]
fn epoll_ctl_failure_fails_that_socket_only() {
    common::watchdog(120);
    for procs in [1, 4] {
        common::at_procs(procs, || {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let mut a = TcpStream::connect(addr).unwrap();
            let (sa, _) = l.accept().unwrap();
            let mut b = TcpStream::connect(addr).unwrap();
            let (mut sb, _) = l.accept().unwrap();
            // `sa` has never waited, so it is not registered yet: its first read that must wait
            // registers it, and that fails.
            goroutines::__fault::fail_epoll_add(sa.as_raw_fd(), true);
            let mut buf = [0u8; 16];
            let err = (&sa).read(&mut buf).expect_err("the read must fail");
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
            // The other connection, the listener and new connections go on.
            let echo = go(move || {
                let mut buf = [0u8; 5];
                sb.read_exact(&mut buf).unwrap();
                sb.write_all(&buf).unwrap();
            });
            b.write_all(b"hello").unwrap();
            let mut back = [0u8; 5];
            b.read_exact(&mut back).unwrap();
            assert_eq!(&back, b"hello");
            echo.join().unwrap();
            let c = go(move || TcpStream::connect(addr).unwrap());
            let (mut sc, _) = l.accept().unwrap();
            let mut c = c.join().unwrap();
            c.write_all(b"x").unwrap();
            let mut one = [0u8; 1];
            sc.read_exact(&mut one).unwrap();
            assert_eq!(&one, b"x");
            // Registration works again: the socket registers on its next wait and reads.
            goroutines::__fault::fail_epoll_add(sa.as_raw_fd(), false);
            let reader = go(move || {
                let mut buf = [0u8; 3];
                (&sa).read_exact(&mut buf).unwrap();
                buf
            });
            while goroutines::metrics().netpoll_waiters == 0 {
                goroutines::yield_now();
            }
            a.write_all(b"abc").unwrap();
            assert_eq!(&reader.join().unwrap(), b"abc");
        });
    }
}
