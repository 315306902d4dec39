//! A classic Go mistake, and what the runtime says about it.
//!
//! ```sh
//! cargo run --example deadlock
//! ```
//!
//! Three workers square numbers into `results`, but nobody closes `results` when they are done,
//! so `main`'s loop over it waits forever. Instead of hanging, the process ends the way a Go
//! program would: "fatal error: all goroutines are asleep - deadlock!", then a dump of every
//! goroutine (here only `main`, waiting in "chan receive", with its stack and where it was
//! started), and exit status 2. The fix is in the comment at the bottom.

use goroutines::sync::WaitGroup;
use goroutines::{go, Chan};

#[goroutines::main]
fn main() {
    let jobs = Chan::<u64>::new(10);
    let results = Chan::<u64>::new(10);
    let wg = WaitGroup::new();
    for _ in 0..3 {
        let (jobs, results, wg) = (jobs.clone(), results.clone(), wg.clone());
        wg.add(1);
        go(move || {
            for n in &jobs {
                results.send(n * n);
            }
            wg.done();
        });
    }
    for n in 1..=5 {
        jobs.send(n);
    }
    jobs.close();

    let mut sum = 0;
    for r in &results {
        // Never ends: `results` is never closed.
        sum += r;
    }
    println!("sum of squares: {sum}");
    // The fix: close `results` once the workers are done, in a goroutine of its own:
    //     go(move || { wg.wait(); results.close(); });
    // before the loop above.
}
