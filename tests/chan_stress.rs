//! No value lost or duplicated: 8 producers and 8 consumers on one channel, capacities 0, 1, 10
//! and 1000, producers and consumers in goroutines, in OS threads, or mixed; the channel is
//! closed part-way by a consumer, and every value is accounted for: each value whose send
//! succeeded is received exactly once, and no value whose send failed is ever received.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goroutines::{select, Chan, SendTimeoutError};

const PRODUCERS: usize = 8;
const CONSUMERS: usize = 8;
const PER_PRODUCER: usize = 1500;
/// A consumer closes the channel after this many values were received in total.
const CLOSE_AFTER: usize = PRODUCERS * PER_PRODUCER * 2 / 3;

#[derive(Clone, Copy, Debug)]
enum Place {
    Goroutines,
    Threads,
    Mixed,
}

/// Runs `f` in a goroutine or an OS thread; the returned closure joins it.
fn spawn<T: Send + 'static>(
    in_thread: bool,
    f: impl FnOnce() -> T + Send + 'static,
) -> Box<dyn FnOnce() -> T> {
    if in_thread {
        let h = std::thread::spawn(f);
        Box::new(move || h.join().unwrap())
    } else {
        let h = goroutines::go(f);
        Box::new(move || h.join().unwrap())
    }
}

fn run(cap: usize, place: Place) {
    let ch = Chan::<usize>::new(cap);
    let total = PRODUCERS * PER_PRODUCER;
    // received[v]: how many times value v was received.
    let received: Arc<Vec<AtomicU8>> = Arc::new((0..total).map(|_| AtomicU8::new(0)).collect());
    let nreceived = Arc::new(AtomicUsize::new(0));
    let in_thread = |k: usize| match place {
        Place::Goroutines => false,
        Place::Threads => true,
        Place::Mixed => k % 2 == 1,
    };

    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let ch = ch.clone();
        producers.push(spawn(in_thread(p), move || {
            // Returns the values whose send succeeded.
            let mut sent = Vec::new();
            for i in 0..PER_PRODUCER {
                let v = p * PER_PRODUCER + i;
                let ok = match p % 3 {
                    // Plain send: panics once the channel is closed.
                    0 => catch_unwind(AssertUnwindSafe(|| ch.send(v))).is_ok(),
                    // Timed send: reports Closed (short timeouts exercise cancellation).
                    1 => loop {
                        match ch.send_timeout(v, Duration::from_micros(200)) {
                            Ok(()) => break true,
                            Err(SendTimeoutError::Closed(_)) => break false,
                            Err(SendTimeoutError::Timeout(_)) => continue,
                        }
                    },
                    // Select send, with a nil case.
                    _ => catch_unwind(AssertUnwindSafe(|| {
                        let nil = Chan::<usize>::nil();
                        select! {
                            send(ch, v) => {},
                            recv(nil) -> _ => unreachable!(),
                        }
                    }))
                    .is_ok(),
                };
                if ok {
                    sent.push(v);
                } else {
                    break;
                }
            }
            sent
        }));
    }

    let mut consumers = Vec::new();
    for c in 0..CONSUMERS {
        let (ch, received, nreceived) = (ch.clone(), received.clone(), nreceived.clone());
        consumers.push(spawn(in_thread(c + 1), move || loop {
            let v = match c % 3 {
                0 => ch.recv(),
                1 => {
                    let other = Chan::<usize>::new(0);
                    select! {
                        recv(ch) -> v => v,
                        recv(other) -> _ => unreachable!(),
                    }
                }
                _ => match ch.recv_timeout(Duration::from_micros(300)) {
                    Ok(v) => Some(v),
                    Err(goroutines::RecvTimeoutError::Closed) => None,
                    Err(goroutines::RecvTimeoutError::Timeout) => continue,
                },
            };
            let Some(v) = v else { return };
            received[v].fetch_add(1, Ordering::Relaxed);
            if nreceived.fetch_add(1, Ordering::Relaxed) + 1 == CLOSE_AFTER {
                ch.close();
            }
        }));
    }

    let mut sent = vec![false; total];
    for p in producers {
        for v in p() {
            sent[v] = true;
        }
    }
    for c in consumers {
        c();
    }
    let mut nsent = 0;
    for v in 0..total {
        let r = received[v].load(Ordering::Relaxed);
        assert!(r <= 1, "cap {cap} {place:?}: value {v} received {r} times");
        assert_eq!(
            r == 1,
            sent[v],
            "cap {cap} {place:?}: value {v} sent {} received {r}",
            sent[v]
        );
        nsent += sent[v] as usize;
    }
    assert!(
        nsent >= CLOSE_AFTER,
        "cap {cap} {place:?}: only {nsent} values sent"
    );
    assert!(ch.is_closed());
}

#[goroutines::test]
fn no_value_lost_goroutines() {
    for cap in [0, 1, 10, 1000] {
        run(cap, Place::Goroutines);
    }
}

#[goroutines::test]
fn no_value_lost_threads() {
    for cap in [0, 1, 10, 1000] {
        run(cap, Place::Threads);
    }
}

#[goroutines::test]
fn no_value_lost_mixed() {
    for cap in [0, 1, 10, 1000] {
        run(cap, Place::Mixed);
    }
}
