//! Go's channel benchmarks (runtime/chan_test.go), same workloads and names.
//!
//! Go's `b.RunParallel` runs one worker goroutine per P, the workers taking iterations from a
//! shared counter in batches; `run_parallel` below does the same. `SelectProdCons` uses
//! `time.After(time.Hour)` in Go, a timer channel that never fires during the run; here it is
//! a channel nobody sends on (same select shape, no timer). Its "local work" (Go's
//! `foo *= 2; foo /= 2`, a shift and a signed halving per step) is a shift by an opaque amount
//! and a signed halving, so that the compiler cannot fold it away.

#[path = "harness/mod.rs"]
mod harness;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use goroutines::{go, select, Chan};

use harness::Pb;

/// Go's `b.RunParallel`: `body` runs in one goroutine per P until `n` iterations are done.
fn run_parallel(n: u64, body: impl Fn(&mut Pb) + Send + Sync + 'static) {
    let counter = Arc::new(AtomicI64::new(n as i64));
    let body = Arc::new(body);
    let hs: Vec<_> = (0..goroutines::max_procs())
        .map(|_| {
            let (counter, body) = (counter.clone(), body.clone());
            go(move || body(&mut Pb::new(counter)))
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

fn chan_nonblocking(n: u64) {
    let myc = Chan::<i32>::new(0);
    run_parallel(n, move |pb| {
        while pb.next() {
            select! {
                recv(myc) -> _ => {},
                default => {}
            }
        }
    });
}

fn select_uncontended(n: u64) {
    run_parallel(n, |pb| {
        let myc1 = Chan::<i32>::new(1);
        let myc2 = Chan::<i32>::new(1);
        myc1.send(0);
        while pb.next() {
            select! {
                recv(myc1) -> _ => myc2.send(0),
                recv(myc2) -> _ => myc1.send(0),
            }
        }
    });
}

fn select_sync_contended(n: u64) {
    let myc1 = Chan::<i32>::new(0);
    let myc2 = Chan::<i32>::new(0);
    let myc3 = Chan::<i32>::new(0);
    let done = Chan::<i32>::new(0);
    let d = done.clone();
    run_parallel(n, move |pb| {
        let (m1, m2, m3, d) = (myc1.clone(), myc2.clone(), myc3.clone(), d.clone());
        go(move || loop {
            select! {
                send(m1, 0) => {},
                send(m2, 0) => {},
                send(m3, 0) => {},
                recv(d) -> _ => return,
            }
        });
        while pb.next() {
            select! {
                recv(myc1) -> _ => {},
                recv(myc2) -> _ => {},
                recv(myc3) -> _ => {},
            }
        }
    });
    done.close();
}

fn select_async_contended(n: u64) {
    let procs = goroutines::max_procs();
    let myc1 = Chan::<i32>::new(procs);
    let myc2 = Chan::<i32>::new(procs);
    run_parallel(n, move |pb| {
        myc1.send(0);
        while pb.next() {
            select! {
                recv(myc1) -> _ => myc2.send(0),
                recv(myc2) -> _ => myc1.send(0),
            }
        }
    });
}

fn select_nonblock(n: u64) {
    let myc1 = Chan::<i32>::new(0);
    let myc2 = Chan::<i32>::new(0);
    let myc3 = Chan::<i32>::new(1);
    let myc4 = Chan::<i32>::new(1);
    run_parallel(n, move |pb| {
        while pb.next() {
            select! {
                recv(myc1) -> _ => {},
                default => {}
            }
            select! {
                send(myc2, 0) => {},
                default => {}
            }
            select! {
                recv(myc3) -> _ => {},
                default => {}
            }
            select! {
                send(myc4, 0) => {},
                default => {}
            }
        }
    });
}

fn chan_uncontended(n: u64) {
    const C: usize = 100;
    run_parallel(n, |pb| {
        let myc = Chan::<i32>::new(C);
        while pb.next() {
            for _ in 0..C {
                myc.send(0);
            }
            for _ in 0..C {
                myc.recv();
            }
        }
    });
}

fn chan_contended(n: u64) {
    const C: usize = 100;
    let myc = Chan::<i32>::new(C * goroutines::max_procs());
    run_parallel(n, move |pb| {
        while pb.next() {
            for _ in 0..C {
                myc.send(0);
            }
            for _ in 0..C {
                myc.recv();
            }
        }
    });
}

fn chan_sync(n: u64) {
    const CALLS_PER_SCHED: u64 = 1000;
    let procs = 2;
    let counter = Arc::new(AtomicI64::new((n / CALLS_PER_SCHED / procs * procs) as i64));
    let c = Chan::<bool>::new(procs as usize);
    let myc = Chan::<i32>::new(0);
    for _ in 0..procs {
        let (counter, c, myc) = (counter.clone(), c.clone(), myc.clone());
        go(move || {
            loop {
                let i = counter.fetch_sub(1, Ordering::Relaxed) - 1;
                if i < 0 {
                    break;
                }
                for _ in 0..CALLS_PER_SCHED {
                    if i % 2 == 0 {
                        myc.recv();
                        myc.send(0);
                    } else {
                        myc.send(0);
                        myc.recv();
                    }
                }
            }
            c.send(true);
        });
    }
    for _ in 0..procs {
        c.recv();
    }
}

fn chan_prod_cons(n: u64, chan_size: usize) {
    const CALLS_PER_SCHED: u64 = 1000;
    let procs = goroutines::max_procs();
    let counter = Arc::new(AtomicI64::new((n / CALLS_PER_SCHED) as i64));
    let c = Chan::<bool>::new(2 * procs);
    let myc = Chan::<i32>::new(chan_size);
    for _ in 0..procs {
        let (counter, c1, myc1) = (counter.clone(), c.clone(), myc.clone());
        go(move || {
            while counter.fetch_sub(1, Ordering::Relaxed) > 0 {
                for _ in 0..CALLS_PER_SCHED {
                    myc1.send(1);
                }
            }
            myc1.send(0);
            c1.send(false);
        });
        let (c2, myc2) = (c.clone(), myc.clone());
        go(move || {
            loop {
                if myc2.recv() == Some(0) {
                    break;
                }
            }
            c2.send(false);
        });
    }
    for _ in 0..procs {
        c.recv();
        c.recv();
    }
}

fn select_prod_cons(n: u64) {
    const CALLS_PER_SCHED: u64 = 1000;
    let procs = goroutines::max_procs();
    let counter = Arc::new(AtomicI64::new((n / CALLS_PER_SCHED) as i64));
    let c = Chan::<bool>::new(2 * procs);
    let myc = Chan::<i32>::new(128);
    let myclose = Chan::<bool>::new(0);
    for _ in 0..procs {
        let (counter, c1, myc1, close1) =
            (counter.clone(), c.clone(), myc.clone(), myclose.clone());
        go(move || {
            // Producer: sends to myc.
            let mut work: i64 = std::hint::black_box(0);
            let one = std::hint::black_box(1u32);
            // Stands for Go's time.After(time.Hour): never fires during the run.
            let mytimer = Chan::<()>::new(0);
            while counter.fetch_sub(1, Ordering::Relaxed) > 0 {
                for _ in 0..CALLS_PER_SCHED {
                    // Model some local work.
                    for _ in 0..100 {
                        work = work.wrapping_shl(one) / 2;
                    }
                    select! {
                        send(myc1, 1) => {},
                        recv(mytimer) -> _ => {},
                        recv(close1) -> _ => {},
                    }
                }
            }
            myc1.send(0);
            c1.send(std::hint::black_box(work) == 42);
        });
        let (c2, myc2, close2) = (c.clone(), myc.clone(), myclose.clone());
        go(move || {
            // Consumer: receives from myc.
            let mut work: i64 = std::hint::black_box(0);
            let one = std::hint::black_box(1u32);
            let mytimer = Chan::<()>::new(0);
            loop {
                select! {
                    recv(myc2) -> v => if v == Some(0) { break },
                    recv(mytimer) -> _ => {},
                    recv(close2) -> _ => {},
                }
                for _ in 0..100 {
                    work = work.wrapping_shl(one) / 2;
                }
            }
            c2.send(std::hint::black_box(work) == 42);
        });
    }
    for _ in 0..procs {
        c.recv();
        c.recv();
    }
}

fn chan_creation(n: u64) {
    run_parallel(n, |pb| {
        while pb.next() {
            let myc = Chan::<i32>::new(1);
            myc.send(0);
            myc.recv();
        }
    });
}

fn chan_sem(n: u64) {
    let myc = Chan::<()>::new(goroutines::max_procs());
    run_parallel(n, move |pb| {
        while pb.next() {
            myc.send(());
            myc.recv();
        }
    });
}

fn chan_popular(n: u64) {
    const N: usize = 1000;
    let c = Chan::<bool>::new(0);
    let mut a = Vec::new();
    let mut hs = Vec::new();
    for _ in 0..N {
        let d = Chan::<bool>::new(0);
        a.push(d.clone());
        let c = c.clone();
        hs.push(go(move || {
            for _ in 0..n {
                select! {
                    recv(c) -> _ => {},
                    recv(d) -> _ => {},
                }
            }
        }));
    }
    for _ in 0..n {
        for d in &a {
            d.send(true);
        }
    }
    for h in hs {
        h.join().unwrap();
    }
}

fn chan_closed(n: u64) {
    let c = Chan::<()>::new(0);
    c.close();
    run_parallel(n, move |pb| {
        while pb.next() {
            select! {
                recv(c) -> _ => {},
                default => {}
            }
        }
    });
}

fn main() {
    goroutines::run(|| {
        let b = harness::Bencher::from_env();
        type Bench = (&'static str, fn(u64));
        let benches: [Bench; 16] = [
            ("ChanNonblocking", chan_nonblocking),
            ("SelectUncontended", select_uncontended),
            ("SelectSyncContended", select_sync_contended),
            ("SelectAsyncContended", select_async_contended),
            ("SelectNonblock", select_nonblock),
            ("ChanUncontended", chan_uncontended),
            ("ChanContended", chan_contended),
            ("ChanSync", chan_sync),
            ("ChanProdCons0", |n| chan_prod_cons(n, 0)),
            ("ChanProdCons10", |n| chan_prod_cons(n, 10)),
            ("ChanProdCons100", |n| chan_prod_cons(n, 100)),
            ("SelectProdCons", select_prod_cons),
            ("ChanCreation", chan_creation),
            ("ChanSem", chan_sem),
            ("ChanPopular", chan_popular),
            ("ChanClosed", chan_closed),
        ];
        for (name, f) in benches {
            b.run(name, |n| {
                f(n);
                None
            });
        }
    });
}
