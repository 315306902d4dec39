//! `sleep`: park until a deadline.

use std::time::{Duration, Instant};

use crate::runtime::park::{self, WaitReason};

/// Pauses the calling goroutine for at least `d` (Go's `time.Sleep`).
///
/// Inside a goroutine the goroutine parks with the wait reason "sleep" and its M runs other
/// goroutines meanwhile; on a plain OS thread the thread blocks. A zero duration returns at
/// once; a duration too large to represent a deadline sleeps forever. `sleep` never returns
/// early.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let h = goroutines::go(|| {
///     let start = Instant::now();
///     goroutines::time::sleep(Duration::from_millis(5));
///     start.elapsed()
/// });
/// assert!(h.join().unwrap() >= Duration::from_millis(5));
/// ```
pub fn sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let Some(deadline) = Instant::now().checked_add(d) else {
        loop {
            park::park(WaitReason::Sleep);
        }
    };
    // `park_until` may return spuriously (a stale wake-up token): wait on the clock itself.
    loop {
        park::park_until(WaitReason::Sleep, deadline);
        if Instant::now() >= deadline {
            return;
        }
    }
}
