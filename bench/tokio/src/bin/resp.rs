//! A Redis-protocol (RESP2) server, one task per connection: the tokio side of the resp
//! scenario, of the same design as examples/resp.rs, whose protocol and keyspace it includes
//! (examples/resp/proto.rs). An idle connection awaits readability holding no buffer, then
//! takes a 16 KiB read buffer from a pool and gives it back when everything read is answered;
//! replies are written when no complete request is left. Shards are `std::sync::Mutex`es,
//! held only to copy a value, never across an `.await`.
//!
//! Usage: `resp [ADDR]` (default 127.0.0.1:6380). Prints `listening: ADDR` once bound.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

#[path = "../../../../examples/resp/proto.rs"]
#[allow(dead_code)]
mod proto;
use proto::{answer, Scratch, Stop, Store, READ_BUF};

/// The keyspace's shard lock for proto.rs: a std mutex whose `lock` returns the guard.
pub struct Shard<T>(Mutex<T>);

impl<T> Shard<T> {
    pub fn new(v: T) -> Shard<T> {
        Shard(Mutex::new(v))
    }
    pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

const OUT_FLUSH: usize = 64 * 1024;
const POOL_MAX: usize = 1024;

struct Bufs {
    rd: Vec<u8>,
    start: usize,
    end: usize,
    scratch: Scratch,
    out: Vec<u8>,
}

struct Server {
    store: Store,
    pool: Mutex<Vec<Bufs>>,
}

impl Server {
    fn take(&self) -> Bufs {
        self.pool.lock().unwrap().pop().unwrap_or_else(|| Bufs {
            rd: vec![0; READ_BUF],
            start: 0,
            end: 0,
            scratch: Scratch::default(),
            out: Vec::with_capacity(1024),
        })
    }

    fn give(&self, mut b: Bufs) {
        if b.rd.len() != READ_BUF {
            return;
        }
        b.start = 0;
        b.end = 0;
        b.out.clear();
        b.out.shrink_to(OUT_FLUSH);
        let mut pool = self.pool.lock().unwrap();
        if pool.len() < POOL_MAX {
            pool.push(b);
        }
    }
}

async fn connection(conn: &mut TcpStream, srv: &Server, bufs: &mut Option<Bufs>) -> std::io::Result<()> {
    loop {
        if bufs.is_none() {
            conn.readable().await?;
            *bufs = Some(srv.take());
        }
        let b = bufs.as_mut().unwrap();
        if b.end == b.rd.len() {
            if b.start > 0 {
                b.rd.copy_within(b.start..b.end, 0);
                b.end -= b.start;
                b.start = 0;
            } else {
                let n = b.rd.len();
                b.rd.resize(n * 2, 0);
            }
        }
        let n = match conn.try_read(&mut b.rd[b.end..]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if b.start == b.end {
                    let b = bufs.take().unwrap();
                    srv.give(b);
                } else {
                    conn.readable().await?;
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        b.end += n;
        loop {
            let (used, stop) = answer(&b.rd[b.start..b.end], &mut b.scratch, &srv.store, &mut b.out, OUT_FLUSH);
            b.start += used;
            if !b.out.is_empty() {
                conn.write_all(&b.out).await?;
                b.out.clear();
            }
            match stop {
                Stop::Full => continue,
                Stop::Close => return Ok(()),
                Stop::Incomplete => break,
            }
        }
        if b.start == b.end {
            let b = bufs.take().unwrap();
            srv.give(b);
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:6380".to_string());
    // Each connection is a file descriptor: 10,000 clients need more than the usual 1,024.
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed, which lives here.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    goroutines_bench_tokio::runtime().block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening: {}", listener.local_addr()?);
        let srv = Arc::new(Server { store: Store::new(), pool: Mutex::new(Vec::new()) });
        loop {
            let (mut conn, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("resp: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = conn.set_nodelay(true);
            let srv = srv.clone();
            tokio::spawn(async move {
                let mut bufs = None;
                let _ = connection(&mut conn, &srv, &mut bufs).await;
                if let Some(b) = bufs {
                    srv.give(b);
                }
            });
        }
    })
}
