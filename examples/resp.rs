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
//! 2. The keyspace is split into [`SHARDS`] maps, each behind a `goroutines::sync::Mutex`,
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

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::sync::Arc;

use goroutines::net::{TcpListener, TcpStream};
use goroutines::sync::Mutex;

/// How many maps the keyspace is split into.
pub const SHARDS: usize = 64;
/// The read buffer a connection takes from the pool when data is ready.
pub const READ_BUF: usize = 16 * 1024;
/// Replies buffered past this are written out even in the middle of a pipeline.
const OUT_FLUSH: usize = 64 * 1024;
/// Redis's limits: elements of one request, bytes of one bulk string, bytes of an inline
/// request or of a length line not yet terminated.
const MAX_MULTIBULK: i64 = 1024 * 1024;
const MAX_BULK: i64 = 512 * 1024 * 1024;
const MAX_INLINE: usize = 64 * 1024;
/// Buffers the pool keeps for reuse; more are freed.
const POOL_MAX: usize = 1024;

enum Value {
    Str(Vec<u8>),
    List(VecDeque<Vec<u8>>),
}

/// The keyspace: [`SHARDS`] maps, each behind its own lock.
pub struct Store {
    shards: Vec<Mutex<HashMap<Vec<u8>, Value>>>,
}

impl Store {
    pub fn new() -> Store {
        Store {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<HashMap<Vec<u8>, Value>> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.shards[h.finish() as usize % SHARDS]
    }
}

impl Default for Store {
    fn default() -> Store {
        Store::new()
    }
}

/// What a connection holds while it has data to answer, and gives back when idle.
struct Bufs {
    /// Bytes read; `rd[start..end]` is not consumed yet.
    rd: Vec<u8>,
    start: usize,
    end: usize,
    /// The current command's arguments, as ranges of `rd[start..]` or of `inline`.
    args: Vec<(usize, usize)>,
    /// An inline command's arguments, unquoted.
    inline: Vec<u8>,
    /// Replies not yet written.
    out: Vec<u8>,
}

impl Bufs {
    fn new() -> Bufs {
        Bufs {
            rd: vec![0; READ_BUF],
            start: 0,
            end: 0,
            args: Vec::new(),
            inline: Vec::new(),
            out: Vec::with_capacity(1024),
        }
    }
}

/// A store and the connections' buffer pool: what every connection goroutine shares.
pub struct Server {
    pub store: Store,
    pool: Mutex<Vec<Bufs>>,
}

impl Server {
    pub fn new() -> Arc<Server> {
        Arc::new(Server {
            store: Store::new(),
            pool: Mutex::new(Vec::new()),
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
        b.inline.clear();
        b.inline.shrink_to(1024);
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
        let Bufs {
            rd,
            start,
            end,
            args,
            inline,
            out,
        } = b;
        loop {
            match parse(&rd[*start..*end], args, inline) {
                Ok(Some((used, is_inline))) => {
                    let quit = if args.is_empty() {
                        false
                    } else if is_inline {
                        execute(
                            &Args {
                                src: inline,
                                ranges: args,
                            },
                            &srv.store,
                            out,
                        )
                    } else {
                        execute(
                            &Args {
                                src: &rd[*start..],
                                ranges: args,
                            },
                            &srv.store,
                            out,
                        )
                    };
                    *start += used;
                    if quit {
                        w.write_all(out)?;
                        return Ok(());
                    }
                    if out.len() >= OUT_FLUSH {
                        w.write_all(out)?;
                        out.clear();
                    }
                }
                Ok(None) => break,
                Err(msg) => {
                    out.extend_from_slice(b"-ERR Protocol error: ");
                    out.extend_from_slice(msg.as_bytes());
                    out.extend_from_slice(b"\r\n");
                    w.write_all(out)?;
                    return Ok(());
                }
            }
        }
        if !out.is_empty() {
            w.write_all(out)?;
            out.clear();
        }
        if *start == *end {
            // Everything read is answered: give the buffers back while idle.
            *start = 0;
            *end = 0;
            if let Some(b) = bufs.take() {
                srv.give(b);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The protocol
// ---------------------------------------------------------------------------------------------

/// Parses one request at the start of `buf`. `Ok(Some((bytes used, inline?)))` with its
/// arguments in `args` (empty for an empty request, which is skipped), `Ok(None)` when the
/// request is not complete yet, `Err(text)` for input Redis rejects.
fn parse(
    buf: &[u8],
    args: &mut Vec<(usize, usize)>,
    inline: &mut Vec<u8>,
) -> Result<Option<(usize, bool)>, String> {
    args.clear();
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] != b'*' {
        return parse_inline(buf, args, inline).map(|r| r.map(|n| (n, true)));
    }
    let Some(cr) = find_cr(buf, 1) else {
        return if buf.len() > MAX_INLINE {
            Err("too big mbulk count string".into())
        } else {
            Ok(None)
        };
    };
    let count = match parse_int(&buf[1..cr]) {
        // Redis skips `*-1` and below as an empty request; a request has no use for a null
        // array, so here it is bad input like any other impossible count.
        Some(n) if (0..=MAX_MULTIBULK).contains(&n) => n,
        _ => return Err("invalid multibulk length".into()),
    };
    let mut pos = cr + 2;
    if count == 0 {
        return Ok(Some((pos, false)));
    }
    // Reserve for what can be there, not for what is declared.
    args.reserve((count as usize).min(64));
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(None);
        }
        if buf[pos] != b'$' {
            return Err(format!("expected '$', got '{}'", buf[pos] as char));
        }
        let Some(cr) = find_cr(buf, pos + 1) else {
            return if buf.len() - pos > MAX_INLINE {
                Err("too big bulk count string".into())
            } else {
                Ok(None)
            };
        };
        let len = match parse_int(&buf[pos + 1..cr]) {
            Some(n) if (0..=MAX_BULK).contains(&n) => n as usize,
            _ => return Err("invalid bulk length".into()),
        };
        let data = cr + 2;
        if buf.len() < data + len + 2 {
            return Ok(None);
        }
        args.push((data, data + len));
        pos = data + len + 2;
    }
    Ok(Some((pos, false)))
}

fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    let i = buf.get(from..)?.iter().position(|&c| c == b'\r')? + from;
    // The '\n' after it must have arrived too.
    if i + 1 < buf.len() {
        Some(i)
    } else {
        None
    }
}

/// An inline request: one line, arguments split at spaces, with Redis's quoting ("..." with
/// backslash escapes, '...' with \' only).
fn parse_inline(
    buf: &[u8],
    args: &mut Vec<(usize, usize)>,
    out: &mut Vec<u8>,
) -> Result<Option<usize>, String> {
    let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
        return if buf.len() > MAX_INLINE {
            Err("too big inline request".into())
        } else {
            Ok(None)
        };
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    out.clear();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            return Ok(Some(nl + 1));
        }
        let begin = out.len();
        match line[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else {
                        return Err("unbalanced quotes in request".into());
                    };
                    i += 1;
                    if c == q {
                        // A closing quote must end the argument.
                        if i < line.len() && !line[i].is_ascii_whitespace() {
                            return Err("unbalanced quotes in request".into());
                        }
                        break;
                    }
                    if c == b'\\' && i < line.len() && (q == b'"' || line[i] == b'\'') {
                        let e = line[i];
                        i += 1;
                        out.push(match (q, e) {
                            (b'"', b'n') => b'\n',
                            (b'"', b'r') => b'\r',
                            (b'"', b't') => b'\t',
                            (b'"', b'b') => 8,
                            (b'"', b'a') => 7,
                            _ => e,
                        });
                    } else {
                        out.push(c);
                    }
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    out.push(line[i]);
                    i += 1;
                }
            }
        }
        args.push((begin, out.len()));
    }
}

