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
