//! The handles: [`Chan`], and its directional views [`SendChan`] and [`RecvChan`].
//!
//! A handle is an `Option<Arc<RawChan<T>>>`: `None` is Go's nil channel, and cloning a handle
//! shares the channel. Each operation maps Go's surface onto one `RawChan` call with a `Mode`
//! (blocking, non-blocking, or until a deadline) and turns its error into the public one: a
//! send on a closed channel panics with Go's message at the caller (`#[track_caller]`), `try_*`
//! and `*_timeout` give the value back in their error. On a nil channel a blocking operation
//! parks forever (`block_forever`, wait reason "chan send (nil chan)" or "chan receive (nil
//! chan)") and a timed one parks until its deadline.
//!
//! # Invariants
//! - Dropping handles never closes the channel (Go has no such notion); the channel and its
//!   buffered values go when the last `Arc` does, and a goroutine blocked in an operation holds
//!   a handle, so a channel is never freed under a waiter.
//! - `==` and `Hash` are identity (the `RawChan`'s address), as Go's channel comparison; all nil
//!   handles are equal.
//! - `SendChan`/`RecvChan` are the same handle with half the methods (Go's `chan<- T` and
//!   `<-chan T`), so a view compares equal to the `Chan` it came from.
//! - `WeakChan` holds the channel without keeping it alive, for `time::after`'s timer: a
//!   channel nobody holds any more lets its timer go.
//!
//! Rejected: separate sender and receiver types that close the channel when the last sender
//! drops (std's and crossbeam's model): Go's programs close explicitly and share one channel
//! value freely, and porting them needs exactly that; timeouts measured as a `Duration` down
//! the stack (each retry would restart it): a timeout becomes one `Instant` deadline up front,
//! saturating for durations too long to represent.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::errors::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::future::{RecvFuture, SendFuture};
use super::raw::{Mode, RawChan, RecvErr, SendErr};
use crate::runtime::park::{self, WaitReason};

/// A channel (Go's `chan T`): a typed conduit between goroutines and threads, buffered or
/// unbuffered, that can be closed.
///
/// `Chan` is a handle: clones are the same channel and `==` compares identity. A nil channel
/// ([`Chan::nil`], `Default`) never becomes ready: sending or receiving on it blocks forever, and
/// a select case on it is never chosen.
///
/// Dropping handles never closes a channel, as in Go: receivers blocked on a channel whose
/// senders are all gone stay blocked until somebody calls [`close`](Chan::close). The channel
/// and any values still buffered are freed when the last handle goes (a blocked goroutine's
/// operation holds a handle).
///
/// ```
/// use goroutines::{go, Chan};
///
/// let ch = Chan::new(0); // unbuffered: each send meets a receive
/// let tx = ch.clone();
/// go(move || {
///     for i in 0..3 {
///         tx.send(i);
///     }
///     tx.close();
/// });
/// let got: Vec<i32> = ch.iter().collect(); // Go's `for v := range ch`
/// assert_eq!(got, [0, 1, 2]);
/// ```
pub struct Chan<T> {
    raw: Option<Arc<RawChan<T>>>,
}

impl<T> Chan<T> {
    /// A channel with room for `cap` values; `0` makes an unbuffered channel, where each send
    /// waits for its receiver (Go's `make(chan T, cap)`).
    ///
    /// ```
    /// let ch = goroutines::Chan::new(2);
    /// ch.send('a');
    /// ch.send('b'); // both fit in the buffer
    /// assert_eq!(ch.len(), 2);
    /// assert_eq!(ch.recv(), Some('a'));
    /// ```
    ///
    /// # Panics
    /// "makechan: size out of range" (Go's message) if the buffer would take more than 2^48 bytes
    /// (Go's allocation limit on 64-bit targets) or the allocator cannot provide it. A channel of
    /// a zero-sized type allocates nothing, whatever its capacity.
    #[track_caller]
    pub fn new(cap: usize) -> Chan<T> {
        Chan {
            raw: Some(Arc::new(RawChan::new(cap))),
        }
    }

