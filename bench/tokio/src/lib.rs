//! Shared pieces of the tokio scenarios: the runtime sized like Go's GOMAXPROCS, a Go-style
//! benchmark loop, and reading `/proc/self/status`.

use std::time::{Duration, Instant};

/// Worker threads: `GOMAXPROCS` if set (so both sides of a comparison get the same number),
/// else the machine's CPU count.
pub fn procs() -> usize {
    std::env::var("GOMAXPROCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A multi-threaded tokio runtime with `procs()` worker threads.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs())
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `f(n)` with growing `n` the way `go test -bench` does until one run lasts the bench
/// time (`GOROUTINES_BENCHTIME` seconds, default 1), then prints
/// `BenchmarkName-P    N    X ns/op`. Command-line arguments filter benchmarks by substring.
pub fn bench(name: &str, mut f: impl FnMut(u64) -> Duration) {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
        return;
    }
    let secs: f64 = std::env::var("GOROUTINES_BENCHTIME")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let benchtime = Duration::from_secs_f64(secs);
    let mut n: u64 = 1;
    loop {
        let d = f(n);
        if d >= benchtime || n >= 1_000_000_000 {
            let ns = d.as_nanos() as f64 / n as f64;
            println!(
                "Benchmark{}-{}\t{:>10}\t{:>12.2} ns/op",
                name,
                procs(),
                n,
                ns
            );
            return;
        }
        // Go's predictNextN: aim for 1.2x the bench time, grow at most 100x, at least +1.
        let per = (d.as_nanos() as f64 / n as f64).max(1.0);
        let want = (benchtime.as_nanos() as f64 * 1.2 / per) as u64;
        n = want.min(n * 100).max(n + 1).min(1_000_000_000);
    }
}

/// Times `f`.
pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// A field of `/proc/self/status` in bytes (the file gives kB), or 0 where it is missing.
pub fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let kb: u64 = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            return kb * 1024;
        }
    }
    0
}
