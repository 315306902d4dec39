//! Go's `time` package: sleeping, one-shot timers and tickers that park goroutines, not threads.
//!
//! - [`sleep`] parks the calling goroutine (or blocks the calling OS thread) for a duration.
//! - [`after`] returns a channel that receives one [`Instant`] after a duration, for `select!`.
//! - [`Timer`] is Go's `time.Timer`: a channel timer ([`Timer::new`]) or a function timer
//!   ([`after_func`]), both stoppable and resettable.
//! - [`Ticker`] and [`tick`] deliver an [`Instant`] every period, dropping ticks for a slow
//!   receiver.
//!
//! # Layout
//! - `sleep.rs`: [`sleep`].
//! - `timer.rs`: [`Timer`], [`after`], [`after_func`].
//! - `ticker.rs`: [`Ticker`], [`tick`].
//!
//! # Design
//! Everything is built on the runtime's timers (`runtime/timer.rs`): per-P 4-ary heaps run by
//! the scheduler, with lazy removal of stopped entries. No timer thread exists, and a timer's
//! action runs on whichever M finds it due, in scheduler context, so every action here is
//! non-blocking: a non-blocking send on a channel, an unpark, or spawning a goroutine. No user
//! code runs there: an [`after_func`]'s function runs in a goroutine of its own, and when the
//! runtime lets go of the last reference to a function timer, the closure (whose captures may
//! have any `Drop`) is dropped on a goroutine too (`runtime/timer.rs`).
//!
//! 1. `sleep` arms a runtime timer that unparks the sleeper and parks with the wait reason
//!    "sleep", in a loop until the deadline has passed (a park may return spuriously), so a sleep
//!    never returns early.
//! 2. A [`Timer`] has Go 1.23's semantics: a channel timer's channel behaves as if unbuffered,
//!    so that after `stop` or `reset` returns no stale value is received. The channel has one
//!    slot; the timer keeps, under a small lock, the generation of its live arming (the runtime
//!    timer's generation, handed to the action when it fires). The action sends only if its
//!    generation is still the live one; `stop` and `reset` clear the live generation and drain
//!    the slot under the same lock. They report the timer as pending if it was armed and had not
//!    yet delivered its value, including a value sitting unreceived in the slot (Go's
//!    `timerchandrain`). A function timer ([`after_func`]) is the same timer whose firing starts
//!    a goroutine instead of sending.
//! 3. A `reset` to a deadline no earlier than the one the runtime timer is armed for only
//!    records the new deadline (Go's `timerModifiedLater`): the action, finding itself early,
//!    re-arms for it. Repeated resets (a watchdog pushed back on every request) then cost a
//!    lock and a store instead of a heap push and a stale entry each. A reset to an earlier
//!    deadline stops the runtime timer and arms it afresh.
//! 4. A [`Ticker`] re-arms its runtime timer from its own action for the next multiple of the
//!    period after now (Go's `t.when += t.period * (1 + -delta/t.period)`), and sends without
//!    blocking into a one-slot channel: a slow receiver loses ticks instead of queueing them.
//!    `stop` and `reset` drain the slot as a timer's do, and `reset` moves a later deadline in
//!    place.
//! 5. A zero duration fires at once, in the caller (the value is in the channel, or the
//!    function's goroutine is started, before the call returns). A duration too large for an
//!    [`Instant`] (`Instant::checked_add` fails) never fires, and the timer counts as pending.
//!
//! # Rejected alternatives
//! A timer thread with a binary heap (the classic design) puts a thread hop and a lock on every
//! timer. Go's channel timers up to 1.22 (a buffered channel the runtime sends into) deliver stale
//! values after `Reset`, the bug Go 1.23 fixed; we follow 1.23.
//!
//! # Performance
//! Go's time benchmarks are ported with their names in `benches/time.rs`
//! (`cargo bench --bench time`), with Go's garbage timers (2^15 per P) and `RunParallel`.
//! On a shared 2-core machine (load average 2 to 5 from other builds), run three times back to
//! back with Go 1.27's own `go test -bench` of package time so that both saw the same load,
//! medians in ns/op (lower is better; Go's figures on an idle machine in parentheses):
//!
//! | benchmark                 | Go (same run) | this crate | (Go, idle) |
//! |---------------------------|--------------:|-----------:|-----------:|
//! | After                     |           414 |        696 |        167 |
//! | Stop/impl=chan            |           251 |       1531 |        103 |
//! | Stop/impl=func            |           439 |       1647 |        175 |
//! | Reset/impl=chan           |          40.2 |       40.5 |       27.7 |
//! | Reset/impl=func           |          29.9 |       23.2 |       21.7 |
//! | StartStop1000             |        174600 |    1348000 |      91700 |
//! | AfterFunc1000             |        589700 |     377700 |     236800 |
//! | SimultaneousAfterFunc1000 |        921800 |     906100 |     250800 |
//! | Sleep1000                 |        798700 |     451500 |     372300 |
//! | Ticker                    |           140 |        898 |       84.4 |
//! | TickerReset               |          40.6 |       42.4 |       42.0 |
//!
//! Where this crate is slower:
//! - Creating and stopping a timer (`Stop`, `StartStop1000`) costs three allocations (channel
//!   or function, shared state, runtime timer) where Go makes one, and every stopped timer
//!   leaves a stale heap entry freed at the next heap rebuild; Go 1.23 also keeps a channel
//!   timer out of the heap until a goroutine blocks on its channel, which this crate cannot
//!   see from here.
//! - `Ticker` and `After` receive on a timer channel whose value is due at once: Go's channel
//!   receive fires a due timer inline (`maybeRunChan`), while here the receiver parks and the
//!   scheduler's timer check wakes it, a park/unpark round trip.
//!
//! `SleepAccuracy` (this crate only) sleeps 1 ms while two goroutines per P yield in a loop and
//! reports the oversleep: in the run above p50 1.4 to 3.2 µs and p99 12 to 31 µs, with a
//! maximum of 4 to 17 ms; under heavier load (load average 8) p99 rose to 4 to 12 ms. That
//! tail is the kernel descheduling the M (the same test at GOMAXPROCS=4 on 2 cores shows a
//! longer tail than at 1).

mod sleep;
mod ticker;
mod timer;

pub use crate::bridge::{sleep_async, Sleep};
pub use sleep::sleep;
pub use ticker::{tick, Ticker};
pub use timer::{after, after_func, Timer};

use std::time::{Duration, Instant};

/// When a timer of duration `d`, started now, fires.
enum When {
    /// Zero duration: fire in the caller.
    Now,
    At(Instant),
    /// Too far to represent: never.
    Never,
}

fn when(d: Duration) -> When {
    if d.is_zero() {
        return When::Now;
    }
    match Instant::now().checked_add(d) {
        Some(t) => When::At(t),
        None => When::Never,
    }
}