    /// The nil channel: never ready. Useful to switch a select case off.
    ///
    /// ```
    /// let ch = goroutines::Chan::<i32>::nil();
    /// assert!(ch.is_nil());
    /// assert!(ch.try_recv().is_err());
    /// ```
    pub fn nil() -> Chan<T> {
        Chan { raw: None }
    }

    /// Whether this is the nil channel.
    ///
    /// ```
    /// assert!(!goroutines::Chan::<u8>::new(0).is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        self.raw.is_none()
    }

    pub(crate) fn raw(&self) -> Option<&RawChan<T>> {
        self.raw.as_deref()
    }

    /// Sends `v`, blocking until a receiver takes it or the buffer has room (Go's `ch <- v`).
    /// On a nil channel it blocks forever.
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// ch.send(5);
    /// assert_eq!(ch.recv(), Some(5));
    /// ```
    ///
    /// # Panics
    /// "send on closed channel" if the channel is closed, or is closed while this send waits.
    #[track_caller]
    pub fn send(&self, v: T) {
        let Some(raw) = self.raw() else {
            block_forever(WaitReason::ChanSendNilChan)
        };
        if raw.send(v, Mode::Block).is_err() {
            panic!("send on closed channel");
        }
    }

    /// Receives a value, blocking until one is there; `None` once the channel is closed and
    /// drained (Go's `v, ok := <-ch`). On a nil channel it blocks forever.
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// ch.send("x");
    /// ch.close();
    /// assert_eq!(ch.recv(), Some("x")); // buffered values survive the close
    /// assert_eq!(ch.recv(), None);
    /// ```
    pub fn recv(&self) -> Option<T> {
        let Some(raw) = self.raw() else {
            block_forever(WaitReason::ChanReceiveNilChan)
        };
        raw.recv(Mode::Block).ok()
    }

    /// Receives a value as a future, for async code (a tokio task, or [`block_on`](crate::block_on)):
    /// `None` once the channel is closed and drained, pending forever on a nil channel. The
    /// task's waker is woken by the sender, from whatever thread it runs on.
    ///
    /// Cancel-safe: dropping the future before it completes (a losing `tokio::select!` branch)
    /// receives nothing and loses no value. Unlike a goroutine's `recv`, a pending
    /// `recv_async` does not count as a waiting receiver for a non-blocking send on an unbuffered
    /// channel (`try_send` reports `Full`); blocking senders are served (see `chan/future.rs`).
    ///
    /// ```
    /// let ch = goroutines::Chan::new(0);
    /// let tx = ch.clone();
    /// goroutines::go(move || tx.send(3));
    /// assert_eq!(goroutines::block_on(ch.recv_async()), Some(3));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(self.raw())
    }

    /// Sends `v` as a future, for async code: completes when a receiver took the value or the
    /// buffer had room; pending forever on a nil channel.
    ///
    /// Cancel safety: on a buffered channel, dropping the future before it completes means the
    /// value was not sent. On an unbuffered channel a receiver may take the value between two
    /// polls: dropping the future before a receiver took the value means it was not sent, but
    /// one dropped after did send (see [`SendFuture`]). An unsent value is dropped.
    ///
    /// ```
    /// let ch = goroutines::Chan::new(0);
    /// let rx = ch.clone();
    /// let h = goroutines::go(move || rx.recv());
    /// goroutines::block_on(ch.send_async(9));
    /// assert_eq!(h.join().unwrap(), Some(9));
    /// ```
    ///
    /// # Panics
    /// "send on closed channel", when polled, if the channel is closed, or is closed while the
    /// send waits (as [`Chan::send`]).
    pub fn send_async(&self, v: T) -> SendFuture<'_, T> {
        SendFuture::new(self.raw(), v)
    }

    /// Closes the channel: no more values may be sent; receivers get the buffered values, then
    /// `None`. Blocked receivers wake with `None` and blocked senders wake and panic.
    ///
    /// ```
    /// let ch = goroutines::Chan::<()>::new(0);
    /// ch.close();
    /// assert!(ch.is_closed());
    /// ```
    ///
    /// # Panics
    /// "close of nil channel" on a nil channel, "close of closed channel" if already closed.
    #[track_caller]
    pub fn close(&self) {
        let Some(raw) = self.raw() else {
            panic!("close of nil channel")
        };
        if raw.close().is_err() {
            panic!("close of closed channel");
        }
    }

    /// Sends `v` if that can happen without blocking (a receiver waits or the buffer has room),
    /// as a Go `select` with a `default` case does, but reporting a closed channel instead of
    /// panicking.
    ///
    /// ```
    /// use goroutines::{Chan, TrySendError};
    ///
    /// let ch = Chan::new(1);
    /// assert_eq!(ch.try_send(1), Ok(()));
    /// assert_eq!(ch.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    ///
    /// # Errors
    /// `Full(v)` if it would block (always, on a nil channel), `Closed(v)` if closed.
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        let Some(raw) = self.raw() else {
            return Err(TrySendError::Full(v));
        };
        match raw.send(v, Mode::NonBlock) {
            Ok(()) => Ok(()),
            Err(SendErr::Closed(v)) => Err(TrySendError::Closed(v)),
            Err(SendErr::Full(v) | SendErr::Timeout(v)) => Err(TrySendError::Full(v)),
        }
    }

    /// Receives a value if one is there now.
    ///
    /// ```
    /// use goroutines::{Chan, TryRecvError};
    ///
    /// let ch = Chan::new(1);
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    /// ch.send(3);
    /// assert_eq!(ch.try_recv(), Ok(3));
    /// ```
    ///
    /// # Errors
    /// `Empty` if it would block (always, on a nil channel), `Closed` if closed and drained.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let Some(raw) = self.raw() else {
            return Err(TryRecvError::Empty);
        };
        match raw.recv(Mode::NonBlock) {
            Ok(v) => Ok(v),
            Err(RecvErr::Closed) => Err(TryRecvError::Closed),
            Err(RecvErr::Empty | RecvErr::Timeout) => Err(TryRecvError::Empty),
        }
    }

    /// Sends `v`, waiting at most `timeout`.
    ///
    /// ```
    /// use goroutines::{Chan, SendTimeoutError};
    /// use std::time::Duration;
    ///
    /// let ch = Chan::new(0);
    /// let r = ch.send_timeout(1, Duration::from_millis(5)); // nobody receives
    /// assert_eq!(r, Err(SendTimeoutError::Timeout(1)));
    /// ```
    ///
    /// # Errors
    /// `Timeout(v)` when the time is up, `Closed(v)` if the channel is or becomes closed.
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let deadline = deadline_after(timeout);
        let Some(raw) = self.raw() else {
            sleep_until(WaitReason::ChanSendNilChan, deadline);
            return Err(SendTimeoutError::Timeout(v));
        };
        match raw.send(v, Mode::Until(deadline)) {
            Ok(()) => Ok(()),
            Err(SendErr::Closed(v)) => Err(SendTimeoutError::Closed(v)),
            Err(SendErr::Full(v) | SendErr::Timeout(v)) => Err(SendTimeoutError::Timeout(v)),
        }
    }

    /// Receives a value, waiting at most `timeout`.
    ///
    /// ```
    /// use goroutines::{go, Chan};
    /// use std::time::Duration;
    ///
    /// let ch = Chan::new(0);
    /// let tx = ch.clone();
    /// go(move || tx.send(9));
    /// assert_eq!(ch.recv_timeout(Duration::from_secs(10)), Ok(9));
    /// ```
    ///
    /// # Errors
    /// `Timeout` when the time is up, `Closed` if the channel is closed and drained.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = deadline_after(timeout);
        let Some(raw) = self.raw() else {
            sleep_until(WaitReason::ChanReceiveNilChan, deadline);
            return Err(RecvTimeoutError::Timeout);
        };
        match raw.recv(Mode::Until(deadline)) {
            Ok(v) => Ok(v),
            Err(RecvErr::Closed) => Err(RecvTimeoutError::Closed),
            Err(RecvErr::Empty | RecvErr::Timeout) => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Values in the buffer (Go's `len(ch)`); 0 for a nil channel.
    ///
    /// ```
    /// let ch = goroutines::Chan::new(3);
    /// ch.send(1);
    /// assert_eq!(ch.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.raw().map_or(0, RawChan::len)
    }

    /// Whether the buffer is empty.
    ///
    /// ```
    /// assert!(goroutines::Chan::<u8>::new(3).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buffer capacity (Go's `cap(ch)`); 0 for unbuffered and nil channels.
    ///
    /// ```
    /// assert_eq!(goroutines::Chan::<u8>::new(3).cap(), 3);
    /// ```
    pub fn cap(&self) -> usize {
        self.raw().map_or(0, RawChan::cap)
    }

    /// Whether the channel has been closed (a nil channel is not).
    ///
    /// ```
    /// let ch = goroutines::Chan::<u8>::new(0);
    /// assert!(!ch.is_closed());
    /// ch.close();
    /// assert!(ch.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.raw().is_some_and(RawChan::is_closed)
    }

    /// A blocking iterator over received values that ends once the channel is closed and
    /// drained (Go's `for v := range ch`).
    ///
    /// ```
    /// let ch = goroutines::Chan::new(3);
    /// ch.send(1);
    /// ch.send(2);
    /// ch.close();
    /// assert_eq!(ch.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { ch: self }
    }

    /// An iterator over the values receivable now, without blocking.
    ///
    /// ```
    /// let ch = goroutines::Chan::new(3);
    /// ch.send(1);
    /// ch.send(2);
    /// assert_eq!(ch.try_iter().count(), 2); // the channel is still open
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { ch: self }
    }

    /// The send-only view of this channel (Go's `chan<- T`).
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// let tx = ch.sender();
    /// tx.send(1);
    /// assert_eq!(ch.recv(), Some(1));
    /// ```
    pub fn sender(&self) -> SendChan<T> {
        SendChan(self.clone())
    }

    /// The receive-only view of this channel (Go's `<-chan T`).
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// let rx = ch.receiver();
    /// ch.send(1);
    /// assert_eq!(rx.recv(), Some(1));
    /// ```
    pub fn receiver(&self) -> RecvChan<T> {
        RecvChan(self.clone())
    }
}

