//! The monitor keeps every P busy: a goroutine that computes without yielding, or blocks its
//! thread, does not stop the others (issue: "a system monitor that keeps every P busy").
//! Meant for GOMAXPROCS=1, where nothing else could rescue the other goroutines; it holds at
//! any GOMAXPROCS because the hogs outnumber the Ps.
//!
//! A goroutine started with `go` lives on the OS thread where it first ran (docs/soundness.md),
//! so sysmon's hand-off rescues only goroutines that have not started, and migratable ones:
//! the tickers and quick goroutines below are migratable, and the times are measured inside
//! them (a joiner living on a blocked thread wakes when that thread is free).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::runtime::park::{self, WaitReason};
use goroutines::{go, max_procs};

/// A ticker made of runtime sleeps: counts ticks of about 1 ms until `stop`.
fn ticker(stop: Arc<AtomicBool>, ticks: Arc<AtomicU64>) -> goroutines::JoinHandle<Duration> {
    // SAFETY: the ticker keeps nothing tied to its OS thread across its parks.
    unsafe {
        goroutines::go_migratable(move || {
            let mut worst = Duration::ZERO;
            while !stop.load(Ordering::SeqCst) {
                let t = Instant::now();
                park::park_until(WaitReason::Sleep, t + Duration::from_millis(1));
                worst = worst.max(t.elapsed());
                ticks.fetch_add(1, Ordering::SeqCst);
            }
            worst
        })
    }
}

#[goroutines::test]
fn spinning_hogs_do_not_stop_a_ticker() {
    let stop = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicU64::new(0));
    // One hog per P: without sysmon, no P would ever be free for the ticker.
    let hogs: Vec<_> = (0..max_procs())
        .map(|_| {
            go(|| {
                let start = Instant::now();
                let mut x = 0u64;
                while start.elapsed() < Duration::from_millis(500) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                x
            })
        })
        .collect();
    let t = ticker(stop.clone(), ticks.clone());
    std::thread::sleep(Duration::from_millis(300)); // not a goroutine API: blocks this thread only
    let seen = ticks.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let worst = t.join().unwrap();
    for h in hogs {
        h.join().unwrap();
    }
    // About 300 ticks are possible; the hog rule frees a P within 5 ms plus a sysmon round.
    assert!(
        seen >= 10,
        "the ticker made {seen} ticks in 300 ms while hogs ran"
    );
    eprintln!("ticks in 300 ms: {seen}, worst tick: {worst:?}");
}

#[goroutines::test]
fn blocking_call_does_not_stop_the_others() {
    let n = max_procs();
    let done = Arc::new(AtomicU64::new(0));
    // Every P's goroutine blocks in a one-second call.
    let blockers: Vec<_> = (0..n)
        .map(|_| {
            let done = done.clone();
            go(move || {
                goroutines::blocking(|| std::thread::sleep(Duration::from_secs(1)));
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // Meanwhile other goroutines finish quickly.
    let start = Instant::now();
    let quick: Vec<_> = (0..100)
        .map(|i| {
            // SAFETY: the closure keeps nothing tied to its OS thread across `yield_now`.
            unsafe {
                goroutines::go_migratable(move || {
                    goroutines::yield_now();
                    (i, start.elapsed())
                })
            }
        })
        .collect();
    let mut sum = 0;
    let mut quick_time = Duration::ZERO;
    for h in quick {
        let (i, t) = h.join().unwrap();
        sum += i;
        quick_time = quick_time.max(t);
    }
    assert_eq!(sum, 4950);
    assert!(
        quick_time < Duration::from_millis(900),
        "others waited for the blocking calls: {quick_time:?}"
    );
    for b in blockers {
        b.join().unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), n as u64);
}

/// A goroutine blocked in std without `blocking` is rescued by the hog rule.
#[goroutines::test]
fn std_blocking_without_blocking_is_rescued() {
    let n = max_procs();
    let blockers: Vec<_> = (0..n)
        .map(|_| go(|| std::thread::sleep(Duration::from_millis(500))))
        .collect();
    let start = Instant::now();
    // Not started yet, so it can run on whichever M gets the P; timed inside, since this
    // goroutine's own thread may be one of the blocked ones.
    let (v, waited) = go(move || (7, start.elapsed())).join().unwrap();
    assert_eq!(v, 7);
    assert!(
        waited < Duration::from_millis(400),
        "waited {waited:?} for a thread-blocking goroutine"
    );
    for b in blockers {
        b.join().unwrap();
    }
}

/// `blocking` returns the value and propagates panics, leaving the goroutine usable.
#[goroutines::test]
fn blocking_returns_and_unwinds() {
    assert_eq!(goroutines::blocking(|| 5), 5);
    let r = go(|| goroutines::blocking(|| panic!("in blocking"))).join();
    assert!(r.is_err());
    assert_eq!(goroutines::blocking(|| 6), 6);
}
