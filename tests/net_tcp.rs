//! TCP behaviour: echo, deadlines, errors, resets, conversions. Every test runs on a fresh
//! runtime sized by GOMAXPROCS.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::net::{TcpListener, TcpStream};

/// Sleeps the calling goroutine (parks it in a read that times out).
fn sleep(d: Duration) {
    let u = goroutines::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(d)).unwrap();
    assert_eq!(
        u.recv(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
}

fn echo_server(l: TcpListener) {
    for c in l.incoming() {
        let Ok(mut c) = c else { return };
        goroutines::go(move || {
            let mut buf = [0u8; 4096];
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if c.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

#[goroutines::test]
fn echo_many_goroutines() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    goroutines::go(move || echo_server(l));
    let hs: Vec<_> = (0..100)
        .map(|i| {
            goroutines::go(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                for j in 0..50u32 {
                    let msg = format!("conn {i} msg {j}");
                    c.write_all(msg.as_bytes()).unwrap();
                    let mut buf = vec![0u8; msg.len()];
                    c.read_exact(&mut buf).unwrap();
                    assert_eq!(buf, msg.as_bytes());
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

/// A large transfer fills the socket buffers, so writes park too (write readiness).
#[goroutines::test]
fn large_transfer_parks_writer() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    const N: usize = 8 << 20;
    let reader = goroutines::go(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut total = 0usize;
        let mut sum = 0u64;
        let mut buf = vec![0u8; 65536];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            sum += buf[..n].iter().map(|&b| b as u64).sum::<u64>();
            total += n;
        }
        (total, sum)
    });
    let mut c = TcpStream::connect(addr).unwrap();
    let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    c.write_all(&data).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let want: u64 = data.iter().map(|&b| b as u64).sum();
    assert_eq!(reader.join().unwrap(), (N, want));
}

/// One goroutine reads while another writes, through `&TcpStream`.
#[goroutines::test]
fn shared_reference_read_and_write() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    goroutines::go(move || echo_server(l));
    let c = Arc::new(TcpStream::connect(addr).unwrap());
    let c2 = c.clone();
    let reader = goroutines::go(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 1000];
        while got.len() < 100_000 {
            let n = (&*c2).read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    for chunk in data.chunks(777) {
        (&*c).write_all(chunk).unwrap();
    }
    assert_eq!(reader.join().unwrap(), data);
}

#[goroutines::test]
fn read_timeout_expires_and_socket_stays_usable() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (mut s, _) = l.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(50)));
    let t = Instant::now();
    let e = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    s.write_all(b"late").unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"late");
    c.set_read_timeout(None).unwrap();
    assert_eq!(c.read_timeout().unwrap(), None);
    assert_eq!(
        c.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

/// The writer fills the buffers of a peer that never reads and times out.
#[goroutines::test]
fn write_timeout_expires() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (_s, _) = l.accept().unwrap();
    c.set_write_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let chunk = vec![7u8; 1 << 16];
    let t = Instant::now();
    let e = loop {
        match c.write(&chunk) {
            Ok(n) => assert!(n > 0),
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() < Duration::from_secs(10));
}

/// A read timeout inside a goroutine does not stop other goroutines (GOMAXPROCS=1 included).
#[goroutines::test]
fn parked_reader_does_not_block_others() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (_s, _) = l.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let reader = goroutines::go(move || (&c).read(&mut [0u8; 1]).unwrap_err().kind());
    let counter = goroutines::go(|| {
        let mut n = 0u64;
        for _ in 0..1000 {
            goroutines::yield_now();
            n += 1;
        }
        n
    });
    assert_eq!(counter.join().unwrap(), 1000);
    assert_eq!(reader.join().unwrap(), ErrorKind::TimedOut);
}

#[goroutines::test]
fn connect_to_closed_port_is_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    let a = format!("127.0.0.1:{port}").parse().unwrap();
    let e = TcpStream::connect_timeout(&a, Duration::from_secs(5)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    let e = TcpStream::connect_timeout(&a, Duration::ZERO).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

/// As with std, a timeout too large for an `Instant` means no deadline (it used to panic with
/// "overflow when adding duration to instant"); so does such a read timeout.
#[goroutines::test]
fn connect_timeout_duration_max() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    let mut s = TcpStream::connect_timeout(&a, Duration::MAX).unwrap();
    assert_eq!(s.peer_addr().unwrap(), a);
    let (mut peer, _) = l.accept().unwrap();
    s.set_read_timeout(Some(Duration::MAX)).unwrap();
    peer.write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"x");
}

#[goroutines::test]
fn bind_errors() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let e = TcpListener::bind(l.local_addr().unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
    // An address that resolves to nothing.
    let none: &[std::net::SocketAddr] = &[];
    assert_eq!(
        TcpListener::bind(none).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        TcpStream::connect(none).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

/// Accept reports the error of accept4(2): here EMFILE, with the fd limit lowered below the
/// fds in use. Runs in a child process so that the lowered limit does not leak into other tests.
#[test]
fn accept_reports_errors() {
    if std::env::var_os("GOROUTINES_NET_ACCEPT_CHILD").is_some() {
        goroutines::run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            // SAFETY: dup of stdin to the lowest free fd, closed at once: that number is the one
            // accept4 would get, and a limit equal to it makes accept4 fail with EMFILE.
            let lowest = unsafe {
                let fd = libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 0);
                libc::close(fd);
                fd
            } as u64;
            let lim = libc::rlimit {
                rlim_cur: lowest,
                rlim_max: libc::RLIM_INFINITY,
            };
            let mut old = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: plain getrlimit/setrlimit calls on live structs.
            unsafe {
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut old);
                libc::setrlimit(
                    libc::RLIMIT_NOFILE,
                    &libc::rlimit {
                        rlim_max: old.rlim_max,
                        ..lim
                    },
                );
            }
            let e = l.accept().unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
            println!("ACCEPT-EMFILE-OK");
        });
        return;
    }
    let out = common::run_test_in_child(
        "accept_reports_errors",
        &[("GOROUTINES_NET_ACCEPT_CHILD", "1")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ACCEPT-EMFILE-OK"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A peer that closes with unread data sends a reset: the reader gets ConnectionReset (or EOF
/// first on some kernels' timing) and writes then fail with a broken pipe or reset.
#[goroutines::test]
fn peer_reset() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    c.write_all(b"unread data").unwrap();
    // Let the data reach the peer's receive queue, then close it unread: the kernel sends RST.
    let mut waited = 0;
    while s.peek(&mut [0u8; 1]).unwrap() == 0 && waited < 100 {
        waited += 1;
    }
    drop(s);
    let reader = goroutines::go(move || {
        let mut buf = [0u8; 16];
        let r = c.read(&mut buf);
        let kind = match r {
            Ok(0) => None,
            Ok(n) => panic!("read {n} bytes from a reset connection"),
            Err(e) => Some(e.kind()),
        };
        // After the reset, writes fail.
        let mut werr = None;
        for _ in 0..100 {
            if let Err(e) = c.write_all(b"more") {
                werr = Some(e.kind());
                break;
            }
        }
        (kind, werr)
    });
    let (kind, werr) = reader.join().unwrap();
    assert_eq!(kind, Some(ErrorKind::ConnectionReset));
    assert!(
        matches!(
            werr,
            Some(ErrorKind::BrokenPipe) | Some(ErrorKind::ConnectionReset)
        ),
        "{werr:?}"
    );
}

/// Shutdown of one handle wakes a goroutine parked reading through another.
#[goroutines::test]
fn shutdown_wakes_parked_reader() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (_s, _) = l.accept().unwrap();
    let c2 = c.try_clone().unwrap();
    let reader = goroutines::go(move || (&c2).read(&mut [0u8; 8]).unwrap());
    sleep(Duration::from_millis(20));
    c.shutdown(Shutdown::Read).unwrap();
    assert_eq!(reader.join().unwrap(), 0);
}

#[goroutines::test]
fn addresses_and_options() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
    assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    c.set_nodelay(false).unwrap();
    assert!(!c.nodelay().unwrap());
    let l2 = l.try_clone().unwrap();
    assert_eq!(l2.local_addr().unwrap(), l.local_addr().unwrap());
    assert!(format!("{c:?}").contains("TcpStream"));
}

