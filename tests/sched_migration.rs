//! A goroutine keeps its identity and its state across a million switches while it migrates
//! between OS threads. Run in release mode too: the risk is LLVM caching a thread-local's
//! address across a switch (llvm-project issue 98479).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod common;

use goroutines::{go, yield_now};

#[goroutines::test]
fn identity_survives_a_million_yields() {
    let yields: u64 = if cfg!(debug_assertions) {
        200_000
    } else {
        1_000_000
    };
    // Migration needs two Ps at least (at GOMAXPROCS=1 one M runs everything).
    if goroutines::max_procs() < 2 {
        goroutines::set_max_procs(2);
    }
    let stop = Arc::new(AtomicBool::new(false));
    // Background goroutines keep every P busy, so the yielding ones move between Ms.
    let noise = common::busy_yielders(4, &stop);
    let workers: Vec<_> = (0..4u64)
        .map(|k| {
            go(move || {
                let me = goroutines::current_id().unwrap();
                let mut threads = HashSet::new();
                let mut acc = k;
                for i in 0..yields / 4 {
                    yield_now();
                    assert_eq!(goroutines::current_id(), Some(me));
                    acc = acc.wrapping_mul(6364136223846793005).wrapping_add(i);
                    if i % 1024 == 0 {
                        threads.insert(std::thread::current().id());
                    }
                }
                (acc, threads.len())
            })
        })
        .collect();
    let mut most_threads = 0;
    for (k, w) in workers.into_iter().enumerate() {
        let (acc, threads) = w.join().unwrap();
        most_threads = most_threads.max(threads);
        let mut expect = k as u64;
        for i in 0..yields / 4 {
            expect = expect.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        assert_eq!(
            acc, expect,
            "state on the goroutine's stack survives migration"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for n in noise {
        n.join().unwrap();
    }
    // Each worker sampled its thread every 1024 yields; the global queue hands a yielder to
    // whichever M comes next, so with two Ms busy some worker must have been seen on both.
    assert!(
        most_threads >= 2,
        "no worker migrated: every one stayed on one OS thread"
    );
}
