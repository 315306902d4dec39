//! examples/resp.rs, the Redis-protocol server, spoken to over TCP: every command, pipelining,
//! inline commands, and bad input answered with Redis's error text and a closed connection.
//!
//! The example is compiled into this test as a module and served in-process by a runtime on a
//! thread of its own; the clients are plain std sockets on the test threads.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

#[path = "../examples/resp.rs"]
#[allow(dead_code)]
mod resp;

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            goroutines::run(move || {
                let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
                tx.send(l.local_addr().unwrap()).unwrap();
                resp::serve(l, resp::Server::new());
            })
        });
        rx.recv().unwrap()
    })
}

fn client() -> TcpStream {
    let c = TcpStream::connect(server()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

/// Sends `req` and reads exactly the bytes of `want`.
fn expect(c: &mut TcpStream, req: &[u8], want: &[u8]) {
    c.write_all(req).unwrap();
    let mut got = vec![0u8; want.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(want),
        "reply to {:?}",
        String::from_utf8_lossy(req)
    );
}

/// A request as redis-cli sends it: an array of bulk strings.
fn cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn closed(c: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    matches!(c.read(&mut b), Ok(0) | Err(_))
}

#[test]
fn every_command() {
    let mut c = client();
    expect(&mut c, &cmd(&[b"PING"]), b"+PONG\r\n");
    expect(&mut c, &cmd(&[b"ping", b"hi"]), b"$2\r\nhi\r\n");
    expect(
        &mut c,
        &cmd(&[b"ECHO", b"hello world"]),
        b"$11\r\nhello world\r\n",
    );
    expect(&mut c, &cmd(&[b"SET", b"ec:k", b"v1"]), b"+OK\r\n");
    expect(&mut c, &cmd(&[b"GET", b"ec:k"]), b"$2\r\nv1\r\n");
    expect(&mut c, &cmd(&[b"SET", b"ec:k", b""]), b"+OK\r\n");
    expect(&mut c, &cmd(&[b"GET", b"ec:k"]), b"$0\r\n\r\n");
    expect(&mut c, &cmd(&[b"GET", b"ec:missing"]), b"$-1\r\n");
    expect(&mut c, &cmd(&[b"INCR", b"ec:n"]), b":1\r\n");
    expect(&mut c, &cmd(&[b"INCR", b"ec:n"]), b":2\r\n");
    expect(&mut c, &cmd(&[b"SET", b"ec:n", b"-10"]), b"+OK\r\n");
    expect(&mut c, &cmd(&[b"INCR", b"ec:n"]), b":-9\r\n");
    expect(&mut c, &cmd(&[b"GET", b"ec:n"]), b"$2\r\n-9\r\n");
    expect(
        &mut c,
        &cmd(&[b"DEL", b"ec:n", b"ec:k", b"ec:missing"]),
        b":2\r\n",
    );
    expect(&mut c, &cmd(&[b"GET", b"ec:k"]), b"$-1\r\n");
    expect(&mut c, &cmd(&[b"RPUSH", b"ec:l", b"b", b"c"]), b":2\r\n");
    expect(&mut c, &cmd(&[b"LPUSH", b"ec:l", b"a", b"z"]), b":4\r\n");
    expect(
        &mut c,
        &cmd(&[b"LRANGE", b"ec:l", b"0", b"-1"]),
        b"*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"LRANGE", b"ec:l", b"1", b"2"]),
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"LRANGE", b"ec:l", b"-2", b"100"]),
        b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
    );
    expect(&mut c, &cmd(&[b"LRANGE", b"ec:l", b"3", b"1"]), b"*0\r\n");
    expect(
        &mut c,
        &cmd(&[b"LRANGE", b"ec:nolist", b"0", b"-1"]),
        b"*0\r\n",
    );
    expect(&mut c, &cmd(&[b"LPOP", b"ec:l"]), b"$1\r\nz\r\n");
    expect(&mut c, &cmd(&[b"RPOP", b"ec:l"]), b"$1\r\nc\r\n");
    expect(
        &mut c,
        &cmd(&[b"LPOP", b"ec:l", b"5"]),
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
    // The emptied list is gone, as in Redis.
    expect(&mut c, &cmd(&[b"LPOP", b"ec:l"]), b"$-1\r\n");
    expect(&mut c, &cmd(&[b"RPOP", b"ec:l", b"2"]), b"*-1\r\n");
    expect(&mut c, &cmd(&[b"DEL", b"ec:l"]), b":0\r\n");
    expect(
        &mut c,
        &cmd(&[b"CONFIG", b"GET", b"save"]),
        b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"config", b"get", b"appendonly"]),
        b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
    );
    expect(&mut c, &cmd(&[b"CONFIG", b"GET", b"nosuch*"]), b"*0\r\n");
    expect(&mut c, &cmd(&[b"QUIT"]), b"+OK\r\n");
    assert!(closed(&mut c), "QUIT closes the connection");
}

