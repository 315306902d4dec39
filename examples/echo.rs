//! A TCP echo server in plain blocking style, one goroutine per connection, as Go writes it.
//!
//! ```text
//! cargo run --release --example echo -- 7000        # listen on 127.0.0.1:7000
//! cargo run --release --example echo -- 0.0.0.0:7000
//! cargo run --release --example echo -- 7000 --selftest 100 1000
//!     # also starts 100 client goroutines doing 1,000 round trips each and prints the rate
//! ```

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use goroutines::net::{TcpListener, TcpStream};

fn serve(mut conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if conn.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// `clients` goroutines each do `rounds` 64-byte round trips; prints the total rate.
fn selftest(addr: SocketAddr, clients: usize, rounds: usize) {
    let start = Instant::now();
    let hs: Vec<_> = (0..clients)
        .map(|_| {
            goroutines::go(move || {
                let mut c = TcpStream::connect(addr).expect("connect");
                c.set_nodelay(true).unwrap();
                let msg = [b'x'; 64];
                let mut buf = [0u8; 64];
                for _ in 0..rounds {
                    c.write_all(&msg).unwrap();
                    c.read_exact(&mut buf).unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let el = start.elapsed();
    let total = clients * rounds;
    println!(
        "{clients} connections x {rounds} round trips: {total} in {el:.2?} = {:.0} round trips/s",
        total as f64 / el.as_secs_f64()
    );
}

#[goroutines::main]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = args.first().map(String::as_str).unwrap_or("7000");
    let addr = if spec.contains(':') {
        spec.to_string()
    } else {
        format!("127.0.0.1:{spec}")
    };
    let listener = TcpListener::bind(&addr).expect("bind");
    let local = listener.local_addr().unwrap();
    eprintln!("echo: listening on {local}");
    let server = goroutines::go(move || {
        for conn in listener.incoming() {
            match conn {
                Ok(c) => {
                    goroutines::go(move || serve(c));
                }
                Err(e) => eprintln!("echo: accept: {e}"),
            }
        }
    });
    if args.get(1).map(String::as_str) == Some("--selftest") {
        let clients = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
        let rounds = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
        selftest(local, clients, rounds);
        return;
    }
    server.join().unwrap();
}
