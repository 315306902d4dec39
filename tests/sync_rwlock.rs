//! RwLock tests, ported from Go's sync/rwmutex_test.go where noted.
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;

use goroutines::go;
use goroutines::sync::RwLock;

mod common;
use common::{watchdog, Queue};

/// Ported from Go's sync/rwmutex_test.go doTestParallelReaders: all readers hold the lock at
/// once.
fn parallel_readers(num_readers: usize) {
    let m = Arc::new(RwLock::new(()));
    let (clocked, cunlock, cdone) = (
        Arc::new(Queue::new()),
        Arc::new(Queue::new()),
        Arc::new(Queue::new()),
    );
    for _ in 0..num_readers {
        let (m, clocked, cunlock, cdone) =
            (m.clone(), clocked.clone(), cunlock.clone(), cdone.clone());
        go(move || {
            let g = m.read();
            clocked.send(true);
            cunlock.recv();
            drop(g);
            cdone.send(true);
        });
    }
    // Wait for all parallel read locks to succeed.
    for _ in 0..num_readers {
        clocked.recv();
    }
    for _ in 0..num_readers {
        cunlock.send(true);
    }
    for _ in 0..num_readers {
        cdone.recv();
    }
}

/// Ported from Go's sync/rwmutex_test.go TestParallelReaders.
#[goroutines::test]
fn parallel_readers_test() {
    watchdog(60);
    parallel_readers(1);
    parallel_readers(3);
    parallel_readers(4);
}

/// Ported from Go's sync/rwmutex_test.go reader/writer/HammerRWMutex: `activity` counts active
/// readers plus 10000 per active writer.
fn hammer_rwmutex(num_readers: usize, iterations: usize) {
    let rwm = Arc::new(RwLock::new(()));
    let activity = Arc::new(AtomicI32::new(0));
    let mut hs = Vec::new();
    let writer = |rwm: Arc<RwLock<()>>, activity: Arc<AtomicI32>| {
        go(move || {
            for _ in 0..iterations {
                let g = rwm.write();
                let n = activity.fetch_add(10000, Ordering::SeqCst) + 10000;
                assert_eq!(n, 10000, "wlock({n})");
                for _ in 0..100 {
                    std::hint::spin_loop();
                }
                activity.fetch_sub(10000, Ordering::SeqCst);
                drop(g);
            }
        })
    };
    let reader = |rwm: Arc<RwLock<()>>, activity: Arc<AtomicI32>| {
        go(move || {
            for _ in 0..iterations {
                let g = rwm.read();
                let n = activity.fetch_add(1, Ordering::SeqCst) + 1;
                assert!((1..10000).contains(&n), "rlock({n})");
                for _ in 0..100 {
                    std::hint::spin_loop();
                }
                activity.fetch_sub(1, Ordering::SeqCst);
                drop(g);
            }
        })
    };
    hs.push(writer(rwm.clone(), activity.clone()));
    let mut i = 0;
    while i < num_readers / 2 {
        hs.push(reader(rwm.clone(), activity.clone()));
        i += 1;
    }
    hs.push(writer(rwm.clone(), activity.clone()));
    while i < num_readers {
        hs.push(reader(rwm.clone(), activity.clone()));
        i += 1;
    }
    for h in hs {
        h.join().unwrap();
    }
}

/// Ported from Go's sync/rwmutex_test.go TestRWMutex (GOMAXPROCS comes from the environment).
#[goroutines::test]
fn rwmutex() {
    watchdog(60);
    let m = RwLock::new(());
    let w = m.write();
    assert!(
        m.try_write().is_none(),
        "try_write succeeded with the lock write-locked"
    );
    assert!(
        m.try_read().is_none(),
        "try_read succeeded with the lock write-locked"
    );
    drop(w);
    assert!(
        m.try_write().is_some(),
        "try_write failed with the lock unlocked"
    );
    let r1 = m
        .try_read()
        .expect("try_read failed with the lock unlocked");
    let r2 = m
        .try_read()
        .expect("try_read failed with the lock read-locked");
    assert!(
        m.try_write().is_none(),
        "try_write succeeded with the lock read-locked"
    );
    drop((r1, r2));

    for readers in [1, 3, 10, 5] {
        hammer_rwmutex(readers, 300);
    }
}

