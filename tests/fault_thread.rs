//! Fault injection (issue 16, item 3b): starting an M's OS thread fails. The process ends with a
//! `goroutines: fatal:` message that says what failed (as Go's newosproc throws), in bounded
//! time: it never hangs. Each case runs in a child process, since it ends the process.
//!
//! Needs `--features fault-injection` (src/fault.rs).

mod common;

use goroutines::{go, lock_os_thread, yield_now, Builder, Chan};

const CHILD: &str = "FAULT_THREAD_CHILD";

fn child_must_die(test: &str, expect: &str) {
    let out = common::run_test_in_child_within(test, &[(CHILD, "1")], 120)
        .unwrap_or_else(|| panic!("{test}: the child hung after its thread start failed"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the child survived a failed thread start:\n{stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains(expect), "stderr:\n{stderr}");
}

#[test]
fn first_m_thread_failure_is_fatal() {
    if std::env::var_os(CHILD).is_some() {
        goroutines::__fault::fail_thread_spawn(1);
        let rt = Builder::new().max_procs(2).build().unwrap();
        rt.run(|| ());
        println!("child: ran without its first M");
        return;
    }
    child_must_die(
        "first_m_thread_failure_is_fatal",
        "goroutines: fatal: cannot start an OS thread for the scheduler (have 0 already): \
         Resource temporarily unavailable",
    );
}

#[test]
fn later_m_thread_failure_is_fatal() {
    if std::env::var_os(CHILD).is_some() {
        const LOCKED: usize = 4;
        let rt = Builder::new().max_procs(2).build().unwrap();
        rt.run(|| {
            goroutines::__fault::fail_thread_spawn(1);
            // Goroutines locked to their OS thread and parked each hold an M that runs nothing
            // else, so LOCKED of them and this one need LOCKED + 1 Ms, more than exist now: some
            // M started from here on is the one that fails.
            let release = Chan::<()>::new(0);
            let hs: Vec<_> = (0..LOCKED)
                .map(|_| {
                    let rx = release.clone();
                    go(move || {
                        lock_os_thread();
                        rx.recv();
                    })
                })
                .collect();
            while goroutines::metrics().threads < LOCKED + 1 {
                yield_now();
            }
            release.close();
            for h in hs {
                h.join().unwrap();
            }
        });
        println!("child: {LOCKED} locked Ms started although one start failed");
        return;
    }
    child_must_die(
        "later_m_thread_failure_is_fatal",
        "goroutines: fatal: cannot start an OS thread for the scheduler (have ",
    );
}