/// A deadline `timeout` from now, saturating far in the future.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// Parks until `deadline` (a timed operation on a nil channel).
fn sleep_until(reason: WaitReason, deadline: Instant) {
    while Instant::now() < deadline {
        park::park_until(reason, deadline);
    }
}

/// Parks the caller forever (a nil channel, `select! {}`).
pub(crate) fn block_forever(reason: WaitReason) -> ! {
    loop {
        park::park(reason);
    }
}

/// A handle that does not keep its channel alive: the runtime's `time::after` timer sends
/// through one, so that a channel nobody holds any more is freed and its timer can leave the
/// heap (Go 1.23 collects such timers).
pub(crate) struct WeakChan<T>(Option<Weak<RawChan<T>>>);

impl<T> Chan<T> {
    pub(crate) fn downgrade(&self) -> WeakChan<T> {
        WeakChan(self.raw.as_ref().map(Arc::downgrade))
    }
}

impl<T> WeakChan<T> {
    /// The channel, if some handle still holds it.
    pub(crate) fn upgrade(&self) -> Option<Chan<T>> {
        let raw = self.0.as_ref()?.upgrade()?;
        Some(Chan { raw: Some(raw) })
    }

    /// Whether no handle holds the channel any more (it can never be sent on or received from).
    pub(crate) fn is_dead(&self) -> bool {
        self.0.as_ref().map_or(true, |w| w.strong_count() == 0)
    }
}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan {
            raw: self.raw.clone(),
        }
    }
}