/// Conversions from and into std's types, and blocking use from a plain OS thread.
#[test]
fn std_conversions_and_plain_threads() {
    let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_l.local_addr().unwrap();
    let l = TcpListener::from(std_l);
    // A plain thread serves with the blocking-thread path (poll(2)).
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
        let std_l: std::net::TcpListener = l.into();
        std_l.local_addr().unwrap()
    });
    let rt = goroutines::Builder::new().build().unwrap();
    let echoed = rt.run(move || {
        let std_c = std::net::TcpStream::connect(addr).unwrap();
        let mut c = TcpStream::from(std_c);
        c.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).unwrap();
        let back: std::net::TcpStream = c.into();
        // Back in std's hands (blocking mode): the server closed, so this reads end-of-file.
        assert_eq!((&back).read(&mut [0u8; 1]).unwrap(), 0);
        buf
    });
    assert_eq!(&echoed, b"hello");
    assert_eq!(t.join().unwrap(), addr);
}

/// A socket first waited on in one runtime is then used by a goroutine of another runtime, both
/// while the first runtime lives (its poller wakes the foreign goroutine) and after it has been
/// dropped (the socket moves to the second runtime's poller).
#[test]
fn socket_used_from_two_runtimes() {
    let rt_a = goroutines::Builder::new().max_procs(1).build().unwrap();
    let rt_b = goroutines::Builder::new().max_procs(1).build().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = Arc::new(TcpStream::connect(l.local_addr().unwrap()).unwrap());
    let (mut s, _) = l.accept().unwrap();
    let c1 = c.clone();
    // Registers the fd with runtime A's poller.
    rt_a.run(move || {
        c1.set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        assert_eq!(
            (&*c1).read(&mut [0u8; 1]).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        c1.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    });
    for round in 0..2 {
        let c2 = c.clone();
        let h = rt_b.go(move || {
            let mut buf = [0u8; 5];
            (&*c2).read_exact(&mut buf).unwrap();
            buf
        });
        std::thread::sleep(Duration::from_millis(30));
        s.write_all(b"hello").unwrap();
        assert_eq!(&h.join().unwrap(), b"hello", "round {round}");
    }
    drop(rt_a);
    let c3 = c.clone();
    let h = rt_b.go(move || {
        let mut buf = [0u8; 3];
        (&*c3).read_exact(&mut buf).unwrap();
        buf
    });
    std::thread::sleep(Duration::from_millis(30));
    s.write_all(b"bye").unwrap();
    assert_eq!(&h.join().unwrap(), b"bye");
}

/// Every goroutine is parked on a socket and no timer is pending, so the idle M sleeps in
/// epoll_wait without a timeout; data written by a plain thread must still wake the reader.
#[goroutines::test]
fn idle_runtime_wakes_on_io_from_a_thread() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    let std_s = s.into_std();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        (&std_s).write_all(b"wake").unwrap();
        std_s
    });
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"wake");
    drop(t.join().unwrap());
}

