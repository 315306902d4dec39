//! Go's sync package benchmarks (sync/mutex_test.go, rwmutex_test.go, waitgroup_test.go,
//! cond_test.go, once_test.go), with the same names and workloads, run inside goroutines.
//!
//! `run_parallel` mirrors Go's `b.RunParallel`: GOMAXPROCS × parallelism goroutines take
//! batches of the N iterations from a shared counter, and ns/op is wall time over N.

#[path = "harness/mod.rs"]
mod harness;

use std::hint::black_box;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use goroutines::go;
use goroutines::sync::{Cond, Mutex, Once, RwLock, WaitGroup};

/// Go's `testing.PB`: hands out iterations in batches from the shared counter.
struct Pb {
    counter: Arc<AtomicU64>,
    n: u64,
    grain: u64,
    cache: u64,
}

impl Pb {
    #[inline]
    fn next(&mut self) -> bool {
        if self.cache == 0 {
            let start = self.counter.fetch_add(self.grain, Ordering::Relaxed);
            if start >= self.n {
                return false;
            }
            self.cache = self.grain.min(self.n - start);
        }
        self.cache -= 1;
        true
    }
}

/// Go's `b.RunParallel` with `b.SetParallelism(parallelism)`.
fn run_parallel<F>(n: u64, parallelism: usize, body: F)
where
    F: Fn(&mut Pb) + Send + Sync + 'static,
{
    let goroutines = goroutines::max_procs() * parallelism;
    // Go aims for about 100 µs per batch; this is close enough for these sub-µs bodies.
    let grain = (n / (goroutines as u64 * 100)).clamp(1, 10_000);
    let counter = Arc::new(AtomicU64::new(0));
    let body = Arc::new(body);
    let hs: Vec<_> = (0..goroutines)
        .map(|_| {
            let (counter, body) = (counter.clone(), body.clone());
            go(move || {
                let mut pb = Pb {
                    counter,
                    n,
                    grain,
                    cache: 0,
                };
                body(&mut pb);
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

/// A value alone on its cache lines, as Go's Padded* benchmark types are.
#[repr(align(128))]
struct Padded<T>(T);

fn bench_mutex(n: u64, slack: bool, work: bool) {
    let mu = Arc::new(Mutex::new(()));
    run_parallel(n, if slack { 10 } else { 1 }, move |pb| {
        while pb.next() {
            drop(mu.lock());
            if work {
                local_work(100);
            }
        }
    });
}

/// Go's local work `for i := 0; i < n; i++ { foo *= 2; foo /= 2 }` with `foo` otherwise unused,
/// as Go 1.27 compiles it on amd64: the dead arithmetic is deleted but the counted loop stays
/// (INCQ, CMPQ, JLT). LLVM would delete the loop as well, so run the same instructions.
#[inline(always)]
fn local_work(n: u64) {
    #[cfg(target_arch = "x86_64")]
    if n > 0 {
        // SAFETY: register-only loop: touches no memory and no stack.
        unsafe {
            std::arch::asm!(
                "2:",
                "inc {i}",
                "cmp {i}, {n}",
                "jl 2b",
                i = inout(reg) 0u64 => _,
                n = in(reg) n,
                options(nomem, nostack),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..n {
        black_box(i);
    }
}

fn bench_rwmutex(n: u64, work: u64, write_ratio: i64) {
    let rwm = Arc::new(RwLock::new(()));
    run_parallel(n, 1, move |pb| {
        let mut ops = 0i64;
        while pb.next() {
            ops += 1;
            if ops % write_ratio == 0 {
                drop(rwm.write());
            } else {
                let g = rwm.read();
                local_work(work);
                drop(g);
            }
        }
        black_box(ops);
    });
}

fn bench_cond(n: u64, waiters: i64) {
    let s = Arc::new((Mutex::new(0i64), Cond::new())); // Go's `id`
    let hs: Vec<_> = (0..waiters + 1)
        .map(|_| {
            let s = s.clone();
            go(move || {
                let (m, c) = &*s;
                for _ in 0..n {
                    let mut id = m.lock();
                    if *id == -1 {
                        break;
                    }
                    *id += 1;
                    if *id == waiters + 1 {
                        *id = 0;
                        c.broadcast();
                    } else {
                        id = c.wait(id);
                    }
                    drop(id);
                }
                let mut id = m.lock();
                *id = -1;
                c.broadcast();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

fn main() {
    goroutines::run(|| {
        let b = harness::Bencher::from_env();

        b.run("Cond1", |n| {
            bench_cond(n, 1);
            None
        });
        b.run("Cond16", |n| {
            bench_cond(n, 16);
            None
        });
        b.run("Cond32", |n| {
            bench_cond(n, 32);
            None
        });

        b.run("MutexUncontended", |n| {
            run_parallel(n, 1, |pb| {
                let mu = Padded(Mutex::new(()));
                while pb.next() {
                    drop(black_box(&mu.0).lock());
                }
            });
            None
        });
        b.run("Mutex", |n| {
            bench_mutex(n, false, false);
            None
        });
        b.run("MutexSlack", |n| {
            bench_mutex(n, true, false);
            None
        });
        b.run("MutexWork", |n| {
            bench_mutex(n, false, true);
            None
        });
        b.run("MutexWorkSlack", |n| {
            bench_mutex(n, true, true);
            None
        });

        b.run("Once", |n| {
            let once = Arc::new(Once::new());
            run_parallel(n, 1, move |pb| {
                while pb.next() {
                    once.call_once(|| {});
                }
            });
            None
        });

        b.run("RWMutexUncontended", |n| {
            run_parallel(n, 1, |pb| {
                let rwm = Padded(RwLock::new(()));
                let rwm = black_box(&rwm.0);
                while pb.next() {
                    let r1 = rwm.read();
                    let r2 = rwm.read();
                    drop(r2);
                    drop(r1);
                    drop(rwm.write());
                }
            });
            None
        });
        b.run("RWMutexWrite100", |n| {
            bench_rwmutex(n, 0, 100);
            None
        });

        b.run("WaitGroupUncontended", |n| {
            run_parallel(n, 1, |pb| {
                let wg = Padded(WaitGroup::new());
                let wg = black_box(&wg.0);
                while pb.next() {
                    wg.add(1);
                    wg.done();
                    wg.wait();
                }
            });
            None
        });
        b.run("WaitGroupActuallyWait", |n| {
            let spawned = Arc::new(AtomicI64::new(0));
            run_parallel(n, 1, move |pb| {
                while pb.next() {
                    let wg = WaitGroup::new();
                    wg.add(1);
                    let w = wg.clone();
                    drop(go(move || w.done()));
                    wg.wait();
                    spawned.fetch_add(1, Ordering::Relaxed);
                }
            });
            None
        });
    });
}
