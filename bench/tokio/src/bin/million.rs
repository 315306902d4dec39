//! One million tokio tasks (or the count given as the first argument) that each park on a
//! shared `Notify`, then are released; the tokio side of `bench/compare`'s million scenario.
//!
//! Prints `key: value unit` lines: spawn time (until every task has parked), resident bytes
//! and page-table bytes per parked task (growth of VmRSS and VmPTE over the count), release
//! time (until every task has finished).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use goroutines_bench_tokio::{runtime, status_bytes};
use tokio::sync::Notify;

struct Shared {
    release: Notify,
    parked: AtomicU64,
    finished: AtomicU64,
    all_parked: Notify,
    all_finished: Notify,
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().expect("count"));
    let rt = runtime();
    rt.block_on(async move {
        let shared = Arc::new(Shared {
            release: Notify::new(),
            parked: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            all_parked: Notify::new(),
            all_finished: Notify::new(),
        });
        let rss0 = status_bytes("VmRSS");
        let pte0 = status_bytes("VmPTE");

        let start = Instant::now();
        for _ in 0..n {
            let s = shared.clone();
            tokio::spawn(async move {
                let released = s.release.notified();
                tokio::pin!(released);
                // Registered before being counted, so notify_waiters cannot miss this task.
                released.as_mut().enable();
                if s.parked.fetch_add(1, Ordering::AcqRel) + 1 == n {
                    s.all_parked.notify_one();
                }
                released.await;
                if s.finished.fetch_add(1, Ordering::AcqRel) + 1 == n {
                    s.all_finished.notify_one();
                }
            });
        }
        if n > 0 {
            shared.all_parked.notified().await;
        }
        let spawn = start.elapsed();
        let rss = status_bytes("VmRSS").saturating_sub(rss0);
        let pte = status_bytes("VmPTE").saturating_sub(pte0);

        let start = Instant::now();
        let finished = shared.all_finished.notified();
        shared.release.notify_waiters();
        if n > 0 {
            finished.await;
        }
        let release = start.elapsed();

        let per = |b: u64| b as f64 / n.max(1) as f64;
        println!("tasks: {n}");
        println!("spawn: {:.3} s", spawn.as_secs_f64());
        println!("resident per task: {:.0} bytes", per(rss));
        println!("page tables per task: {:.0} bytes", per(pte));
        println!("release: {:.3} s", release.as_secs_f64());
    });
}
