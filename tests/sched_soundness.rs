//! Sound by default (issue 12): with safe code only, a goroutine started with `go` never
//! observes another thread's thread-local through a reference taken before a park, and never
//! corrupts a thread's `Rc`. Both programs of the issue, at GOMAXPROCS 2 and 4, repeated
//! `GOROUTINES_SOUNDNESS_RUNS` times (default 20 in release, 5 in debug; the 1,000
//! runs are `GOROUTINES_SOUNDNESS_RUNS=1000 cargo test --release --test sched_soundness`).
//!
//! Before the fix (goroutines migrated after any park): about 1,500 of 5,000 iterations of the
//! first program ran on another thread, and a thread's `Rc` count ended at 1,016 instead of 1.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use goroutines::runtime::Builder;
use goroutines::{go, yield_now, Chan};

thread_local! {
    static COUNTER: Cell<u64> = const { Cell::new(0) };
    static SHARED: Rc<()> = Rc::new(());
}

fn runs() -> usize {
    std::env::var("GOROUTINES_SOUNDNESS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 5 } else { 20 })
}

/// The thread-local's address as the current thread sees it, computed afresh.
#[inline(never)]
fn counter_addr() -> usize {
    COUNTER.with(|c| c as *const Cell<u64> as usize)
}

/// Program 1: inside one `COUNTER.with`, yield 5,000 times while four others yield too.
/// Returns how many iterations found the reference taken before the park pointing at another
/// thread's slot.
fn program_one(procs: usize) -> u64 {
    let rt = Builder::new().max_procs(procs).build().unwrap();
    rt.run(|| {
        let foreign = Arc::new(AtomicU64::new(0));
        let others: Vec<_> = (0..4)
            .map(|_| {
                go(|| {
                    for _ in 0..5_000 {
                        COUNTER.with(|c| c.set(c.get() + 1));
                        yield_now();
                    }
                })
            })
            .collect();
        let f = foreign.clone();
        let main = go(move || {
            COUNTER.with(|c| {
                for _ in 0..5_000 {
                    c.set(c.get() + 1);
                    yield_now();
                    if c as *const Cell<u64> as usize != counter_addr() {
                        f.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        });
        main.join().unwrap();
        for o in others {
            o.join().unwrap();
        }
        foreign.load(Ordering::Relaxed)
    })
}

/// Program 2: clone a thread's `Rc`, park (a yield, a channel hand-off from another
/// goroutine), drop the clone. Returns the strong counts each thread's `Rc` ended at, as seen
/// by goroutines that ran afterwards (each must be 1), and how many clones were dropped on a
/// thread other than the one that made them.
fn program_two(procs: usize) -> (Vec<usize>, u64) {
    let rt = Builder::new().max_procs(procs).build().unwrap();
    rt.run(move || {
        let moved = Arc::new(AtomicU64::new(0));
        let hs: Vec<_> = (0..16)
            .map(|_| {
                let moved = moved.clone();
                go(move || {
                    let ch: Chan<u32> = Chan::new(0);
                    for i in 0..500 {
                        let rc = SHARED.with(|r| r.clone());
                        let made = std::thread::current().id();
                        if i % 2 == 0 {
                            yield_now();
                        } else {
                            let tx = ch.clone();
                            go(move || tx.send(1));
                            ch.recv();
                        }
                        if std::thread::current().id() != made {
                            moved.fetch_add(1, Ordering::Relaxed);
                        }
                        drop(rc);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        // Every thread that ran goroutines: read its count from a goroutine on it.
        let counts: Vec<usize> = (0..64)
            .map(|_| go(|| SHARED.with(Rc::strong_count)))
            .map(|h| h.join().unwrap())
            .collect();
        (counts, moved.load(Ordering::Relaxed))
    })
}

#[test]
fn a_thread_local_reference_never_sees_another_thread() {
    for procs in [2, 4] {
        for run in 0..runs() {
            let foreign = program_one(procs);
            assert_eq!(
                foreign, 0,
                "GOMAXPROCS={procs}, run {run}: {foreign} iterations used another thread's slot"
            );
        }
    }
}

#[test]
fn a_thread_local_rc_is_never_corrupted() {
    for procs in [2, 4] {
        for run in 0..runs() {
            let (counts, moved) = program_two(procs);
            assert_eq!(
                moved, 0,
                "GOMAXPROCS={procs}, run {run}: {moved} clones were dropped on another thread"
            );
            assert!(
                counts.iter().all(|&c| c == 1),
                "GOMAXPROCS={procs}, run {run}: thread Rc counts {counts:?}"
            );
        }
    }
}

/// A goroutine woken from another thread (a plain OS thread sends) resumes on its own.
#[test]
fn a_wake_up_from_another_thread_resumes_on_the_home_thread() {
    let rt = Builder::new().max_procs(4).build().unwrap();
    let ch: Chan<u32> = Chan::new(0);
    let tx = ch.clone();
    let sender = std::thread::spawn(move || {
        for i in 0..2_000 {
            tx.send(i);
        }
    });
    let moved = rt.run(move || {
        go(move || {
            let home = std::thread::current().id();
            let mut moved = 0;
            for _ in 0..2_000 {
                ch.recv();
                moved += u32::from(std::thread::current().id() != home);
            }
            moved
        })
        .join()
        .unwrap()
    });
    sender.join().unwrap();
    assert_eq!(moved, 0);
}
