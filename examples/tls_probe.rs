//! Does "read thread-locals afresh after each park" hold for a goroutine that migrates?
//!
//! A migratable goroutine takes a thread-local's address, yields (and may resume on another OS
//! thread), then takes the address again *in the same function*. It compares that with the
//! address computed by a function that is never inlined, which always sees the current thread.
//! LLVM treats the thread pointer as constant within a function (llvm-project #98479), so the
//! second in-function access may reuse the first one's address: the old thread's slot. Only
//! addresses are compared; nothing is read through them.
//!
//! ```text
//! cargo run --release --example tls_probe
//! ```
//!
//! This is why a default `go` goroutine never migrates (docs/soundness.md), and why the rule of
//! `go_migratable` forbids thread-locals across a park even when read afresh.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

thread_local! {
    static LOCAL: Cell<u64> = const { Cell::new(0) };
}

/// The current thread's slot, computed where nothing can be cached across a switch.
#[inline(never)]
fn fresh_addr() -> usize {
    LOCAL.with(|c| c as *const Cell<u64> as usize)
}

fn main() {
    let iters: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    // SAFETY: the goroutines below compare thread-local addresses only; they never read or
    // write through one taken before a park.
    let rt = unsafe {
        goroutines::Builder::new()
            .max_procs(2)
            .migrate_goroutines(true)
    }
    .build()
    .expect("runtime");
    let (migrations, stale) = rt.run(move || {
        let stop = Arc::new(AtomicBool::new(false));
        // Busy yielders on every P, so that yielding goroutines move between threads.
        let noise: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                goroutines::go(move || {
                    while !stop.load(Ordering::Relaxed) {
                        goroutines::yield_now();
                    }
                })
            })
            .collect();
        let probe = goroutines::go(move || {
            let (mut migrations, mut stale) = (0u64, 0u64);
            for _ in 0..iters {
                let before = LOCAL.with(|c| c as *const Cell<u64> as usize);
                goroutines::yield_now();
                let after = LOCAL.with(|c| c as *const Cell<u64> as usize);
                let now = fresh_addr();
                if now != before {
                    migrations += 1;
                    if after != now {
                        stale += 1;
                    }
                }
            }
            (migrations, stale)
        });
        let r = probe.join().unwrap();
        stop.store(true, Ordering::Relaxed);
        for n in noise {
            n.join().unwrap();
        }
        r
    });
    println!(
        "{iters} yields, {migrations} migrations; after {stale} of them an in-function read of \
         the thread-local returned the old thread's address"
    );
}