/// A decimal i64 as Redis's string2ll reads it: an optional '-', no '+', no spaces, no
/// leading zeros.
fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] => return if neg { None } else { Some(0) },
        [b'0', ..] => return None,
        _ => {}
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

struct Args<'a> {
    src: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl Args<'_> {
    fn len(&self) -> usize {
        self.ranges.len()
    }
    fn get(&self, i: usize) -> &[u8] {
        let (a, b) = self.ranges[i];
        &self.src[a..b]
    }
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";

/// Settings CONFIG GET answers (what redis-benchmark asks for, and a few more).
const CONFIG: &[(&str, &str)] = &[
    ("appendonly", "no"),
    ("databases", "1"),
    ("maxmemory", "0"),
    ("proto-max-bulk-len", "536870912"),
    ("save", ""),
];

/// Runs one command, appending its reply to `out`; true for QUIT (close after the reply).
fn execute(a: &Args, store: &Store, out: &mut Vec<u8>) -> bool {
    let mut name = [0u8; 8];
    let cmd = a.get(0);
    let lower = if cmd.len() <= name.len() {
        for (d, s) in name.iter_mut().zip(cmd) {
            *d = s.to_ascii_lowercase();
        }
        &name[..cmd.len()]
    } else {
        &[][..]
    };
    let n = a.len();
    let arity = |ok: bool, out: &mut Vec<u8>| {
        if !ok {
            error(
                out,
                &format!(
                    "ERR wrong number of arguments for '{}' command",
                    String::from_utf8_lossy(lower)
                ),
            );
        }
        ok
    };
    match lower {
        b"ping" => {
            if arity(n <= 2, out) {
                if n == 2 {
                    bulk(out, a.get(1));
                } else {
                    out.extend_from_slice(b"+PONG\r\n");
                }
            }
        }
        b"echo" => {
            if arity(n == 2, out) {
                bulk(out, a.get(1));
            }
        }
        b"quit" => {
            out.extend_from_slice(b"+OK\r\n");
            return true;
        }
        b"set" => {
            if arity(n >= 3, out) {
                if n > 3 {
                    error(out, "ERR syntax error");
                } else {
                    let mut m = store.shard(a.get(1)).lock();
                    let v = Value::Str(a.get(2).to_vec());
                    match m.get_mut(a.get(1)) {
                        Some(old) => *old = v,
                        None => {
                            m.insert(a.get(1).to_vec(), v);
                        }
                    }
                    drop(m);
                    out.extend_from_slice(b"+OK\r\n");
                }
            }
        }
        b"get" => {
            if arity(n == 2, out) {
                let m = store.shard(a.get(1)).lock();
                match m.get(a.get(1)) {
                    None => out.extend_from_slice(b"$-1\r\n"),
                    Some(Value::Str(s)) => bulk(out, s),
                    Some(Value::List(_)) => error(out, WRONGTYPE),
                }
            }
        }
        b"incr" => {
            if arity(n == 2, out) {
                incr(a.get(1), store, out);
            }
        }
        b"del" => {
            if arity(n >= 2, out) {
                let mut gone = 0;
                for i in 1..n {
                    if store.shard(a.get(i)).lock().remove(a.get(i)).is_some() {
                        gone += 1;
                    }
                }
                int(out, gone);
            }
        }
        b"lpush" | b"rpush" => {
            if arity(n >= 3, out) {
                let mut m = store.shard(a.get(1)).lock();
                if !m.contains_key(a.get(1)) {
                    m.insert(a.get(1).to_vec(), Value::List(VecDeque::new()));
                }
                match m.get_mut(a.get(1)) {
                    Some(Value::List(l)) => {
                        for i in 2..n {
                            if lower[0] == b'l' {
                                l.push_front(a.get(i).to_vec());
                            } else {
                                l.push_back(a.get(i).to_vec());
                            }
                        }
                        let len = l.len() as i64;
                        drop(m);
                        int(out, len);
                    }
                    _ => error(out, WRONGTYPE),
                }
            }
        }
        b"lpop" | b"rpop" => {
            if arity(n == 2 || n == 3, out) {
                pop(a, lower[0] == b'l', store, out);
            }
        }
        b"lrange" => {
            if arity(n == 4, out) {
                lrange(a, store, out);
            }
        }
        b"config" => config(a, out),
        _ => {
            let mut msg = format!(
                "ERR unknown command '{}', with args beginning with: ",
                String::from_utf8_lossy(cmd)
            );
            for i in 1..n {
                msg.push_str(&format!("'{}' ", String::from_utf8_lossy(a.get(i))));
            }
            error(out, &msg);
        }
    }
    false
}

