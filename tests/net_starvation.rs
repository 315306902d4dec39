//! Goroutines waiting on sockets are not starved by goroutines that keep every run queue busy
//! (a yield loop never lets a P run dry, so only sysmon's "poll when nobody has for 10 ms" finds
//! the ready socket). Regression test for dropping the every-61st-schedule poll, which made
//! p99 latency worse under load.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::go;
use goroutines::net::{TcpListener, TcpStream};

#[goroutines::test]
fn yield_loops_do_not_starve_a_reader() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..goroutines::max_procs() * 2)
        .map(|_| {
            let stop = stop.clone();
            go(move || {
                while !stop.load(Ordering::Relaxed) {
                    goroutines::yield_now();
                }
            })
        })
        .collect();
    // A plain thread writes after 50 ms.
    let writer = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(b"ping").unwrap();
        s
    });
    let (mut conn, _) = listener.accept().unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4];
    conn.read_exact(&mut buf).unwrap();
    let waited = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
    drop(writer.join().unwrap());
    assert_eq!(&buf, b"ping");
    assert!(
        waited < Duration::from_secs(2),
        "the reader waited {waited:?} behind yield loops"
    );
    let _ = TcpStream::connect(addr); // the listener still works
}
