//! Go's time benchmarks (time/sleep_test.go, tick_test.go), same workloads and names, plus
//! `SleepAccuracy`, which reports how late a 1 ms sleep wakes while every P is busy.
//!
//! Go's `benchmark` helper first puts 2^15 garbage timers (AfterFunc(Hour, nil)) on each P and
//! then runs the body under `b.RunParallel` (one worker goroutine per P taking iterations from a
//! shared counter); `timed` below does the same and times only the parallel part. Go's
//! `sync.WaitGroup` in SimultaneousAfterFunc1000 and Sleep1000 is a countdown whose last
//! decrement sends on a channel (the sync package is not used here).

#[path = "harness/mod.rs"]
mod harness;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::time::{after, after_func, sleep, Ticker, Timer};
use goroutines::{go, yield_now, Chan};

const HOUR: Duration = Duration::from_secs(3600);
const SECOND: Duration = Duration::from_secs(1);
const NS: Duration = Duration::from_nanos(1);

use harness::Pb;

/// Go's `benchmark`: garbage timers on every P, then `b.RunParallel(body)`, timed alone.
fn timed(n: u64, body: impl Fn(&mut Pb) + Send + Sync + 'static) -> Option<Duration> {
    let procs = goroutines::max_procs();
    let garbage: Vec<Vec<Timer>> = (0..procs)
        .map(|_| go(|| (0..1 << 15).map(|_| after_func(HOUR, || {})).collect()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let start = Instant::now();
    let counter = Arc::new(AtomicI64::new(n as i64));
    let body = Arc::new(body);
    let hs: Vec<_> = (0..procs)
        .map(|_| {
            let (counter, body) = (counter.clone(), body.clone());
            go(move || body(&mut Pb::new(counter)))
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let took = start.elapsed();
    for t in garbage.iter().flatten() {
        t.stop();
    }
    Some(took)
}

/// Go's `sync.WaitGroup` stand-in: `n` calls to `done` then `wait` returns.
#[derive(Clone)]
struct Countdown {
    left: Arc<AtomicUsize>,
    c: Chan<()>,
}

impl Countdown {
    fn new(n: usize) -> Countdown {
        Countdown {
            left: Arc::new(AtomicUsize::new(n)),
            c: Chan::new(1),
        }
    }
    fn done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.c.send(());
        }
    }
    fn wait(&self) {
        self.c.recv();
    }
}

/// Go's `newTimerFunc`: an AfterFunc timer whose function sends on a channel.
fn new_timer_func(d: Duration) -> Timer {
    let c = Chan::new(1);
    after_func(d, move || {
        let _ = c.try_send(Instant::now());
    })
}

fn after_func_1000(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        while pb.next() {
            let c = Chan::<bool>::new(0);
            let left = Arc::new(AtomicI64::new(1000));
            fn f(left: Arc<AtomicI64>, c: Chan<bool>) {
                // Go's `n--; if n >= 0`.
                if left.fetch_sub(1, Ordering::Relaxed) > 0 {
                    let _ = after_func(Duration::ZERO, move || f(left.clone(), c.clone()));
                } else {
                    c.send(true);
                }
            }
            let (l, c2) = (left.clone(), c.clone());
            let _ = after_func(Duration::ZERO, move || f(l.clone(), c2.clone()));
            c.recv();
        }
    })
}

fn after_1(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        while pb.next() {
            after(NS).recv();
        }
    })
}

fn stop_chan(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        while pb.next() {
            Timer::new(SECOND).stop();
        }
    })
}

fn stop_func(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        while pb.next() {
            new_timer_func(SECOND).stop();
        }
    })
}

fn simultaneous_after_func_1000(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        while pb.next() {
            let wg = Countdown::new(1000);
            for _ in 0..1000 {
                let wg = wg.clone();
                let _ = after_func(Duration::ZERO, move || wg.done());
            }
            wg.wait();
        }
    })
}

fn start_stop_1000(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        while pb.next() {
            let timers: Vec<Timer> = (0..1000).map(|_| after_func(HOUR, || {})).collect();
            for t in &timers {
                t.stop();
            }
        }
    })
}

fn reset(n: u64, func: bool) -> Option<Duration> {
    timed(n, move |pb| {
        let t = if func {
            new_timer_func(HOUR)
        } else {
            Timer::new(HOUR)
        };
        while pb.next() {
            t.reset(HOUR);
        }
        t.stop();
    })
}

fn sleep_1000(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        while pb.next() {
            let wg = Countdown::new(1000);
            for _ in 0..1000 {
                let wg = wg.clone();
                go(move || {
                    sleep(NS);
                    wg.done();
                });
            }
            wg.wait();
        }
    })
}

fn ticker(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        let t = Ticker::new(NS);
        while pb.next() {
            t.chan().recv();
        }
        t.stop();
    })
}

fn ticker_reset(n: u64) -> Option<Duration> {
    timed(n, |pb| {
        let t = Ticker::new(NS);
        while pb.next() {
            t.reset(NS * 2);
        }
        t.stop();
    })
}

/// `n` sleeps of 1 ms in one goroutine while 2 goroutines per P yield in a loop; reports the
/// oversleep distribution.
fn sleep_accuracy(n: u64) -> (Option<Duration>, Vec<(f64, String)>) {
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..2 * goroutines::max_procs())
        .map(|_| {
            let stop = stop.clone();
            go(move || {
                while !stop.load(Ordering::Relaxed) {
                    yield_now();
                }
            })
        })
        .collect();
    let d = Duration::from_millis(1);
    let start = Instant::now();
    let mut over: Vec<u128> = (0..n)
        .map(|_| {
            let s = Instant::now();
            sleep(d);
            (s.elapsed() - d).as_nanos()
        })
        .collect();
    let took = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for h in busy {
        h.join().unwrap();
    }
    over.sort_unstable();
    let pct = |p: usize| over[(over.len() - 1) * p / 100] as f64;
    (
        Some(took),
        vec![
            (pct(50), "p50-oversleep-ns".into()),
            (pct(99), "p99-oversleep-ns".into()),
            (over[over.len() - 1] as f64, "max-oversleep-ns".into()),
        ],
    )
}

fn main() {
    goroutines::run(|| {
        let b = harness::Bencher::from_env();
        type Bench = (&'static str, fn(u64) -> Option<Duration>);
        let benches: [Bench; 11] = [
            ("AfterFunc1000", after_func_1000),
            ("After", after_1),
            ("Stop/impl=chan", stop_chan),
            ("Stop/impl=func", stop_func),
            ("SimultaneousAfterFunc1000", simultaneous_after_func_1000),
            ("StartStop1000", start_stop_1000),
            ("Reset/impl=chan", |n| reset(n, false)),
            ("Reset/impl=func", |n| reset(n, true)),
            ("Sleep1000", sleep_1000),
            ("Ticker", ticker),
            ("TickerReset", ticker_reset),
        ];
        for (name, f) in benches {
            b.run(name, f);
        }
        b.run_with_metrics("SleepAccuracy", sleep_accuracy);
    });
}
