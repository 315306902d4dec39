//! A goroutine keeps its identity and its state across a million switches. A default goroutine
//! stays on the OS thread where it first ran (docs/soundness.md); a migratable one moves between
//! OS threads and keeps both. Run in release mode too: the risk is LLVM caching a thread-local's
//! address across a switch (llvm-project issue 98479).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod common;

use goroutines::{go, max_procs, yield_now, JoinHandle};

fn yields() -> u64 {
    if cfg!(debug_assertions) {
        200_000
    } else {
        1_000_000
    }
}

/// A worker's body: returns how many times it yielded and on how many OS threads it ran.
type Worker = Box<dyn FnOnce() -> (u64, usize) + Send>;

/// Four goroutines yield `yields() / 4` times each beside busy yielders that keep every P busy;
/// returns, for each, how many OS threads it was seen on.
fn run_workers(spawn: fn(Worker) -> JoinHandle<(u64, usize)>) -> Vec<usize> {
    let yields = yields();
    let stop = Arc::new(AtomicBool::new(false));
    // Background goroutines keep every P busy, so that a goroutine that may move does.
    let noise = common::busy_yielders(4, &stop);
    let workers: Vec<_> = (0..4u64)
        .map(|k| {
            spawn(Box::new(move || {
                let me = goroutines::current_id().unwrap();
                let mut threads = HashSet::new();
                let mut acc = k;
                for i in 0..yields / 4 {
                    yield_now();
                    assert_eq!(goroutines::current_id(), Some(me));
                    acc = acc.wrapping_mul(6364136223846793005).wrapping_add(i);
                    if i % 256 == 0 {
                        threads.insert(std::thread::current().id());
                    }
                }
                (acc, threads.len())
            }))
        })
        .collect();
    let mut seen = Vec::new();
    for (k, w) in workers.into_iter().enumerate() {
        let (acc, threads) = w.join().unwrap();
        let mut expect = k as u64;
        for i in 0..yields / 4 {
            expect = expect.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        assert_eq!(
            acc, expect,
            "state on the goroutine's stack survives its switches"
        );
        seen.push(threads);
    }
    stop.store(true, Ordering::Relaxed);
    for n in noise {
        n.join().unwrap();
    }
    seen
}

#[goroutines::test]
fn a_started_goroutine_stays_on_its_thread() {
    let seen = run_workers(|f| go(f));
    assert!(
        seen.iter().all(|&t| t == 1),
        "default goroutines were seen on several threads: {seen:?}"
    );
}

#[goroutines::test]
fn a_migratable_goroutine_moves_and_keeps_its_identity() {
    // SAFETY: the workers keep nothing tied to their OS thread across `yield_now`.
    let seen = run_workers(|f| unsafe { goroutines::go_migratable(f) });
    if max_procs() > 1 {
        // Four busy yielders and four workers over every P: yields go to the global queue,
        // which every M takes from, so a worker that stayed put all along is all but impossible.
        assert!(
            seen.iter().any(|&t| t > 1),
            "no migratable goroutine moved between threads: {seen:?}"
        );
    }
}
