//! `ErrGroup` (golang.org/x/sync/errgroup) and `WaitGroup::go` (Go 1.25).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goroutines::context::{Context, ContextError};
use goroutines::sync::{ErrGroup, WaitGroup};
use goroutines::time::after;
use goroutines::{select, Builder, Chan};

mod common;

/// `wait` returns the first of several errors; the derived context is cancelled at that first
/// error, and the other goroutines, watching it, see it and stop early.
#[test]
fn errgroup_first_error_cancels_the_others() {
    common::watchdog(60);
    for procs in [1, 4] {
        let rt = Builder::new().max_procs(procs).build().unwrap();
        rt.run(move || {
            let (g, ctx) = ErrGroup::with_context(&Context::background());
            let stopped = Arc::new(AtomicUsize::new(0));
            // Workers that would run for a minute unless cancelled.
            for _ in 0..6 {
                let (ctx, stopped) = (ctx.clone(), stopped.clone());
                g.go(move || {
                    select! {
                        recv(ctx.done()) -> _ => {
                            assert_eq!(ctx.err(), Some(ContextError::Canceled));
                            stopped.fetch_add(1, Ordering::SeqCst);
                            Err("cancelled")
                        }
                        recv(after(Duration::from_secs(60))) -> _ => Ok(()),
                    }
                });
            }
            // The first error, then a later one.
            let gate = Chan::<()>::new(0);
            let rx = gate.clone();
            g.go(move || {
                rx.recv();
                Err("second")
            });
            g.go(|| {
                goroutines::time::sleep(Duration::from_millis(5));
                Err("first")
            });
            // The later error comes only after the context is cancelled by the first.
            let c2 = ctx.clone();
            goroutines::go(move || {
                c2.done().recv();
                gate.close();
            });
            let start = std::time::Instant::now();
            assert_eq!(g.wait(), Err("first"), "at {procs} Ps");
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "workers did not stop early"
            );
            assert_eq!(
                stopped.load(Ordering::SeqCst),
                6,
                "every worker saw the cancellation"
            );
            assert!(ctx.err().is_some());
        });
    }
}

/// A group without errors returns Ok, and `wait` cancels the derived context anyway.
#[test]
fn errgroup_ok_and_wait_cancels_context() {
    let (g, ctx) = ErrGroup::<String>::with_context(&Context::background());
    let n = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let n = n.clone();
        g.go(move || {
            n.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    }
    assert_eq!(g.wait(), Ok(()));
    assert_eq!(n.load(Ordering::SeqCst), 10);
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
}

/// With `set_limit(2)` no more than 2 goroutines of the group run at once (counted as they
/// enter and leave), and all of them run.
#[test]
fn errgroup_set_limit_never_exceeds_limit() {
    common::watchdog(60);
    for procs in [1, 4] {
        let rt = Builder::new().max_procs(procs).build().unwrap();
        rt.run(move || {
            let g = ErrGroup::<()>::new();
            g.set_limit(2);
            let now = Arc::new(AtomicUsize::new(0));
            let max = Arc::new(AtomicUsize::new(0));
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..40 {
                let (now, max, ran) = (now.clone(), max.clone(), ran.clone());
                g.go(move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    goroutines::time::sleep(Duration::from_millis(1));
                    goroutines::yield_now();
                    now.fetch_sub(1, Ordering::SeqCst);
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
            }
            g.wait().unwrap();
            assert_eq!(ran.load(Ordering::SeqCst), 40);
            let max = max.load(Ordering::SeqCst);
            assert!(max <= 2, "{max} ran at once at {procs} Ps");
            assert!(max >= 1);
        });
    }
}

/// `try_go` refuses while the group is full and accepts again once a slot frees; changing the
/// limit under running goroutines panics with errgroup's message.
#[test]
fn errgroup_try_go_and_set_limit_misuse() {
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let g = ErrGroup::<()>::new();
        g.set_limit(1);
        let gate = Chan::<()>::new(0);
        let rx = gate.clone();
        assert!(g.try_go(move || {
            rx.recv();
            Ok(())
        }));
        assert!(!g.try_go(|| unreachable!("refused goroutines do not run")));
        let e = catch_unwind(AssertUnwindSafe(|| g.set_limit(4))).unwrap_err();
        let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(
            msg,
            "errgroup: modify limit while 1 goroutines in the group are still active"
        );
        gate.close();
        let g2 = g.clone();
        g2.go(|| Ok(())); // parks until the first one ends
        g.wait().unwrap();
    });
}

/// A goroutine's panic does not hang `wait`: it cancels the context and `wait` resumes it.
#[test]
fn errgroup_wait_resumes_a_panic() {
    let (g, ctx) = ErrGroup::<()>::with_context(&Context::background());
    let c = ctx.clone();
    g.go(move || {
        c.done().recv();
        Ok(())
    });
    g.go(|| panic!("worker panicked"));
    let p = catch_unwind(AssertUnwindSafe(|| g.wait())).unwrap_err();
    assert_eq!(p.downcast_ref::<&str>().copied(), Some("worker panicked"));
    assert!(ctx.err().is_some());
}

/// `WaitGroup::go` counts the goroutine in and out, even when it panics.
#[test]
fn waitgroup_go_counts_goroutines() {
    common::watchdog(60);
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let wg = WaitGroup::new();
        let n = Arc::new(AtomicUsize::new(0));
        for i in 0..20 {
            let n = n.clone();
            wg.go(move || {
                goroutines::time::sleep(Duration::from_millis(2));
                n.fetch_add(1, Ordering::SeqCst);
                if i == 7 {
                    panic!("one task panics");
                }
            });
        }
        wg.wait();
        assert_eq!(n.load(Ordering::SeqCst), 20);
    });
}
