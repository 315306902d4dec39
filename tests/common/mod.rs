//! Helpers shared by the tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::sync::{Mutex, Semaphore};
use goroutines::{go, yield_now, JoinHandle};

/// `n` goroutines that yield in a loop until `stop` is set, keeping every P busy.
pub fn busy_yielders(n: usize, stop: &Arc<AtomicBool>) -> Vec<JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let stop = stop.clone();
            go(move || {
                while !stop.load(Ordering::Relaxed) {
                    yield_now();
                }
            })
        })
        .collect()
}

/// A tiny unbounded queue standing in for Go's channels in the ported tests (this crate's
/// channels live in another module): a Mutex-guarded deque and a semaphore counting items.
pub struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    count: Semaphore,
}

const BIG: usize = 1 << 40;

impl<T> Queue<T> {
    pub fn new() -> Queue<T> {
        let count = Semaphore::new(BIG);
        assert!(count.try_acquire(BIG));
        Queue {
            items: Mutex::new(VecDeque::new()),
            count,
        }
    }

    pub fn send(&self, v: T) {
        self.items.lock().push_back(v);
        self.count.release(1);
    }

    pub fn recv(&self) -> T {
        self.count.acquire(1);
        self.items.lock().pop_front().expect("an item per permit")
    }

    pub fn try_recv(&self) -> Option<T> {
        if self.count.try_acquire(1) {
            Some(self.items.lock().pop_front().expect("an item per permit"))
        } else {
            None
        }
    }
}

/// Aborts the test process if a test hangs (a lost wake-up shows as a deadlock).
pub fn watchdog(secs: u64) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        eprintln!("watchdog: test still running after {secs} s: deadlock?");
        std::process::exit(101);
    });
}

/// Stands in for Go's `time.Sleep` in ported tests: keeps the goroutine busy for `d` while
/// letting other goroutines run (so it also works at GOMAXPROCS=1).
pub fn busy_sleep(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        goroutines::yield_now();
    }
}

/// Runs `f` as the main goroutine of a fresh runtime with `procs` Ps.
pub fn at_procs<T: Send + 'static>(procs: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    goroutines::Builder::new()
        .max_procs(procs)
        .build()
        .expect("runtime")
        .run(f)
}

/// A goroutine that sleeps 1 ms in a loop and records the worst gap between its wake-ups, for
/// the "does not block the P" tests: at GOMAXPROCS=1 it only ticks if the waiter parks.
pub struct GapTicker {
    stop: Arc<AtomicBool>,
    ticks: Arc<std::sync::atomic::AtomicU64>,
    h: JoinHandle<Duration>,
}

impl GapTicker {
    pub fn start() -> GapTicker {
        Self::start_with(|f| go(f))
    }

    /// A migratable ticker: for a waiter that blocks its OS thread (inside `blocking`), which
    /// only goroutines that may move to another thread can get past (docs/soundness.md).
    #[allow(dead_code)]
    pub fn start_migratable() -> GapTicker {
        // SAFETY: the ticker keeps nothing tied to its OS thread across its sleeps.
        Self::start_with(|f| unsafe { goroutines::go_migratable(f) })
    }

    fn start_with(
        spawn: fn(Box<dyn FnOnce() -> Duration + Send>) -> JoinHandle<Duration>,
    ) -> GapTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let ticks = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (s, t) = (stop.clone(), ticks.clone());
        let h = spawn(Box::new(move || {
            let mut worst = Duration::ZERO;
            let mut last = Instant::now();
            while !s.load(Ordering::Relaxed) {
                goroutines::time::sleep(Duration::from_millis(1));
                let now = Instant::now();
                worst = worst.max(now - last);
                last = now;
                t.fetch_add(1, Ordering::Relaxed);
            }
            worst
        }));
        // Let it start ticking before the waiter blocks.
        while ticks.load(Ordering::Relaxed) == 0 {
            goroutines::yield_now();
        }
        GapTicker { stop, ticks, h }
    }

    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Stops the ticker and returns (worst gap, ticks).
    pub fn finish(self) -> (Duration, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let worst = self.h.join().unwrap();
        (worst, self.ticks.load(Ordering::Relaxed))
    }
}

/// Runs this test binary's test `name` alone in a child process (`--exact`, one test thread,
/// output not captured) with `env` added to its environment, and returns what it printed and
/// how it ended. The child tells it is the child by a variable in `env`; the tests that end
/// the process (a deadlock, a stack overflow, a bad setting) are run this way.
pub fn run_test_in_child(name: &str, env: &[(&str, &str)]) -> std::process::Output {
    let exe = std::env::current_exe().expect("the test binary's own path");
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the test binary can run itself")
}

/// [`run_test_in_child`] that gives the child `secs` seconds: `None` if it had to be killed (a
/// hang), for the tests whose claim is "ends, never hangs".
pub fn run_test_in_child_within(
    name: &str,
    env: &[(&str, &str)],
    secs: u64,
) -> Option<std::process::Output> {
    let exe = std::env::current_exe().expect("the test binary's own path");
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("the test binary can run itself");
    let until = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().expect("wait for the child").is_none() {
        if Instant::now() >= until {
            let _ = child.kill();
            let out = child.wait_with_output().expect("the killed child's output");
            eprintln!(
                "child {name} killed after {secs} s; its stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().expect("the child's output"))
}
