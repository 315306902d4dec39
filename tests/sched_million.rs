//! Many goroutines parked at once, then all released and joined. The full million runs in
//! `examples/million.rs` and the benchmarks; CI runs 200,000 (100,000 in debug builds).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use goroutines::go;
use goroutines::runtime::park::{self, Unparker, WaitReason};

#[goroutines::test]
fn park_200k_then_release_all() {
    let n: usize = if cfg!(debug_assertions) {
        100_000
    } else {
        200_000
    };
    let released = Arc::new(AtomicBool::new(false));
    let waiters: Arc<Mutex<Vec<Unparker>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let parked = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (released, waiters, parked) = (released.clone(), waiters.clone(), parked.clone());
            go(move || {
                waiters.lock().unwrap().push(park::current());
                parked.fetch_add(1, Ordering::SeqCst);
                while !released.load(Ordering::SeqCst) {
                    park::park(WaitReason::ChanReceive);
                }
                i
            })
        })
        .collect();
    while parked.load(Ordering::SeqCst) < n {
        goroutines::yield_now();
    }
    assert!(goroutines::num_goroutine() > n);
    released.store(true, Ordering::SeqCst);
    for u in std::mem::take(&mut *waiters.lock().unwrap()) {
        u.unpark();
    }
    let mut sum = 0usize;
    for h in handles {
        sum += h.join().unwrap();
    }
    assert_eq!(sum, n * (n - 1) / 2);
}
