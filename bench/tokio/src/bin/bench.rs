//! tokio counterparts of Go benchmarks, printed under the Go benchmark's name:
//! - `CreateGoroutines`: a chain of tasks, each spawning the next (Go's runtime/proc_test.go).
//! - `CreateGoroutinesParallel`: GOMAXPROCS such chains at once.
//! - `ChanSync`: two tasks handing a value back and forth over two `tokio::sync::mpsc`
//!   channels of capacity 1 (tokio has no unbuffered channel); one op is one hand-off, as in
//!   Go's runtime/chan_test.go BenchmarkChanSync.

use goroutines_bench_tokio::{bench, procs, runtime};
use tokio::sync::mpsc;

fn chain(n: u64, done: mpsc::UnboundedSender<()>) {
    tokio::spawn(async move {
        if n == 0 {
            let _ = done.send(());
        } else {
            chain(n - 1, done);
        }
    });
}

fn create(rt: &tokio::runtime::Runtime, n: u64, chains: u64) -> std::time::Duration {
    rt.block_on(async {
        let start = std::time::Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..chains {
            chain(n / chains, tx.clone());
        }
        for _ in 0..chains {
            rx.recv().await.expect("chain finished");
        }
        start.elapsed()
    })
}

fn chan_sync(rt: &tokio::runtime::Runtime, n: u64) -> std::time::Duration {
    let round_trips = (n / 2).max(1);
    rt.block_on(async {
        let start = std::time::Instant::now();
        let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
        let a = tokio::spawn(async move {
            for i in 0..round_trips {
                ping_tx.send(i).await.unwrap();
                pong_rx.recv().await.unwrap();
            }
        });
        let b = tokio::spawn(async move {
            for _ in 0..round_trips {
                let v = ping_rx.recv().await.unwrap();
                pong_tx.send(v).await.unwrap();
            }
        });
        a.await.unwrap();
        b.await.unwrap();
        start.elapsed()
    })
}

fn main() {
    let rt = runtime();
    let p = procs() as u64;
    bench("CreateGoroutines", |n| create(&rt, n, 1));
    bench("CreateGoroutinesParallel", |n| {
        create(&rt, n, p.min(n.max(1)))
    });
    bench("ChanSync", |n| chan_sync(&rt, n));
}