fn incr(key: &[u8], store: &Store, out: &mut Vec<u8>) {
    let mut m = store.shard(key).lock();
    let old = match m.get(key) {
        None => 0,
        Some(Value::Str(s)) => match parse_int(s) {
            Some(v) => v,
            None => return error(out, NOT_INT),
        },
        Some(Value::List(_)) => return error(out, WRONGTYPE),
    };
    let Some(new) = old.checked_add(1) else {
        return error(out, "ERR increment or decrement would overflow");
    };
    let mut s = Vec::new();
    push_int(&mut s, new);
    m.insert(key.to_vec(), Value::Str(s));
    drop(m);
    int(out, new);
}

fn pop(a: &Args, left: bool, store: &Store, out: &mut Vec<u8>) {
    let count = if a.len() == 3 {
        match parse_int(a.get(2)) {
            Some(c) if c >= 0 => Some(c as usize),
            _ => return error(out, "ERR value is out of range, must be positive"),
        }
    } else {
        None
    };
    let key = a.get(1);
    let mut m = store.shard(key).lock();
    let l = match m.get_mut(key) {
        None => {
            return out.extend_from_slice(if count.is_some() {
                b"*-1\r\n"
            } else {
                b"$-1\r\n"
            });
        }
        Some(Value::Str(_)) => return error(out, WRONGTYPE),
        Some(Value::List(l)) => l,
    };
    let one = |l: &mut VecDeque<Vec<u8>>| if left { l.pop_front() } else { l.pop_back() };
    match count {
        None => {
            let v = one(l).unwrap_or_default();
            bulk(out, &v);
        }
        Some(c) => {
            let c = c.min(l.len());
            array(out, c);
            for _ in 0..c {
                let v = one(l).unwrap_or_default();
                bulk(out, &v);
            }
        }
    }
    if l.is_empty() {
        m.remove(key);
    }
}

