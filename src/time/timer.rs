//! `Timer`, `after` and `after_func`: one-shot timers on the runtime's timer heaps.
//!
//! A `Timer` is a runtime timer (`RawTimer`, in a P's heap) whose action is `Shared`: what to do
//! on firing (send the time on a one-slot channel, or start a goroutine running a function) and
//! a `Slot` under a mutex that says which arming is live. The runtime only ever calls
//! `FireGen::fire(gen)` with the generation of the arming that expired; this file decides
//! whether that arming still counts.
//!
//! # Protocol (Go 1.23's synchronous timer channels)
//! 1. Arming (`new`, `reset`) records the runtime arming's generation in `slot.live`; a zero
//!    duration fires at once, one too large for an `Instant` records `NEVER` and arms nothing.
//! 2. `stop` and `reset`, under the slot lock, clear `live`, stop the runtime timer and drain the
//!    channel (`try_recv`). The action, under the same lock, fires only if `live` still holds its
//!    generation. So once `stop` or `reset` returns, no value from before it can be received:
//!    the channel behaves as if unbuffered, as in Go 1.23.
//! 3. `reset` to a later deadline while armed only moves `slot.deadline`; the action, finding
//!    itself early, re-arms for the real deadline (Go's timerModifiedLater), so repeated resets
//!    of a busy timer cost a store, not a heap operation.
//! 4. `after` needs none of this (nobody can stop it): its action holds a `WeakChan`, so a
//!    channel that every receiver dropped is freed and its timer reports itself orphaned and
//!    leaves the heap (Go 1.23 collects such timers too).
//!
//! # Invariants
//! The channel's one slot is empty whenever an arming is made (drained under the lock), and only
//! that arming's firing fills it. `Shared` holds the runtime and its own `RawTimer` weakly, so a
//! timer left in a heap keeps neither alive. `after_func`'s function runs in a new goroutine,
//! never on the M that runs timers and never under the slot lock (user code is a guest).
//!
//! Rejected: a channel with a buffer of one that stop leaves alone (Go before 1.23: a stale tick
//! survives a `reset`, the bug Go 1.23 fixed); a new heap entry for every `reset` to a later
//! deadline (a timeout pushed back on every request would fill the heap with stale entries).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{when, When};
use crate::chan::{Chan, RecvChan, WeakChan};
use crate::runtime::timer::{self as rt, FireGen, TimerAction, WeakTimer};
use crate::runtime::RuntimeRef;
use crate::util::lock;

/// The live-arming word of a timer that never fires (no runtime generation is all ones).
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
    raw: rt::Timer,
    shared: Arc<Shared>,
}

/// What a timer does when it fires.
enum Fire {
    /// Send the time on this one-slot channel.
    Chan(Chan<Instant>),
    /// Start a goroutine running this function; the site is where `after_func` was called.
    Func(
        Arc<dyn Fn() + Send + Sync>,
        &'static std::panic::Location<'static>,
    ),
}

/// The part of a timer its action reaches.
struct Shared {
    fire: Fire,
    slot: Mutex<Slot>,
    /// The runtime timer whose action this is, to re-arm it; weak, so that a timer left in a
    /// heap keeps neither itself nor its runtime alive.
    me: WeakTimer,
}

