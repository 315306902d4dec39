//! `time::sleep`, ported in part from Go's time/sleep_test.go (BSD-style license, The Go
//! Authors): sleep duration, overflowing sleeps, sleeping from threads; plus the accuracy and
//! scale checks of issue 4. Runs at whatever GOMAXPROCS the environment sets.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use goroutines::time::{after, sleep, Timer};
use goroutines::{go, select, Chan};

/// Ported from TestSleep: a sleep interrupted by nothing lasts at least its duration.
#[goroutines::test]
fn sleep_duration() {
    for ms in [1u64, 5, 20] {
        let d = Duration::from_millis(ms);
        let start = Instant::now();
        sleep(d);
        let took = start.elapsed();
        assert!(took >= d, "sleep({d:?}) slept only {took:?}");
    }
}

/// Ported from TestSleep's other half: a goroutine interrupts nothing, but another goroutine
/// runs while this one sleeps (the sleep frees the M).
#[goroutines::test]
fn sleep_frees_the_p() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = go(move || r.store(true, Ordering::SeqCst));
    sleep(Duration::from_millis(5));
    h.join().unwrap();
    assert!(ran.load(Ordering::SeqCst));
}

/// A zero sleep returns at once (Go's Sleep(0)); Ported from TestSleepZeroDeadlock's intent:
/// many zero sleeps interleaved with goroutine starts do not hang.
#[goroutines::test]
fn sleep_zero() {
    let start = Instant::now();
    for _ in 0..1000 {
        sleep(Duration::ZERO);
    }
    assert!(start.elapsed() < Duration::from_secs(1));
    let hs: Vec<_> = (0..100)
        .map(|_| go(|| (0..10).for_each(|_| sleep(Duration::ZERO))))
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

/// Ported from TestOverflowSleep: a sleep too long to represent neither returns early nor keeps
/// other timers from firing.
#[goroutines::test]
fn overflow_sleep() {
    let huge = Duration::MAX;
    let c = Chan::new(1);
    let c2 = c.clone();
    go(move || {
        sleep(huge);
        c2.send("woke");
    });
    select! {
        recv(c) -> _ => panic!("sleep(Duration::MAX) returned"),
        recv(after(Duration::from_millis(20))) -> _ => {},
    }
    let t = Timer::new(huge);
    select! {
        recv(t.chan()) -> _ => panic!("Timer::new(Duration::MAX) fired"),
        recv(after(Duration::from_millis(5))) -> _ => {},
    }
    assert!(t.stop(), "a never-firing timer is pending");
}

/// Sleeping from a plain OS thread blocks the thread for at least the duration.
#[test]
fn sleep_on_os_thread() {
    let d = Duration::from_millis(10);
    let start = Instant::now();
    sleep(d);
    assert!(start.elapsed() >= d);
    // And a goroutine of the default runtime sleeps while this thread waits for it.
    let h = go(move || {
        let s = Instant::now();
        sleep(d);
        s.elapsed()
    });
    assert!(h.join().unwrap() >= d);
}

/// Issue 4 accuracy: a 1 ms sleep while every P runs goroutines that only yield wakes within a
/// generous bound. Prints the distribution of oversleep.
#[goroutines::test]
fn sleep_accuracy_under_load() {
    let stop = Arc::new(AtomicBool::new(false));
    let busy = common::busy_yielders(2 * goroutines::max_procs(), &stop);
    let d = Duration::from_millis(1);
    let mut over: Vec<Duration> = (0..50)
        .map(|_| {
            let start = Instant::now();
            sleep(d);
            let took = start.elapsed();
            assert!(took >= d, "slept only {took:?}");
            took - d
        })
        .collect();
    stop.store(true, Ordering::Relaxed);
    for h in busy {
        h.join().unwrap();
    }
    over.sort();
    let pct = |p: usize| over[(over.len() - 1) * p / 100];
    println!(
        "1ms sleep under load, oversleep: p50 {:?} p90 {:?} p99 {:?} max {:?}",
        pct(50),
        pct(90),
        pct(99),
        over[over.len() - 1]
    );
    assert!(
        pct(50) < Duration::from_millis(50),
        "median oversleep {:?}",
        pct(50)
    );
}

/// Issue 4 scale: many goroutines sleeping at once with random durations up to ~100 ms all
/// wake, none before its deadline. 100,000 in release builds; 20,000 in debug builds, where
/// starting 100,000 goroutines alone takes several seconds on a 2-core machine.
#[goroutines::test]
fn many_sleepers() {
    let n: usize = if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    let woke = Arc::new(AtomicUsize::new(0));
    let early = Arc::new(AtomicUsize::new(0));
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let hs: Vec<_> = (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let d = Duration::from_micros(seed % 100_000);
            let (woke, early) = (woke.clone(), early.clone());
            go(move || {
                let start = Instant::now();
                sleep(d);
                if start.elapsed() < d {
                    early.fetch_add(1, Ordering::Relaxed);
                }
                woke.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(woke.load(Ordering::Relaxed), n);
    assert_eq!(
        early.load(Ordering::Relaxed),
        0,
        "some sleeps returned early"
    );
}
