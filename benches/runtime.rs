//! Go's scheduler benchmarks from runtime/proc_test.go, with the same workloads and names.
//! Run: `cargo bench --bench runtime` (filter by name as an argument).

#[path = "harness/mod.rs"]
mod harness;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use goroutines::runtime::park::{self, Unparker, WaitReason};
use goroutines::{go, Chan};

/// A countdown that one goroutine waits on (the `c <- true` / WaitGroup of Go's versions).
struct Countdown {
    left: AtomicUsize,
    waiter: Mutex<Option<Unparker>>,
}

impl Countdown {
    fn new(n: usize) -> Arc<Countdown> {
        Arc::new(Countdown {
            left: AtomicUsize::new(n),
            waiter: Mutex::new(Some(park::current())),
        })
    }
    fn done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(u) = self.waiter.lock().unwrap().take() {
                u.unpark();
            }
        }
    }
    fn wait(&self) {
        while self.left.load(Ordering::Acquire) != 0 {
            park::park(WaitReason::SyncWaitGroupWait);
        }
    }
}

/// Go's benchmarkCreateGoroutines: `procs` chains of goroutines, each starting the next.
fn create_goroutines(n: u64, procs: usize) {
    fn f(left: u64, c: Arc<Countdown>) {
        if left == 0 {
            c.done();
            return;
        }
        go(move || f(left - 1, c));
    }
    let c = Countdown::new(procs);
    for _ in 0..procs {
        let c = c.clone();
        go(move || f(n / procs as u64, c));
    }
    c.wait();
}

/// The body of Go's BenchmarkPingPongHog, starting its goroutines with `spawn`.
fn ping_pong_hog(
    n: u64,
    spawn: fn(Box<dyn FnOnce() + Send>) -> goroutines::JoinHandle<()>,
) -> std::time::Duration {
    let old = goroutines::set_max_procs(1);
    let (stop, done) = (Chan::<bool>::new(0), Chan::<bool>::new(0));
    {
        let (stop, done) = (stop.clone(), done.clone());
        spawn(Box::new(move || loop {
            goroutines::select! {
                recv(stop) -> _ => { done.send(true); return; },
                default => {},
            }
        }));
    }
    let (ping, pong) = (Chan::<bool>::new(0), Chan::<bool>::new(0));
    {
        let (ping, pong, stop, done) = (ping.clone(), pong.clone(), stop.clone(), done.clone());
        spawn(Box::new(move || {
            for _ in 0..n {
                pong.send(ping.recv().unwrap());
            }
            stop.close();
            done.send(true);
        }));
    }
    {
        let (ping, pong, done) = (ping.clone(), pong.clone(), done.clone());
        spawn(Box::new(move || {
            for _ in 0..n {
                ping.send(pong.recv().unwrap());
            }
            done.send(true);
        }));
    }
    let start = Instant::now();
    ping.send(true);
    stop.recv();
    let elapsed = start.elapsed();
    ping.recv();
    done.recv();
    done.recv();
    done.recv();
    goroutines::set_max_procs(old);
    elapsed
}

fn main() {
    let b = harness::Bencher::from_env();
    goroutines::run(move || {
        b.run("CreateGoroutines", |n| {
            create_goroutines(n, 1);
            None
        });
        b.run("CreateGoroutinesParallel", |n| {
            create_goroutines(n, goroutines::max_procs());
            None
        });
        // Go's BenchmarkCreateGoroutinesSingle: one goroutine spawns N that each signal a
        // WaitGroup (Go first warms up every P; spawning a goroutine per P does the same here).
        b.run("CreateGoroutinesSingle", |n| {
            let warm: Vec<_> = (0..goroutines::max_procs())
                .map(|_| go(std::hint::spin_loop))
                .collect();
            for w in warm {
                w.join().unwrap();
            }
            let start = Instant::now();
            let c = Countdown::new(n as usize);
            for _ in 0..n {
                let c = c.clone();
                go(move || c.done());
            }
            c.wait();
            Some(start.elapsed())
        });
        // Go's BenchmarkCreateGoroutinesCapture: N rounds of 4 goroutines and a wait.
        b.run("CreateGoroutinesCapture", |n| {
            for i in 0..n {
                let c = Countdown::new(4);
                for _ in 0..4 {
                    let c = c.clone();
                    go(move || {
                        if std::hint::black_box(i) == u64::MAX {
                            println!("bad");
                        }
                        c.done()
                    });
                }
                c.wait();
            }
            None
        });
        // Two goroutines handing a turn back and forth through park/unpark: the cost of one
        // switch-and-wake, the core of every channel hand-off.
        b.run("ParkUnparkPingPong", |n| {
            let turn = Arc::new(AtomicUsize::new(0));
            let waiters = Arc::new([Mutex::new(None::<Unparker>), Mutex::new(None)]);
            let side = |me: usize| {
                let (turn, waiters) = (turn.clone(), waiters.clone());
                move || {
                    for round in 0..n as usize {
                        let want = round * 2 + me;
                        loop {
                            *waiters[me].lock().unwrap() = Some(park::current());
                            if turn.load(Ordering::Acquire) == want {
                                break;
                            }
                            park::park(WaitReason::Zero);
                        }
                        turn.store(want + 1, Ordering::Release);
                        if let Some(u) = waiters[1 - me].lock().unwrap().take() {
                            u.unpark();
                        }
                    }
                }
            };
            let a = go(side(0));
            let bb = go(side(1));
            a.join().unwrap();
            bb.join().unwrap();
            None
        });
        // Go's BenchmarkPingPongHog: at GOMAXPROCS=1, ping-pong over unbuffered channels while
        // a goroutine hogs the CPU with a select-default loop. Go preempts the hog every 10 ms;
        // here sysmon takes the P away from the hog's thread and the hog yields at its next
        // `select!` default. The goroutines are migratable, as in Go, so the ping-pong pair can
        // follow the P to another thread; `PingPongHogPinned` measures default goroutines, which
        // stay on the threads where they first ran (docs/soundness.md).
        b.run("PingPongHog", |n| {
            // SAFETY: the goroutines keep nothing tied to their OS thread across a park.
            Some(ping_pong_hog(n, |f| unsafe {
                goroutines::go_migratable(f)
            }))
        });
        b.run("PingPongHogPinned", |n| Some(ping_pong_hog(n, |f| go(f))));
    });
}