/// Held across the action's decision and send, and across `stop`/`reset`, so that they are
/// ordered: a send either happens before a drain or sees its generation gone.
struct Slot {
    /// Generation of the live runtime arming (`NEVER` for one with no deadline), `None` when
    /// stopped or fired.
    live: Option<u64>,
    /// The deadline the runtime timer is armed for.
    armed_at: Instant,
    /// The timer's real deadline: `reset` to a later time only moves this, and the action,
    /// finding itself early, re-arms for it (Go's timerModifiedLater), so that repeated resets
    /// cost a store, not a heap push.
    deadline: Instant,
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
        Timer::with_fire(Fire::Chan(Chan::new(1)), d)
    }

    fn with_fire(fire: Fire, d: Duration) -> Timer {
        let now = Instant::now();
        let mut shared = None;
        let raw = rt::Timer::new_cyclic(|me| {
            let s = Arc::new(Shared {
                fire,
                slot: Mutex::new(Slot {
                    live: None,
                    armed_at: now,
                    deadline: now,
                }),
                me,
            });
            shared = Some(s.clone());
            TimerAction::Shared(s)
        });
        let shared = shared.expect("new_cyclic ran the closure");
        let t = Timer { raw, shared };
        {
            let mut slot = lock(&t.shared.slot);
            t.arm(&mut slot, d);
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
        match &self.shared.fire {
            Fire::Chan(c) => c.receiver(),
            Fire::Func(..) => Chan::nil().receiver(),
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
        let mut slot = lock(&self.shared.slot);
        let was = slot.live.take().is_some();
        self.raw.stop();
        self.drain() || was
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
        let mut slot = lock(&self.shared.slot);
        let was = slot.live.is_some();
        let drained = self.drain();
        if let (Some(gen), When::At(t)) = (slot.live, when(d)) {
            if gen != NEVER && t >= slot.armed_at {
                // Later than the runtime arming: the action will find itself early and re-arm.
                slot.deadline = t;
                return true;
            }
        }
        slot.live = None;
        self.raw.stop();
        self.arm(&mut slot, d);
        was || drained
    }

    /// Discards an undelivered value; true if there was one.
    fn drain(&self) -> bool {
        match &self.shared.fire {
            Fire::Chan(c) => c.try_recv().is_ok(),
            Fire::Func(..) => false,
        }
    }

    /// Arms a disarmed, drained timer for `d` from now.
    fn arm(&self, slot: &mut Slot, d: Duration) {
        match when(d) {
            When::Now => fire_now(&self.shared),
            When::Never => slot.live = Some(NEVER),
            When::At(t) => {
                slot.armed_at = t;
                slot.deadline = t;
                slot.live = Some(self.raw.arm(t));
            }
        }
    }
}

impl FireGen for Shared {
    /// The timer's action, in scheduler context (must not block).
    fn fire(&self, gen: u64) {
        let mut slot = lock(&self.slot);
        if slot.live != Some(gen) {
            return; // a stop or reset got in between the runtime's claim and now
        }
        if Instant::now() < slot.deadline {
            // Reset to a later deadline: re-arm for it.
            if let Some(gen) = self.me.arm(slot.deadline) {
                slot.armed_at = slot.deadline;
                slot.live = Some(gen);
            }
            return;
        }
        slot.live = None;
        fire_now(self);
    }

    /// A function timer owns the user's closure: its `Drop` is user code, run on a goroutine.
    fn drop_on(&self) -> Option<RuntimeRef> {
        match self.fire {
            Fire::Func(..) => self.me.runtime(),
            Fire::Chan(_) => None,
        }
    }
}

fn fire_now(shared: &Shared) {
    match &shared.fire {
        // The slot is empty: it was drained when this arming was made, and only this arming's
        // firing fills it.
        Fire::Chan(c) => {
            let _ = c.try_send(Instant::now());
        }
        Fire::Func(f, site) => {
            let Some(rt) = shared.me.runtime() else {
                return;
            };
            let f = f.clone();
            if rt.go(move || f(), site).is_err() {
                crate::util::fatal("after_func: cannot map a stack for the goroutine");
            }
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.shared.fire {
            Fire::Chan(_) => "chan",
            Fire::Func(..) => "func",
        };
        let slot = lock(&self.shared.slot);
        f.debug_struct("Timer")
            .field("kind", &kind)
            .field("pending", &slot.live.is_some())
            .field("armed", &self.raw.is_pending())
            .finish()
    }
}

/// Waits for `d` and then sends the current [`Instant`] on the returned channel (Go's
/// `time.After`), for use in `select!`. The timer cannot be stopped; use [`Timer`] when it may
/// need to be. As in Go 1.23, a timer whose channel nobody holds any more is collected: once the
/// returned channel and its clones are dropped, the timer leaves the runtime's heap without
/// waiting for its deadline, so `select!` with `recv(after(60s))` in a loop does not pile up
/// timers.
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
            // Nobody can stop or reset this timer: its only state is the weak channel.
            rt::start_detached(TimerAction::Shared(Arc::new(After(c.downgrade()))), t);
        }
    }
    c.receiver()
}

/// The action of an [`after`] timer: a send on a channel it does not keep alive.
struct After(WeakChan<Instant>);

impl FireGen for After {
    fn fire(&self, _gen: u64) {
        if let Some(c) = self.0.upgrade() {
            let _ = c.try_send(Instant::now());
        }
    }

    fn is_orphaned(&self) -> bool {
        self.0.is_dead()
    }
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
#[track_caller]
pub fn after_func<F>(d: Duration, f: F) -> Timer
where
    F: Fn() + Send + Sync + 'static,
{
    Timer::with_fire(Fire::Func(Arc::new(f), std::panic::Location::caller()), d)
}

// A panic cannot leave a timer half-updated: its state changes under a lock in a few stores.
impl std::panic::UnwindSafe for Timer {}
impl std::panic::RefUnwindSafe for Timer {}
