//! `Ticker` and `tick`: periodic timers that drop ticks for slow receivers.
//!
//! A `Ticker` is one runtime timer (`RawTimer`) re-armed by its own action after every tick,
//! with the same generation check as `timer.rs`: `State::live` names the arming that counts,
//! and the action does nothing for any other.
//!
//! # Protocol
//! 1. Firing, under the state lock: if the arming is live and due, send the time without
//!    blocking (a full one-slot channel means a slow receiver, and the tick is dropped, as Go's
//!    non-blocking send), then re-arm for the next multiple of the period after now, skipping
//!    the ticks a late firing missed instead of delivering them in a burst.
//! 2. `stop` and `reset`, under the same lock, clear `live` (or move the deadline) and drain
//!    the channel, so that no tick from before the call is received afterwards (Go 1.23).
//! 3. `reset` to a period that ends later than the current arming only moves `when`; the
//!    action, finding itself early, re-arms for it (as `Timer::reset` does).
//!
//! # Invariants
//! At most one arming is live; the action holds the runtime and its `RawTimer` weakly, so a
//! ticker's entry in a heap keeps neither alive; no user code runs under the state lock or in
//! the action (a tick is an `Instant`).
//!
//! Rejected: Go's leave-it-to-the-collector lifetime (Go 1.23 frees an unreferenced running
//! ticker at GC; here dropping the `Ticker` stops it, which is why `tick` returns the `Ticker`
//! and not only its channel); a buffered channel that keeps every tick (a slow receiver would
//! fall ever further behind the clock).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::chan::{Chan, RecvChan};
use crate::runtime::timer::{self as rt, FireGen, TimerAction, WeakTimer};
use crate::util::lock;

/// Delivers the current [`Instant`] on a channel every period (Go's `time.Ticker`).
///
/// The channel has one slot and ticks are sent without blocking: a receiver slower than the
/// period gets the ticks it has time for and the others are dropped, so a ticker never builds
/// a backlog. As in Go 1.23, after [`Ticker::stop`] or [`Ticker::reset`] returns no tick from
/// before the call is received.
///
/// Dropping the `Ticker` stops it (keep it alive as long as you read its channel).
///
/// ```
/// use std::time::Duration;
/// use goroutines::time::Ticker;
///
/// let t = Ticker::new(Duration::from_millis(1));
/// for _ in 0..3 {
///     t.chan().recv().unwrap();
/// }
/// t.stop();
/// ```
pub struct Ticker {
    raw: rt::Timer,
    shared: Arc<Shared>,
}

/// The part of a ticker its action reaches.
struct Shared {
    chan: Chan<Instant>,
    state: Mutex<State>,
    /// The runtime timer whose action this is, to re-arm it; weak, so that a ticker's entry in
    /// a heap keeps neither the ticker nor its runtime alive.
    me: WeakTimer,
}

struct State {
    /// Generation of the live arming, `None` when stopped (or when the next tick is too far to
    /// represent).
    live: Option<u64>,
    /// The next tick's deadline.
    when: Instant,
    /// The deadline the runtime timer is armed for: earlier than `when` after a `reset` to a
    /// later time, which only moves `when` (the action, finding itself early, re-arms).
    armed_at: Instant,
    period: Duration,
}

impl Ticker {
    /// Starts a ticker that ticks every `period`, the first tick one period from now (Go's
    /// `time.NewTicker`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::time::Ticker;
    ///
    /// let t = Ticker::new(Duration::from_millis(1));
    /// assert!(t.chan().recv().is_some());
    /// ```
    ///
    /// # Panics
    /// If `period` is zero, with Go's message "non-positive interval for NewTicker".
    #[track_caller]
    pub fn new(period: Duration) -> Ticker {
        if period.is_zero() {
            panic!("non-positive interval for NewTicker");
        }
        let mut shared = None;
        let raw = rt::Timer::new_cyclic(|me| {
            let s = Arc::new(Shared {
                chan: Chan::new(1),
                state: Mutex::new(State {
                    live: None,
                    when: Instant::now(),
                    armed_at: Instant::now(),
                    period,
                }),
                me,
            });
            shared = Some(s.clone());
            TimerAction::Shared(s)
        });
        let shared = shared.expect("new_cyclic ran the closure");
        let t = Ticker { raw, shared };
        {
            let mut st = lock(&t.shared.state);
            t.arm(&mut st, period);
        }
        t
    }

