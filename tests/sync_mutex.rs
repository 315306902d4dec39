//! Mutex tests, ported from Go's sync/mutex_test.go where noted.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::go;
use goroutines::sync::{Mutex, WaitGroup};

mod common;
use common::{busy_sleep, watchdog, Queue};

/// Ported from Go's sync/mutex_test.go HammerMutex.
fn hammer_mutex(m: &Mutex<()>, loops: usize) {
    for i in 0..loops {
        if i % 3 == 0 {
            if let Some(g) = m.try_lock() {
                drop(g);
            }
            continue;
        }
        drop(m.lock());
    }
}

/// Ported from Go's sync/mutex_test.go TestMutex.
#[goroutines::test]
fn mutex() {
    watchdog(60);
    let m = Arc::new(Mutex::new(()));
    let g = m.lock();
    assert!(
        m.try_lock().is_none(),
        "try_lock succeeded with mutex locked"
    );
    drop(g);
    assert!(
        m.try_lock().is_some(),
        "try_lock failed with mutex unlocked"
    );

    let c = Arc::new(Queue::new());
    for _ in 0..10 {
        let (m, c) = (m.clone(), c.clone());
        go(move || {
            hammer_mutex(&m, 1000);
            c.send(true);
        });
    }
    for _ in 0..10 {
        c.recv();
    }
}

/// Mutual exclusion under many goroutines: a non-atomic read-modify-write with a yield inside
/// the critical section loses no update.
#[goroutines::test]
fn mutual_exclusion_many_goroutines() {
    watchdog(60);
    let m = Arc::new(Mutex::new(0u64));
    let inside = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    let (n, iters) = (100, 200);
    for _ in 0..n {
        let (m, inside, wg) = (m.clone(), inside.clone(), wg.clone());
        wg.add(1);
        go(move || {
            for i in 0..iters {
                let mut g = m.lock();
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two holders at once"
                );
                let v = *g;
                if i % 7 == 0 {
                    goroutines::yield_now(); // switch while holding the lock
                }
                *g = v + 1;
                inside.fetch_sub(1, Ordering::SeqCst);
            }
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(*m.lock(), n * iters);
}

/// Goroutines and plain OS threads contend for one mutex.
#[goroutines::test]
fn goroutines_and_threads_share_a_mutex() {
    watchdog(60);
    let m = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    let gs: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            go(move || {
                for i in 0..500 {
                    let mut g = m.lock();
                    *g += 1;
                    if i % 10 == 0 {
                        goroutines::yield_now();
                    }
                }
            })
        })
        .collect();
    for g in gs {
        g.join().unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.lock(), 2 * 2000 + 8 * 500);
}

/// Ported from Go's sync/mutex_test.go TestMutexFairness: a goroutine that relocks in a loop
/// (holding the lock for 100 µs each time) does not starve another that wants it. Go's
/// `time.Sleep(100µs)` inside and outside the critical section becomes a yielding busy wait. Also
/// counts how often the relocker got the lock while the other goroutine waited: starvation mode
/// (after 1 ms) bounds it; the bound asserted is generous.
#[goroutines::test]
fn mutex_fairness() {
    watchdog(60);
    let mu = Arc::new(Mutex::new(()));
    let relocks = Arc::new(AtomicU64::new(0)); // the relocker's acquisitions
    let stop = Arc::new(AtomicBool::new(false));
    let relocker = {
        let (mu, relocks, stop) = (mu.clone(), relocks.clone(), stop.clone());
        go(move || {
            while !stop.load(Ordering::Relaxed) {
                let g = mu.lock();
                relocks.fetch_add(1, Ordering::Relaxed);
                busy_sleep(Duration::from_micros(100));
                drop(g);
            }
        })
    };
    let waiter = {
        let (mu, relocks) = (mu.clone(), relocks.clone());
        go(move || {
            let mut worst = 0;
            for _ in 0..10 {
                busy_sleep(Duration::from_micros(100));
                let before = relocks.load(Ordering::Relaxed);
                let g = mu.lock();
                worst = worst.max(relocks.load(Ordering::Relaxed) - before);
                drop(g);
            }
            worst
        })
    };
    let start = Instant::now();
    let worst = waiter.join().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "can't acquire Mutex in 10 seconds"
    );
    stop.store(true, Ordering::Relaxed);
    relocker.join().unwrap();
    eprintln!("mutex_fairness: at most {worst} relocks while the waiter waited");
    // 1 ms of 100 µs holds is about 10 handoffs before starvation mode; allow far more.
    assert!(
        worst < 500,
        "the relocker took the lock {worst} times while the other waited"
    );
}

/// Heavy contention, so that waiters pass 1 ms and the mutex goes in and out of starvation
/// mode; every goroutine finishes and no increment is lost.
#[goroutines::test]
fn starvation_mode_round_trip() {
    watchdog(60);
    let m = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..20)
        .map(|_| {
            let m = m.clone();
            go(move || {
                for _ in 0..200 {
                    let mut g = m.lock();
                    let end = Instant::now() + Duration::from_micros(20);
                    while Instant::now() < end {
                        std::hint::spin_loop();
                    }
                    *g += 1;
                    drop(g);
                    goroutines::yield_now();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), 20 * 200);
    assert!(
        m.try_lock().is_some(),
        "the mutex ends unlocked in normal mode"
    );
}

/// No poisoning (Go has none): a panic while holding the guard unlocks on unwind and the next
/// holder sees the value as left.
#[goroutines::test]
fn panic_while_holding_unlocks() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let r = go(move || {
        let mut g = m2.lock();
        *g = 2;
        panic!("boom");
    })
    .join();
    assert!(r.is_err());
    assert_eq!(*m.lock(), 2);
    assert_eq!(Arc::try_unwrap(m).unwrap().into_inner(), 2);
}

#[test]
fn get_mut_into_inner_const_new() {
    static S: Mutex<Vec<u8>> = Mutex::new(Vec::new());
    S.lock().push(1);
    assert_eq!(*S.lock(), [1]);
    let mut m = Mutex::new(String::new());
    m.get_mut().push('x');
    assert_eq!(format!("{m:?}"), "Mutex { data: \"x\", .. }");
    assert_eq!(m.into_inner(), "x");
    assert_eq!(std::mem::size_of::<Mutex<()>>(), 8);
}
