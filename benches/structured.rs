//! Structured concurrency: `scope` with 8 goroutines against `std::thread::scope` with 8
//! threads, and `ErrGroup` against Go's errgroup (bench/go/structured, a minimal copy of
//! golang.org/x/sync/errgroup, which cannot be downloaded here).
//! Run: `cargo bench --bench structured` (filter by name as an argument).
//!
//! Each iteration: 8 workers each sum one eighth of a 8,192-element slice the caller owns,
//! and the caller waits for all of them.

#[path = "harness/mod.rs"]
mod harness;

use std::hint::black_box;

use goroutines::context::Context;
use goroutines::sync::ErrGroup;

fn data() -> Vec<u64> {
    (0..8 * 1024).collect()
}

fn main() {
    let b = harness::Bencher::from_env();
    // Before the runtime is busy: std's threads, no goroutines involved.
    b.run("ThreadScope8", |n| {
        let xs = data();
        let mut out = [0u64; 8];
        for _ in 0..n {
            std::thread::scope(|s| {
                for (chunk, o) in xs.chunks(1024).zip(out.iter_mut()) {
                    s.spawn(move || *o = chunk.iter().sum());
                }
            });
            black_box(&out);
        }
        None
    });
    goroutines::run(move || {
        // Borrows without Arc, like std::thread::scope; Go's BenchmarkScope8 is the same
        // workload with a WaitGroup.
        b.run("Scope8", |n| {
            let xs = data();
            let mut out = [0u64; 8];
            for _ in 0..n {
                goroutines::scope(|s| {
                    for (chunk, o) in xs.chunks(1024).zip(out.iter_mut()) {
                        s.go(move || *o = chunk.iter().sum());
                    }
                });
                black_box(&out);
            }
            None
        });
        // ErrGroup's goroutines are 'static (as errgroup's are): they share the data by Arc.
        b.run("ErrGroup", |n| {
            let xs = std::sync::Arc::new(data());
            for _ in 0..n {
                let (g, _ctx) = ErrGroup::<()>::with_context(&Context::background());
                for k in 0..8 {
                    let xs = xs.clone();
                    g.go(move || {
                        black_box(xs[k * 1024..(k + 1) * 1024].iter().sum::<u64>());
                        Ok(())
                    });
                }
                g.wait().unwrap();
            }
            None
        });
        b.run("ErrGroupLimit2", |n| {
            let xs = std::sync::Arc::new(data());
            for _ in 0..n {
                let g = ErrGroup::<()>::new();
                g.set_limit(2);
                for k in 0..8 {
                    let xs = xs.clone();
                    g.go(move || {
                        black_box(xs[k * 1024..(k + 1) * 1024].iter().sum::<u64>());
                        Ok(())
                    });
                }
                g.wait().unwrap();
            }
            None
        });
        b.run("ErrGroupFirstError", |n| {
            for _ in 0..n {
                let (g, ctx) = ErrGroup::with_context(&Context::background());
                for _ in 0..7 {
                    let ctx = ctx.clone();
                    g.go(move || {
                        ctx.done().recv();
                        Err("cancelled")
                    });
                }
                g.go(|| Err("first"));
                assert_eq!(g.wait(), Err("first"));
            }
            None
        });
    });
}