/// Goroutines sleeping on timers and goroutines parked on sockets at once: the timed sleeper
/// is the M blocked in epoll_wait, so timers and I/O both wake it.
#[goroutines::test]
fn timers_and_io_together() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    goroutines::go(move || echo_server(l));
    let sleepers: Vec<_> = (0..10)
        .map(|i| {
            goroutines::go(move || {
                for _ in 0..5 {
                    sleep(Duration::from_millis(2 + i));
                }
            })
        })
        .collect();
    let talkers: Vec<_> = (0..10)
        .map(|_| {
            goroutines::go(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                for k in 0..20u8 {
                    c.write_all(&[k]).unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).unwrap();
                    assert_eq!(b[0], k);
                    if k % 5 == 0 {
                        sleep(Duration::from_millis(1));
                    }
                }
            })
        })
        .collect();
    for h in sleepers.into_iter().chain(talkers) {
        h.join().unwrap();
    }
}

/// A listener whose accept queue is full drops new SYNs, so a connect cannot complete and
/// `connect_timeout` gives up with TimedOut (loopback only: the queue is shrunk to one entry).
#[goroutines::test]
fn connect_timeout_expires() {
    use std::os::fd::AsRawFd;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on a live listening socket only changes its backlog.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    let addr = l.local_addr().unwrap();
    let mut held = Vec::new();
    let mut timed_out = false;
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(c) => held.push(c),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
                timed_out = true;
                break;
            }
        }
    }
    assert!(
        timed_out,
        "{} connects completed without accept",
        held.len()
    );
}

/// The same errors from a plain OS thread, which waits with poll(2) instead of the netpoller.
#[test]
fn plain_thread_connect_refused_and_read_timeout() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    assert_eq!(
        c.read(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    let (mut s, _) = l.accept().unwrap();
    s.write_all(b"k").unwrap();
    let mut b = [0u8; 1];
    c.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"k");
}

/// Ported from Go's net/timeout_test.go TestReadTimeout: buffered data is read normally, then
/// every further read times out (twice per timeout value: a timeout leaves the socket usable).
#[goroutines::test]
fn go_read_timeout() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = goroutines::go(move || {
        let (mut c, _) = l.accept().unwrap();
        c.write_all(b"READ TIMEOUT TEST").unwrap();
        // Keep the connection open until the client is done.
        let _ = c.read(&mut [0u8; 1]);
    });
    let mut c = TcpStream::connect(addr).unwrap();
    let mut got = 0;
    for t in [Duration::from_millis(5), Duration::from_millis(50)] {
        c.set_read_timeout(Some(t)).unwrap();
        for _ in 0..2 {
            loop {
                match c.read(&mut [0u8; 1]) {
                    Ok(n) => {
                        assert_eq!(n, 1);
                        got += 1;
                    }
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
                        break;
                    }
                }
            }
        }
    }
    assert_eq!(got, b"READ TIMEOUT TEST".len());
    drop(c);
    server.join().unwrap();
}

/// Ported from Go's net/timeout_test.go TestReadWriteProlongedTimeout: a reader and a writer
/// on one connection keep renewing generous timeouts while data flows; none may fire.
#[goroutines::test]
fn go_read_write_prolonged_timeout() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = goroutines::go(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut buf = [0u8; 1];
        for _ in 0..200 {
            c.read_exact(&mut buf).unwrap();
            c.write_all(&buf).unwrap();
        }
    });
    let c = Arc::new(TcpStream::connect(addr).unwrap());
    let c2 = c.clone();
    let reader = goroutines::go(move || {
        let mut buf = [0u8; 1];
        for i in 0..200u32 {
            c2.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            (&*c2).read_exact(&mut buf).unwrap();
            assert_eq!(buf[0], i as u8);
        }
    });
    for i in 0..200u32 {
        c.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        (&*c).write_all(&[i as u8]).unwrap();
    }
    reader.join().unwrap();
    server.join().unwrap();
}
