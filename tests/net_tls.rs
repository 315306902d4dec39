//! TLS over `goroutines::net::TcpStream` with rustls: a handshake and an exchange between two
//! goroutines, with a certificate made in the test (rcgen).

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use common::{at_procs, watchdog};
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

fn handshake_and_echo(procs: usize) {
    let (server_cfg, client_cfg) = configs();
    at_procs(procs, move || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = goroutines::go(move || {
            let (conn, _) = l.accept().unwrap();
            let tls = rustls::ServerConnection::new(server_cfg).unwrap();
            let mut s = rustls::StreamOwned::new(tls, conn);
            let mut buf = [0u8; 4096];
            let mut total = 0;
            loop {
                match s.read(&mut buf).unwrap() {
                    0 => break,
                    n => {
                        total += n;
                        s.write_all(&buf[..n]).unwrap();
                    }
                }
            }
            (total, s.conn.protocol_version())
        });
        let name = ServerName::try_from("localhost").unwrap();
        let tls = rustls::ClientConnection::new(client_cfg, name).unwrap();
        let mut c = rustls::StreamOwned::new(tls, TcpStream::connect(addr).unwrap());
        let mut sent = 0;
        for i in 0..200 {
            let msg = vec![(i % 251) as u8; 1 + i * 37 % 3000];
            c.write_all(&msg).unwrap();
            let mut back = vec![0u8; msg.len()];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, msg);
            sent += msg.len();
        }
        assert!(!c.conn.is_handshaking());
        assert!(c
            .conn
            .peer_certificates()
            .is_some_and(|certs| certs.len() == 1));
        c.conn.send_close_notify();
        c.flush().unwrap();
        let (total, version) = server.join().unwrap();
        assert_eq!(total, sent);
        assert!(version.is_some());
    });
}

#[test]
fn tls_handshake_and_echo_procs_1() {
    watchdog(120);
    handshake_and_echo(1);
}

#[test]
fn tls_handshake_and_echo_procs_4() {
    watchdog(120);
    handshake_and_echo(4);
}

/// A client that does not trust the server's certificate fails the handshake with an error,
/// not a hang.
#[test]
fn untrusted_certificate_fails_cleanly() {
    watchdog(120);
    let (server_cfg, _) = configs();
    let (_, other_client) = configs(); // trusts a different self-signed certificate
    at_procs(1, move || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = goroutines::go(move || {
            let (conn, _) = l.accept().unwrap();
            let tls = rustls::ServerConnection::new(server_cfg).unwrap();
            let mut s = rustls::StreamOwned::new(tls, conn);
            s.read(&mut [0u8; 16]).is_err()
        });
        let name = ServerName::try_from("localhost").unwrap();
        let tls = rustls::ClientConnection::new(other_client, name).unwrap();
        let mut c = rustls::StreamOwned::new(tls, TcpStream::connect(addr).unwrap());
        let e = c
            .write_all(b"hello")
            .and_then(|_| c.flush())
            .and_then(|_| c.read(&mut [0u8; 1]).map(|_| ()));
        assert_eq!(e.unwrap_err().kind(), std::io::ErrorKind::InvalidData);
        drop(c);
        assert!(server.join().unwrap());
    });
}
