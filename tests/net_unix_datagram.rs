//! `net::UnixDatagram`: bound and paired sockets, parking receives and sends, timeouts.

mod common;

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use common::{at_procs, watchdog, GapTicker};
use goroutines::net::UnixDatagram;

fn sock_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("goroutines-unixgram-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn echo_by_path(procs: usize) {
    let srv_path = sock_path(&format!("srv{procs}.sock"));
    at_procs(procs, move || {
        let srv = UnixDatagram::bind(&srv_path).unwrap();
        assert_eq!(
            srv.local_addr().unwrap().as_pathname(),
            Some(srv_path.as_path())
        );
        let server = goroutines::go(move || {
            let mut buf = [0u8; 64];
            for _ in 0..100 {
                let (n, from) = srv.recv_from(&mut buf).unwrap();
                srv.send_to(&buf[..n], from.as_pathname().unwrap()).unwrap();
            }
        });
        let clients: Vec<_> = (0..10)
            .map(|i| {
                let srv_path = srv_path.clone();
                goroutines::go(move || {
                    let me = sock_path(&format!("c{procs}-{i}.sock"));
                    let c = UnixDatagram::bind(&me).unwrap();
                    c.connect(&srv_path).unwrap();
                    for j in 0..10 {
                        let msg = format!("{i}:{j}");
                        c.send(msg.as_bytes()).unwrap();
                        let mut buf = [0u8; 64];
                        let n = c.recv(&mut buf).unwrap();
                        assert_eq!(&buf[..n], msg.as_bytes());
                    }
                    std::fs::remove_file(&me).unwrap();
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        server.join().unwrap();
        std::fs::remove_file(&srv_path).unwrap();
    });
}

#[test]
fn echo_by_path_procs_1() {
    watchdog(60);
    echo_by_path(1);
}

#[test]
fn echo_by_path_procs_4() {
    watchdog(60);
    echo_by_path(4);
}

/// A sender parks while the receiver's queue is full, and resumes as it drains.
#[test]
fn send_parks_while_the_peer_is_full() {
    watchdog(60);
    for procs in [1, 4] {
        at_procs(procs, || {
            let (a, b) = UnixDatagram::pair().unwrap();
            let n = 5000; // far more than the default receive queue of a Unix datagram socket
            let sender = goroutines::go(move || {
                for i in 0u32..n {
                    a.send(&i.to_le_bytes()).unwrap();
                }
            });
            let mut buf = [0u8; 4];
            for i in 0u32..n {
                assert_eq!(b.recv(&mut buf).unwrap(), 4);
                assert_eq!(u32::from_le_bytes(buf), i);
            }
            sender.join().unwrap();
        });
    }
}

#[test]
fn recv_does_not_block_the_p() {
    watchdog(60);
    at_procs(1, || {
        let ticker = GapTicker::start();
        let (a, b) = UnixDatagram::pair().unwrap();
        let h = goroutines::go(move || {
            let mut buf = [0u8; 8];
            let n = b.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        goroutines::time::sleep(Duration::from_millis(150));
        a.send(b"late").unwrap();
        assert_eq!(h.join().unwrap(), b"late");
        let (worst, ticks) = ticker.finish();
        assert!(ticks >= 30, "ticker ticked {ticks} times");
        assert!(worst < Duration::from_millis(150), "worst gap {worst:?}");
    });
}

#[test]
fn timeouts_errors_and_conversions() {
    watchdog(60);
    at_procs(1, || {
        let (a, b) = UnixDatagram::pair().unwrap();
        b.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(b.read_timeout().unwrap(), Some(Duration::from_millis(20)));
        assert_eq!(
            b.recv(&mut [0u8; 4]).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        assert_eq!(
            a.set_write_timeout(Some(Duration::ZERO))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        let c = b.try_clone().unwrap();
        assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(20)));
        let u = UnixDatagram::unbound().unwrap();
        assert_eq!(u.send(b"x").unwrap_err().kind(), ErrorKind::NotConnected);
        let std_err = std::os::unix::net::UnixDatagram::unbound()
            .unwrap()
            .send_to(b"x", "/nonexistent/x.sock")
            .unwrap_err();
        let ours = u.send_to(b"x", "/nonexistent/x.sock").unwrap_err();
        assert_eq!(ours.kind(), std_err.kind());
        let s: std::os::unix::net::UnixDatagram = a.into();
        s.send(b"std").unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(c.recv(&mut buf).unwrap(), 3);
        let back = UnixDatagram::from(s);
        back.shutdown(std::net::Shutdown::Both).unwrap();
    });
}
