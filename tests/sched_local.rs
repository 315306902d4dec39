//! `goroutine_local!`: values that belong to a goroutine, move with it, and are dropped when it
//! ends; on a plain thread, a thread-local (issue 12, item 3).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goroutines::{go, goroutine_local, yield_now, Chan};

goroutine_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static NAME: RefCell<String> = RefCell::new(String::from("unnamed"));
}

#[goroutines::test]
fn each_goroutine_has_its_own_value() {
    let hs: Vec<_> = (0..50u64)
        .map(|k| {
            go(move || {
                for _ in 0..k {
                    COUNT.with(|c| c.set(c.get() + 1));
                    yield_now();
                }
                COUNT.with(|c| c.get())
            })
        })
        .collect();
    for (k, h) in hs.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), k as u64);
    }
}

#[goroutines::test]
fn a_reference_stays_valid_across_parks_and_migrations() {
    // Migratable goroutines move between threads; their locals move with them.
    let hs: Vec<_> = (0..8)
        .map(|k| {
            // SAFETY: the closure keeps nothing tied to its OS thread across its parks: the
            // reference it keeps is to a goroutine-local.
            unsafe {
                goroutines::go_migratable(move || {
                    NAME.with(|n| {
                        *n.borrow_mut() = format!("worker {k}");
                        let ch: Chan<()> = Chan::new(1);
                        for _ in 0..2_000 {
                            ch.send(());
                            yield_now();
                            ch.recv();
                            assert_eq!(*n.borrow(), format!("worker {k}"));
                        }
                    });
                })
            }
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

struct Noisy(Arc<AtomicUsize>);
impl Drop for Noisy {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

goroutine_local!(static DROPS: RefCell<Option<Noisy>> = RefCell::new(None));

#[goroutines::test]
fn values_are_dropped_when_the_goroutine_ends_before_join_returns() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    go(move || DROPS.with(|v| *v.borrow_mut() = Some(Noisy(d))))
        .join()
        .unwrap();
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn on_a_plain_thread_it_is_a_thread_local() {
    COUNT.with(|c| c.set(41));
    let other = std::thread::spawn(|| COUNT.with(|c| c.get()))
        .join()
        .unwrap();
    assert_eq!(other, 0);
    COUNT.with(|c| c.set(c.get() + 1));
    assert_eq!(COUNT.with(|c| c.get()), 42);
}

goroutine_local!(static REENTRANT: u32 = REENTRANT.with(|v| *v + 1));

#[goroutines::test]
fn a_reentrant_initializer_panics() {
    let r = go(|| REENTRANT.with(|v| *v)).join();
    assert!(r.is_err(), "recursive initialization must panic");
}

#[goroutines::test]
fn a_panicking_destructor_is_reported_to_the_joiner() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("bomb");
        }
    }
    goroutine_local!(static BOMB: RefCell<Option<Bomb>> = RefCell::new(None));
    let r = go(|| BOMB.with(|b| *b.borrow_mut() = Some(Bomb))).join();
    assert!(r.is_err());
    // The runtime goes on.
    assert_eq!(go(|| 5).join().unwrap(), 5);
}
