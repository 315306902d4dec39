//! A TLS echo server and client with rustls over `goroutines::net::TcpStream`, one goroutine
//! per connection, in plain blocking style: `rustls::StreamOwned` drives the TLS state machine
//! with ordinary `Read`/`Write` calls, and the socket underneath parks the goroutine whenever
//! the kernel would block.
//!
//! The certificate is self-signed, made at start with rcgen; a real server loads its own.
//!
//! ```text
//! cargo run --release --example tls_echo            # 8 clients, 100 round trips each
//! cargo run --release --example tls_echo -- 100 20  # clients, round trips
//! ```

use std::io::{Read, Write};
use std::sync::Arc;

use goroutines::net::{TcpListener, TcpStream};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

fn configs() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_der: CertificateDer<'static> = cert.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

fn serve(conn: TcpStream, cfg: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
    let tls = rustls::ServerConnection::new(cfg).map_err(std::io::Error::other)?;
    let mut s = rustls::StreamOwned::new(tls, conn);
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf)? {
            0 => return Ok(()),
            n => s.write_all(&buf[..n])?,
        }
    }
}

#[goroutines::main]
fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().unwrap());
    let clients = args.next().unwrap_or(8);
    let rounds = args.next().unwrap_or(100);
    let (server_cfg, client_cfg) = configs();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    goroutines::go(move || {
        for conn in listener.incoming() {
            let cfg = server_cfg.clone();
            let conn = conn.unwrap();
            goroutines::go(move || {
                if let Err(e) = serve(conn, cfg) {
                    eprintln!("server: {e}");
                }
            });
        }
    });
    let start = std::time::Instant::now();
    let hs: Vec<_> = (0..clients)
        .map(|i| {
            let cfg = client_cfg.clone();
            goroutines::go(move || {
                let name = ServerName::try_from("localhost").unwrap();
                let tls = rustls::ClientConnection::new(cfg, name).unwrap();
                let mut s = rustls::StreamOwned::new(tls, TcpStream::connect(addr).unwrap());
                for j in 0..rounds {
                    let msg = format!("client {i} message {j}");
                    s.write_all(msg.as_bytes()).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg.as_bytes());
                }
                s.conn.send_close_notify();
                let _ = s.flush();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    println!(
        "{clients} TLS clients x {rounds} round trips in {:?}",
        start.elapsed()
    );
}
