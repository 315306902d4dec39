//! `Timer`, `after` and `after_func`, ported from Go's time/sleep_test.go and tick_test.go
//! (TestChan) and runtime/proc_test.go (TestTimerFairness) (BSD-style license, The Go Authors).
//! Runs at whatever GOMAXPROCS the environment sets.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use goroutines::time::{after, after_func, sleep, Timer};
use goroutines::{go, select, Chan, RecvChan};

const HOUR: Duration = Duration::from_secs(3600);

/// Ported from TestAfter: the value arrives no earlier than the delay, and is a time after
/// start + delay.
#[goroutines::test]
fn after_delay() {
    let d = Duration::from_millis(20);
    let start = Instant::now();
    let end = after(d).recv().unwrap();
    assert!(start.elapsed() >= d);
    assert!(
        end >= start + d,
        "After({d:?}) sent a time before the deadline"
    );
}

/// Ported from TestAfterTick: ten 2 ms timers in sequence take at least 20 ms.
#[goroutines::test]
fn after_tick() {
    let delta = Duration::from_millis(2);
    let start = Instant::now();
    for _ in 0..10 {
        after(delta).recv();
    }
    let took = start.elapsed();
    assert!(took >= 10 * delta, "took {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// Ported from TestAfterFunc: a chain of ten after_func(0) calls, each starting the next.
#[goroutines::test]
fn after_func_chain() {
    let c = Chan::<bool>::new(0);
    fn step(i: Arc<AtomicUsize>, c: Chan<bool>) {
        if i.fetch_sub(1, Ordering::SeqCst) == 1 {
            c.send(true);
            return;
        }
        let _ = after_func(Duration::ZERO, move || step(i.clone(), c.clone()));
    }
    let (i, c2) = (Arc::new(AtomicUsize::new(10)), c.clone());
    let _ = after_func(Duration::ZERO, move || step(i.clone(), c2.clone()));
    assert_eq!(c.recv(), Some(true));
}

/// after_func runs its function in its own goroutine (it may block).
#[goroutines::test]
fn after_func_runs_in_goroutine() {
    let c = Chan::new(0);
    let c2 = c.clone();
    let _t = after_func(Duration::from_millis(1), move || {
        assert!(goroutines::current_id().is_some());
        sleep(Duration::from_millis(1)); // blocking is fine here
        c2.send(1);
    });
    assert_eq!(c.recv(), Some(1));
}

/// Ported from TestAfterStop (impl=chan and impl=func): stopped timers do not fire, and a
/// second Stop returns false.
#[goroutines::test]
fn after_stop() {
    let _ = after_func(Duration::from_millis(100), || {});
    let t0 = Timer::new(Duration::from_millis(50));
    let c1 = Chan::new(1);
    let c1s = c1.clone();
    let t1 = after_func(Duration::from_millis(150), move || c1s.send(true));
    let c2 = after(Duration::from_millis(200));
    assert!(t0.stop(), "failed to stop event 0");
    assert!(t1.stop(), "failed to stop event 1");
    c2.recv();
    select! {
        recv(t0.chan()) -> _ => panic!("event 0 was not stopped"),
        recv(c1) -> _ => panic!("event 1 was not stopped"),
        default => {}
    }
    assert!(!t1.stop(), "Stop returned true twice");
    assert!(!t0.stop(), "Stop returned true twice");
}

/// Ported from TestReset: a reset before the deadline moves it; the old deadline does not fire.
#[goroutines::test]
fn reset() {
    let mut d = Duration::from_millis(2);
    loop {
        match try_reset(d) {
            Ok(()) => return,
            Err(e) if d < Duration::from_millis(500) => {
                println!("{e}; trying duration {:?}", d * 2);
                d *= 2;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn try_reset(d: Duration) -> Result<(), String> {
    let t0 = Timer::new(2 * d);
    sleep(d);
    if !t0.reset(3 * d) {
        return Err("resetting unfired timer returned false".into());
    }
    sleep(2 * d);
    if t0.chan().try_recv().is_ok() {
        return Err("timer fired early".into());
    }
    sleep(2 * d);
    if t0.chan().try_recv().is_err() {
        return Err("reset timer did not fire".into());
    }
    if t0.reset(Duration::from_millis(50)) {
        return Err("resetting expired timer returned true".into());
    }
    Ok(())
}

/// Ported from TestStopResult and TestResetResult (issue 69312): racing a timer's firing
/// against Stop/Reset, the result says exactly whether a value can still be read. With Go
/// 1.23 semantics Stop/Reset on a timer whose value was not received always report true.
#[goroutines::test]
fn stop_reset_result() {
    for test_stop in [true, false] {
        let n = 100;
        let hs: Vec<_> = (0..n)
            .map(|_| {
                go(move || {
                    let stop_or_reset = |t: &Timer| {
                        if test_stop {
                            t.stop()
                        } else {
                            t.reset(HOUR)
                        }
                    };
                    for _ in 0..10 {
                        let t1 = Timer::new(Duration::from_millis(1));
                        let t2 = Timer::new(Duration::from_millis(1));
                        let (c1, c2) = (t1.chan(), t2.chan());
                        let other = select! {
                            recv(c1) -> _ => &t2,
                            recv(c2) -> _ => &t1,
                        };
                        if !stop_or_reset(other) {
                            // False means its value can be read: it must arrive promptly.
                            other
                                .chan()
                                .recv_timeout(Duration::from_secs(5))
                                .expect("Stop/Reset returned false but no value arrived");
                        }
                        assert!(other.chan().try_recv().is_err(), "stale value after stop");
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }
}

/// Ported from TestTimerModifiedEarlier: a function-free timer moved from an hour away to
/// the past fires promptly.
#[goroutines::test]
fn timer_modified_earlier() {
    for _ in 0..100 {
        let t = Timer::new(HOUR);
        for _ in 0..10 {
            if !t.stop() {
                t.chan().recv();
            }
            t.reset(Duration::from_nanos(1));
        }
        let deadline = Timer::new(Duration::from_secs(10));
        select! {
            recv(t.chan()) -> _ => {},
            recv(deadline.chan()) -> _ => panic!("deadline expired"),
        }
        deadline.stop();
    }
}

/// Ported from TestChan / testTimerChan (issue 21874, Go 1.23 synchronous timer channels):
/// after Stop or Reset, no stale value is received, and a blocked receiver sees the reset.
#[goroutines::test]
fn timer_chan_is_synchronous() {
    let tim = Timer::new(Duration::from_secs(10_000));
    let c = tim.chan();
    let no_tick = |c: &RecvChan<Instant>| assert!(c.try_recv().is_err(), "extra tick");
    let assert_tick = |c: &RecvChan<Instant>| {
        c.recv_timeout(Duration::from_secs(5))
            .expect("missing tick");
    };
    // Simple stop; reset far away.
    tim.stop();
    no_tick(&c);
    tim.reset(Duration::from_secs(10_000));
    no_tick(&c);
    // Reset to fire at once, then let it fire.
    tim.reset(Duration::from_nanos(1));
    sleep(Duration::from_millis(10));
    assert_tick(&c);
    // A fired, unreceived value is discarded by Reset.
    tim.reset(Duration::from_nanos(1));
    sleep(Duration::from_millis(10));
    assert!(
        tim.reset(Duration::from_secs(10_000)),
        "unreceived value counts as pending"
    );
    no_tick(&c);

    // A goroutine blocked on the channel: far resets do not wake it, an imminent one does.
    let done = Chan::<bool>::new(0);
    let (c2, d2) = (c.clone(), done.clone());
    go(move || {
        c2.recv();
        d2.close();
    });
    sleep(Duration::from_millis(10));
    assert!(done.try_recv().is_err(), "early done");
    tim.reset(Duration::from_secs(20_000));
    sleep(Duration::from_millis(10));
    assert!(done.try_recv().is_err(), "early done");
    tim.reset(Duration::from_nanos(1));
    assert_eq!(
        done.recv_timeout(Duration::from_secs(5)),
        Err(goroutines::RecvTimeoutError::Closed)
    );
    // A timer fires once.
    no_tick(&c);
    assert!(!tim.stop());
    no_tick(&c);
}

/// Go's rule for zero and negative durations: the value is ready at once.
#[goroutines::test]
fn zero_timer() {
    let t = Timer::new(Duration::ZERO);
    assert!(t.chan().try_recv().is_ok());
    assert!(after(Duration::ZERO).try_recv().is_ok());
    assert!(!t.stop());
    assert!(!t.reset(Duration::ZERO));
    assert!(t.chan().try_recv().is_ok());
}

/// Timers work from a plain OS thread (the default runtime runs them) and wake threads.
#[test]
fn timers_from_os_thread() {
    let start = Instant::now();
    after(Duration::from_millis(5)).recv();
    assert!(start.elapsed() >= Duration::from_millis(5));
    let t = Timer::new(Duration::from_millis(5));
    t.chan().recv();
    let c = Chan::new(1);
    let c2 = c.clone();
    let _f = after_func(Duration::from_millis(1), move || c2.send(7));
    assert_eq!(c.recv(), Some(7));
}

/// Ported from TestAfterFuncStarvation: two goroutines ping-pong on a buffered channel so
/// that one is always runnable; the after_func goroutine must still get to run and stop them.
#[goroutines::test]
fn after_func_starvation() {
    for _ in 0..20 {
        let stop = Arc::new(AtomicBool::new(false));
        let c = Chan::<bool>::new(1);
        let (s1, c1) = (stop.clone(), c.clone());
        let a = go(move || {
            while !s1.load(Ordering::SeqCst) {
                c1.send(true);
            }
            c1.close();
        });
        let c2 = c.clone();
        let b = go(move || for _ in c2.iter() {});
        let s2 = stop.clone();
        let _t = after_func(Duration::from_micros(1), move || {
            s2.store(true, Ordering::SeqCst)
        });
        a.join().unwrap();
        b.join().unwrap();
    }
}

/// AfterFunc under starvation with every P busy: many goroutines busy yielding, and the
/// function still runs, once, while they are busy (they stop only when it has run), and
/// within a generous bound of its 1 ms deadline (a starved timer heap waits forever).
#[goroutines::test]
fn after_func_with_busy_ps() {
    let stop = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicUsize::new(0));
    let busy = common::busy_yielders(4 * goroutines::max_procs(), &stop);
    let (s, r) = (stop.clone(), runs.clone());
    let start = Instant::now();
    let _t = after_func(Duration::from_millis(1), move || {
        r.fetch_add(1, Ordering::SeqCst);
        s.store(true, Ordering::SeqCst)
    });
    for h in busy {
        h.join().unwrap();
    }
    let took = start.elapsed();
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the function ran once");
    assert!(
        took < Duration::from_secs(2),
        "after_func(1ms) with busy Ps ran only after {took:?}"
    );
}

/// Ported from runtime's TestTimerFairness: two goroutines keep a channel send ready in a
/// select forever; the main goroutine selects between them and a 20 ms After, which must win
/// eventually.
#[goroutines::test]
fn timer_fairness() {
    let done = Chan::<bool>::new(0);
    let c = Chan::<bool>::new(0);
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let (done, c) = (done.clone(), c.clone());
            go(move || loop {
                select! {
                    send(c, true) => {},
                    recv(done) -> _ => return,
                }
            })
        })
        .collect();
    let timer = after(Duration::from_millis(20));
    loop {
        select! {
            recv(c) -> _ => {},
            recv(timer) -> _ => {
                done.close();
                break;
            }
        }
    }
    for h in hs {
        h.join().unwrap();
    }
}

/// Ported from TestTimerStopStress: many timers stopped before they fire never fire.
#[goroutines::test]
fn timer_stop_stress() {
    let fired = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..100)
        .map(|_| {
            let fired = fired.clone();
            go(move || {
                let t = after_func(Duration::from_secs(1), move || {
                    fired.fetch_add(1, Ordering::SeqCst);
                });
                sleep(Duration::from_millis(5));
                assert!(t.stop());
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    sleep(Duration::from_millis(20));
    assert_eq!(fired.load(Ordering::SeqCst), 0, "stopped timers fired");
}

/// Ported from TestMultiWakeupTimer: many goroutines reset and stop shared timers at once.
#[goroutines::test]
fn multi_wakeup_timer() {
    let timers: Arc<Vec<Timer>> = Arc::new((0..4).map(|_| Timer::new(HOUR)).collect());
    let hs: Vec<_> = (0..100)
        .map(|i| {
            let timers = timers.clone();
            go(move || {
                for j in 0..100 {
                    let t = &timers[(i + j) % timers.len()];
                    t.reset(Duration::from_nanos(1));
                    if j % 2 == 0 {
                        t.stop();
                    }
                    let _ = t.chan().try_recv();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    for t in timers.iter() {
        t.stop();
        assert!(t.chan().try_recv().is_err());
    }
}

/// Resets to later deadlines move the deadline in place; the timer fires once, not before the
/// last deadline, for channel and function timers alike.
#[goroutines::test]
fn reset_later_never_early() {
    let t = Timer::new(Duration::from_millis(50));
    let c = Chan::new(4);
    let c2 = c.clone();
    let f = after_func(Duration::from_millis(50), move || c2.send(Instant::now()));
    let mut last = Instant::now();
    for _ in 0..20 {
        sleep(Duration::from_micros(500));
        // Taken before the resets: their deadlines are no earlier.
        last = Instant::now() + Duration::from_millis(50);
        assert!(t.reset(Duration::from_millis(50)), "pending timer");
        assert!(f.reset(Duration::from_millis(50)), "pending func timer");
    }
    let fired = t.chan().recv().unwrap();
    assert!(fired >= last, "fired {:?} early", last - fired);
    let ran = c.recv().unwrap();
    assert!(ran >= last, "func ran {:?} early", last - ran);
    sleep(Duration::from_millis(60));
    assert!(t.chan().try_recv().is_err(), "fired twice");
    assert!(c.try_recv().is_err(), "ran twice");
    // Earlier after later: the earlier deadline wins.
    t.reset(Duration::from_secs(60));
    t.reset(Duration::from_millis(1));
    assert!(t.chan().recv_timeout(Duration::from_secs(5)).is_ok());
}

/// Timers armed on Ps that are then retired (GOMAXPROCS lowered) are re-homed and still fire;
/// stopped ones still do not.
#[goroutines::test]
fn timers_survive_fewer_procs() {
    let before = goroutines::max_procs();
    goroutines::set_max_procs(4);
    let fired = Arc::new(AtomicUsize::new(0));
    let wrong = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..16)
        .map(|i| {
            let (fired, wrong) = (fired.clone(), wrong.clone());
            go(move || {
                let f = fired.clone();
                let t = after_func(Duration::from_millis(20 + i), move || {
                    f.fetch_add(1, Ordering::SeqCst);
                });
                let stopped = after_func(Duration::from_millis(20 + i), move || {
                    wrong.fetch_add(1, Ordering::SeqCst);
                });
                assert!(stopped.stop());
                (t, after(Duration::from_millis(20 + i)))
            })
        })
        .collect();
    let timers: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    goroutines::set_max_procs(1);
    for (_, c) in &timers {
        c.recv_timeout(Duration::from_secs(5))
            .expect("after() lost when its P retired");
    }
    let start = Instant::now();
    while fired.load(Ordering::SeqCst) != 16 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "after_func lost when its P retired"
        );
        sleep(Duration::from_millis(1));
    }
    assert_eq!(wrong.load(Ordering::SeqCst), 0, "a stopped timer fired");
    goroutines::set_max_procs(before);
}

/// Captured by an `after_func` closure: its `Drop` sleeps (arming a timer of its own) and
/// counts the drops that ran outside any goroutine (on an M's scheduler stack).
struct SleepyDrop {
    drops: Arc<AtomicUsize>,
    off_goroutine: Arc<AtomicUsize>,
}

impl Drop for SleepyDrop {
    fn drop(&mut self) {
        if goroutines::current_id().is_none() {
            self.off_goroutine.fetch_add(1, Ordering::SeqCst);
        }
        sleep(Duration::from_millis(1));
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Stopped `after_func` timers whose handles are gone leave stale heap entries holding the last
/// reference to the user's closure; the next arming rebuilds the heap and lets them go. Their
/// `Drop` must run on a goroutine, outside the heap's lock: it used to run inside
/// `TimerHeap::push`'s `retain`, where this `Drop`'s sleep re-locked the same heap and the
/// runtime deadlocked (push -> retain -> drop -> sleep -> push).
#[test]
fn stopped_after_func_captures_may_sleep_in_drop() {
    common::watchdog(60);
    let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
    let (drops, off) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (d, o) = (drops.clone(), off.clone());
    rt.run(move || {
        const N: usize = 200;
        for _ in 0..N {
            let v = SleepyDrop {
                drops: d.clone(),
                off_goroutine: o.clone(),
            };
            let t = after_func(Duration::from_secs(60), move || {
                let _ = &v;
            });
            assert!(t.stop());
        }
        // Each arming past 64 stale entries (a quarter of the heap) rebuilds the heap, so at
        // most 64 captures stay behind, in entries due in a minute.
        let end = Instant::now() + Duration::from_secs(20);
        while d.load(Ordering::SeqCst) < N - 64 && Instant::now() < end {
            sleep(Duration::from_millis(1));
        }
        assert!(d.load(Ordering::SeqCst) >= N - 64, "captures are dropped");
    });
    assert_eq!(
        off.load(Ordering::SeqCst),
        0,
        "a Drop ran outside a goroutine"
    );
}

struct PanickyDrop(Arc<AtomicBool>);

impl Drop for PanickyDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
        panic!("a captured value's Drop panics");
    }
}

/// A stopped `after_func` timer's stale entry comes due and leaves the heap on an M's scheduler
/// loop. A `Drop` that panics there used to kill that M with its P still owned: at
/// GOMAXPROCS=1 the sleeper below never woke and the program hung. Now the `Drop` runs on a
/// goroutine of its own, whose panic ends only that goroutine.
#[test]
fn stopped_after_func_captures_may_panic_in_drop() {
    common::watchdog(60);
    let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    rt.run(move || {
        let v = PanickyDrop(d.clone());
        let t = after_func(Duration::from_millis(2), move || {
            let _ = &v;
        });
        assert!(t.stop());
        drop(t); // the stale entry, due in 2 ms, now holds the last reference
        sleep(Duration::from_millis(30));
        assert!(d.load(Ordering::SeqCst));
        assert_eq!(go(|| 5).join().unwrap(), 5);
    });
    assert!(dropped.load(Ordering::SeqCst));
}

/// Go 1.23 collects a timer whose channel nobody holds. A `select!` loop that takes another case
/// every time, with `recv(after(60s))`, used to leave one heap entry per iteration (20,000
/// here); now the entries leave the heap as it grows, while a channel still held keeps its
/// timer, which fires.
#[test]
fn unreferenced_after_timers_leave_the_heap() {
    let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
    let during = rt.run(|| {
        let kept = after(Duration::from_millis(20));
        let ready = Chan::new(1);
        for i in 0..20_000 {
            ready.send(i);
            select! {
                recv(ready) -> v => assert_eq!(v, Some(i)),
                recv(after(Duration::from_secs(60))) -> _ => unreachable!("a minute passed"),
            }
        }
        let during = goroutines::stats().timers;
        assert!(kept.recv().is_some(), "the held timer fires");
        during
    });
    assert!(
        during <= 256,
        "{during} timers in the heap after 20,000 selects"
    );
}

/// Stopped `after_func` timers on a P that retires are re-homed under the idle lock; none of
/// their captures is dropped there (the original code dropped them in that push's rebuild,
/// under the idle lock), and they are still dropped on goroutines later.
#[test]
fn stopped_after_func_captures_survive_a_retiring_p() {
    common::watchdog(60);
    let rt = goroutines::Builder::new().max_procs(2).build().unwrap();
    let (drops, off) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (d, o) = (drops.clone(), off.clone());
    rt.run(move || {
        const PER: usize = 150;
        let makers: Vec<_> = (0..4)
            .map(|_| {
                let (d, o) = (d.clone(), o.clone());
                go(move || {
                    for _ in 0..PER {
                        let v = SleepyDrop {
                            drops: d.clone(),
                            off_goroutine: o.clone(),
                        };
                        let t = after_func(Duration::from_secs(60), move || {
                            let _ = &v;
                        });
                        assert!(t.stop());
                        if d.load(Ordering::Relaxed) % 7 == 0 {
                            goroutines::yield_now();
                        }
                    }
                })
            })
            .collect();
        for m in makers {
            m.join().unwrap();
        }
        goroutines::set_max_procs(1);
        // Let P 1 retire, then arm timers on the remaining heap until it rebuilds.
        for _ in 0..200 {
            sleep(Duration::from_millis(1));
            if d.load(Ordering::SeqCst) >= 4 * PER - 2 * 64 {
                break;
            }
        }
        let end = Instant::now() + Duration::from_secs(20);
        while d.load(Ordering::SeqCst) < 4 * PER - 2 * 64 && Instant::now() < end {
            let t = after_func(Duration::from_secs(60), || {});
            t.stop();
            sleep(Duration::from_millis(1));
        }
        assert!(
            d.load(Ordering::SeqCst) >= 4 * PER - 2 * 64,
            "captures are dropped"
        );
    });
    assert_eq!(
        off.load(Ordering::SeqCst),
        0,
        "a Drop ran outside a goroutine"
    );
}
