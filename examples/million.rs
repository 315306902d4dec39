//! A million goroutines: spawn them, let each park on a channel, measure, release them all.
//!
//! ```sh
//! cargo run --release --example million            # 1,000,000
//! cargo run --release --example million -- 200000  # another count
//! ```
//!
//! Prints the spawn time (until every goroutine has parked), the resident memory each parked
//! goroutine costs (growth of the process's VmRSS divided by the count; the page tables that
//! map the stacks, VmPTE, are printed separately), and the release time (close the channel,
//! until every goroutine has finished). The same scenario in Go is `bench/go/million`.

use std::time::Instant;

use goroutines::sync::WaitGroup;
use goroutines::Chan;

/// A field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("usage: million [COUNT]  (COUNT: how many goroutines, default 1000000)");
            std::process::exit(2)
        }),
        None => 1_000_000,
    };
    goroutines::run(move || {
        let release: Chan<()> = Chan::new(0);
        let parked = WaitGroup::new();
        let finished = WaitGroup::new();
        parked.add(n as isize);
        finished.add(n as isize);

        let rss0 = status_bytes("VmRSS:");
        let pte0 = status_bytes("VmPTE:");
        let t = Instant::now();
        for _ in 0..n {
            let (release, parked, finished) = (release.clone(), parked.clone(), finished.clone());
            goroutines::go(move || {
                parked.done();
                // Parks until the channel is closed.
                release.recv();
                finished.done();
            });
        }
        parked.wait();
        // `done` comes just before the receive parks; let the last ones get there.
        while goroutines::stats().global_queue
            + goroutines::stats().local_queues.iter().sum::<usize>()
            > 0
        {
            goroutines::yield_now();
        }
        let spawn = t.elapsed();
        let rss = status_bytes("VmRSS:").saturating_sub(rss0);
        let pte = status_bytes("VmPTE:").saturating_sub(pte0);

        let t = Instant::now();
        release.close();
        finished.wait();
        let release_time = t.elapsed();

        println!(
            "goroutines: {n} (GOMAXPROCS={}, stack {} KiB)",
            goroutines::max_procs(),
            goroutines::stats().stack_size / 1024
        );
        println!("spawn: {:.3} s", spawn.as_secs_f64());
        println!("resident per goroutine: {} bytes", rss / n);
        println!("page tables per goroutine: {} bytes", pte / n);
        println!("release: {:.3} s", release_time.as_secs_f64());
        println!("peak resident: {} MiB", status_bytes("VmHWM:") >> 20);
    });
}