impl<T> Default for Chan<T> {
    /// The nil channel.
    fn default() -> Self {
        Chan::nil()
    }
}

impl<T> PartialEq for Chan<T> {
    /// Identity: the same channel (or both nil).
    fn eq(&self, other: &Self) -> bool {
        key(&self.raw) == key(&other.raw)
    }
}

impl<T> Eq for Chan<T> {}

impl<T> Hash for Chan<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        key(&self.raw).hash(state);
    }
}

fn key<T>(raw: &Option<Arc<RawChan<T>>>) -> usize {
    raw.as_deref().map_or(0, RawChan::key)
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.raw() {
            None => f.write_str("Chan(nil)"),
            Some(r) => f
                .debug_struct("Chan")
                .field("addr", &format_args!("{:#x}", r.key()))
                .field("len", &r.len())
                .field("cap", &r.cap())
                .field("closed", &r.is_closed())
                .finish(),
        }
    }
}

/// The blocking iterator of [`Chan::iter`] and [`RecvChan::iter`].
pub struct Iter<'a, T> {
    ch: &'a Chan<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.ch.recv()
    }
}

/// The non-blocking iterator of [`Chan::try_iter`] and [`RecvChan::try_iter`].
pub struct TryIter<'a, T> {
    ch: &'a Chan<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.ch.try_recv().ok()
    }
}

