//! A timeline trace of a small pipeline: a generator, three workers and a collector, on two Ps.
//!
//! ```text
//! cargo run --release --example trace_demo                    # writes target/trace_demo.json
//! cargo run --release --example trace_demo -- /tmp/t.json     # another path
//! python3 tools/trace_svg.py target/trace_demo.json -o target/trace_demo.svg
//! ```
//!
//! Open the JSON at <https://ui.perfetto.dev> ("Open trace file"), or render it as an SVG with
//! `tools/trace_svg.py` to look at it offline. `docs/trace.md` explains what the rows, slices,
//! arrows and counters show; `docs/trace_demo.svg` is this program's trace.
//!
//! The generator sends 24 jobs on an unbuffered channel, pausing in `time::sleep` after every
//! eighth, so the picture shows timer wake-ups as well as channel hand-offs. Each worker spends
//! about 40 µs of CPU per job and sends the result on a buffered channel, which the collector
//! sums. A program can also be traced without changing it, by setting `GOROUTINES_TRACE`; this
//! one then leaves the tracing to the runtime:
//! `GOROUTINES_TRACE=/tmp/t.json cargo run --example trace_demo`.

use std::time::{Duration, Instant};

use goroutines::sync::WaitGroup;
use goroutines::Chan;

const JOBS: u64 = 24;
const WORKERS: usize = 3;

/// About `d` of real work: Collatz steps until the time is up. Returns the steps taken.
fn crunch(seed: u64, d: Duration) -> u64 {
    let start = Instant::now();
    let (mut n, mut steps) = (seed | 1, 0u64);
    while start.elapsed() < d {
        for _ in 0..64 {
            n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
            n = n.max(7);
            steps += 1;
        }
    }
    std::hint::black_box(n);
    steps
}

fn pipeline() -> u64 {
    let jobs: Chan<u64> = Chan::new(0);
    let results: Chan<u64> = Chan::new(4);

    let generator = {
        let jobs = jobs.clone();
        goroutines::go(move || {
            for i in 1..=JOBS {
                jobs.send(i);
                if i % 8 == 0 {
                    goroutines::time::sleep(Duration::from_micros(300));
                }
            }
            jobs.close();
        })
    };

    let wg = WaitGroup::new();
    for _ in 0..WORKERS {
        wg.add(1);
        let (jobs, results, wg) = (jobs.clone(), results.clone(), wg.clone());
        goroutines::go(move || {
            for job in jobs.iter() {
                let steps = crunch(job, Duration::from_micros(40));
                results.send(job * 1000 + steps.min(999));
            }
            wg.done();
        });
    }

    let closer = {
        let results = results.clone();
        goroutines::go(move || {
            wg.wait();
            results.close();
        })
    };

    let collector = goroutines::go(move || results.iter().map(|r| r / 1000).sum::<u64>());
    generator.join().unwrap();
    closer.join().unwrap();
    collector.join().unwrap()
}

fn main() {
    let mut path = "target/trace_demo.json".to_string();
    let mut trace = true;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-trace" => trace = false,
            "-h" | "--help" => {
                eprintln!("usage: trace_demo [PATH] [--no-trace]  (default PATH: {path})");
                return;
            }
            _ => path = arg,
        }
    }

    let rt = goroutines::Builder::new()
        .max_procs(2)
        .build()
        .expect("runtime");
    if goroutines::trace::is_enabled() {
        // GOROUTINES_TRACE started a trace when the runtime was built; it is written when
        // `run` returns.
        println!("GOROUTINES_TRACE is tracing this run");
        trace = false;
    }
    if trace {
        if let Err(e) = goroutines::trace::start(&path) {
            eprintln!("trace_demo: {e}");
            std::process::exit(1);
        }
    }
    let sum = rt.run(pipeline);
    assert_eq!(sum, JOBS * (JOBS + 1) / 2);
    if trace {
        if let Err(e) = goroutines::trace::stop() {
            eprintln!("trace_demo: {e}");
            std::process::exit(1);
        }
        println!("pipeline of {JOBS} jobs on {WORKERS} workers done; trace written to {path}");
        println!("  view it at https://ui.perfetto.dev (Open trace file), or offline:");
        println!("  python3 tools/trace_svg.py {path} -o {}", svg_path(&path));
    } else {
        println!("pipeline of {JOBS} jobs on {WORKERS} workers done");
    }
}

fn svg_path(json: &str) -> String {
    match json.strip_suffix(".json") {
        Some(stem) => format!("{stem}.svg"),
        None => format!("{json}.svg"),
    }
}
