//! `time::sleep_async`: a future on the runtime's timer heaps.
//!
//! The future arms a runtime timer on its first poll. The timer's action (run by an M in
//! scheduler context, so it must not block) sets `fired` and wakes the waker left by the last
//! poll. A poll stores its waker and then re-reads `fired`, and the action stores `fired` and
//! then takes the waker, both under the waker's mutex, so either the poll sees `fired` or the
//! action sees the waker: no lost wake-up. Dropping the future stops the timer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::runtime::timer::{FireGen, Timer, TimerAction};
use crate::util::lock;

/// Completes after at least `d`, on this crate's timers (the async twin of
/// [`time::sleep`](crate::time::sleep)); it needs no async runtime and may be awaited from any
/// executor, or from [`block_on`](crate::block_on) in a goroutine.
///
/// The deadline is taken when `sleep_async` is called; the timer is armed at the first poll and
/// stopped when the future is dropped. A zero duration is ready at once; a duration too large to
/// represent a deadline never completes. Cancel-safe: dropping it has no effect but stopping
/// the timer.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// goroutines::block_on(goroutines::time::sleep_async(Duration::from_millis(5)));
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep_async(d: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now().checked_add(d),
        zero: d.is_zero(),
        armed: None,
    }
}

/// The future of [`sleep_async`].
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// `None`: too far away to represent, never fires.
    deadline: Option<Instant>,
    zero: bool,
    armed: Option<Armed>,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

struct Armed {
    timer: Timer,
    shared: Arc<Shared>,
}

struct Shared {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl FireGen for Shared {
    fn fire(&self, _gen: u64) {
        // Relaxed is enough: the waker mutex below orders this store with a poll's re-check
        // (module docs), and nothing else is published through `fired`.
        self.fired.store(true, Ordering::Relaxed);
        let w = lock(&self.waker).take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.zero {
            return Poll::Ready(());
        }
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        let armed = self.armed.get_or_insert_with(|| {
            let shared = Arc::new(Shared {
                fired: AtomicBool::new(false),
                waker: Mutex::new(None),
            });
            let timer = Timer::new(TimerAction::Shared(shared.clone()));
            timer.reset(deadline);
            Armed { timer, shared }
        });
        let mut slot = lock(&armed.shared.waker);
        if armed.shared.fired.load(Ordering::Relaxed) {
            return Poll::Ready(());
        }
        match &*slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(a) = &self.armed {
            a.timer.stop();
        }
    }
}
