//! `Timer`, `after` and `after_func`: one-shot timers on the runtime's timer heaps.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::{lock, when, When};
use crate::chan::{Chan, RecvChan};
use crate::runtime::sched::Sched;
use crate::runtime::timer::{RawTimer, TimerAction};
use crate::runtime::with_current_sched;

/// The live-arming word of a channel timer that never fires (no runtime generation is odd and
/// all ones).
const NEVER: u64 = u64::MAX;

/// A single event in the future (Go's `time.Timer`).
///
/// A channel timer ([`Timer::new`]) sends the current [`Instant`] on [`Timer::chan`] when it
/// fires; a function timer ([`after_func`]) starts a goroutine running its function instead.
/// Channel timers follow Go 1.23: the channel behaves as if unbuffered, so once [`Timer::stop`]
/// or [`Timer::reset`] returns, no value from before the call is received.
///
/// Dropping a `Timer` does not stop it: a channel timer still sends (to whoever holds its
/// channel) and a function timer still runs its function.
///
/// ```
/// use std::time::Duration;
/// use goroutines::time::Timer;
///
/// let t = Timer::new(Duration::from_millis(1));
/// let fired_at = t.chan().recv().unwrap();
/// assert!(!t.stop()); // already fired
/// # let _ = fired_at;
/// ```
pub struct Timer {
    raw: Arc<RawTimer>,
    sched: Arc<Sched>,
    kind: Kind,
}

enum Kind {
    Chan(Arc<ChanTimer>),
    Func(Mutex<bool>),
}

/// The shared half of a channel timer, reached by its action.
struct ChanTimer {
    /// One slot; written only by the action, drained by `stop`/`reset`.
    chan: Chan<Instant>,
    /// Generation of the live arming (`NEVER` for one with no deadline), `None` when stopped or
    /// fired. Held across the action's send and `stop`/`reset`'s drain, so that they are
    /// ordered: a send either happens before the drain or sees its generation gone.
    live: Mutex<Option<u64>>,
}

impl Timer {
    /// Creates a timer that sends the current [`Instant`] on its channel after at least `d`
    /// (Go's `time.NewTimer`). A zero `d` puts the value in the channel at once; a `d` too large
    /// to represent a deadline never fires.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::time::Timer;
    ///
    /// let t = Timer::new(Duration::ZERO);
    /// assert!(t.chan().try_recv().is_ok());
    /// ```
    pub fn new(d: Duration) -> Timer {
        let shared = Arc::new(ChanTimer {
            chan: Chan::new(1),
            live: Mutex::new(None),
        });
        let s2 = shared.clone();
        let raw = RawTimer::new(TimerAction::FuncGen(Box::new(move |gen| {
            let mut live = lock(&s2.live);
            if *live == Some(gen) {
                *live = None;
                // The slot is empty: it was drained when this generation was armed, and only
                // this generation's firing fills it.
                let _ = s2.chan.try_send(Instant::now());
            }
        })));
        let t = Timer {
            raw,
            sched: with_current_sched(|s| s.clone()),
            kind: Kind::Chan(shared),
        };
        if let Kind::Chan(c) = &t.kind {
            let mut live = lock(&c.live);
            t.arm_chan(c, &mut live, d);
        }
        t
    }

    /// The channel on which the timer delivers its value (Go's `t.C`); a nil channel, never
    /// ready, for a timer made by [`after_func`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::time::{after_func, Timer};
    ///
    /// assert!(!Timer::new(Duration::from_secs(1)).chan().is_nil());
    /// assert!(after_func(Duration::from_secs(1), || {}).chan().is_nil());
    /// ```
    pub fn chan(&self) -> RecvChan<Instant> {
        match &self.kind {
            Kind::Chan(c) => c.chan.receiver(),
            Kind::Func(_) => Chan::nil().receiver(),
        }
    }

    /// Prevents the timer from firing (Go's `Timer.Stop`). Returns true if the call stopped the
    /// timer, false if it had already fired (and, for a channel timer, its value was received)
    /// or been stopped. After `stop` returns, no value is received from a channel timer until
    /// it is reset. Stopping a function timer does not wait for a function already started.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::time::Timer;
    ///
    /// let t = Timer::new(Duration::from_secs(60));
    /// assert!(t.stop());
    /// assert!(!t.stop());
    /// assert!(t.chan().try_recv().is_err());
    /// ```
    pub fn stop(&self) -> bool {
        match &self.kind {
            Kind::Chan(c) => {
                let mut live = lock(&c.live);
                self.disarm_chan(c, &mut live)
            }
            Kind::Func(never) => {
                let mut never = lock(never);
                let was_never = std::mem::replace(&mut *never, false);
                self.raw.stop(&self.sched) || was_never
            }
        }
    }

