//! The Redis protocol (RESP2) and the keyspace of examples/resp.rs, shared with the tokio
//! server of bench/tokio (src/bin/resp.rs), which includes this file as a module. The includer
//! provides `Shard<T>`: a mutex with `Shard::new(value)` and `shard.lock()` returning a guard.
//!
//! [`answer`] runs every complete request of a buffer, appending the replies; the caller owns
//! the socket, the buffers and when to write.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use super::Shard;

/// Scratch space of [`answer`]: the current request's arguments, as ranges of the read buffer
/// or of the unquoted inline request.
#[derive(Default)]
pub struct Scratch {
    pub args: Vec<(usize, usize)>,
    pub inline: Vec<u8>,
}

/// Why [`answer`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// No complete request is left: write the replies and read more.
    Incomplete,
    /// `out` reached `out_limit` in the middle of a pipeline: write it and call again.
    Full,
    /// QUIT or bad input (its error reply is in `out`): write the replies and close.
    Close,
}

/// Runs the complete requests at the start of `buf`, appending their replies to `out`, until
/// none is left, `out` holds `out_limit` bytes, or the connection must close. Returns the
/// bytes consumed and why it stopped.
pub fn answer(
    buf: &[u8],
    s: &mut Scratch,
    store: &Store,
    out: &mut Vec<u8>,
    out_limit: usize,
) -> (usize, Stop) {
    let mut used = 0;
    loop {
        if out.len() >= out_limit {
            return (used, Stop::Full);
        }
        match parse(&buf[used..], &mut s.args, &mut s.inline) {
            Ok(Some((n, is_inline))) => {
                let quit = if s.args.is_empty() {
                    false
                } else if is_inline {
                    execute(
                        &Args {
                            src: &s.inline,
                            ranges: &s.args,
                        },
                        store,
                        out,
                    )
                } else {
                    execute(
                        &Args {
                            src: &buf[used..],
                            ranges: &s.args,
                        },
                        store,
                        out,
                    )
                };
                used += n;
                if quit {
                    return (used, Stop::Close);
                }
            }
            Ok(None) => return (used, Stop::Incomplete),
            Err(msg) => {
                out.extend_from_slice(b"-ERR Protocol error: ");
                out.extend_from_slice(msg.as_bytes());
                out.extend_from_slice(b"\r\n");
                return (used, Stop::Close);
            }
        }
    }
}

/// How many maps the keyspace is split into.
pub const SHARDS: usize = 64;
/// The read buffer a connection takes from the pool when data is ready.
pub const READ_BUF: usize = 16 * 1024;
/// Redis's limits: elements of one request, bytes of one bulk string, bytes of an inline
/// request or of a length line not yet terminated.
const MAX_MULTIBULK: i64 = 1024 * 1024;
const MAX_BULK: i64 = 512 * 1024 * 1024;
const MAX_INLINE: usize = 64 * 1024;

enum Value {
    Str(Vec<u8>),
    List(VecDeque<Vec<u8>>),
}

/// The keyspace: [`SHARDS`] maps, each behind its own lock.
pub struct Store {
    shards: Vec<Shard<HashMap<Vec<u8>, Value>>>,
}

impl Store {
    pub fn new() -> Store {
        Store {
            shards: (0..SHARDS).map(|_| Shard::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &[u8]) -> &Shard<HashMap<Vec<u8>, Value>> {
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

/// Parses one request at the start of `buf`. `Ok(Some((bytes used, inline?)))` with its
/// arguments in `args` (empty for an empty request, which is skipped), `Ok(None)` when the
/// request is not complete yet, `Err(text)` for input Redis rejects.
pub fn parse(
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

pub struct Args<'a> {
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
pub fn execute(a: &Args, store: &Store, out: &mut Vec<u8>) -> bool {
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