/// A writer is not starved by a continuous stream of overlapping readers: once it waits, new
/// readers queue behind it.
///
/// Measured on the lock itself, not on the clock or on counts taken around `write()` (those
/// windows include the OS descheduling the writer's thread, and failed about 1 run in 15 under
/// load): a reader's failed `try_read` proves that a writer had announced itself at that moment,
/// so the `read()` that follows should not get in before that writer's increment; a reader that
/// sees the same value as in its previous read passed a waiting writer. As in Go, that can
/// happen only by taking the wake-up meant for a reader the previous writer's unlock admitted
/// (the reader semaphore's permits are interchangeable, and the passer's unlock then counts
/// for the admitted one), so a round sees at most one pass per reader: 8 here, against
/// thousands for a lock that lets readers starve a writer. Starvation also shows as the 50
/// rounds not finishing before the test's timeout.
#[goroutines::test(timeout = "30s")]
fn writer_not_starved_by_readers() {
    let l = Arc::new(RwLock::new(0u64));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let probes = Arc::new(AtomicU64::new(0));
    const ROUNDS: usize = 50;
    const READERS: u64 = 8;
    // Passes counted by the value they saw: the round of the writer they passed, minus one.
    let passed: Arc<Vec<AtomicU64>> = Arc::new((0..ROUNDS).map(|_| AtomicU64::new(0)).collect());
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (l, stop, reads) = (l.clone(), stop.clone(), reads.clone());
            let (probes, passed) = (probes.clone(), passed.clone());
            go(move || {
                // The value of this reader's previous read, which ended before the next begins.
                let mut last = None;
                while !stop.load(Ordering::Relaxed) {
                    match l.try_read() {
                        Some(g) => {
                            last = Some(*g);
                            reads.fetch_add(1, Ordering::Relaxed);
                            // Hold the read lock across a switch so readers always overlap.
                            goroutines::yield_now();
                            drop(g);
                        }
                        None => {
                            // A writer has announced itself; it must come first.
                            probes.fetch_add(1, Ordering::Relaxed);
                            let v = *l.read();
                            if Some(v) == last {
                                passed[v as usize].fetch_add(1, Ordering::Relaxed);
                            }
                            last = Some(v);
                        }
                    }
                }
            })
        })
        .collect();
    // Let the stream of readers get going.
    while reads.load(Ordering::Relaxed) < 100 {
        goroutines::yield_now();
    }
    for _ in 0..ROUNDS {
        *l.write() += 1;
        goroutines::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(*l.read(), ROUNDS as u64);
    assert!(
        probes.load(Ordering::Relaxed) > 0,
        "no reader ever found the writer waiting: the test tested nothing"
    );
    for (round, p) in passed.iter().enumerate() {
        let p = p.load(Ordering::Relaxed);
        assert!(
            p <= READERS,
            "round {}: {p} reads got in ahead of a writer already waiting",
            round + 1
        );
    }
}

/// Readers queued behind a writer all get in when it unlocks, before the next writer.
#[goroutines::test]
fn readers_queued_behind_a_writer_run_before_the_next_writer() {
    watchdog(60);
    let l = Arc::new(RwLock::new(Vec::new()));
    let w = l.write();
    let readers: Vec<_> = (0..5)
        .map(|_| {
            let l = l.clone();
            go(move || l.read().len())
        })
        .collect();
    // Give them time to queue.
    for _ in 0..50 {
        goroutines::yield_now();
    }
    drop(w);
    for r in readers {
        r.join().unwrap();
    }
    l.write().push(1);
    assert_eq!(*l.read(), [1]);
}

/// Goroutines and OS threads mix as readers and writers; panics unlock (no poisoning).
#[goroutines::test]
fn threads_and_goroutines_and_panics() {
    watchdog(60);
    let l = Arc::new(RwLock::new(0u64));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let l = l.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    if i % 4 == 0 {
                        *l.write() += 1;
                    } else {
                        let _ = *l.read();
                    }
                }
            })
        })
        .collect();
    let gs: Vec<_> = (0..4)
        .map(|_| {
            let l = l.clone();
            go(move || {
                for i in 0..500 {
                    if i % 5 == 0 {
                        *l.write() += 1;
                    } else {
                        let g = l.read();
                        goroutines::yield_now();
                        drop(g);
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
    assert_eq!(*l.read(), 2 * 250 + 4 * 100);
    let l2 = l.clone();
    assert!(go(move || {
        let _g = l2.write();
        panic!("boom");
    })
    .join()
    .is_err());
    assert!(l.try_write().is_some());
    let l3 = l.clone();
    assert!(go(move || {
        let _g = l3.read();
        panic!("boom");
    })
    .join()
    .is_err());
    assert!(l.try_write().is_some());
    let mut l = Arc::try_unwrap(l).unwrap();
    *l.get_mut() += 1;
    assert_eq!(l.into_inner(), 901);
}
