//! The async bridge (issue 15): `block_on` of a ready future, and round trips between a tokio
//! task and a goroutine over `Chan`, against the same round trip between two tokio tasks over
//! `tokio::sync::mpsc` and between two goroutines over `Chan`.
//!
//! Each round trip is one value each way over unbuffered channels (`tokio::sync::mpsc` has no
//! unbuffered flavour: capacity 1). tokio runs a multi-thread runtime with one worker, the
//! goroutines the default GOMAXPROCS.

#[path = "harness/mod.rs"]
mod harness;

use std::time::{Duration, Instant};

use goroutines::Chan;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// `block_on(ready(i))` in a goroutine: poll once, no park.
fn block_on_ready(n: u64) -> Option<Duration> {
    let start = Instant::now();
    let mut sum = 0u64;
    for i in 0..n {
        sum = sum.wrapping_add(goroutines::block_on(std::future::ready(i)));
    }
    std::hint::black_box(sum);
    Some(start.elapsed())
}

/// The same on a plain OS thread (the waker is an `Arc` of the thread).
fn block_on_ready_thread(n: u64) -> Option<Duration> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut sum = 0u64;
        for i in 0..n {
            sum = sum.wrapping_add(goroutines::block_on(std::future::ready(i)));
        }
        std::hint::black_box(sum);
        start.elapsed()
    })
    .join()
    .ok()
}

/// A tokio task sends on `ping` with `send_async` and receives on `pong` with `recv_async`; a
/// goroutine echoes.
fn tokio_goroutine_ping_pong(rt: &tokio::runtime::Runtime, n: u64) -> Option<Duration> {
    let ping: Chan<u64> = Chan::new(0);
    let pong: Chan<u64> = Chan::new(0);
    let echo = {
        let (ping, pong) = (ping.clone(), pong.clone());
        goroutines::go(move || {
            while let Some(v) = ping.recv() {
                pong.send(v);
            }
        })
    };
    let d = rt.block_on(async move {
        let start = Instant::now();
        for i in 0..n {
            ping.send_async(i).await;
            assert_eq!(pong.recv_async().await, Some(i));
        }
        let d = start.elapsed();
        ping.close();
        d
    });
    echo.join().unwrap();
    Some(d)
}

/// Two tokio tasks over `tokio::sync::mpsc` (capacity 1).
fn tokio_mpsc_ping_pong(rt: &tokio::runtime::Runtime, n: u64) -> Option<Duration> {
    rt.block_on(async move {
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let echo = tokio::spawn(async move {
            while let Some(v) = ping_rx.recv().await {
                if pong_tx.send(v).await.is_err() {
                    return;
                }
            }
        });
        let d = tokio::spawn(async move {
            let start = Instant::now();
            for i in 0..n {
                ping_tx.send(i).await.unwrap();
                assert_eq!(pong_rx.recv().await, Some(i));
            }
            start.elapsed()
        })
        .await
        .unwrap();
        echo.await.unwrap();
        Some(d)
    })
}

/// Two goroutines over unbuffered `Chan`s (Go's ping-pong, in this runtime).
fn goroutine_ping_pong(n: u64) -> Option<Duration> {
    let ping: Chan<u64> = Chan::new(0);
    let pong: Chan<u64> = Chan::new(0);
    let echo = {
        let (ping, pong) = (ping.clone(), pong.clone());
        goroutines::go(move || {
            while let Some(v) = ping.recv() {
                pong.send(v);
            }
        })
    };
    let start = Instant::now();
    for i in 0..n {
        ping.send(i);
        assert_eq!(pong.recv(), Some(i));
    }
    let d = start.elapsed();
    ping.close();
    echo.join().unwrap();
    Some(d)
}

/// Two plain OS threads over rendezvous `std::sync::mpsc` channels: the cost of two cross-thread
/// wake-ups per round trip with nothing else, the floor of any cross-world round trip in which
/// both sides sleep between messages.
fn thread_ping_pong(n: u64) -> Option<Duration> {
    let (ping_tx, ping_rx) = std::sync::mpsc::sync_channel::<u64>(0);
    let (pong_tx, pong_rx) = std::sync::mpsc::sync_channel::<u64>(0);
    let echo = std::thread::spawn(move || {
        while let Ok(v) = ping_rx.recv() {
            if pong_tx.send(v).is_err() {
                return;
            }
        }
    });
    let start = Instant::now();
    for i in 0..n {
        ping_tx.send(i).unwrap();
        assert_eq!(pong_rx.recv(), Ok(i));
    }
    let d = start.elapsed();
    drop(ping_tx);
    echo.join().unwrap();
    Some(d)
}

fn main() {
    let rt = tokio_rt();
    goroutines::run(move || {
        let b = harness::Bencher::from_env();
        b.run("BlockOnReady", block_on_ready);
        b.run("BlockOnReadyThread", block_on_ready_thread);
        b.run("TokioGoroutineChanPingPong", |n| {
            // From a plain thread (this goroutine only starts it): the tokio task is the
            // driver, `rt.block_on` just waits for it.
            let rt = &rt;
            std::thread::scope(|s| s.spawn(|| tokio_goroutine_ping_pong(rt, n)).join().unwrap())
        });
        b.run("TokioMpscPingPong", |n| {
            let rt = &rt;
            std::thread::scope(|s| s.spawn(|| tokio_mpsc_ping_pong(rt, n)).join().unwrap())
        });
        b.run("GoroutineChanPingPong", goroutine_ping_pong);
        b.run("ThreadMpscPingPong", thread_ping_pong);
    });
}
