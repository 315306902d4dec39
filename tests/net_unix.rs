//! Unix domain stream sockets: echo through a listener, pairs, timeouts, errors, conversions.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::path::PathBuf;
use std::time::Duration;

use goroutines::net::{UnixListener, UnixStream};

fn sock_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("goroutines-net-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

#[goroutines::test]
fn echo_through_listener() {
    let path = sock_path("echo.sock");
    let l = UnixListener::bind(&path).unwrap();
    assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    let server = goroutines::go(move || {
        let mut hs = Vec::new();
        for _ in 0..50 {
            let mut s = l.incoming().next().unwrap().unwrap();
            hs.push(goroutines::go(move || {
                let mut buf = [0u8; 1024];
                loop {
                    match s.read(&mut buf).unwrap() {
                        0 => return,
                        n => s.write_all(&buf[..n]).unwrap(),
                    }
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
    });
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let path = path.clone();
            goroutines::go(move || {
                let mut c = UnixStream::connect(&path).unwrap();
                for j in 0..20 {
                    let msg = format!("{i}:{j}");
                    c.write_all(msg.as_bytes()).unwrap();
                    let mut buf = vec![0u8; msg.len()];
                    c.read_exact(&mut buf).unwrap();
                    assert_eq!(buf, msg.as_bytes());
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    server.join().unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[goroutines::test]
fn pair_large_transfer_both_directions() {
    let (a, b) = UnixStream::pair().unwrap();
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 249) as u8).collect();
    let d2 = data.clone();
    let writer = goroutines::go(move || {
        (&a).write_all(&d2).unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        (&a).read_to_end(&mut back).unwrap();
        back
    });
    let mut got = Vec::new();
    (&b).read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), data.len());
    (&b).write_all(b"done").unwrap();
    drop(b);
    assert_eq!(writer.join().unwrap(), b"done");
    assert!(got == data);
}

#[goroutines::test]
fn read_and_write_timeouts() {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    assert_eq!(
        (&a).read(&mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    a.set_write_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let chunk = vec![0u8; 1 << 16];
    let e = loop {
        if let Err(e) = (&a).write(&chunk) {
            break e;
        }
    };
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    drop(b);
}

#[goroutines::test]
fn connect_errors() {
    let missing = sock_path("missing.sock");
    assert_eq!(
        UnixStream::connect(&missing).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // A socket file nobody listens on any more.
    let stale = sock_path("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    assert_eq!(
        UnixStream::connect(&stale).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    assert_eq!(
        UnixListener::bind(&stale).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    std::fs::remove_file(&stale).unwrap();
    let long = PathBuf::from("/tmp/".to_string() + &"x".repeat(200));
    assert_eq!(
        UnixListener::bind(&long).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

/// Closing one end wakes the peer parked in read with end-of-file; writing then fails.
#[goroutines::test]
fn peer_close() {
    let (a, b) = UnixStream::pair().unwrap();
    let reader = goroutines::go(move || {
        let n = (&b).read(&mut [0u8; 8]).unwrap();
        (n, b)
    });
    for _ in 0..10 {
        goroutines::yield_now();
    }
    drop(a);
    let (n, b) = reader.join().unwrap();
    assert_eq!(n, 0);
    let e = (&b).write_all(b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
}

#[test]
fn std_conversions_and_plain_thread() {
    let path = sock_path("std.sock");
    let l = UnixListener::from(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 3];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
        let _std: std::os::unix::net::UnixListener = l.into();
    });
    let rt = goroutines::Builder::new().build().unwrap();
    let p2 = path.clone();
    rt.run(move || {
        let c = std::os::unix::net::UnixStream::connect(&p2).unwrap();
        let mut c = UnixStream::from(c);
        c.write_all(b"abc").unwrap();
        let mut buf = [0u8; 3];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"abc");
        let c2 = c.try_clone().unwrap();
        let _s: std::os::unix::net::UnixStream = c2.into();
    });
    t.join().unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// Many pairs ping-pong at once: a lost wake-up would hang here.
#[goroutines::test]
fn many_pairs_ping_pong() {
    let hs: Vec<_> = (0..200)
        .map(|_| {
            let (a, b) = UnixStream::pair().unwrap();
            let pong = goroutines::go(move || {
                let mut buf = [0u8; 8];
                loop {
                    match (&b).read(&mut buf).unwrap() {
                        0 => return,
                        n => (&b).write_all(&buf[..n]).unwrap(),
                    }
                }
            });
            goroutines::go(move || {
                let mut buf = [0u8; 8];
                for i in 0..200u64 {
                    (&a).write_all(&i.to_le_bytes()).unwrap();
                    (&a).read_exact(&mut buf).unwrap();
                    assert_eq!(u64::from_le_bytes(buf), i);
                }
                drop(a);
                pong.join().unwrap();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}