/// The blocking iterator that owns its handle (`for v in ch`).
pub struct IntoIter<T> {
    ch: Chan<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.ch.recv()
    }
}

impl<'a, T> IntoIterator for &'a Chan<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Chan<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { ch: self }
    }
}

/// The send-only view of a channel (Go's `chan<- T`), from [`Chan::sender`].
///
/// ```
/// use goroutines::{go, Chan, SendChan};
///
/// fn produce(out: SendChan<u32>) {
///     for i in 0..3 {
///         out.send(i);
///     }
///     out.close();
/// }
///
/// let ch = Chan::new(0);
/// let tx = ch.sender();
/// go(move || produce(tx));
/// assert_eq!(ch.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub struct SendChan<T>(Chan<T>);

/// The receive-only view of a channel (Go's `<-chan T`), from [`Chan::receiver`].
///
/// ```
/// use goroutines::{Chan, RecvChan};
///
/// fn total(input: RecvChan<u32>) -> u32 {
///     input.iter().sum()
/// }
///
/// let ch = Chan::new(3);
/// ch.send(1);
/// ch.send(2);
/// ch.close();
/// assert_eq!(total(ch.receiver()), 3);
/// ```
pub struct RecvChan<T>(Chan<T>);

impl<T> SendChan<T> {
    /// As [`Chan::send`].
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// ch.sender().send(1);
    /// assert_eq!(ch.len(), 1);
    /// ```
    ///
    /// # Panics
    /// "send on closed channel", as [`Chan::send`].
    #[track_caller]
    pub fn send(&self, v: T) {
        self.0.send(v)
    }

    /// As [`Chan::try_send`].
    ///
    /// ```
    /// let ch = goroutines::Chan::new(0);
    /// assert!(ch.sender().try_send(1).is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Chan::try_send`].
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        self.0.try_send(v)
    }

    /// As [`Chan::send_timeout`].
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// assert!(ch.sender().send_timeout(1, std::time::Duration::from_secs(1)).is_ok());
    /// ```
    ///
    /// # Errors
    /// As [`Chan::send_timeout`].
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.0.send_timeout(v, timeout)
    }

    /// As [`Chan::close`].
    ///
    /// ```
    /// let ch = goroutines::Chan::<u8>::new(0);
    /// ch.sender().close();
    /// assert!(ch.is_closed());
    /// ```
    ///
    /// # Panics
    /// As [`Chan::close`].
    #[track_caller]
    pub fn close(&self) {
        self.0.close()
    }

    /// As [`Chan::len`].
    ///
    /// ```
    /// assert_eq!(goroutines::Chan::<u8>::new(1).sender().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// As [`Chan::is_empty`].
    ///
    /// ```
    /// assert!(goroutines::Chan::<u8>::new(1).sender().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As [`Chan::cap`].
    ///
    /// ```
    /// assert_eq!(goroutines::Chan::<u8>::new(1).sender().cap(), 1);
    /// ```
    pub fn cap(&self) -> usize {
        self.0.cap()
    }

    /// As [`Chan::is_closed`].
    ///
    /// ```
    /// assert!(!goroutines::Chan::<u8>::new(1).sender().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    /// As [`Chan::is_nil`].
    ///
    /// ```
    /// assert!(goroutines::Chan::<u8>::nil().sender().is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        self.0.is_nil()
    }

    pub(crate) fn chan(&self) -> &Chan<T> {
        &self.0
    }

    /// As [`Chan::send_async`].
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// goroutines::block_on(ch.sender().send_async(1));
    /// assert_eq!(ch.recv(), Some(1));
    /// ```
    ///
    /// # Panics
    /// "send on closed channel", as [`Chan::send_async`].
    pub fn send_async(&self, v: T) -> SendFuture<'_, T> {
        self.0.send_async(v)
    }
}

