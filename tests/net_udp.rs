//! UDP round trips, connected and unconnected, timeouts, and conversions.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use goroutines::net::UdpSocket;

#[goroutines::test]
fn round_trips_between_goroutines() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let saddr = server.local_addr().unwrap();
    let srv = goroutines::go(move || {
        let mut buf = [0u8; 1500];
        let mut served = 0;
        loop {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            if &buf[..n] == b"quit" {
                return served;
            }
            server.send_to(&buf[..n], from).unwrap();
            served += 1;
        }
    });
    let clients: Vec<_> = (0..20)
        .map(|i| {
            goroutines::go(move || {
                let c = UdpSocket::bind("127.0.0.1:0").unwrap();
                let mut buf = [0u8; 1500];
                for j in 0..50 {
                    let msg = format!("client {i} datagram {j}");
                    c.send_to(msg.as_bytes(), saddr).unwrap();
                    let (n, from) = c.recv_from(&mut buf).unwrap();
                    assert_eq!(from, saddr);
                    assert_eq!(&buf[..n], msg.as_bytes());
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"quit", saddr)
        .unwrap();
    assert_eq!(srv.join().unwrap(), 20 * 50);
}

#[goroutines::test]
fn connected_send_recv() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    let h = goroutines::go(move || {
        let mut buf = [0u8; 64];
        for i in 0..100u32 {
            let n = b.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], i.to_be_bytes());
            b.send(&buf[..n]).unwrap();
        }
    });
    let mut buf = [0u8; 64];
    for i in 0..100u32 {
        a.send(&i.to_be_bytes()).unwrap();
        let n = a.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], i.to_be_bytes());
    }
    h.join().unwrap();
}

/// A datagram to a port nobody listens on earns an ICMP port-unreachable, which a connected
/// socket reports as ConnectionRefused on its next receive.
#[goroutines::test]
fn connected_to_closed_port_is_refused() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.connect(("127.0.0.1", port)).unwrap();
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    a.send(b"anyone?").unwrap();
    let e = a.recv(&mut [0u8; 16]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}

#[goroutines::test]
fn read_timeout() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
    let t = Instant::now();
    assert_eq!(
        a.recv_from(&mut [0u8; 8]).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    assert!(t.elapsed() >= Duration::from_millis(30));
    // Still usable afterwards.
    a.send_to(b"x", a.local_addr().unwrap()).unwrap();
    assert_eq!(a.recv_from(&mut [0u8; 8]).unwrap().0, 1);
}

#[goroutines::test]
fn many_concurrent_receivers_on_one_socket() {
    // Eight goroutines receive on the same socket at once (a shared reference): every datagram
    // wakes the parked receivers, exactly one gets it and acknowledges it. One datagram is in
    // flight at a time, so none can be dropped for want of buffer space.
    let s = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    let addr = s.local_addr().unwrap();
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            goroutines::go(move || {
                let mut got = 0;
                let mut buf = [0u8; 8];
                loop {
                    let (n, from) = s.recv_from(&mut buf).unwrap();
                    s.send_to(b"ack", from).unwrap();
                    if &buf[..n] == b"stop" {
                        return got;
                    }
                    got += 1;
                }
            })
        })
        .collect();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut ack = [0u8; 8];
    for _ in 0..400 {
        tx.send_to(b"d", addr).unwrap();
        assert_eq!(tx.recv(&mut ack).unwrap(), 3);
    }
    for _ in 0..8 {
        tx.send_to(b"stop", addr).unwrap();
        assert_eq!(tx.recv(&mut ack).unwrap(), 3);
    }
    let total: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 400);
}

#[test]
fn std_conversions_and_plain_thread() {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    let s = UdpSocket::from(s);
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 8];
        let (n, from) = s.recv_from(&mut buf).unwrap();
        s.send_to(&buf[..n], from).unwrap();
        let back: std::net::UdpSocket = s.into();
        back.local_addr().unwrap()
    });
    let rt = goroutines::Builder::new().build().unwrap();
    rt.run(move || {
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.send_to(b"hey", addr).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(c.recv_from(&mut buf).unwrap(), (3, addr));
        let c2 = c.try_clone().unwrap();
        assert_eq!(c2.local_addr().unwrap(), c.local_addr().unwrap());
        let _std: std::net::UdpSocket = c2.into_std();
    });
    assert_eq!(t.join().unwrap(), addr);
}
