//! The body of `#[goroutines::test]`: a fresh runtime per test, and a timeout that fails the
//! test with a dump of every goroutine instead of hanging CI.
//!
//! 1. A runtime is built from the environment (`GOMAXPROCS`, `GOROUTINES_STACK_SIZE`).
//! 2. A helper OS thread runs the test body as the runtime's main goroutine with
//!    [`Runtime::run`](super::Runtime::run) (so the body sees exactly what `goroutines::run` gives a program) and
//!    sends back the body's `ExitCode` (its result reported on the goroutine, as a test's
//!    `Result` is) or its panic payload.
//! 3. The test thread waits for that with the timeout. On time, it returns the `ExitCode` or
//!    resumes the panic (so `#[should_panic(expected = ...)]` sees the body's own message). Late,
//!    it panics with "test timed out after ..." and the goroutine dump; the stuck goroutines and
//!    the helper thread are left behind, as a hung thread would be.
//!
//! Rejected: waiting on the test thread itself with `Runtime::run` and a watchdog thread that
//! exits the process on timeout. That ends every other test of the binary with it and reports
//! no test as failed.

use std::panic::{self, AssertUnwindSafe};
use std::process::{ExitCode, Termination};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::Builder;

/// Runs a test body as the main goroutine of a fresh runtime; see the module docs. `None`
/// waits without a timeout.
///
/// # Panics
/// With the body's own panic, or "goroutines: test timed out after ..." followed by a dump of
/// every goroutine.
#[track_caller]
pub fn run_test<F, R>(timeout: Option<Duration>, f: F) -> ExitCode
where
    F: FnOnce() -> R + Send + 'static,
    R: Termination,
{
    let rt = match Builder::new().build() {
        Ok(rt) => rt,
        Err(e) => panic!("goroutines: cannot build a test runtime: {e}"),
    };
    let Some(timeout) = timeout else {
        return rt.run(move || f().report());
    };
    let rt = Arc::new(rt);
    let (tx, rx) = mpsc::channel();
    let runner = rt.clone();
    let spawned = std::thread::Builder::new()
        .name(std::thread::current().name().unwrap_or("test").to_string())
        .spawn(move || {
            let r = panic::catch_unwind(AssertUnwindSafe(|| runner.run(move || f().report())));
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        panic!("goroutines: cannot start a thread for the test: {e}");
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(code)) => code,
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "goroutines: test timed out after {timeout:?} (set another with \
             #[goroutines::test(timeout = \"10s\")]); every goroutine:\n\n{}",
            rt.dump()
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("goroutines: the test's thread ended without a result")
        }
    }
}
