//! WaitGroup tests, ported from Go's sync/waitgroup_test.go where noted.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goroutines::go;
use goroutines::sync::WaitGroup;

mod common;
use common::{watchdog, Queue};

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic>".into()
    }
}

/// Ported from Go's sync/waitgroup_test.go testWaitGroup.
fn barrier_round(wg1: &WaitGroup, wg2: &WaitGroup) {
    let n = 16;
    wg1.add(n);
    wg2.add(n);
    let exited = Arc::new(Queue::new());
    for _ in 0..n {
        let (wg1, wg2, exited) = (wg1.clone(), wg2.clone(), exited.clone());
        go(move || {
            wg1.done();
            wg2.wait();
            exited.send(true);
        });
    }
    wg1.wait();
    for _ in 0..n {
        assert!(
            exited.try_recv().is_none(),
            "WaitGroup released group too soon"
        );
        wg2.done();
    }
    for _ in 0..n {
        exited.recv(); // Will block if the barrier fails to unlock someone.
    }
}

/// Ported from Go's sync/waitgroup_test.go TestWaitGroup.
#[goroutines::test]
fn wait_group() {
    watchdog(60);
    let (wg1, wg2) = (WaitGroup::new(), WaitGroup::new());
    // Run the same test a few times to ensure the barrier is in a proper state.
    for _ in 0..8 {
        barrier_round(&wg1, &wg2);
    }
}

/// Ported from Go's sync/waitgroup_test.go TestWaitGroupMisuse.
#[goroutines::test]
fn wait_group_misuse_negative_counter() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let r = std::panic::catch_unwind(|| wg.done());
    assert_eq!(
        panic_message(r.unwrap_err()),
        "sync: negative WaitGroup counter"
    );
}

#[test]
fn negative_add_panics_from_a_thread() {
    let wg = WaitGroup::new();
    let r = std::panic::catch_unwind(|| wg.add(-1));
    assert_eq!(
        panic_message(r.unwrap_err()),
        "sync: negative WaitGroup counter"
    );
}

/// Go's "reused before previous Wait has returned": the counter reaches zero, releasing a
/// waiter, and another round's Add runs before that waiter has resumed. The race cannot be
/// forced from outside, so provoke it many times with the waiter on a plain OS thread; whenever
/// the waiter notices, the panic must carry Go's message.
#[test]
fn reuse_before_wait_returns_reports_gos_message() {
    for _ in 0..200 {
        let wg = WaitGroup::new();
        wg.add(1);
        let w = wg.clone();
        let t = std::thread::spawn(move || std::panic::catch_unwind(|| w.wait()));
        std::thread::yield_now();
        wg.done();
        // The next round starts at once, possibly before the waiter has returned.
        wg.add(1);
        wg.done();
        if let Err(p) = t.join().unwrap() {
            assert_eq!(
                panic_message(p),
                "sync: WaitGroup is reused before previous Wait has returned"
            );
        }
    }
}

/// Ported from Go's sync/waitgroup_test.go TestWaitGroupRace: Done from many goroutines must
/// happen before Wait returns.
#[goroutines::test]
fn wait_group_race() {
    watchdog(60);
    for _ in 0..1000 {
        let wg = WaitGroup::new();
        let n = Arc::new(AtomicUsize::new(0));
        wg.add(2);
        for _ in 0..2 {
            let (wg, n) = (wg.clone(), n.clone());
            go(move || {
                n.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(n.load(Ordering::Relaxed), 2, "spurious wakeup from Wait");
    }
}

#[goroutines::test]
fn many_waiters_goroutines_and_threads() {
    watchdog(60);
    let wg = WaitGroup::new();
    wg.add(1);
    let released = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for _ in 0..100 {
        let (wg, r) = (wg.clone(), released.clone());
        hs.push(go(move || {
            wg.wait();
            r.fetch_add(1, Ordering::Relaxed);
        }));
    }
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (wg, r) = (wg.clone(), released.clone());
            std::thread::spawn(move || {
                wg.wait();
                r.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    goroutines::yield_now();
    assert_eq!(released.load(Ordering::Relaxed), 0);
    // Done from a plain thread releases goroutines and threads alike.
    let w = wg.clone();
    std::thread::spawn(move || w.done()).join().unwrap();
    for h in hs {
        h.join().unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(released.load(Ordering::Relaxed), 104);
}

/// A delta outside the 32-bit counter, or a sum past it, panics instead of being truncated.
#[test]
fn add_overflow_panics() {
    let wg = WaitGroup::new();
    if usize::BITS > 32 {
        let big = (1isize << 32) + 1; // truncated to i32, this used to add 1
        let r = std::panic::catch_unwind(|| wg.add(big));
        assert_eq!(
            panic_message(r.unwrap_err()),
            "sync: WaitGroup counter overflow"
        );
        let r = std::panic::catch_unwind(|| wg.add(-big));
        assert_eq!(
            panic_message(r.unwrap_err()),
            "sync: negative WaitGroup counter"
        );
    }
    wg.add(i32::MAX as isize);
    let r = std::panic::catch_unwind(|| wg.add(1));
    assert_eq!(
        panic_message(r.unwrap_err()),
        "sync: WaitGroup counter overflow"
    );
    // The failed add was undone: the group still counts i32::MAX and drains to zero.
    wg.add(-(i32::MAX as isize));
    wg.wait();
}
