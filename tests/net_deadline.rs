//! Go's deadlines on every socket type: absolute, shared with `try_clone`s, and applied to
//! operations already parked.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use common::{at_procs, watchdog, GapTicker};
use goroutines::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixStream};

/// What the tests need of a socket: a one-byte read and write, and the deadline setters.
trait Sock: Send + Sync + Sized + 'static {
    fn pair() -> (Self, Self);
    fn clone_handle(&self) -> Self;
    fn read1(&self) -> std::io::Result<usize>;
    fn write_big(&self) -> std::io::Result<usize>;
    fn deadline(&self, t: Option<Instant>) -> std::io::Result<()>;
    fn read_deadline(&self, t: Option<Instant>) -> std::io::Result<()>;
    fn write_deadline(&self, t: Option<Instant>) -> std::io::Result<()>;
    fn read_timeout(&self, d: Option<Duration>) -> std::io::Result<()>;
}

macro_rules! sock_common {
    () => {
        fn clone_handle(&self) -> Self {
            self.try_clone().unwrap()
        }
        fn deadline(&self, t: Option<Instant>) -> std::io::Result<()> {
            self.set_deadline(t)
        }
        fn read_deadline(&self, t: Option<Instant>) -> std::io::Result<()> {
            self.set_read_deadline(t)
        }
        fn write_deadline(&self, t: Option<Instant>) -> std::io::Result<()> {
            self.set_write_deadline(t)
        }
        fn read_timeout(&self, d: Option<Duration>) -> std::io::Result<()> {
            self.set_read_timeout(d)
        }
    };
}

impl Sock for TcpStream {
    fn pair() -> (Self, Self) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }
    fn read1(&self) -> std::io::Result<usize> {
        (&*self).read(&mut [0u8; 1])
    }
    fn write_big(&self) -> std::io::Result<usize> {
        (&*self).write(&[0u8; 65536])
    }
    sock_common!();
}

impl Sock for UnixStream {
    fn pair() -> (Self, Self) {
        UnixStream::pair().unwrap()
    }
    fn read1(&self) -> std::io::Result<usize> {
        (&*self).read(&mut [0u8; 1])
    }
    fn write_big(&self) -> std::io::Result<usize> {
        (&*self).write(&[0u8; 65536])
    }
    sock_common!();
}

impl Sock for UdpSocket {
    fn pair() -> (Self, Self) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        (a, b)
    }
    fn read1(&self) -> std::io::Result<usize> {
        self.recv(&mut [0u8; 1])
    }
    fn write_big(&self) -> std::io::Result<usize> {
        self.send(&[0u8; 1024])
    }
    sock_common!();
}

impl Sock for UnixDatagram {
    fn pair() -> (Self, Self) {
        UnixDatagram::pair().unwrap()
    }
    fn read1(&self) -> std::io::Result<usize> {
        self.recv(&mut [0u8; 1])
    }
    fn write_big(&self) -> std::io::Result<usize> {
        self.send(&[0u8; 1024])
    }
    sock_common!();
}

