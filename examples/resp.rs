//! A Redis-protocol (RESP2) server, one goroutine per connection, as a Go programmer writes it.
//!
//! ```text
//! cargo run --release --example resp                     # listen on 127.0.0.1:6380
//! cargo run --release --example resp -- 0.0.0.0:6379 --procs 2
//! redis-benchmark -p 6380 -t set,get,lrange_100 -c 50 -P 16 -q
//! ```
//!
//! Commands: PING, ECHO, SET, GET, INCR, DEL, LPUSH, RPUSH, LPOP, RPOP, LRANGE, CONFIG GET (a
//! few read-only settings, enough for redis-benchmark), QUIT. Requests come as RESP arrays of
//! bulk strings or as inline commands (`PING\r\n`, what telnet sends), and may be pipelined.
//!
//! # Design
//!
//! 1. Each connection is one goroutine that reads, parses and executes every complete command
//!    in its buffer, appending the replies to an output buffer, and writes that out only when
//!    no complete command is left (so a pipeline of 16 commands costs one `write`, as in Redis).
//! 2. The keyspace is split into [`proto::SHARDS`] maps, each behind a `goroutines::sync::Mutex`,
//!    chosen by a hash of the key: connections touching different keys rarely meet on a lock,
//!    and a lock is held only to copy a value in or out (never across I/O).
//! 3. An idle connection holds no buffer. It waits for readability with a one-byte `peek`
//!    (parked in the netpoller, on a stack of one page), and only then takes a 16 KiB read
//!    buffer and its reply buffer from a shared pool; when everything read has been answered
//!    the buffers go back. This is what Go's net/http does with its pooled bufio readers, and
//!    it keeps 10,000 idle connections at a few KiB each instead of 16 KiB or more.
//! 4. Bad input is answered with Redis's error text (`-ERR Protocol error: invalid bulk
//!    length`, ...) and the connection is closed. Declared lengths are checked against Redis's
//!    limits (1,048,576 elements, 512 MB per bulk string) before anything is reserved, and the
//!    read buffer then grows only as bytes actually arrive, so a client that declares a huge
//!    length cannot make the server allocate it.
//!
//! Rejected: parsing into owned `Vec<Vec<u8>>` arguments (an allocation per argument; the
//! arguments here are ranges of the read buffer), and a buffer per connection for its lifetime
//! (the idle cost above).

use std::io::{self, Read, Write};
use std::sync::Arc;

use goroutines::net::{TcpListener, TcpStream};

#[path = "resp/proto.rs"]
pub mod proto;
pub use proto::READ_BUF;
use proto::{answer, Scratch, Stop, Store};

/// The keyspace's shard lock: the runtime's mutex, which parks a goroutine, not its thread.
type Shard<T> = goroutines::sync::Mutex<T>;

/// Replies buffered past this are written out even in the middle of a pipeline.
const OUT_FLUSH: usize = 64 * 1024;
/// Buffers the pool keeps for reuse; more are freed.
const POOL_MAX: usize = 1024;

/// What a connection holds while it has data to answer, and gives back when idle.
struct Bufs {
    /// Bytes read; `rd[start..end]` is not consumed yet.
    rd: Vec<u8>,
    start: usize,
    end: usize,
    scratch: Scratch,
    /// Replies not yet written.
    out: Vec<u8>,
}

impl Bufs {
    fn new() -> Bufs {
        Bufs {
            rd: vec![0; READ_BUF],
            start: 0,
            end: 0,
            scratch: Scratch::default(),
            out: Vec::with_capacity(1024),
        }
    }
}

/// A store and the connections' buffer pool: what every connection goroutine shares.
pub struct Server {
    pub store: Store,
    pool: Shard<Vec<Bufs>>,
}

impl Server {
    pub fn new() -> Arc<Server> {
        Arc::new(Server {
            store: Store::new(),
            pool: Shard::new(Vec::new()),
        })
    }

