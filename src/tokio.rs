//! Calling tokio-based libraries from goroutines (feature `tokio`).
//!
//! The pattern: keep a tokio runtime beside the goroutines runtime, and let a goroutine hand its
//! async work to it and park until the result comes back:
//! `goroutines::block_on(handle.spawn(fut))`. The future runs on tokio's workers (where tokio's
//! sockets and timers work), the goroutine parks without holding its M, and tokio's
//! `JoinHandle` wakes it through the goroutine's waker from a tokio worker thread.
//! [`spawn_on`] is that line with tokio's `JoinError` turned back into the task's panic.

use std::future::Future;

/// Runs `fut` on the tokio runtime of `handle` and parks the calling goroutine (or blocks the
/// calling plain thread) until it completes; returns its output.
///
/// Do not call it from a tokio worker thread: it would block that worker (as any blocking call
/// would), and on a current-thread runtime it would deadlock.
///
/// # Panics
/// Resumes the task's panic if it panicked; panics with "goroutines::tokio::spawn_on: the task
/// was cancelled" if tokio cancelled it (its runtime shut down).
///
/// ```
/// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
/// let h = rt.handle().clone();
/// let v = goroutines::go(move || goroutines::tokio::spawn_on(&h, async { 40 + 2 }))
///     .join()
///     .unwrap();
/// assert_eq!(v, 42);
/// ```
#[track_caller]
pub fn spawn_on<F>(handle: &::tokio::runtime::Handle, fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match crate::block_on(handle.spawn(fut)) {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => panic!("goroutines::tokio::spawn_on: the task was cancelled"),
    }
}
