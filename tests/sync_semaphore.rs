//! Semaphore tests, after golang.org/x/sync/semaphore's semaphore_test.go where noted.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goroutines::go;
use goroutines::sync::Semaphore;

mod common;
use common::{watchdog, Queue};

/// After x/sync's HammerWeighted/TestWeighted: many goroutines acquire and release random
/// amounts; the permits in use never exceed the size.
#[goroutines::test]
fn weighted_hammer() {
    watchdog(60);
    let n = goroutines::max_procs() * 4;
    let sem = Arc::new(Semaphore::new(n));
    let in_use = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let (sem, in_use) = (sem.clone(), in_use.clone());
            go(move || {
                let want = i + 1;
                for _ in 0..300 {
                    sem.acquire(want);
                    let now = in_use.fetch_add(want, Ordering::SeqCst) + want;
                    assert!(now <= n, "{now} permits in use of {n}");
                    goroutines::yield_now();
                    in_use.fetch_sub(want, Ordering::SeqCst);
                    sem.release(want);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert!(sem.try_acquire(n), "all permits are back");
}

/// After x/sync's TestWeightedTryAcquire.
#[test]
fn try_acquire() {
    let s = Semaphore::new(2);
    let mut tries = Vec::new();
    s.acquire(1);
    tries.push(s.try_acquire(1));
    tries.push(s.try_acquire(1));
    s.release(2);
    tries.push(s.try_acquire(1));
    s.acquire(1);
    tries.push(s.try_acquire(1));
    assert_eq!(tries, [true, false, true, false]);
}

/// After x/sync's TestLargeAcquireDoesntStarve: a big waiter at the head of the queue holds
/// back smaller requests, so it is served even while small holders come and go.
#[goroutines::test]
fn large_acquire_doesnt_starve() {
    watchdog(60);
    let n = 8;
    let sem = Arc::new(Semaphore::new(n));
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (sem, running) = (sem.clone(), running.clone());
            sem.acquire(1);
            go(move || {
                while running.load(Ordering::Relaxed) {
                    goroutines::yield_now();
                    sem.release(1);
                    sem.acquire(1);
                }
                sem.release(1);
            })
        })
        .collect();
    sem.acquire(n);
    running.store(false, Ordering::Relaxed);
    sem.release(n);
    for h in hs {
        h.join().unwrap();
    }
}

/// FIFO: with a big request queued first, a small one that would fit waits behind it, and
/// waiters are served in arrival order.
#[goroutines::test]
fn fifo_big_waiter_blocks_smaller_ones() {
    watchdog(60);
    let sem = Arc::new(Semaphore::new(4));
    sem.acquire(3); // one permit left
    let order = Arc::new(Queue::new());
    let big = {
        let (sem, order) = (sem.clone(), order.clone());
        go(move || {
            sem.acquire(4);
            order.send("big");
            sem.release(4);
        })
    };
    // Wait until the big waiter has queued: from then on try_acquire fails although one permit
    // is free (it does not jump the queue).
    while sem.try_acquire(1) {
        sem.release(1);
        goroutines::yield_now();
    }
    let small = {
        let (sem, order) = (sem.clone(), order.clone());
        go(move || {
            sem.acquire(1);
            order.send("small");
            sem.release(1);
        })
    };
    for _ in 0..20 {
        goroutines::yield_now();
    }
    assert!(
        order.try_recv().is_none(),
        "the small request passed the big one"
    );
    sem.release(3);
    assert_eq!(order.recv(), "big");
    assert_eq!(order.recv(), "small");
    big.join().unwrap();
    small.join().unwrap();
    assert!(sem.try_acquire(4));
}

/// Waiters on OS threads and goroutines mix.
#[goroutines::test]
fn threads_and_goroutines() {
    watchdog(60);
    let sem = Arc::new(Semaphore::new(1));
    let count = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (sem, count) = (sem.clone(), count.clone());
            std::thread::spawn(move || {
                for _ in 0..500 {
                    sem.acquire(1);
                    count.fetch_add(1, Ordering::Relaxed);
                    sem.release(1);
                }
            })
        })
        .collect();
    let gs: Vec<_> = (0..4)
        .map(|_| {
            let (sem, count) = (sem.clone(), count.clone());
            go(move || {
                for _ in 0..500 {
                    sem.acquire(1);
                    count.fetch_add(1, Ordering::Relaxed);
                    goroutines::yield_now();
                    sem.release(1);
                }
            })
        })
        .collect();
    for g in gs {
        g.join().unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), 3000);
}

/// x/sync panics with this message when more is released than held.
#[test]
fn release_more_than_held_panics() {
    let s = Semaphore::new(1);
    let r = std::panic::catch_unwind(|| s.release(1));
    let p = r.unwrap_err();
    assert_eq!(
        p.downcast_ref::<&str>(),
        Some(&"semaphore: released more than held")
    );
}

#[test]
fn acquire_more_than_size_panics() {
    let s = Semaphore::new(1);
    assert!(std::panic::catch_unwind(|| s.acquire(2)).is_err());
}

/// A release so large that the sum of permits overflows panics with the same message (it used
/// to wrap silently in release builds and leave the semaphore with garbage permits).
#[test]
fn release_overflow_panics() {
    let s = Semaphore::new(2);
    s.acquire(1);
    let r = std::panic::catch_unwind(|| s.release(usize::MAX));
    assert_eq!(
        r.unwrap_err().downcast_ref::<&str>(),
        Some(&"semaphore: released more than held")
    );
    // The semaphore is untouched: one permit free, one held.
    assert!(s.try_acquire(1));
    assert!(!s.try_acquire(1));
}
