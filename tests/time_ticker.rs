//! `Ticker` and `tick`, ported from Go's time/tick_test.go and sleep_test.go (BSD-style
//! license, The Go Authors). Runs at whatever GOMAXPROCS the environment sets.

use std::time::{Duration, Instant};

use goroutines::time::{sleep, tick, Ticker};
use goroutines::{go, Chan};

/// Ported from TestTicker: count/2 ticks at delta, then a Reset to 2*delta and count/2 more,
/// take about 3*delta*count/2; after Stop no tick arrives. Retried with a longer delta when
/// the machine is loaded, as Go does (the lower bound is never relaxed).
#[goroutines::test]
fn ticker() {
    let mut errs = Vec::new();
    for (count, delta) in [
        (10u32, Duration::from_millis(20)),
        (6, Duration::from_millis(100)),
    ] {
        let ticker = Ticker::new(delta);
        let t0 = Instant::now();
        for _ in 0..count / 2 {
            ticker.chan().recv().unwrap();
        }
        ticker.reset(delta * 2);
        for _ in 0..count - count / 2 {
            ticker.chan().recv().unwrap();
        }
        ticker.stop();
        let dt = t0.elapsed();
        let target = 3 * delta * (count / 2);
        let slop = target * 3 / 10;
        assert!(
            dt >= target - slop,
            "ticks came early: {dt:?} for target {target:?}"
        );
        if dt > target + slop {
            errs.push(format!("took {dt:?}, expected about {target:?}"));
            continue;
        }
        sleep(2 * delta);
        assert!(
            ticker.chan().try_recv().is_err(),
            "Ticker did not shut down"
        );
        return;
    }
    panic!("{errs:?}");
}

/// Ported from TestTick and TestNewTickerLtZeroDuration/TestTickerResetLtZeroDuration: a zero
/// period panics with Go's messages.
#[test]
fn zero_period_panics() {
    let e = std::panic::catch_unwind(|| Ticker::new(Duration::ZERO)).unwrap_err();
    assert_eq!(
        e.downcast_ref::<&str>(),
        Some(&"non-positive interval for NewTicker")
    );
    let e = std::panic::catch_unwind(|| tick(Duration::ZERO)).unwrap_err();
    assert_eq!(
        e.downcast_ref::<&str>(),
        Some(&"non-positive interval for NewTicker")
    );
    let t = Ticker::new(Duration::from_secs(1));
    let e = std::panic::catch_unwind(|| t.reset(Duration::ZERO)).unwrap_err();
    assert_eq!(
        e.downcast_ref::<&str>(),
        Some(&"non-positive interval for Ticker.Reset")
    );
}

/// A slow receiver gets ticks dropped, not queued: after sleeping through many periods only
/// one tick is waiting.
#[goroutines::test]
fn slow_receiver_drops_ticks() {
    let t = tick(Duration::from_millis(1));
    sleep(Duration::from_millis(30));
    // About 30 ticks came due; one waits in the slot (and perhaps one more fires meanwhile).
    let mut queued = 0;
    while t.chan().try_recv().is_ok() {
        queued += 1;
        assert!(queued <= 2, "ticks were queued");
    }
    // Ticking continues at the period.
    let start = Instant::now();
    for _ in 0..5 {
        t.chan().recv().unwrap();
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// Go 1.23 semantics: after Stop or Reset no stale tick is received (from TestChan's ticker
/// half).
#[goroutines::test]
fn stop_and_reset_discard_stale_ticks() {
    let t = Ticker::new(Duration::from_millis(1));
    sleep(Duration::from_millis(10));
    t.stop();
    assert!(t.chan().try_recv().is_err(), "stale tick after Stop");
    sleep(Duration::from_millis(10));
    assert!(t.chan().try_recv().is_err(), "tick after Stop");
    t.reset(Duration::from_millis(1));
    sleep(Duration::from_millis(10));
    t.reset(Duration::from_secs(10_000));
    assert!(t.chan().try_recv().is_err(), "stale tick after Reset");
    // A receiver blocked on the channel wakes after an imminent reset, repeatedly (1 ns ticks).
    let c = t.chan();
    let h = go(move || {
        c.recv();
        c.recv();
    });
    sleep(Duration::from_millis(5));
    t.reset(Duration::from_nanos(1));
    h.join().unwrap();
    t.stop();
}

/// Dropping a ticker stops it.
#[goroutines::test]
fn drop_stops() {
    let t = Ticker::new(Duration::from_millis(1));
    let c = t.chan();
    c.recv().unwrap();
    drop(t);
    let _ = c.try_recv();
    sleep(Duration::from_millis(10));
    assert!(c.try_recv().is_err(), "dropped ticker still ticks");
}

/// Ported from TestTickerStress and TestTickerConcurrentStress: a fast ticker stopped while
/// goroutines read and reset it.
#[goroutines::test]
fn ticker_stress() {
    let stop = Chan::<()>::new(0);
    let t = std::sync::Arc::new(Ticker::new(Duration::from_nanos(1)));
    let hs: Vec<_> = (0..10)
        .map(|_| {
            let (t, stop) = (t.clone(), stop.clone());
            go(move || {
                for i in 0..100 {
                    goroutines::select! {
                        recv(t.chan()) -> _ => {},
                        recv(stop) -> _ => return,
                    }
                    if i % 10 == 0 {
                        t.reset(Duration::from_nanos(1));
                    }
                }
            })
        })
        .collect();
    sleep(Duration::from_millis(20));
    stop.close();
    for h in hs {
        h.join().unwrap();
    }
    t.stop();
}

/// Ported from TestMultiWakeupTicker: many goroutines wait on tickers at once.
#[goroutines::test]
fn multi_wakeup_ticker() {
    let hs: Vec<_> = (0..200)
        .map(|i| {
            go(move || {
                let t = Ticker::new(Duration::from_micros(100 + i));
                for _ in 0..5 {
                    t.chan().recv().unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

/// A reset to a longer period moves the next tick in place: no tick comes before it.
#[goroutines::test]
fn reset_later_never_early() {
    let t = Ticker::new(Duration::from_millis(50));
    let mut next = Instant::now();
    for _ in 0..10 {
        sleep(Duration::from_micros(500));
        next = Instant::now() + Duration::from_millis(50); // no later than the reset's deadline
        t.reset(Duration::from_millis(50));
    }
    let got = t.chan().recv().unwrap();
    assert!(got >= next, "tick {:?} early", next - got);
    let second = t.chan().recv().unwrap();
    assert!(
        second >= next + Duration::from_millis(50),
        "period not applied"
    );
}
