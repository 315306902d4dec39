//! The bridge to async Rust (issue 15): goroutines awaiting futures with `block_on`, tokio tasks
//! awaiting channels, joins and timers, and the cancel safety of the channel futures.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use goroutines::{Builder, Chan, TryRecvError};

fn tokio_rt(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// 100,000 values from goroutines to tokio tasks over `recv_async` and back over `send_async`,
/// with `tokio::select!` timeouts cancelling receives (and, on the buffered channel, sends)
/// part-way: every value arrives back exactly once.
fn values_through_tokio_exactly_once(procs: usize, cap: usize) {
    const N: u64 = 100_000;
    const SENDERS: u64 = 4;
    const TASKS: usize = 4;
    common::watchdog(120);
    let rt = Builder::new().max_procs(procs).build().unwrap();
    let tk = tokio_rt(2);
    let to_tokio: Chan<u64> = Chan::new(cap);
    let back: Chan<u64> = Chan::new(cap);
    let recv_cancels = Arc::new(AtomicUsize::new(0));
    let send_cancels = Arc::new(AtomicUsize::new(0));

    // Goroutine senders, pausing now and then so that receives time out.
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let ch = to_tokio.clone();
            rt.go(move || {
                for i in (s..N).step_by(SENDERS as usize) {
                    if i % 1000 < SENDERS {
                        goroutines::time::sleep(Duration::from_micros(300));
                    }
                    ch.send(i);
                }
            })
        })
        .collect();
    // The collector: counts every value that comes back, pausing so that sends time out.
    let seen: Arc<Vec<AtomicU32>> = Arc::new((0..N).map(|_| AtomicU32::new(0)).collect());
    let collector = {
        let back = back.clone();
        let seen = seen.clone();
        rt.go(move || {
            let mut n = 0u64;
            for v in back.iter() {
                seen[v as usize].fetch_add(1, Ordering::Relaxed);
                n += 1;
                if n % 997 == 0 {
                    goroutines::time::sleep(Duration::from_micros(300));
                }
            }
            n
        })
    };
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (rx, tx) = (to_tokio.clone(), back.clone());
            let (rc, sc) = (recv_cancels.clone(), send_cancels.clone());
            tk.spawn(async move {
                loop {
                    let v = tokio::select! {
                        v = rx.recv_async() => v,
                        _ = tokio::time::sleep(Duration::from_micros(100)) => {
                            rc.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    };
                    let Some(v) = v else { break };
                    if cap == 0 {
                        // Unbuffered: a receiver may take the value between two polls, so a
                        // cancelled send may have sent; do not race it.
                        tx.send_async(v).await;
                        continue;
                    }
                    // Buffered: a cancelled send did not send: send the same value again.
                    loop {
                        tokio::select! {
                            _ = tx.send_async(v) => break,
                            _ = tokio::time::sleep(Duration::from_micros(100)) => {
                                sc.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    to_tokio.close();
    tk.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    back.close();
    let n = collector.join().unwrap();
    let dup = seen
        .iter()
        .filter(|c| c.load(Ordering::Relaxed) > 1)
        .count();
    let missing = seen
        .iter()
        .filter(|c| c.load(Ordering::Relaxed) == 0)
        .count();
    let (rc, sc) = (
        recv_cancels.load(Ordering::Relaxed),
        send_cancels.load(Ordering::Relaxed),
    );
    eprintln!(
        "GOMAXPROCS={procs} cap={cap}: {n} values back, {rc} receives and {sc} sends cancelled"
    );
    assert_eq!((dup, missing, n), (0, 0, N), "duplicated, missing, total");
    assert!(
        rc > 0,
        "no receive was cancelled: the test did not test cancellation"
    );
}

#[test]
fn recv_async_100k_exactly_once_unbuffered_gomaxprocs_1() {
    values_through_tokio_exactly_once(1, 0);
}

#[test]
fn recv_async_100k_exactly_once_unbuffered_gomaxprocs_4() {
    values_through_tokio_exactly_once(4, 0);
}

#[test]
fn recv_async_100k_exactly_once_buffered_gomaxprocs_1() {
    values_through_tokio_exactly_once(1, 16);
}

#[test]
fn recv_async_100k_exactly_once_buffered_gomaxprocs_4() {
    values_through_tokio_exactly_once(4, 16);
}

/// What the 4 waking threads and the parking goroutine share.
struct Shared {
    /// The step the goroutine has registered its waker for (it waits for `granted >= want`).
    want: AtomicU64,
    granted: AtomicU64,
    waker: Mutex<Option<Waker>>,
    /// Polls in progress: more than one at once would be the goroutine running twice.
    polling: AtomicU32,
    done: AtomicBool,
}

struct Step<'a> {
    s: &'a Shared,
    want: u64,
}

impl Future for Step<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        assert_eq!(
            self.s.polling.fetch_add(1, Ordering::SeqCst),
            0,
            "two polls at once"
        );
        let r = if self.s.granted.load(Ordering::SeqCst) >= self.want {
            Poll::Ready(())
        } else {
            // Publish the waker, then the step: the threads grant a step only once they see
            // it registered, so every step returns Pending once and really parks (or finds the
            // token of a wake that beat the park).
            *self.s.waker.lock().unwrap() = Some(cx.waker().clone());
            self.s.want.store(self.want, Ordering::SeqCst);
            Poll::Pending
        };
        self.s.polling.fetch_sub(1, Ordering::SeqCst);
        r
    }
}

/// A goroutine parks and unparks in `block_on` in a loop while 4 threads grant each step and
/// all wake its waker at once: no wake-up is lost (the loop finishes), no poll overlaps another,
/// and the goroutine finishes each step exactly once. `BRIDGE_WAKE_ITERS` sets the count.
#[test]
fn waker_from_four_threads_loses_no_wake() {
    let iters: u64 = std::env::var("BRIDGE_WAKE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    common::watchdog(300);
    let rt = Builder::new().max_procs(2).build().unwrap();
    let s = Arc::new(Shared {
        want: AtomicU64::new(0),
        granted: AtomicU64::new(0),
        waker: Mutex::new(None),
        polling: AtomicU32::new(0),
        done: AtomicBool::new(false),
    });
    let wakes = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (s, wakes) = (s.clone(), wakes.clone());
            std::thread::spawn(move || {
                let mut spins = 0u32;
                let mut last = 0;
                while !s.done.load(Ordering::SeqCst) {
                    let want = s.want.load(Ordering::SeqCst);
                    if want <= last {
                        spins += 1;
                        if spins % 64 == 0 {
                            std::thread::yield_now();
                        }
                        std::hint::spin_loop();
                        continue;
                    }
                    // All four race to grant the step and then all wake, each once per step it
                    // sees (late wakes land in the goroutine's next steps: stale tokens).
                    last = want;
                    s.granted.fetch_max(want, Ordering::SeqCst);
                    let w = s.waker.lock().unwrap().clone();
                    if let Some(w) = w {
                        w.wake();
                        wakes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    let steps = {
        let s = s.clone();
        rt.go(move || {
            let me = goroutines::current_id();
            let mut steps = 0u64;
            for i in 1..=iters {
                goroutines::block_on(Step { s: &s, want: i });
                assert_eq!(goroutines::current_id(), me);
                steps += 1;
            }
            steps
        })
        .join()
        .unwrap()
    };
    s.done.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(steps, iters);
    assert_eq!(s.granted.load(Ordering::SeqCst), iters);
    eprintln!(
        "{iters} park/unpark rounds with 4 waking threads in {:?} ({} wakes)",
        start.elapsed(),
        wakes.load(Ordering::Relaxed)
    );
}

/// The time of the worst gap between ticks of a goroutine sleeping 1 ms at a time, until `stop`.
fn ticker(
    rt: &goroutines::Runtime,
    stop: Arc<AtomicBool>,
) -> goroutines::JoinHandle<(Duration, u64)> {
    rt.go(move || {
        let mut worst = Duration::ZERO;
        let mut ticks = 0;
        while !stop.load(Ordering::SeqCst) {
            let t = Instant::now();
            goroutines::time::sleep(Duration::from_millis(1));
            worst = worst.max(t.elapsed());
            ticks += 1;
        }
        (worst, ticks)
    })
}

/// At GOMAXPROCS=1, a goroutine waiting 200 ms on a tokio timer through the bridge
/// (`block_on(handle.spawn(..))`) does not block the other goroutines: a ticker keeps ticking.
#[test]
fn tokio_timer_via_bridge_does_not_block_ticker() {
    common::watchdog(60);
    let rt = Builder::new().max_procs(1).build().unwrap();
    let tk = tokio_rt(1);
    let h = tk.handle().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let t = ticker(&rt, stop.clone());
    let waited = rt
        .go(move || {
            let start = Instant::now();
            let v = goroutines::block_on(h.spawn(async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                7
            }))
            .unwrap();
            assert_eq!(v, 7);
            start.elapsed()
        })
        .join()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    let (worst, ticks) = t.join().unwrap();
    eprintln!("waited {waited:?} on tokio; ticker: {ticks} ticks, worst gap {worst:?}");
    assert!(waited >= Duration::from_millis(200));
    assert!(
        ticks >= 20,
        "only {ticks} ticks while the goroutine waited 200 ms"
    );
    assert!(
        worst < Duration::from_millis(150),
        "worst tick gap {worst:?}"
    );
}

/// The same through the `tokio` feature's helper.
#[cfg(feature = "tokio")]
#[test]
fn spawn_on_does_not_block_ticker_and_resumes_panics() {
    common::watchdog(60);
    let rt = Builder::new().max_procs(1).build().unwrap();
    let tk = tokio_rt(1);
    let h = tk.handle().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let t = ticker(&rt, stop.clone());
    let h2 = h.clone();
    let v = rt
        .go(move || {
            goroutines::tokio::spawn_on(&h2, async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                "slept"
            })
        })
        .join()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    let (worst, ticks) = t.join().unwrap();
    assert_eq!(v, "slept");
    assert!(
        ticks >= 20 && worst < Duration::from_millis(150),
        "{ticks} ticks, worst {worst:?}"
    );
    let err = rt
        .go(move || goroutines::tokio::spawn_on(&h, async { panic!("boom in tokio") }))
        .join()
        .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"boom in tokio"));
}

#[test]
fn nested_block_on_panics_with_its_message() {
    let check = |r: std::thread::Result<()>| {
        let e = r.unwrap_err();
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap();
        assert_eq!(
            msg,
            "goroutines::block_on called from a future polled by block_on"
        );
    };
    // In a goroutine.
    check(goroutines::go(|| goroutines::block_on(async { goroutines::block_on(async {}) })).join());
    // On a plain thread.
    check(
        std::thread::spawn(|| goroutines::block_on(async { goroutines::block_on(async {}) }))
            .join(),
    );
    // The flag is reset after the panic: block_on works again on the same goroutine.
    let v = goroutines::go(|| {
        let r = std::panic::catch_unwind(|| {
            goroutines::block_on(async { goroutines::block_on(async {}) })
        });
        assert!(r.is_err());
        goroutines::block_on(async { 5 })
    })
    .join()
    .unwrap();
    assert_eq!(v, 5);
}

#[test]
fn block_on_on_a_plain_thread_parks_the_thread() {
    let ch = Chan::new(0);
    let tx = ch.clone();
    goroutines::go(move || {
        goroutines::time::sleep(Duration::from_millis(20));
        tx.send(1);
    });
    let start = Instant::now();
    assert_eq!(goroutines::block_on(ch.recv_async()), Some(1));
    assert!(start.elapsed() >= Duration::from_millis(15));
}

/// A tokio task awaits a goroutine's `JoinHandle`, sleeps on this crate's timers and gets Go's
/// panic from `send_async` on a closed channel.
#[test]
fn tokio_awaits_join_sleep_and_send_panics_on_closed() {
    let tk = tokio_rt(1);
    let h = goroutines::go(|| {
        goroutines::time::sleep(Duration::from_millis(10));
        21 * 2
    });
    let (v, slept) = tk.block_on(async move {
        let v = h.await.unwrap();
        let start = Instant::now();
        goroutines::time::sleep_async(Duration::from_millis(30)).await;
        (v, start.elapsed())
    });
    assert_eq!(v, 42);
    assert!(slept >= Duration::from_millis(30));
    // A panicking goroutine's payload comes out of the future.
    let h = goroutines::go(|| panic!("joined"));
    assert!(tk.block_on(async move { h.await }).is_err());
    // send on a closed channel panics where `send` does, with Go's message.
    let ch: Chan<u8> = Chan::new(0);
    let waiting = ch.clone();
    let task = tk.spawn(async move { waiting.send_async(1).await });
    std::thread::sleep(Duration::from_millis(20));
    ch.close();
    let e = tk.block_on(task).unwrap_err().into_panic();
    assert_eq!(e.downcast_ref::<&str>(), Some(&"send on closed channel"));
}

/// An unbuffered `send_async` dropped before any receiver took the value did not send it; a
/// `recv_async` dropped after a sender woke it leaves the value in the channel.
#[test]
fn dropped_futures_send_nothing_and_lose_nothing() {
    let tk = tokio_rt(1);
    // Unbuffered send, cancelled by a timeout: nobody can receive the value afterwards.
    let ch: Chan<u32> = Chan::new(0);
    let c = ch.clone();
    let sent = tk.block_on(async move {
        tokio::select! {
            _ = c.send_async(5) => true,
            _ = tokio::time::sleep(Duration::from_millis(10)) => false,
        }
    });
    assert!(!sent);
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    // A pending receive is woken by a goroutine's send and dropped before it is polled again:
    // the value stays in the (buffered) channel.
    let ch: Chan<u32> = Chan::new(1);
    let mut fut = Box::pin(ch.recv_async());
    let woken = Arc::new(AtomicBool::new(false));
    struct Flag(Arc<AtomicBool>);
    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let w = Waker::from(Arc::new(Flag(woken.clone())));
    assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    goroutines::go({
        let ch = ch.clone();
        move || ch.send(9)
    })
    .join()
    .unwrap();
    assert!(
        woken.load(Ordering::SeqCst),
        "the sender did not wake the pending receive"
    );
    drop(fut);
    assert_eq!(ch.try_recv(), Ok(9));
    // The same on an unbuffered channel: the goroutine sender stays queued after the dropped
    // receive, and a later receive takes its value.
    let ch: Chan<u32> = Chan::new(0);
    let mut fut = Box::pin(ch.recv_async());
    woken.store(false, Ordering::SeqCst);
    assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    let sender = goroutines::go({
        let ch = ch.clone();
        move || ch.send(11)
    });
    while !woken.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    drop(fut);
    assert_eq!(ch.recv(), Some(11));
    sender.join().unwrap();
}

/// Waiting in `recv_async` from inside a goroutine's `block_on` does not hold the M: at
/// GOMAXPROCS=1 another goroutine keeps ticking while the receive waits.
#[test]
fn block_on_recv_async_does_not_block_ticker() {
    let rt = Builder::new().max_procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let t = ticker(&rt, stop.clone());
    let ch: Chan<u8> = Chan::new(0);
    let tx = ch.clone();
    let r = rt.go(move || goroutines::block_on(ch.recv_async()));
    std::thread::sleep(Duration::from_millis(150));
    tx.send(3);
    assert_eq!(r.join().unwrap(), Some(3));
    stop.store(true, Ordering::SeqCst);
    let (worst, ticks) = t.join().unwrap();
    assert!(
        ticks >= 20 && worst < Duration::from_millis(150),
        "{ticks} ticks, worst {worst:?}"
    );
}

/// Tokio tasks wait for goroutines with `WaitGroup::wait_async`, many of them cancelled by
/// timeouts part-way, beside goroutines in `wait`: every goroutine waiter is released each
/// round, and no cancelled waiter leaves a stray release behind (the next round's `wait`
/// really waits).
#[test]
fn waitgroup_wait_async_with_cancels() {
    use goroutines::sync::WaitGroup;
    common::watchdog(120);
    let tk = tokio_rt(2);
    let cancels = Arc::new(AtomicUsize::new(0));
    for round in 0..200u64 {
        let wg = WaitGroup::new();
        let workers = 8;
        wg.add(workers);
        for i in 0..workers {
            let wg = wg.clone();
            goroutines::go(move || {
                goroutines::time::sleep(Duration::from_micros(50 * (i as u64 + round % 7)));
                wg.done();
            });
        }
        let sync_waiters: Vec<_> = (0..2)
            .map(|_| {
                let wg = wg.clone();
                goroutines::go(move || wg.wait())
            })
            .collect();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (wg, cancels) = (wg.clone(), cancels.clone());
                tk.spawn(async move {
                    loop {
                        tokio::select! {
                            _ = wg.wait_async() => return,
                            _ = tokio::time::sleep(Duration::from_micros(30)) => {
                                cancels.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        tk.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        for w in sync_waiters {
            w.join().unwrap();
        }
        // Reuse: a stray release would let this wait return before the goroutine is done.
        wg.add(1);
        let start = Instant::now();
        let w2 = wg.clone();
        goroutines::go(move || {
            goroutines::time::sleep(Duration::from_millis(2));
            w2.done();
        });
        wg.wait();
        assert!(
            start.elapsed() >= Duration::from_millis(2),
            "round {round}: wait returned early"
        );
    }
    eprintln!(
        "{} wait_async futures cancelled",
        cancels.load(Ordering::Relaxed)
    );
    assert!(cancels.load(Ordering::Relaxed) > 0);
}

/// Tokio tasks and goroutines share a `sync::Mutex`, the tasks through `lock_async` with
/// timeouts cancelling part of their waits (some after the lock was handed to them in
/// starvation mode): every increment lands exactly once, and nobody is left waiting.
#[test]
fn mutex_lock_async_with_cancels() {
    use goroutines::sync::Mutex;
    common::watchdog(120);
    let tk = tokio_rt(2);
    let m = Arc::new(Mutex::new(0u64));
    let cancels = Arc::new(AtomicUsize::new(0));
    const PER: u64 = 20_000;
    let gs: Vec<_> = (0..4)
        .map(|i| {
            let m = m.clone();
            goroutines::go(move || {
                for k in 0..PER {
                    let mut g = m.lock();
                    *g += 1;
                    if k % 500 == i {
                        // Hold it past the starvation threshold now and then.
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    drop(g);
                    if k % 7 == 0 {
                        goroutines::yield_now();
                    }
                }
            })
        })
        .collect();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (m, cancels) = (m.clone(), cancels.clone());
            tk.spawn(async move {
                let mut done = 0;
                while done < PER {
                    tokio::select! {
                        mut g = m.lock_async() => {
                            *g += 1;
                            done += 1;
                        }
                        _ = tokio::time::sleep(Duration::from_micros(200)) => {
                            cancels.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    tk.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    for g in gs {
        g.join().unwrap();
    }
    assert_eq!(*m.lock(), 8 * PER);
    assert!(m.try_lock().is_some(), "the mutex is left locked");
    eprintln!(
        "{} lock_async futures cancelled",
        cancels.load(Ordering::Relaxed)
    );
    assert!(cancels.load(Ordering::Relaxed) > 0);
}

/// A goroutine's blocking `select!` with a send case serves a pending `recv_async` on an
/// unbuffered channel; a `try_send` does not (documented), but wakes it, and loses nothing.
#[test]
fn select_send_serves_recv_async_and_try_send_reports_full() {
    common::watchdog(60);
    let tk = tokio_rt(1);
    let ch: Chan<u32> = Chan::new(0);
    let never: Chan<u32> = Chan::new(0);
    let rx = ch.clone();
    let task = tk.spawn(async move {
        let mut got = Vec::new();
        while let Some(v) = rx.recv_async().await {
            got.push(v);
        }
        got
    });
    let (tx, nv) = (ch.clone(), never.clone());
    goroutines::go(move || {
        for i in 0..1000 {
            goroutines::select! {
                send(tx, i) => {},
                recv(nv) -> _ => unreachable!(),
            }
        }
        // The receiver is pending again by now or soon: `try_send` never hands it a value.
        for _ in 0..100 {
            assert!(tx.try_send(5000).is_err());
        }
        tx.close();
    })
    .join()
    .unwrap();
    let got = tk.block_on(task).unwrap();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}
