//! `net::PollFd`: waiting on pipes and eventfds in the netpoller, timeouts, deregistration.

mod common;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant};

use common::{at_procs, watchdog, GapTicker};
use goroutines::net::PollFd;

fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a writable array of two ints.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 returned two fresh fds that nothing else owns.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

/// Reads exactly `buf.len()` bytes from a non-blocking fd, waiting in `readable` on WouldBlock.
fn read_exact(p: &PollFd<File>, mut buf: &mut [u8]) {
    while !buf.is_empty() {
        match p.get_ref().read(buf) {
            Ok(0) => panic!("unexpected end of file"),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => p.readable().unwrap(),
            Err(e) => panic!("{e}"),
        }
    }
}

fn write_all(p: &PollFd<File>, mut buf: &[u8]) {
    while !buf.is_empty() {
        match p.get_ref().write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => p.writable().unwrap(),
            Err(e) => panic!("{e}"),
        }
    }
}

fn ping_pong(procs: usize) {
    at_procs(procs, || {
        let (r1, w1) = pipe();
        let (r2, w2) = pipe();
        let (r1, w1) = (PollFd::new(r1).unwrap(), PollFd::new(w1).unwrap());
        let (r2, w2) = (PollFd::new(r2).unwrap(), PollFd::new(w2).unwrap());
        let echo = goroutines::go(move || {
            let mut b = [0u8; 8];
            for _ in 0..2000 {
                read_exact(&r1, &mut b);
                write_all(&w2, &b);
            }
        });
        for i in 0u64..2000 {
            write_all(&w1, &i.to_le_bytes());
            let mut b = [0u8; 8];
            read_exact(&r2, &mut b);
            assert_eq!(u64::from_le_bytes(b), i);
        }
        echo.join().unwrap();
    });
}

#[test]
fn pipe_ping_pong_procs_1() {
    watchdog(60);
    ping_pong(1);
}

#[test]
fn pipe_ping_pong_procs_4() {
    watchdog(60);
    ping_pong(4);
}

/// A writer that fills the pipe parks in `writable` until the reader drains it.
#[test]
fn writable_waits_for_a_full_pipe_to_drain() {
    watchdog(60);
    for procs in [1, 4] {
        at_procs(procs, || {
            let (r, w) = pipe();
            let (r, w) = (PollFd::new(r).unwrap(), PollFd::new(w).unwrap());
            let total = 1 << 20; // far more than the 64 KiB pipe buffer
            let writer = goroutines::go(move || write_all(&w, &vec![7u8; total]));
            let mut got = vec![0u8; total];
            read_exact(&r, &mut got);
            assert!(got.iter().all(|&b| b == 7));
            writer.join().unwrap();
        });
    }
}

/// At GOMAXPROCS=1, a goroutine parked in `readable` leaves the P to a ticking goroutine.
#[test]
fn readable_does_not_block_the_p() {
    watchdog(60);
    at_procs(1, || {
        let ticker = GapTicker::start();
        let (r, w) = pipe();
        let r = PollFd::new(r).unwrap();
        let waiter = goroutines::go(move || {
            r.readable().unwrap();
            let mut b = [0u8; 1];
            r.get_ref().read_exact(&mut b).unwrap();
            b[0]
        });
        goroutines::time::sleep(Duration::from_millis(200));
        let before = ticker.ticks();
        (&w).write_all(&[42]).unwrap();
        assert_eq!(waiter.join().unwrap(), 42);
        let (worst, ticks) = ticker.finish();
        assert!(before >= 20, "ticker ticked only {before} times in 200 ms");
        assert!(ticks >= before);
        assert!(
            worst < Duration::from_millis(150),
            "worst ticker gap {worst:?}"
        );
    });
}

#[test]
fn timeouts_report_timed_out() {
    watchdog(60);
    for procs in [1, 4] {
        at_procs(procs, || {
            let (r, w) = pipe();
            let r = PollFd::new(r).unwrap();
            let t = Instant::now();
            let e = r.readable_timeout(Duration::from_millis(30)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::TimedOut);
            assert!(t.elapsed() >= Duration::from_millis(30));
            // Still usable after a timeout.
            (&w).write_all(b"x").unwrap();
            r.readable_timeout(Duration::from_secs(10)).unwrap();
            // A full pipe is not writable.
            let w = PollFd::new(w).unwrap();
            let chunk = [0u8; 4096];
            while w.get_ref().write(&chunk).is_ok() {}
            let e = w.writable_timeout(Duration::from_millis(20)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::TimedOut);
        });
    }
}

/// An eventfd written by another goroutine wakes the waiter (any fd, not only sockets).
#[test]
fn eventfd_wakes_the_waiter() {
    watchdog(60);
    for procs in [1, 4] {
        at_procs(procs, || {
            // SAFETY: eventfd takes no pointers; the fd is fresh and owned by the File.
            let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
            assert!(efd >= 0);
            // SAFETY: as above.
            let ev = PollFd::new(unsafe { File::from_raw_fd(efd) }).unwrap();
            let ev = std::sync::Arc::new(ev);
            let ev2 = ev.clone();
            let h = goroutines::go(move || {
                ev2.readable().unwrap();
                let mut b = [0u8; 8];
                ev2.get_ref().read_exact(&mut b).unwrap();
                u64::from_ne_bytes(b)
            });
            goroutines::time::sleep(Duration::from_millis(10));
            ev.get_ref().write_all(&5u64.to_ne_bytes()).unwrap();
            assert_eq!(h.join().unwrap(), 5);
        });
    }
}

/// `new` makes the fd non-blocking; `into_inner` gives it back deregistered, so a new `PollFd`
/// on the same fd can register again (a leftover registration would make that fail with EEXIST).
#[test]
fn new_sets_nonblocking_and_into_inner_deregisters() {
    watchdog(60);
    at_procs(1, || {
        let (r, w) = pipe();
        let r = PollFd::new(r).unwrap();
        // SAFETY: F_GETFL takes no pointers.
        let flags = unsafe { libc::fcntl(r.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(flags & libc::O_NONBLOCK, 0);
        assert_eq!(
            r.readable_timeout(Duration::from_millis(5))
                .unwrap_err()
                .kind(),
            ErrorKind::TimedOut
        ); // now registered
        let r = r.into_inner();
        let r = PollFd::new(r).unwrap();
        assert_eq!(
            r.readable_timeout(Duration::from_millis(5))
                .unwrap_err()
                .kind(),
            ErrorKind::TimedOut
        );
        (&w).write_all(b"y").unwrap();
        r.readable().unwrap();
        drop(r); // deregisters, then closes
        drop(w);
    });
}

/// On a plain OS thread `readable` waits with poll(2).
#[test]
fn works_outside_a_goroutine() {
    let (r, w) = pipe();
    let r = PollFd::new(r).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        (&w).write_all(b"z").unwrap();
    });
    r.readable().unwrap();
    t.join().unwrap();
}

#[test]
fn bad_fd_is_an_error() {
    #[derive(Debug)]
    struct Bad;
    impl AsRawFd for Bad {
        fn as_raw_fd(&self) -> std::os::fd::RawFd {
            -1
        }
    }
    let e = PollFd::new(Bad).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EBADF));
}
