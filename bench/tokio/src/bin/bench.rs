//! tokio counterparts of Go benchmarks, printed under the Go benchmark's name:
//! - `CreateGoroutines`: a chain of tasks, each spawning the next (Go's runtime/proc_test.go).
//! - `CreateGoroutinesParallel`: GOMAXPROCS such chains at once.
//! - `ChanSync`: two tasks handing a value back and forth over two `tokio::sync::mpsc`
//!   channels of capacity 1 (tokio has no unbuffered channel); one op is one hand-off, as in
//!   Go's runtime/chan_test.go BenchmarkChanSync.
//! - `FsMetadata`, `FsRead4K`, `ProcessSpawnWait`, `LookupHost`, `PollFdPipePingPong`: the
//!   workloads of benches/sys.rs and bench/go/sys with `tokio::fs` (a `spawn_blocking` hop per
//!   call), `tokio::process`, `tokio::net::lookup_host` and `tokio::net::unix::pipe`, each run
//!   from one task.

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

fn cached_file(size: usize) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("goroutines-bench-tokio-{}-{size}", std::process::id()));
    std::fs::write(&p, vec![7u8; size]).unwrap();
    std::fs::read(&p).unwrap();
    p
}

fn fs_metadata(rt: &tokio::runtime::Runtime, n: u64) -> std::time::Duration {
    let p = cached_file(16);
    rt.block_on(async {
        let start = std::time::Instant::now();
        for _ in 0..n {
            tokio::fs::metadata(&p).await.unwrap();
        }
        start.elapsed()
    })
}

fn fs_read_4k(rt: &tokio::runtime::Runtime, n: u64) -> std::time::Duration {
    let p = cached_file(4096);
    rt.block_on(async {
        let start = std::time::Instant::now();
        for _ in 0..n {
            assert_eq!(tokio::fs::read(&p).await.unwrap().len(), 4096);
        }
        start.elapsed()
    })
}

fn process_spawn_wait(rt: &tokio::runtime::Runtime, n: u64) -> std::time::Duration {
    rt.block_on(async {
        let start = std::time::Instant::now();
        for _ in 0..n {
            let s = tokio::process::Command::new("true").status().await.unwrap();
            assert!(s.success());
        }
        start.elapsed()
    })
}

fn lookup_host(rt: &tokio::runtime::Runtime, n: u64) -> std::time::Duration {
    rt.block_on(async {
        let start = std::time::Instant::now();
        for _ in 0..n {
            assert!(tokio::net::lookup_host("localhost:80").await.unwrap().next().is_some());
        }
        start.elapsed()
    })
}

fn pipe_ping_pong(rt: &tokio::runtime::Runtime, n: u64) -> std::time::Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::unix::pipe;
    rt.block_on(async {
        let (w1, r1) = pipe::pipe().unwrap();
        let (w2, r2) = pipe::pipe().unwrap();
        let (mut w1, mut r1, mut w2, mut r2) = (w1, r1, w2, r2);
        let echo = tokio::spawn(async move {
            let mut b = [0u8; 1];
            for _ in 0..n {
                r1.read_exact(&mut b).await.unwrap();
                w2.write_all(b"o").await.unwrap();
            }
        });
        let start = std::time::Instant::now();
        let mut b = [0u8; 1];
        for _ in 0..n {
            w1.write_all(b"i").await.unwrap();
            r2.read_exact(&mut b).await.unwrap();
        }
        let took = start.elapsed();
        echo.await.unwrap();
        took
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
    bench("FsMetadata", |n| fs_metadata(&rt, n));
    bench("FsRead4K", |n| fs_read_4k(&rt, n));
    bench("ProcessSpawnWait", |n| process_spawn_wait(&rt, n));
    bench("LookupHost", |n| lookup_host(&rt, n));
    bench("PollFdPipePingPong", |n| pipe_ping_pong(&rt, n));
}
