//! Fault injection (issue 16, item 3a): reserving a new stack arena fails. `Runtime::try_go`
//! returns the `io::Error`, `go` panics with a message that names memory, the goroutines already
//! running are unaffected, and the next spawn after the fault succeeds.
//!
//! Needs `--features fault-injection` (src/fault.rs).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use goroutines::{Builder, Chan};

/// Stack sizes no other test uses: each has its own pool, so its first spawn reserves a fresh
/// arena and the faults armed for it hit no other test.
const SIZE_TRY_GO: usize = 80 * 1024;
const SIZE_GO: usize = 84 * 1024;

#[test]
fn try_go_returns_the_arena_error_and_running_goroutines_go_on() {
    common::watchdog(300);
    let rt = Builder::new()
        .max_procs(2)
        .stack_size(SIZE_TRY_GO)
        .build()
        .unwrap();
    let release = Chan::<()>::new(0);
    // A goroutine computing throughout, on the same runtime.
    let stop = Arc::new(AtomicBool::new(false));
    let work = Arc::new(AtomicU64::new(0));
    let (s, w) = (stop.clone(), work.clone());
    let busy = rt.go(move || {
        let mut n = 0u64;
        while !s.load(Ordering::Relaxed) {
            n += 1;
            w.store(n, Ordering::Relaxed);
            goroutines::yield_now();
        }
        n
    });
    // Its spawn reserved this size's first arena; the next reservation fails.
    goroutines::__fault::fail_arena_mmap(SIZE_TRY_GO, 1);
    let mut parked = Vec::new();
    let err = loop {
        let rx = release.clone();
        let i = parked.len() as u64;
        match rt.try_go(move || {
            rx.recv();
            i * 2 + 1
        }) {
            Ok(h) => parked.push(h),
            Err(e) => break e,
        }
        assert!(
            parked.len() < 100_000,
            "the armed arena fault never hit: {} goroutines spawned",
            parked.len()
        );
    };
    assert_eq!(err.kind(), std::io::ErrorKind::OutOfMemory, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("out of memory"), "{msg}");
    assert!(msg.contains("Cannot allocate memory"), "{msg}");
    assert!(!parked.is_empty(), "the first arena held no goroutine");
    // The fault was one reservation: the next spawn reserves a new arena and runs.
    let after = rt.try_go(|| 7).expect("a spawn after the fault");
    assert_eq!(after.join().unwrap(), 7);
    // Everything that was running or parked when the reservation failed still works.
    let w0 = work.load(Ordering::Relaxed);
    while work.load(Ordering::Relaxed) == w0 {
        std::thread::yield_now();
    }
    release.close();
    for (i, h) in parked.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), i as u64 * 2 + 1);
    }
    stop.store(true, Ordering::Relaxed);
    assert!(busy.join().unwrap() > 0);
}

#[test]
fn go_panics_naming_memory_when_no_arena_can_be_reserved() {
    common::watchdog(300);
    let rt = Builder::new()
        .max_procs(2)
        .stack_size(SIZE_GO)
        .build()
        .unwrap();
    // Another runtime's goroutine, running when the reservation fails.
    let other = Builder::new().max_procs(1).build().unwrap();
    let ch = Chan::<u64>::new(0);
    let rx = ch.clone();
    let summer = other.go(move || rx.iter().sum::<u64>());
    goroutines::__fault::fail_arena_mmap(SIZE_GO, 1);
    let p = catch_unwind(AssertUnwindSafe(|| rt.go(|| 1))).expect_err("go must panic");
    let msg = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .expect("a text panic");
    assert!(msg.contains("out of memory for goroutine stacks"), "{msg}");
    for i in 0..100 {
        ch.send(i);
    }
    ch.close();
    assert_eq!(summer.join().unwrap(), 4950);
    // And `go` works again on the runtime that failed.
    assert_eq!(rt.go(|| 2).join().unwrap(), 2);
}
