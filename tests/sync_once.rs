//! Once tests, ported from Go's sync/once_test.go where noted.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goroutines::go;
use goroutines::sync::Once;

mod common;
use common::{busy_sleep, watchdog, Queue};

/// Ported from Go's sync/once_test.go TestOnce.
#[goroutines::test]
fn once() {
    watchdog(60);
    let o = Arc::new(AtomicUsize::new(0));
    let once = Arc::new(Once::new());
    let c = Arc::new(Queue::new());
    const N: usize = 10;
    for _ in 0..N {
        let (o, once, c) = (o.clone(), once.clone(), c.clone());
        go(move || {
            once.call_once(|| {
                o.fetch_add(1, Ordering::Relaxed);
            });
            let v = o.load(Ordering::Relaxed);
            assert_eq!(v, 1, "once failed inside run: {v} is not 1");
            c.send(true);
        });
    }
    for _ in 0..N {
        c.recv();
    }
    assert_eq!(o.load(Ordering::Relaxed), 1, "once failed outside run");
    assert!(once.is_completed());
}

/// Ported from Go's sync/once_test.go TestOncePanic: a call whose function panics counts as
/// done, and the panic reaches its caller.
#[goroutines::test]
fn once_panic() {
    let once = Once::new();
    let r = std::panic::catch_unwind(|| once.call_once(|| panic!("failed")));
    assert!(r.is_err(), "call_once did not panic");
    assert!(once.is_completed());
    once.call_once(|| panic!("call_once called twice"));
}

/// Callers arriving while the first call runs park until it finishes, and see its effects.
#[goroutines::test]
fn concurrent_callers_wait_for_the_first() {
    watchdog(60);
    let once = Arc::new(Once::new());
    let value = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Queue::new());
    let first = {
        let (once, value, started) = (once.clone(), value.clone(), started.clone());
        go(move || {
            once.call_once(|| {
                started.send(());
                busy_sleep(std::time::Duration::from_millis(20));
                value.store(42, Ordering::Relaxed);
            })
        })
    };
    started.recv();
    assert!(!once.is_completed());
    let later: Vec<_> = (0..20)
        .map(|_| {
            let (once, value) = (once.clone(), value.clone());
            go(move || {
                once.call_once(|| panic!("second call ran"));
                value.load(Ordering::Relaxed)
            })
        })
        .collect();
    // And a plain thread.
    let t = {
        let (once, value) = (once.clone(), value.clone());
        std::thread::spawn(move || {
            once.call_once(|| panic!("second call ran"));
            value.load(Ordering::Relaxed)
        })
    };
    for h in later {
        assert_eq!(h.join().unwrap(), 42);
    }
    assert_eq!(t.join().unwrap(), 42);
    first.join().unwrap();
    assert!(once.is_completed());
}

/// A panic in the first call releases the callers waiting for it; they do not run their
/// functions either.
#[goroutines::test]
fn panic_releases_waiters() {
    watchdog(60);
    let once = Arc::new(Once::new());
    let started = Arc::new(Queue::new());
    let first = {
        let (once, started) = (once.clone(), started.clone());
        go(move || {
            once.call_once(|| {
                started.send(());
                busy_sleep(std::time::Duration::from_millis(5));
                panic!("first call fails");
            })
        })
    };
    started.recv();
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let once = once.clone();
            go(move || once.call_once(|| panic!("second call ran")))
        })
        .collect();
    assert!(first.join().is_err());
    for w in waiters {
        w.join().unwrap();
    }
    assert!(once.is_completed());
}
