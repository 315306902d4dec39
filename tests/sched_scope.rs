//! Scoped goroutines (`goroutines::scope`): borrowing from the caller, joining before the scope
//! returns, and panics reaching the caller.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goroutines::runtime::WaitReason;
use goroutines::{Builder, Chan};

mod common;

/// Goroutines sum slices of a local `Vec` through plain borrows (no `Arc`), at one P and at
/// several.
#[test]
fn scope_sums_slices_of_a_local_vec() {
    common::watchdog(60);
    for procs in [1, 4] {
        let rt = Builder::new().max_procs(procs).build().unwrap();
        let total = rt.run(|| {
            let data: Vec<u64> = (1..=10_000).collect();
            let mut partial = vec![0u64; 8];
            goroutines::scope(|s| {
                for (chunk, out) in data.chunks(data.len() / 8).zip(partial.iter_mut()) {
                    s.go(move || *out = chunk.iter().sum());
                }
            });
            // Every goroutine has written its slot by the time `scope` returns.
            assert!(partial.iter().all(|&p| p > 0), "{partial:?}");
            partial.iter().sum::<u64>()
        });
        assert_eq!(total, 10_000 * 10_001 / 2, "at {procs} Ps");
    }
}

/// Handles return each goroutine's result; the scope's value is the closure's.
#[test]
fn scoped_handles_return_results() {
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let words = ["a".to_string(), "bb".to_string(), "ccc".to_string()];
        let lens = goroutines::scope(|s| {
            let hs: Vec<_> = words.iter().map(|w| s.go(move || w.len())).collect();
            hs.into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(lens, [1, 2, 3]);
    });
}

/// A panic in a scoped goroutine nobody joined reaches the caller of `scope`, after every other
/// goroutine of the scope has finished.
#[test]
fn scope_panic_reaches_the_caller() {
    common::watchdog(60);
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let finished = AtomicUsize::new(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            goroutines::scope(|s| {
                s.go(|| panic!("scoped goroutine failed"));
                for _ in 0..4 {
                    s.go(|| {
                        goroutines::time::sleep(Duration::from_millis(20));
                        finished.fetch_add(1, Ordering::SeqCst);
                    });
                }
            })
        }));
        let p = r.expect_err("the scope did not panic");
        assert_eq!(
            p.downcast_ref::<&str>().copied(),
            Some("a scoped goroutine panicked")
        );
        assert_eq!(finished.load(Ordering::SeqCst), 4, "scope returned early");
    });
}

/// A panic of the scope's own closure is resumed as it is, once its goroutines are done; a
/// joined goroutine's panic is the joiner's and does not make the scope panic.
#[test]
fn scope_closure_panic_waits_and_joined_panic_is_handled() {
    let rt = Builder::new().max_procs(1).build().unwrap();
    rt.run(|| {
        let done = AtomicUsize::new(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            goroutines::scope(|s| {
                s.go(|| {
                    goroutines::time::sleep(Duration::from_millis(10));
                    done.fetch_add(1, Ordering::SeqCst);
                });
                panic!("closure failed");
            })
        }));
        assert_eq!(
            r.unwrap_err().downcast_ref::<&str>().copied(),
            Some("closure failed")
        );
        assert_eq!(done.load(Ordering::SeqCst), 1);

        let v = goroutines::scope(|s| {
            let h = s.go(|| panic!("joined"));
            assert!(h.join().is_err());
            7
        });
        assert_eq!(v, 7);
    });
}

/// The caller of `scope` parks while it waits (wait reason "join"), freeing its P: at
/// GOMAXPROCS=1 the scoped goroutines could not run otherwise.
#[test]
fn scope_parks_the_waiting_goroutine() {
    common::watchdog(60);
    let rt = Builder::new().max_procs(1).build().unwrap();
    rt.run(|| {
        let gate = Chan::<()>::new(0);
        let parent = goroutines::go({
            let gate = gate.clone();
            move || {
                let id = goroutines::current_id().unwrap();
                goroutines::scope(|s| {
                    s.go(|| gate.recv());
                });
                id
            }
        });
        let id = parent.id();
        // Wait until the parent waits in `scope` and its child in the channel receive.
        let waiting = |r: WaitReason| {
            goroutines::metrics()
                .waiting_by_reason
                .iter()
                .find(|(w, _)| *w == r)
                .map_or(0, |&(_, n)| n)
        };
        while waiting(WaitReason::Join) < 1 || waiting(WaitReason::ChanReceive) < 1 {
            goroutines::yield_now();
        }
        let d = goroutines::dump();
        assert!(d.contains(&format!("goroutine {id} [join")), "{d}");
        gate.close();
        assert_eq!(parent.join().unwrap(), id);
    });
}

/// Scoped goroutines may start more scoped goroutines, and `scope` works on a plain thread.
#[test]
fn nested_spawns_and_plain_thread_caller() {
    let counter = AtomicUsize::new(0);
    goroutines::scope(|s| {
        for _ in 0..4 {
            s.go(|| {
                for _ in 0..4 {
                    s.go(|| counter.fetch_add(1, Ordering::SeqCst));
                }
            });
        }
    });
    assert_eq!(counter.load(Ordering::SeqCst), 16);
}

/// A result nobody joined is dropped before `scope` returns (it may borrow from the scope).
#[test]
fn unjoined_results_are_dropped_inside_the_scope() {
    struct Counts<'a>(&'a AtomicUsize);
    impl Drop for Counts<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = AtomicUsize::new(0);
    goroutines::scope(|s| {
        for _ in 0..8 {
            s.go(|| Counts(&drops));
        }
    });
    assert_eq!(drops.load(Ordering::SeqCst), 8);
}
