//! Cond tests, ported from Go's sync/cond_test.go where noted.
use std::sync::Arc;

use goroutines::go;
use goroutines::sync::{Cond, Mutex};

mod common;
use common::{watchdog, Queue};

/// Ported from Go's sync/cond_test.go TestCondSignal.
#[goroutines::test]
fn cond_signal() {
    watchdog(60);
    let s = Arc::new((Mutex::new(()), Cond::new()));
    let mut n = 2;
    let (running, awake) = (Arc::new(Queue::new()), Arc::new(Queue::new()));
    for _ in 0..n {
        let (s, running, awake) = (s.clone(), running.clone(), awake.clone());
        go(move || {
            let (m, c) = &*s;
            let g = m.lock();
            running.send(true);
            let g = c.wait(g);
            awake.send(true);
            drop(g);
        });
    }
    for _ in 0..n {
        running.recv(); // Wait for everyone to run.
    }
    let (m, c) = &*s;
    while n > 0 {
        assert!(awake.try_recv().is_none(), "goroutine not asleep");
        let g = m.lock();
        c.signal();
        drop(g);
        awake.recv(); // Will deadlock if no goroutine wakes up.
        assert!(awake.try_recv().is_none(), "too many goroutines awake");
        n -= 1;
    }
    c.signal();
}

/// Ported from Go's sync/cond_test.go TestCondSignalGenerations: signals wake waiters in the
/// order they started waiting.
#[goroutines::test]
fn cond_signal_generations() {
    watchdog(60);
    let s = Arc::new((Mutex::new(()), Cond::new()));
    let n = 100;
    let (running, awake) = (Arc::new(Queue::new()), Arc::new(Queue::new()));
    for i in 0..n {
        {
            let (s, running, awake) = (s.clone(), running.clone(), awake.clone());
            go(move || {
                let (m, c) = &*s;
                let g = m.lock();
                running.send(true);
                let g = c.wait(g);
                awake.send(i);
                drop(g);
            });
        }
        if i > 0 {
            let a = awake.recv();
            assert_eq!(a, i - 1, "wrong goroutine woke up");
        }
        running.recv();
        let g = s.0.lock();
        s.1.signal();
        drop(g);
    }
}

/// Ported from Go's sync/cond_test.go TestCondBroadcast.
#[goroutines::test]
fn cond_broadcast() {
    watchdog(60);
    let n = 100;
    let s = Arc::new((Mutex::new(false), Cond::new())); // the bool is Go's `exit`
    let (running, awake) = (Arc::new(Queue::new()), Arc::new(Queue::new()));
    for g in 0..n {
        let (s, running, awake) = (s.clone(), running.clone(), awake.clone());
        go(move || {
            let (m, c) = &*s;
            let mut exit = m.lock();
            while !*exit {
                running.send(g);
                exit = c.wait(exit);
                awake.send(g);
            }
        });
    }
    let (m, c) = &*s;
    for i in 0..n {
        for _ in 0..n {
            running.recv(); // Will deadlock unless n are running.
        }
        if i == n - 1 {
            *m.lock() = true;
        }
        assert!(awake.try_recv().is_none(), "goroutine not asleep");
        let g = m.lock();
        c.broadcast();
        drop(g);
        let mut seen = vec![false; n];
        for _ in 0..n {
            let g = awake.recv();
            assert!(!seen[g], "goroutine woke up twice");
            seen[g] = true;
        }
    }
    // Let the goroutines leave their loop and exit.
    for _ in 0..10 {
        goroutines::yield_now();
    }
    assert!(running.try_recv().is_none(), "goroutine did not exit");
    c.broadcast();
}

/// Ported from Go's sync/cond_test.go TestCondSignalStealing: a waiter that starts waiting
/// concurrently with a broadcast must not steal the wake-up of one that waited before it.
#[goroutines::test]
fn cond_signal_stealing() {
    watchdog(60);
    for _ in 0..1000 {
        let s = Arc::new((Mutex::new(false), Cond::new())); // the bool is Go's `done`
        let ch = Arc::new(Queue::new());
        // Start a waiter.
        {
            let (s, ch) = (s.clone(), ch.clone());
            go(move || {
                let (m, c) = &*s;
                let g = m.lock();
                ch.send(());
                let g = c.wait(g);
                drop(g);
                ch.send(());
            });
        }
        ch.recv();
        drop(s.0.lock());
        // The waiter is inside wait: we synchronized with it, then took and released the mutex
        // it held. Now race a broadcast against a new waiter.
        {
            let s = s.clone();
            go(move || s.1.broadcast());
        }
        {
            let s = s.clone();
            go(move || {
                let (m, c) = &*s;
                let mut done = m.lock();
                while !*done {
                    done = c.wait(done);
                }
            });
        }
        // The first waiter must be signalled.
        ch.recv();
        // Release the second waiter in case it missed the broadcast.
        *s.0.lock() = true;
        s.1.broadcast();
    }
}

/// A plain OS thread and goroutines wait on the same Cond.
#[goroutines::test]
fn cond_threads_and_goroutines() {
    watchdog(60);
    let s = Arc::new((Mutex::new(0u32), Cond::new()));
    let waiters = 4;
    let thread = {
        let s = s.clone();
        std::thread::spawn(move || {
            let (m, c) = &*s;
            let mut g = m.lock();
            *g += 1;
            c.broadcast();
            while *g < 100 {
                g = c.wait(g);
            }
        })
    };
    let gs: Vec<_> = (0..waiters)
        .map(|_| {
            let s = s.clone();
            go(move || {
                let (m, c) = &*s;
                let mut g = m.lock();
                *g += 1;
                c.broadcast();
                while *g < 100 {
                    g = c.wait(g);
                }
            })
        })
        .collect();
    {
        let (m, c) = &*s;
        let mut g = m.lock();
        while *g < waiters + 1 {
            g = c.wait(g);
        }
        *g = 100;
        c.broadcast();
    }
    for g in gs {
        g.join().unwrap();
    }
    thread.join().unwrap();
}
