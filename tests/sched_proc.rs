//! Scheduler behaviour, ported from Go's runtime/proc_test.go (BSD-style license, The Go
//! Authors), plus goroutine basics. Runs at whatever GOMAXPROCS the environment sets; CI runs
//! it at 1 and at 4.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goroutines::runtime::park::{self, WaitReason};
use goroutines::{go, yield_now};

/// Ported from TestGoroutineParallelism: P goroutines take turns on a shared counter, each
/// waiting for its own turn by spinning; this completes only if they truly run in parallel.
#[goroutines::test]
fn goroutine_parallelism() {
    // As many spinners as there are both Ps and CPUs: more spinners than CPUs would only
    // measure the OS's time slicing.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let p = goroutines::max_procs().min(cpus).min(4);
    if p < 2 {
        return; // needs real parallelism
    }
    for _ in 0..10 {
        let x = Arc::new(AtomicUsize::new(0));
        let done: Vec<_> = (0..p)
            .map(|i| {
                let x = x.clone();
                go(move || {
                    for j in 0..20 {
                        let turn = i + j * p;
                        // Spin (with yields, as the Go test's Gosched fallback) until our turn.
                        let start = Instant::now();
                        while x.load(Ordering::SeqCst) != turn {
                            if start.elapsed() > Duration::from_secs(5) {
                                panic!("no parallelism");
                            }
                            std::hint::spin_loop();
                        }
                        x.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in done {
            h.join().unwrap();
        }
    }
}

/// Ported from TestYieldProgress: a goroutine that only yields must not starve one that
/// needs to run to set the flag it waits for.
#[goroutines::test]
fn yield_progress() {
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = flag.clone();
    let waiter = go(move || {
        while !f2.load(Ordering::SeqCst) {
            yield_now();
        }
    });
    let setter = go(move || flag.store(true, Ordering::SeqCst));
    setter.join().unwrap();
    waiter.join().unwrap();
}

/// Ported from TestYieldLocked: yield while locked to a thread still makes progress.
#[goroutines::test]
fn yield_locked() {
    let h = go(|| {
        goroutines::lock_os_thread();
        let t = std::thread::current().id();
        for _ in 0..100 {
            yield_now();
            assert_eq!(
                std::thread::current().id(),
                t,
                "a locked goroutine stays on its thread"
            );
        }
        goroutines::unlock_os_thread();
    });
    // Other goroutines keep running meanwhile.
    let others: Vec<_> = (0..10)
        .map(|i| {
            go(move || {
                (0..100)
                    .map(|_| {
                        yield_now();
                        i
                    })
                    .sum::<usize>()
            })
        })
        .collect();
    for o in others {
        o.join().unwrap();
    }
    h.join().unwrap();
}

/// A locked goroutine that parks is woken on its own thread.
#[goroutines::test]
fn locked_goroutine_parks_and_wakes_on_its_thread() {
    let (tx, rx) = (
        Arc::new(Mutex::new(None::<park::Unparker>)),
        Arc::new(AtomicU64::new(0)),
    );
    let tx2 = tx.clone();
    let rx2 = rx.clone();
    let h = go(move || {
        goroutines::lock_os_thread();
        let t = std::thread::current().id();
        for i in 1..=50u64 {
            *tx2.lock().unwrap() = Some(park::current());
            while rx2.load(Ordering::SeqCst) < i {
                park::park(WaitReason::Zero);
            }
            assert_eq!(std::thread::current().id(), t);
        }
    });
    for i in 1..=50u64 {
        let u = loop {
            if let Some(u) = tx.lock().unwrap().take() {
                break u;
            }
            yield_now();
        };
        rx.store(i, Ordering::SeqCst);
        u.unpark();
    }
    h.join().unwrap();
}

/// Two goroutines hand a token back and forth through park/unpark (Go's ping-pong tests).
#[goroutines::test]
fn ping_pong() {
    const ROUNDS: u64 = 20_000;
    struct Side {
        turn: AtomicU64,
        waiter: Mutex<Option<park::Unparker>>,
    }
    let sides: Arc<[Side; 2]> = Arc::new([0, 1].map(|_| Side {
        turn: AtomicU64::new(0),
        waiter: Mutex::new(None),
    }));
    let play = |me: usize, sides: Arc<[Side; 2]>| {
        move || {
            for round in 0..ROUNDS {
                let want = round * 2 + me as u64;
                // Wait for our turn.
                loop {
                    *sides[me].waiter.lock().unwrap() = Some(park::current());
                    if sides[0].turn.load(Ordering::SeqCst) == want {
                        break;
                    }
                    park::park(WaitReason::Zero);
                }
                sides[0].turn.store(want + 1, Ordering::SeqCst);
                if let Some(u) = sides[1 - me].waiter.lock().unwrap().take() {
                    u.unpark();
                }
            }
        }
    };
    let a = go(play(0, sides.clone()));
    let b = go(play(1, sides.clone()));
    a.join().unwrap();
    b.join().unwrap();
    assert_eq!(sides[0].turn.load(Ordering::SeqCst), ROUNDS * 2);
}

/// Ported from TestNumGoroutine and the many-goroutines tests: create many, count them.
#[goroutines::test]
fn create_many_goroutines() {
    let base = goroutines::num_goroutine();
    let release = Arc::new(AtomicBool::new(false));
    let waiters = Arc::new(Mutex::new(Vec::new()));
    let n = 10_000;
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let release = release.clone();
            let waiters = waiters.clone();
            go(move || {
                waiters.lock().unwrap().push(park::current());
                while !release.load(Ordering::SeqCst) {
                    park::park(WaitReason::Zero);
                }
                i
            })
        })
        .collect();
    while waiters.lock().unwrap().len() < n {
        yield_now();
    }
    assert_eq!(goroutines::num_goroutine(), base + n);
    release.store(true, Ordering::SeqCst);
    for u in waiters.lock().unwrap().drain(..) {
        u.unpark();
    }
    let sum: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, n * (n - 1) / 2);
    // Finished goroutines are no longer counted (the count drops as they exit).
    let deadline = Instant::now() + Duration::from_secs(10);
    while goroutines::num_goroutine() != base && Instant::now() < deadline {
        yield_now();
    }
    assert_eq!(goroutines::num_goroutine(), base);
}

/// A chain of 100,000 goroutines, each starting the next (Go's CreateGoroutines workload).
#[goroutines::test]
fn chain_of_100k() {
    fn link(
        left: u32,
        count: Arc<AtomicU64>,
        done: Arc<(Mutex<Option<park::Unparker>>, AtomicBool)>,
    ) {
        count.fetch_add(1, Ordering::Relaxed);
        if left == 0 {
            done.1.store(true, Ordering::SeqCst);
            if let Some(u) = done.0.lock().unwrap().take() {
                u.unpark();
            }
            return;
        }
        go(move || link(left - 1, count, done));
    }
    let count = Arc::new(AtomicU64::new(0));
    let done = Arc::new((Mutex::new(Some(park::current())), AtomicBool::new(false)));
    link(100_000, count.clone(), done.clone());
    while !done.1.load(Ordering::SeqCst) {
        park::park(WaitReason::Zero);
    }
    assert_eq!(count.load(Ordering::Relaxed), 100_001);
}

/// Goroutines started from many OS threads at once all run.
#[test]
fn go_from_os_threads() {
    let total = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let total = total.clone();
            std::thread::spawn(move || {
                let hs: Vec<_> = (0..1000)
                    .map(|_| {
                        let total = total.clone();
                        go(move || total.fetch_add(1, Ordering::SeqCst))
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(total.load(Ordering::SeqCst), 4000);
}

/// GOMAXPROCS changes take effect while goroutines run.
#[goroutines::test]
fn set_max_procs_while_running() {
    let old = goroutines::set_max_procs(0);
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            go(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    yield_now();
                }
                n
            })
        })
        .collect();
    for procs in [1, 3, 2, 6, 1, old] {
        assert!(goroutines::set_max_procs(procs) >= 1);
        assert_eq!(goroutines::max_procs(), procs);
        for _ in 0..200 {
            yield_now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        assert!(b.join().unwrap() > 0);
    }
    assert_eq!(goroutines::set_max_procs(old), old);
}

#[test]
#[should_panic(expected = "set_max_procs: 5000 is outside 1..=4096")]
fn set_max_procs_too_large_panics() {
    let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
    rt.run(|| goroutines::set_max_procs(5000));
}

/// `current_id` inside and outside goroutines, and ids are unique.
#[goroutines::test]
fn ids_are_unique_and_stable() {
    let me = goroutines::current_id().expect("a test body runs as a goroutine");
    let hs: Vec<_> = (0..100).map(|_| go(goroutines::current_id)).collect();
    let mut ids: Vec<_> = hs
        .into_iter()
        .map(|h| {
            let id = h.id();
            assert_eq!(h.join().unwrap(), Some(id));
            id
        })
        .collect();
    ids.push(me);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 101);
    assert_eq!(format!("{me}"), me.as_u64().to_string());
}
