//! A minimal HTTP/1.1 server with keep-alive that answers every request with "Hello, World!",
//! in plain blocking style, one goroutine per connection.
//!
//! ```text
//! cargo run --release --example http_hello -- 8080
//! curl -v http://127.0.0.1:8080/
//! ```
//!
//! It reads request heads up to the blank line, skips a `Content-Length` body, answers, and keeps
//! the connection open unless the client asked for `Connection: close` or spoke HTTP/1.0 without
//! `keep-alive`. Pipelined requests are answered in order.

use std::io::{Read, Write};

use goroutines::net::{TcpListener, TcpStream};

const BODY: &str = "Hello, World!";

/// One parsed request head: whether to keep the connection and the body length to skip.
struct Head {
    keep_alive: bool,
    content_length: usize,
}

fn parse_head(head: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next()?;
    let version = request_line.rsplit(' ').next()?;
    let mut keep_alive = version == "HTTP/1.1";
    let mut content_length = 0;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                keep_alive = false;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                keep_alive = true;
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().ok()?;
        }
    }
    Some(Head {
        keep_alive,
        content_length,
    })
}

fn serve(mut conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // Complete heads already buffered (pipelining) are answered before reading more.
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            if buf.len() > 64 * 1024 {
                return; // head too large
            }
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let Some(head) = parse_head(&buf[..end]) else {
            let _ = conn.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        };
        let need = end + 4 + head.content_length;
        while buf.len() < need {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..need);
        let conn_hdr = if head.keep_alive {
            "keep-alive"
        } else {
            "close"
        };
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {conn_hdr}\r\n\r\n{BODY}",
            BODY.len()
        );
        if conn.write_all(resp.as_bytes()).is_err() || !head.keep_alive {
            return;
        }
    }
}

#[goroutines::main]
fn main() {
    let spec = std::env::args().nth(1).unwrap_or_else(|| "8080".into());
    let addr = if spec.contains(':') {
        spec
    } else {
        format!("127.0.0.1:{spec}")
    };
    let listener = TcpListener::bind(&addr).expect("bind");
    eprintln!(
        "http_hello: listening on http://{}/",
        listener.local_addr().unwrap()
    );
    for conn in listener.incoming() {
        match conn {
            Ok(c) => {
                goroutines::go(move || serve(c));
            }
            Err(e) => eprintln!("http_hello: accept: {e}"),
        }
    }
}
