//! A small benchmark harness that prints results the way `go test -bench` does, so that
//! `bench/compare` can put both sides in one table.
//!
//! Each benchmark is a closure that runs `n` iterations of the workload; the harness grows `n`
//! as Go does until one run lasts the bench time (1 s, or `GOROUTINES_BENCHTIME` in seconds,
//! for example `0.2` in quick mode), then prints
//! `BenchmarkName-P    N    X ns/op` with P the runtime's GOMAXPROCS.
//! Extra metrics are appended as `value unit` pairs, as Go's `b.ReportMetric` does.
//! A command-line argument that is not a flag filters benchmarks by substring.
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Bencher {
    filters: Vec<String>,
    benchtime: Duration,
    procs: usize,
}

impl Bencher {
    pub fn from_env() -> Bencher {
        let filters = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        let secs: f64 = std::env::var("GOROUTINES_BENCHTIME")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1.0);
        Bencher {
            filters,
            benchtime: Duration::from_secs_f64(secs),
            procs: goroutines::max_procs(),
        }
    }

    pub fn enabled(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Runs `f(n)` with growing `n` and prints ns/op. `f` returns the time the `n` iterations
    /// took (so setup can be excluded) or `None` to use the whole call.
    pub fn run(&self, name: &str, mut f: impl FnMut(u64) -> Option<Duration>) {
        self.run_with_metrics(name, |n| (f(n), Vec::new()));
    }

    /// Like `run`, with extra metrics reported by the last run, as (value, unit) pairs.
    pub fn run_with_metrics(
        &self,
        name: &str,
        mut f: impl FnMut(u64) -> (Option<Duration>, Vec<(f64, String)>),
    ) {
        if !self.enabled(name) {
            return;
        }
        let mut n: u64 = 1;
        loop {
            let start = Instant::now();
            let (d, metrics) = f(n);
            let d = d.unwrap_or_else(|| start.elapsed());
            if d >= self.benchtime || n >= 1_000_000_000 {
                let ns = d.as_nanos() as f64 / n as f64;
                let mut line = format!(
                    "Benchmark{}-{}\t{:>10}\t{:>12} ns/op",
                    name,
                    self.procs,
                    n,
                    fmt_ns(ns)
                );
                for (v, unit) in metrics {
                    line.push_str(&format!("\t{:>12} {}", fmt_ns(v), unit));
                }
                println!("{line}");
                return;
            }
            // Go's predictN: scale to the bench time, add 20%, grow at most 100x and at least by
            // one. (Computed from the whole run's time: a per-op figure rounded to 1 ns would stall
            // the growth of sub-nanosecond benchmarks one iteration at a time.)
            let prev_ns = d.as_nanos().max(1);
            let mut want = (self.benchtime.as_nanos() * n as u128 / prev_ns) as u64;
            want += want / 5;
            n = want.min(n * 100).max(n + 1).min(1_000_000_000);
        }
    }
}

fn fmt_ns(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// Go's `testing.PB` for `b.RunParallel`: hands out iterations in batches of 100 from a counter
/// shared by the parallel goroutines.
pub struct Pb {
    counter: Arc<AtomicI64>,
    left: u64,
}

const GRAIN: i64 = 100;

impl Pb {
    /// A worker's view of `counter`, which holds the iterations not yet handed out.
    pub fn new(counter: Arc<AtomicI64>) -> Pb {
        Pb { counter, left: 0 }
    }

    /// Whether the worker should run one more iteration.
    #[inline]
    pub fn next(&mut self) -> bool {
        if self.left > 0 {
            self.left -= 1;
            return true;
        }
        let prev = self.counter.fetch_sub(GRAIN, Ordering::Relaxed);
        if prev <= 0 {
            return false;
        }
        self.left = prev.min(GRAIN) as u64 - 1;
        true
    }
}
