//! Goroutines and tokio in one program, with no thread blocked on either side.
//!
//! - A tokio task serves an "answer service" on loopback (a stand-in for a database or an HTTP
//!   API that only has an async client).
//! - Goroutines serve TCP connections in plain blocking style, one goroutine per connection;
//!   each request's answer comes from the async client, run on the tokio runtime with
//!   `goroutines::tokio::spawn_on`: the goroutine parks, its M serves other connections.
//! - Every served request is logged on a `Chan` fed by the goroutines and consumed by a tokio
//!   task with `recv_async`.
//!
//! ```text
//! cargo run --release --features tokio --example async_bridge            # 50 clients x 20 requests
//! cargo run --release --features tokio --example async_bridge -- 200 50
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::time::Instant;

use goroutines::net::{TcpListener, TcpStream};
use goroutines::Chan;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// The async answer service: one line in ("key"), one line out ("answer to key: <len>").
async fn answer_service(listener: tokio::net::TcpListener) {
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let (r, mut w) = conn.into_split();
            let mut lines = tokio::io::BufReader::new(r).lines();
            while let Ok(Some(key)) = lines.next_line().await {
                let reply = format!("answer to {key}: {}\n", key.len());
                if w.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// The async client a goroutine cannot call directly: a tiny line protocol over tokio's TCP.
async fn lookup(service: SocketAddr, key: String) -> std::io::Result<String> {
    let conn = tokio::net::TcpStream::connect(service).await?;
    conn.set_nodelay(true)?;
    let (r, mut w) = conn.into_split();
    w.write_all(format!("{key}\n").as_bytes()).await?;
    let mut line = String::new();
    tokio::io::BufReader::new(r).read_line(&mut line).await?;
    Ok(line.trim_end().to_string())
}

/// One connection of the goroutine-served front end: a request per line, answered by the
/// async service.
fn serve(conn: TcpStream, service: SocketAddr, tk: tokio::runtime::Handle, log: Chan<String>) {
    let _ = conn.set_nodelay(true);
    let mut w = conn.try_clone().expect("clone connection");
    for line in BufReader::new(conn).lines() {
        let Ok(key) = line else { return };
        // The bridge: run the async client on tokio; this goroutine parks until it answers.
        let answer = match goroutines::tokio::spawn_on(&tk, lookup(service, key.clone())) {
            Ok(a) => a,
            Err(e) => format!("error: {e}"),
        };
        if writeln!(w, "{answer}").is_err() {
            return;
        }
        log.send(format!("served {key}"));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let requests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);

    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let tk = tokio_rt.handle().clone();

    // The async service, on loopback.
    let service_listener = tokio_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind the answer service");
    let service = service_listener.local_addr().unwrap();
    tokio_rt.spawn(answer_service(service_listener));

    // The request log: fed by goroutines, consumed by a tokio task.
    let log: Chan<String> = Chan::new(64);
    let log_task = {
        let log = log.clone();
        tokio_rt.spawn(async move {
            let mut n = 0usize;
            while let Some(_line) = log.recv_async().await {
                n += 1;
            }
            n
        })
    };

    let served = goroutines::run(move || {
        // The goroutine front end.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the front end");
        let front = listener.local_addr().unwrap();
        {
            let (tk, log) = (tk.clone(), log.clone());
            goroutines::go(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { return };
                    let (tk, log) = (tk.clone(), log.clone());
                    goroutines::go(move || serve(conn, service, tk, log));
                }
            });
        }
        // Clients, as goroutines too, checking every answer.
        let start = Instant::now();
        let hs: Vec<_> = (0..clients)
            .map(|c| {
                goroutines::go(move || {
                    let conn = TcpStream::connect(front).expect("connect");
                    conn.set_nodelay(true).unwrap();
                    let mut w = conn.try_clone().unwrap();
                    let mut r = BufReader::new(conn);
                    for i in 0..requests {
                        let key = format!("client{c}-req{i}");
                        writeln!(w, "{key}").unwrap();
                        let mut line = String::new();
                        r.read_line(&mut line).unwrap();
                        assert_eq!(line.trim_end(), format!("answer to {key}: {}", key.len()));
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let el = start.elapsed();
        log.close();
        // A goroutine awaits the tokio task's JoinHandle: it parks, no thread blocks.
        let logged = goroutines::block_on(log_task).expect("log task");
        println!(
            "{clients} clients x {requests} requests answered through tokio in {el:.2?}; \
             the tokio log task saw {logged} requests served"
        );
        logged
    });
    assert_eq!(served, clients * requests);
}