    /// Changes the timer to fire after `d` from now (Go's `Timer.Reset`), as if stopped and
    /// started again. Returns true if the timer was pending (see [`Timer::stop`]). After
    /// `reset` returns, a channel timer delivers only the value of the new deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goroutines::time::Timer;
    ///
    /// let t = Timer::new(Duration::from_secs(60));
    /// assert!(t.reset(Duration::from_millis(1)));
    /// t.chan().recv().unwrap();
    /// assert!(!t.reset(Duration::from_millis(1)));
    /// t.chan().recv().unwrap();
    /// ```
    pub fn reset(&self, d: Duration) -> bool {
        match &self.kind {
            Kind::Chan(c) => {
                let mut live = lock(&c.live);
                let was = self.disarm_chan(c, &mut live);
                self.arm_chan(c, &mut live, d);
                was
            }
            Kind::Func(never) => {
                let mut never = lock(never);
                let was_never = std::mem::replace(&mut *never, false);
                let was = match when(d) {
                    When::At(t) => self.raw.reset(&self.sched, t),
                    When::Never => {
                        *never = true;
                        self.raw.stop(&self.sched)
                    }
                    When::Now => {
                        let was = self.raw.stop(&self.sched);
                        self.raw.fire_now();
                        was
                    }
                };
                was || was_never
            }
        }
    }

    /// Clears the live arming and drains the slot; true if a value was still to be received.
    fn disarm_chan(&self, c: &ChanTimer, live: &mut Option<u64>) -> bool {
        let mut pending = live.take().is_some();
        self.raw.stop(&self.sched);
        if c.chan.try_recv().is_ok() {
            pending = true;
        }
        pending
    }

    /// Arms a disarmed, drained channel timer for `d` from now.
    fn arm_chan(&self, c: &ChanTimer, live: &mut Option<u64>, d: Duration) {
        match when(d) {
            When::Now => {
                let _ = c.chan.try_send(Instant::now());
            }
            When::Never => *live = Some(NEVER),
            When::At(t) => *live = Some(self.raw.arm(&self.sched, t).1),
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Chan(_) => "chan",
            Kind::Func(_) => "func",
        };
        f.debug_struct("Timer")
            .field("kind", &kind)
            .field("pending", &self.raw.is_pending())
            .finish()
    }
}

/// Waits for `d` and then sends the current [`Instant`] on the returned channel (Go's
/// `time.After`), for use in `select!`. The timer cannot be stopped; use [`Timer`] when it may
/// need to be.
///
/// ```
/// use std::time::Duration;
/// use goroutines::{select, Chan};
/// use goroutines::time::after;
///
/// let never = Chan::<i32>::new(0);
/// let timed_out = select! {
///     recv(never) -> _ => false,
///     recv(after(Duration::from_millis(2))) -> _ => true,
/// };
/// assert!(timed_out);
/// ```
pub fn after(d: Duration) -> RecvChan<Instant> {
    let c = Chan::new(1);
    match when(d) {
        When::Now => {
            let _ = c.try_send(Instant::now());
        }
        When::Never => {}
        When::At(t) => {
            let tx = c.clone();
            let raw = RawTimer::new(TimerAction::Func(Box::new(move || {
                let _ = tx.try_send(Instant::now());
            })));
            with_current_sched(|s| raw.reset(s, t));
        }
    }
    c.receiver()
}

/// Waits for `d` and then runs `f` in its own goroutine (Go's `time.AfterFunc`). The returned
/// [`Timer`] can stop it before it fires, or reset it to run `f` again; its channel is nil.
/// A zero `d` starts the goroutine at once.
///
/// ```
/// use std::time::Duration;
/// use goroutines::Chan;
/// use goroutines::time::after_func;
///
/// let c = Chan::new(1);
/// let tx = c.clone();
/// let _t = after_func(Duration::from_millis(1), move || tx.send("ran"));
/// assert_eq!(c.recv(), Some("ran"));
/// ```
///
/// # Panics
/// The timer's goroutine aborts the process if no stack can be mapped for it, as Go throws when
/// it runs out of memory.
pub fn after_func<F>(d: Duration, f: F) -> Timer
where
    F: Fn() + Send + Sync + 'static,
{
    let sched = with_current_sched(|s| s.clone());
    let weak: Weak<Sched> = Arc::downgrade(&sched);
    let f = Arc::new(f);
    let raw = RawTimer::new(TimerAction::Func(Box::new(move || {
        // Weak: a timer left in a heap must not keep its runtime alive.
        if let Some(s) = weak.upgrade() {
            let f = f.clone();
            if crate::runtime::spawn(&s, move || f()).is_err() {
                crate::runtime::g::fatal("after_func: cannot map a stack for the goroutine");
            }
        }
    })));
    let t = Timer {
        raw,
        sched,
        kind: Kind::Func(Mutex::new(false)),
    };
    match when(d) {
        When::Now => t.raw.fire_now(),
        When::Never => {
            if let Kind::Func(never) = &t.kind {
                *lock(never) = true;
            }
        }
        When::At(at) => {
            t.raw.reset(&t.sched, at);
        }
    }
    t
}

// A panic cannot leave a timer half-updated: its state changes under a lock in a few stores.
impl std::panic::UnwindSafe for Timer {}
impl std::panic::RefUnwindSafe for Timer {}