    fn take(&self) -> Bufs {
        self.pool.lock().pop().unwrap_or_else(Bufs::new)
    }

    fn give(&self, mut b: Bufs) {
        if b.rd.len() != READ_BUF {
            return; // grown for a large request: let it go
        }
        b.start = 0;
        b.end = 0;
        b.out.clear();
        b.out.shrink_to(OUT_FLUSH);
        b.scratch.inline.clear();
        b.scratch.inline.shrink_to(1024);
        let mut pool = self.pool.lock();
        if pool.len() < POOL_MAX {
            pool.push(b);
        }
    }
}

/// Accepts connections forever, one goroutine each.
pub fn serve(listener: TcpListener, srv: Arc<Server>) {
    for conn in listener.incoming() {
        match conn {
            Ok(c) => {
                let srv = srv.clone();
                goroutines::go(move || {
                    let mut bufs = None;
                    let _ = connection(&c, &srv, &mut bufs);
                    if let Some(b) = bufs {
                        srv.give(b);
                    }
                });
            }
            Err(e) => {
                // EMFILE and the like: say so and go on (the listener stays usable).
                eprintln!("resp: accept: {e}");
                goroutines::time::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// Serves one connection until it closes, fails or sends bad input.
fn connection(conn: &TcpStream, srv: &Server, bufs: &mut Option<Bufs>) -> io::Result<()> {
    let _ = conn.set_nodelay(true);
    let mut w = conn;
    loop {
        let b = match bufs {
            Some(b) => b,
            None => {
                // Idle: wait for data holding nothing but this frame.
                let mut probe = [0u8; 1];
                if conn.peek(&mut probe)? == 0 {
                    return Ok(());
                }
                bufs.insert(srv.take())
            }
        };
        if b.end == b.rd.len() {
            if b.start > 0 {
                b.rd.copy_within(b.start..b.end, 0);
                b.end -= b.start;
                b.start = 0;
            } else {
                // One request larger than the buffer: grow as bytes arrive, never to a
                // declared length.
                let n = b.rd.len();
                b.rd.resize(n * 2, 0);
            }
        }
        let mut r = conn;
        let n = r.read(&mut b.rd[b.end..])?;
        if n == 0 {
            return Ok(());
        }
        b.end += n;
        loop {
            let (used, stop) = answer(
                &b.rd[b.start..b.end],
                &mut b.scratch,
                &srv.store,
                &mut b.out,
                OUT_FLUSH,
            );
            b.start += used;
            if !b.out.is_empty() {
                w.write_all(&b.out)?;
                b.out.clear();
            }
            match stop {
                Stop::Full => continue,
                Stop::Close => return Ok(()),
                Stop::Incomplete => break,
            }
        }
        if b.start == b.end {
            // Everything read is answered: give the buffers back while idle.
            if let Some(b) = bufs.take() {
                srv.give(b);
            }
        }
    }
}

/// Raises the soft open-file limit to the hard one: each connection is a file descriptor,
/// and 10,000 clients need more than the usual 1,024 (Go's runtime does the same at start).
fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed, which lives here.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn main() {
    let mut addr = "127.0.0.1:6380".to_string();
    let mut procs = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--procs" => procs = args.next().and_then(|s| s.parse::<usize>().ok()),
            "-h" | "--help" => {
                println!("usage: resp [ADDR|PORT] [--procs N]   (default 127.0.0.1:6380)");
                return;
            }
            s if s.contains(':') => addr = s.to_string(),
            s => addr = format!("127.0.0.1:{s}"),
        }
    }
    raise_nofile_limit();
    let mut b = goroutines::Builder::new();
    if let Some(n) = procs {
        b = b.max_procs(n);
    }
    let rt = b.build().expect("resp: runtime");
    rt.run(move || {
        let listener = TcpListener::bind(&addr).expect("resp: bind");
        eprintln!("resp: listening on {}", listener.local_addr().unwrap());
        serve(listener, Server::new());
    });
}