#[test]
fn errors_have_redis_texts() {
    let mut c = client();
    expect(&mut c, &cmd(&[b"SET", b"er:s", b"abc"]), b"+OK\r\n");
    expect(
        &mut c,
        &cmd(&[b"INCR", b"er:s"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
    // Redis's string2ll: no leading '+' or zeros, no spaces.
    for bad in [
        &b"+5"[..],
        b"007",
        b" 1",
        b"1 ",
        b"",
        b"-0",
        b"9223372036854775808",
    ] {
        expect(&mut c, &cmd(&[b"SET", b"er:s", bad]), b"+OK\r\n");
        expect(
            &mut c,
            &cmd(&[b"INCR", b"er:s"]),
            b"-ERR value is not an integer or out of range\r\n",
        );
    }
    expect(
        &mut c,
        &cmd(&[b"SET", b"er:s", b"9223372036854775807"]),
        b"+OK\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"INCR", b"er:s"]),
        b"-ERR increment or decrement would overflow\r\n",
    );
    expect(&mut c, &cmd(&[b"RPUSH", b"er:l", b"x"]), b":1\r\n");
    let wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    expect(&mut c, &cmd(&[b"GET", b"er:l"]), wrongtype);
    expect(&mut c, &cmd(&[b"INCR", b"er:l"]), wrongtype);
    expect(&mut c, &cmd(&[b"LPUSH", b"er:s", b"x"]), wrongtype);
    expect(&mut c, &cmd(&[b"LRANGE", b"er:s", b"0", b"1"]), wrongtype);
    expect(
        &mut c,
        &cmd(&[b"LRANGE", b"er:l", b"a", b"1"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"LPOP", b"er:l", b"-1"]),
        b"-ERR value is out of range, must be positive\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"Echo", b"a", b"b"]),
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"SET", b"k", b"v", b"NOPE"]),
        b"-ERR syntax error\r\n",
    );
    expect(
        &mut c,
        &cmd(&[b"FLUSHALL", b"a", b"b"]),
        b"-ERR unknown command 'FLUSHALL', with args beginning with: 'a' 'b' \r\n",
    );
    // Errors in commands leave the connection usable.
    expect(&mut c, &cmd(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn pipelined_replies_come_in_order() {
    let mut c = client();
    let mut req = Vec::new();
    let mut want = Vec::new();
    for i in 0..1000 {
        req.extend(cmd(&[b"INCR", b"pl:counter"]));
        want.extend(format!(":{}\r\n", i + 1).into_bytes());
        req.extend(cmd(&[b"RPUSH", b"pl:list", format!("{i}").as_bytes()]));
        want.extend(format!(":{}\r\n", i + 1).into_bytes());
    }
    req.extend(cmd(&[b"LRANGE", b"pl:list", b"998", b"-1"]));
    want.extend_from_slice(b"*2\r\n$3\r\n998\r\n$3\r\n999\r\n");
    // Sent in pieces cut anywhere, mid-length and mid-argument included.
    c.write_all(&req[..7]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    c.write_all(&req[7..req.len() / 3]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    expect(&mut c, &req[req.len() / 3..], &want);
}

#[test]
fn values_larger_than_the_read_buffer() {
    let mut c = client();
    let big: Vec<u8> = (0..3 * resp::READ_BUF + 17)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    expect(&mut c, &cmd(&[b"SET", b"big:v", &big]), b"+OK\r\n");
    let mut want = format!("${}\r\n", big.len()).into_bytes();
    want.extend_from_slice(&big);
    want.extend_from_slice(b"\r\n");
    // Twice in one pipeline, then once more on an idle connection that took a fresh buffer.
    let mut two = cmd(&[b"GET", b"big:v"]);
    two.extend(cmd(&[b"GET", b"big:v"]));
    expect(&mut c, &two, &[want.clone(), want.clone()].concat());
    expect(&mut c, &cmd(&[b"GET", b"big:v"]), &want);
}

#[test]
fn inline_commands() {
    let mut c = client();
    expect(&mut c, b"PING\r\n", b"+PONG\r\n");
    expect(&mut c, b"ping\n", b"+PONG\r\n");
    expect(&mut c, b"SET in:k \"two words\\n\"\r\n", b"+OK\r\n");
    expect(&mut c, b"GET in:k\r\n", b"$10\r\ntwo words\n\r\n");
    expect(&mut c, b"  SET   in:q   'it\\'s'  \r\n", b"+OK\r\n");
    expect(&mut c, b"GET in:q\r\n", b"$4\r\nit's\r\n");
    // Empty lines are skipped; inline and array requests mix in one pipeline.
    let mut req = b"\r\n\r\nINCR in:n\r\n".to_vec();
    req.extend(cmd(&[b"INCR", b"in:n"]));
    req.extend_from_slice(b"ECHO x\r\n");
    expect(&mut c, &req, b":1\r\n:2\r\n$1\r\nx\r\n");
    expect(
        &mut c,
        b"SET in:k \"open\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    assert!(closed(&mut c));
}

#[test]
fn huge_declared_bulk_length_is_rejected_without_allocating() {
    // Were the 999,999,999,999 bytes reserved, the allocation would fail and end the process.
    let mut c = client();
    expect(
        &mut c,
        b"*2\r\n$3\r\nGET\r\n$999999999999\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    assert!(
        closed(&mut c),
        "the connection is closed after a protocol error"
    );

    // Just above Redis's 512 MB limit, and negative.
    for len in ["536870913", "-1", "abc", "+3"] {
        let mut c = client();
        let req = format!("*1\r\n${len}\r\nPING\r\n");
        expect(
            &mut c,
            req.as_bytes(),
            b"-ERR Protocol error: invalid bulk length\r\n",
        );
        assert!(closed(&mut c));
    }
}

#[test]
fn bad_multibulk_counts_are_rejected() {
    for count in ["-1", "-5", "1048577", "99999999999999999999", "x"] {
        let mut c = client();
        let req = format!("*{count}\r\n$4\r\nPING\r\n");
        expect(
            &mut c,
            req.as_bytes(),
            b"-ERR Protocol error: invalid multibulk length\r\n",
        );
        assert!(closed(&mut c), "count {count}");
    }
    // A huge but allowed count is not reserved either: the request just waits for its
    // elements, and the replies before it arrive.
    let mut c = client();
    let mut req = cmd(&[b"PING"]);
    req.extend_from_slice(b"*1048576\r\n$4\r\nPING\r\n");
    expect(&mut c, &req, b"+PONG\r\n");

    let mut c = client();
    expect(
        &mut c,
        b"*1\r\n+PING\r\n",
        b"-ERR Protocol error: expected '$', got '+'\r\n",
    );
    assert!(closed(&mut c));
}

#[test]
fn replies_before_bad_input_are_sent() {
    let mut c = client();
    let mut req = cmd(&[b"ECHO", b"first"]);
    req.extend_from_slice(b"*1\r\n$-7\r\n");
    expect(
        &mut c,
        &req,
        b"$5\r\nfirst\r\n-ERR Protocol error: invalid bulk length\r\n",
    );
    assert!(closed(&mut c));
}

#[test]
fn many_connections_share_the_keyspace() {
    let hs: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = client();
                for i in 0..200 {
                    expect(&mut c, &cmd(&[b"INCR", b"mc:shared"]), b":");
                    let mut line = Vec::new();
                    let mut b = [0u8; 1];
                    while !line.ends_with(b"\r\n") {
                        c.read_exact(&mut b).unwrap();
                        line.push(b[0]);
                    }
                    let key = format!("mc:{t}:{i}");
                    expect(&mut c, &cmd(&[b"SET", key.as_bytes(), b"x"]), b"+OK\r\n");
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let mut c = client();
    expect(&mut c, &cmd(&[b"GET", b"mc:shared"]), b"$4\r\n3200\r\n");
    expect(&mut c, &cmd(&[b"GET", b"mc:15:199"]), b"$1\r\nx\r\n");
}