    /// The channel the ticks are delivered on (Go's `t.C`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::time::tick;
    ///
    /// let t = tick(Duration::from_millis(1));
    /// let (a, b) = (t.chan().recv().unwrap(), t.chan().recv().unwrap());
    /// assert!(b > a);
    /// ```
    pub fn chan(&self) -> RecvChan<Instant> {
        self.shared.chan.receiver()
    }

    /// Turns the ticker off (Go's `Ticker.Stop`): no more ticks are sent, and a tick not yet
    /// received is discarded. The channel is not closed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::time::Ticker;
    ///
    /// let t = Ticker::new(Duration::from_millis(1));
    /// t.chan().recv().unwrap();
    /// t.stop();
    /// std::thread::sleep(Duration::from_millis(5));
    /// assert!(t.chan().try_recv().is_err());
    /// ```
    pub fn stop(&self) {
        let mut st = lock(&self.shared.state);
        st.live = None;
        self.raw.stop();
        let _ = self.shared.chan.try_recv();
    }

    /// Stops the ticker and restarts it with a new period (Go's `Ticker.Reset`); the next tick
    /// arrives one new period from now, and a tick not yet received is discarded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::time::Ticker;
    ///
    /// let t = Ticker::new(Duration::from_secs(60));
    /// t.reset(Duration::from_millis(1));
    /// t.chan().recv().unwrap();
    /// ```
    ///
    /// # Panics
    /// If `period` is zero, with Go's message "non-positive interval for Ticker.Reset".
    #[track_caller]
    pub fn reset(&self, period: Duration) {
        if period.is_zero() {
            panic!("non-positive interval for Ticker.Reset");
        }
        let mut st = lock(&self.shared.state);
        let _ = self.shared.chan.try_recv();
        if let (Some(_), Some(t)) = (st.live, Instant::now().checked_add(period)) {
            if t >= st.armed_at {
                st.period = period;
                st.when = t;
                return;
            }
        }
        st.live = None;
        self.arm(&mut st, period);
    }

    /// Arms for one `period` from now; `arm` replaces a pending arming.
    fn arm(&self, st: &mut State, period: Duration) {
        st.period = period;
        match Instant::now().checked_add(period) {
            Some(t) => {
                st.when = t;
                st.armed_at = t;
                st.live = Some(self.raw.arm(t));
            }
            None => {
                st.live = None;
                self.raw.stop();
            }
        }
    }
}

impl FireGen for Shared {
    fn fire(&self, gen: u64) {
        fire(self, gen)
    }
}

/// The ticker's action, in scheduler context: send without blocking, re-arm for the next
/// multiple of the period after now.
fn fire(shared: &Shared, gen: u64) {
    let me = &shared.me;
    let mut st = lock(&shared.state);
    if st.live != Some(gen) {
        return; // a stop or reset got in between the claim and now
    }
    let now = Instant::now();
    if now < st.when {
        // Reset to a later deadline: re-arm for it.
        match me.arm(st.when) {
            Some(gen) => {
                st.armed_at = st.when;
                st.live = Some(gen);
            }
            None => st.live = None,
        }
        return;
    }
    st.live = None;
    // A full slot means the receiver is slow: drop this tick (Go's non-blocking send).
    let _ = shared.chan.try_send(now);
    let period = st.period.as_nanos();
    let behind = now.saturating_duration_since(st.when).as_nanos();
    let skip = (1 + behind / period) * period;
    let next = u64::try_from(skip)
        .ok()
        .and_then(|ns| st.when.checked_add(Duration::from_nanos(ns)));
    let Some(next) = next else {
        return;
    };
    let Some(gen) = me.arm(next) else {
        return;
    };
    st.when = next;
    st.armed_at = next;
    st.live = Some(gen);
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.shared.state);
        f.debug_struct("Ticker")
            .field("period", &st.period)
            .field("running", &st.live.is_some())
            .finish()
    }
}

/// Starts a [`Ticker`] with the given period (Go's `time.Tick`, returning the ticker so that it
/// can be stopped; dropping it stops it).
///
/// ```
/// use std::time::Duration;
///
/// let t = goroutines::time::tick(Duration::from_millis(1));
/// assert!(t.chan().recv().is_some());
/// ```
///
/// # Panics
/// If `period` is zero, with Go's message "non-positive interval for NewTicker".
#[track_caller]
pub fn tick(period: Duration) -> Ticker {
    Ticker::new(period)
}

// A panic cannot leave a ticker half-updated: its state changes under a lock in a few stores.
impl std::panic::UnwindSafe for Ticker {}
impl std::panic::RefUnwindSafe for Ticker {}