fn lrange(a: &Args, store: &Store, out: &mut Vec<u8>) {
    let (Some(mut start), Some(mut stop)) = (parse_int(a.get(2)), parse_int(a.get(3))) else {
        return error(out, NOT_INT);
    };
    let m = store.shard(a.get(1)).lock();
    let l = match m.get(a.get(1)) {
        None => return array(out, 0),
        Some(Value::Str(_)) => return error(out, WRONGTYPE),
        Some(Value::List(l)) => l,
    };
    let len = l.len() as i64;
    if start < 0 {
        start = (len + start).max(0);
    }
    if stop < 0 {
        stop += len;
    }
    stop = stop.min(len - 1);
    if start > stop || start >= len {
        return array(out, 0);
    }
    array(out, (stop - start + 1) as usize);
    for v in l.range(start as usize..=stop as usize) {
        bulk(out, v);
    }
}

fn config(a: &Args, out: &mut Vec<u8>) {
    if a.len() < 2 {
        return error(out, "ERR wrong number of arguments for 'config' command");
    }
    if !a.get(1).eq_ignore_ascii_case(b"get") {
        return error(
            out,
            &format!(
                "ERR unknown subcommand '{}'. Try CONFIG HELP.",
                String::from_utf8_lossy(a.get(1))
            ),
        );
    }
    if a.len() < 3 {
        return error(
            out,
            "ERR wrong number of arguments for 'config|get' command",
        );
    }
    let found: Vec<&(&str, &str)> = CONFIG
        .iter()
        .filter(|(k, _)| (2..a.len()).any(|i| glob(a.get(i), k.as_bytes())))
        .collect();
    array(out, found.len() * 2);
    for (k, v) in found {
        bulk(out, k.as_bytes());
        bulk(out, v.as_bytes());
    }
}

/// Redis's pattern match for CONFIG GET: `*`, `?` and literal bytes, case-insensitive.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

fn error(out: &mut Vec<u8>, msg: &str) {
    out.push(b'-');
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn int(out: &mut Vec<u8>, v: i64) {
    out.push(b':');
    push_int(out, v);
    out.extend_from_slice(b"\r\n");
}

fn array(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    push_int(out, n as i64);
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, v: &[u8]) {
    out.push(b'$');
    push_int(out, v.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
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