/// A goroutine parked in a read on a clone is woken with TimedOut by a deadline in the past;
/// `None` clears it; a future deadline expires on its own; the read timeout still works.
fn read_deadline_wakes_parked_reader<S: Sock>() {
    let (a, b) = S::pair();
    let reader = a.clone_handle();
    let h = goroutines::go(move || {
        let t = Instant::now();
        let e = reader.read1().unwrap_err();
        (e.kind(), t.elapsed(), reader)
    });
    goroutines::time::sleep(Duration::from_millis(50)); // let it park
    a.read_deadline(Some(Instant::now() - Duration::from_secs(1)))
        .unwrap();
    let (kind, waited, reader) = h.join().unwrap();
    assert_eq!(kind, ErrorKind::TimedOut);
    assert!(
        waited >= Duration::from_millis(40),
        "woke after {waited:?}, before the deadline was set"
    );
    // Applies to the clone and the original alike, at once, until cleared.
    assert_eq!(a.read1().unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(reader.read1().unwrap_err().kind(), ErrorKind::TimedOut);
    a.deadline(None).unwrap();
    let h = goroutines::go(move || reader.read1());
    goroutines::time::sleep(Duration::from_millis(20));
    let mut w = b.write_big();
    while w.is_err() {
        w = b.write_big();
    }
    assert!(h.join().unwrap().unwrap() >= 1);
    // A future deadline expires by itself, after it and not long before.
    let (c, _d) = S::pair();
    let t = Instant::now();
    c.read_deadline(Some(t + Duration::from_millis(30)))
        .unwrap();
    assert_eq!(c.read1().unwrap_err().kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() >= Duration::from_millis(30));
    // Moving the deadline later while parked: the reader re-parks until the new one.
    let c2 = c.clone_handle();
    c.read_deadline(Some(Instant::now() + Duration::from_secs(30)))
        .unwrap();
    let h = goroutines::go(move || {
        let t = Instant::now();
        (c2.read1().unwrap_err().kind(), t.elapsed())
    });
    goroutines::time::sleep(Duration::from_millis(20));
    c.read_deadline(Some(Instant::now() + Duration::from_millis(40)))
        .unwrap();
    let (kind, waited) = h.join().unwrap();
    assert_eq!(kind, ErrorKind::TimedOut);
    assert!(
        waited >= Duration::from_millis(55) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
    // set_read_timeout still bounds each call, as std's.
    c.read_deadline(None).unwrap();
    c.read_timeout(Some(Duration::from_millis(10))).unwrap();
    assert_eq!(c.read1().unwrap_err().kind(), ErrorKind::TimedOut);
}

/// A writer parked on a full socket is woken by a write deadline.
fn write_deadline_wakes_parked_writer<S: Sock>() {
    let (a, _b) = S::pair();
    let writer = a.clone_handle();
    let h = goroutines::go(move || loop {
        if let Err(e) = writer.write_big() {
            return e.kind();
        }
    });
    goroutines::time::sleep(Duration::from_millis(50));
    a.write_deadline(Some(Instant::now())).unwrap();
    assert_eq!(h.join().unwrap(), ErrorKind::TimedOut);
}

fn all_types(procs: usize) {
    at_procs(procs, || {
        read_deadline_wakes_parked_reader::<TcpStream>();
        read_deadline_wakes_parked_reader::<UnixStream>();
        read_deadline_wakes_parked_reader::<UdpSocket>();
        read_deadline_wakes_parked_reader::<UnixDatagram>();
        write_deadline_wakes_parked_writer::<TcpStream>();
        write_deadline_wakes_parked_writer::<UnixStream>();
        write_deadline_wakes_parked_writer::<UnixDatagram>();
    });
}

#[test]
fn deadlines_procs_1() {
    watchdog(60);
    all_types(1);
}

#[test]
fn deadlines_procs_4() {
    watchdog(60);
    all_types(4);
}

/// At GOMAXPROCS=1, a reader parked until a far deadline leaves the P to a ticker, and a
/// deadline set by another goroutine wakes it.
#[test]
fn parked_reader_does_not_block_the_p() {
    watchdog(60);
    at_procs(1, || {
        let ticker = GapTicker::start();
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_read_deadline(Some(Instant::now() + Duration::from_secs(30)))
            .unwrap();
        let r = a.try_clone().unwrap();
        let h = goroutines::go(move || (&r).read(&mut [0u8; 1]).unwrap_err().kind());
        goroutines::time::sleep(Duration::from_millis(150));
        a.set_deadline(Some(Instant::now())).unwrap();
        assert_eq!(h.join().unwrap(), ErrorKind::TimedOut);
        let (worst, ticks) = ticker.finish();
        assert!(ticks >= 30, "ticker ticked {ticks} times");
        assert!(worst < Duration::from_millis(150), "worst gap {worst:?}");
    });
}
