//! A TCP echo server, one task per connection: the tokio side of the echo scenario.
//! Usage: `echo [ADDR]` (default 127.0.0.1:7000). Prints `listening: ADDR` once bound.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_string());
    goroutines_bench_tokio::runtime().block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening: {}", listener.local_addr()?);
        loop {
            let (mut conn, _) = listener.accept().await?;
            // As Go's net package and the goroutines server do.
            let _ = conn.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => {
                            if conn.write_all(&buf[..k]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    })
}
