//! `net::lookup_host` and names given to connect/bind/send_to: resolution that parks.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use common::{at_procs, watchdog, GapTicker};
use goroutines::net::{lookup_host, TcpListener, TcpStream, UdpSocket};

fn lookups(procs: usize) {
    at_procs(procs, || {
        let a: Vec<_> = lookup_host("localhost:8080").unwrap().collect();
        assert!(!a.is_empty());
        assert!(a.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
        assert_eq!(
            lookup_host("127.0.0.1:1").unwrap().collect::<Vec<_>>(),
            ["127.0.0.1:1".parse().unwrap()]
        );
        assert_eq!(
            lookup_host("[::1]:2").unwrap().next(),
            Some("[::1]:2".parse().unwrap())
        );
        // Errors are std's.
        for bad in ["localhost", "localhost:notaport", "no-such-host.invalid:80"] {
            let ours = lookup_host(bad).unwrap_err();
            let std = std::net::ToSocketAddrs::to_socket_addrs(bad).unwrap_err();
            assert_eq!(ours.kind(), std.kind(), "{bad}: {ours} vs {std}");
        }
    });
}

#[test]
fn lookup_host_procs_1() {
    watchdog(60);
    lookups(1);
}

#[test]
fn lookup_host_procs_4() {
    watchdog(60);
    lookups(4);
}

/// connect, bind and send_to accept names and resolve them through the same path.
#[test]
fn names_in_connect_bind_send_to() {
    watchdog(60);
    for procs in [1, 4] {
        at_procs(procs, || {
            let l = TcpListener::bind("localhost:0").unwrap();
            let port = l.local_addr().unwrap().port();
            let srv = goroutines::go(move || {
                let (mut s, _) = l.accept().unwrap();
                let mut b = [0u8; 4];
                s.read_exact(&mut b).unwrap();
                s.write_all(&b).unwrap();
            });
            let mut c = TcpStream::connect(format!("localhost:{port}")).unwrap();
            c.write_all(b"ping").unwrap();
            let mut b = [0u8; 4];
            c.read_exact(&mut b).unwrap();
            assert_eq!(&b, b"ping");
            srv.join().unwrap();

            let u = UdpSocket::bind("localhost:0").unwrap();
            let to = format!("localhost:{}", u.local_addr().unwrap().port());
            let v = UdpSocket::bind(if u.local_addr().unwrap().is_ipv4() {
                "127.0.0.1:0"
            } else {
                "[::1]:0"
            })
            .unwrap();
            assert_eq!(v.send_to(b"dgram", to.as_str()).unwrap(), 5);
            let mut buf = [0u8; 16];
            let (n, _) = u.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"dgram");
            let e = v.send_to(b"x", "no-such-host.invalid:9").unwrap_err();
            assert_ne!(e.kind(), ErrorKind::WouldBlock);
        });
    }
}

/// 200 concurrent lookups of localhost at GOMAXPROCS=1 do not stop a ticking goroutine.
#[test]
fn concurrent_lookups_do_not_block_the_p() {
    watchdog(60);
    at_procs(1, || {
        let ticker = GapTicker::start();
        let hs: Vec<_> = (0..200)
            .map(|i| {
                goroutines::go(move || {
                    lookup_host(&format!("localhost:{}", 1000 + i))
                        .unwrap()
                        .count()
                })
            })
            .collect();
        for h in hs {
            assert!(h.join().unwrap() >= 1);
        }
        goroutines::time::sleep(Duration::from_millis(20));
        let (worst, ticks) = ticker.finish();
        assert!(ticks >= 2);
        assert!(
            worst < Duration::from_millis(150),
            "worst ticker gap {worst:?}"
        );
    });
}