impl<T> RecvChan<T> {
    /// As [`Chan::recv`].
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// ch.send(1);
    /// assert_eq!(ch.receiver().recv(), Some(1));
    /// ```
    pub fn recv(&self) -> Option<T> {
        self.0.recv()
    }

    /// As [`Chan::try_recv`].
    ///
    /// ```
    /// let ch = goroutines::Chan::<u8>::new(1);
    /// assert!(ch.receiver().try_recv().is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Chan::try_recv`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.0.try_recv()
    }

    /// As [`Chan::recv_timeout`].
    ///
    /// ```
    /// let ch = goroutines::Chan::<u8>::new(1);
    /// assert!(ch.receiver().recv_timeout(std::time::Duration::from_millis(1)).is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Chan::recv_timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.0.recv_timeout(timeout)
    }

    /// As [`Chan::iter`].
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// ch.send(1);
    /// ch.close();
    /// assert_eq!(ch.receiver().iter().count(), 1);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        self.0.iter()
    }

    /// As [`Chan::try_iter`].
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// ch.send(1);
    /// assert_eq!(ch.receiver().try_iter().count(), 1);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        self.0.try_iter()
    }

    /// As [`Chan::len`].
    ///
    /// ```
    /// assert_eq!(goroutines::Chan::<u8>::new(1).receiver().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// As [`Chan::is_empty`].
    ///
    /// ```
    /// assert!(goroutines::Chan::<u8>::new(1).receiver().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As [`Chan::cap`].
    ///
    /// ```
    /// assert_eq!(goroutines::Chan::<u8>::new(1).receiver().cap(), 1);
    /// ```
    pub fn cap(&self) -> usize {
        self.0.cap()
    }

    /// As [`Chan::is_closed`].
    ///
    /// ```
    /// assert!(!goroutines::Chan::<u8>::new(1).receiver().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    /// As [`Chan::is_nil`].
    ///
    /// ```
    /// assert!(goroutines::Chan::<u8>::nil().receiver().is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        self.0.is_nil()
    }

    pub(crate) fn chan(&self) -> &Chan<T> {
        &self.0
    }

    /// As [`Chan::recv_async`].
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// ch.send(4);
    /// assert_eq!(goroutines::block_on(ch.receiver().recv_async()), Some(4));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        self.0.recv_async()
    }
}

impl<T> From<Chan<T>> for SendChan<T> {
    fn from(ch: Chan<T>) -> Self {
        SendChan(ch)
    }
}

impl<T> From<Chan<T>> for RecvChan<T> {
    fn from(ch: Chan<T>) -> Self {
        RecvChan(ch)
    }
}

impl<T> Clone for SendChan<T> {
    fn clone(&self) -> Self {
        SendChan(self.0.clone())
    }
}

impl<T> Clone for RecvChan<T> {
    fn clone(&self) -> Self {
        RecvChan(self.0.clone())
    }
}

impl<T> Default for SendChan<T> {
    /// The nil channel.
    fn default() -> Self {
        SendChan(Chan::nil())
    }
}

impl<T> Default for RecvChan<T> {
    /// The nil channel.
    fn default() -> Self {
        RecvChan(Chan::nil())
    }
}

impl<T> PartialEq for SendChan<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T> Eq for SendChan<T> {}

impl<T> PartialEq for RecvChan<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T> Eq for RecvChan<T> {}

impl<T> PartialEq<Chan<T>> for SendChan<T> {
    fn eq(&self, other: &Chan<T>) -> bool {
        self.0 == *other
    }
}

impl<T> PartialEq<Chan<T>> for RecvChan<T> {
    fn eq(&self, other: &Chan<T>) -> bool {
        self.0 == *other
    }
}

impl<T> Hash for SendChan<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<T> Hash for RecvChan<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<T> fmt::Debug for SendChan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SendChan({:?})", self.0)
    }
}

impl<T> fmt::Debug for RecvChan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecvChan({:?})", self.0)
    }
}

impl<'a, T> IntoIterator for &'a RecvChan<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for RecvChan<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { ch: self.0 }
    }
}
