//! The errors of the non-blocking and timed channel operations. Each one that failed to send
//! gives the value back.

use std::fmt;

/// Why [`Chan::try_send`](super::Chan::try_send) did not send; the value comes back.
///
/// ```
/// use goroutines::{Chan, TrySendError};
///
/// let ch = Chan::new(0);
/// assert_eq!(ch.try_send(1), Err(TrySendError::Full(1)));
/// ch.close();
/// assert_eq!(ch.try_send(2), Err(TrySendError::Closed(2)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The buffer is full (or, unbuffered, no receiver is waiting), or the channel is nil.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

/// Why [`Chan::try_recv`](super::Chan::try_recv) received nothing.
///
/// ```
/// use goroutines::{Chan, TryRecvError};
///
/// let ch = Chan::<i32>::new(1);
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
/// ch.close();
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// Nothing to receive now (or the channel is nil).
    Empty,
    /// The channel is closed and drained.
    Closed,
}

/// Why [`Chan::send_timeout`](super::Chan::send_timeout) did not send; the value comes back.
///
/// ```
/// use goroutines::{Chan, SendTimeoutError};
/// use std::time::Duration;
///
/// let ch = Chan::new(0);
/// let r = ch.send_timeout("hi", Duration::from_millis(1));
/// assert_eq!(r, Err(SendTimeoutError::Timeout("hi")));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// The deadline passed before a receiver or buffer space was available.
    Timeout(T),
    /// The channel is closed, or was closed while the sender waited.
    Closed(T),
}

/// Why [`Chan::recv_timeout`](super::Chan::recv_timeout) received nothing.
///
/// ```
/// use goroutines::{Chan, RecvTimeoutError};
/// use std::time::Duration;
///
/// let ch = Chan::<i32>::new(0);
/// assert_eq!(ch.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvTimeoutError {
    /// The deadline passed with nothing to receive.
    Timeout,
    /// The channel is closed and drained.
    Closed,
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let e = goroutines::TrySendError::Full(5);
    /// assert_eq!(e.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// Whether the channel was full.
    ///
    /// ```
    /// assert!(goroutines::TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the channel was closed.
    ///
    /// ```
    /// assert!(goroutines::TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let e = goroutines::SendTimeoutError::Timeout(5);
    /// assert_eq!(e.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
        }
    }

    /// Whether the deadline passed.
    ///
    /// ```
    /// assert!(goroutines::SendTimeoutError::Timeout(()).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }

    /// Whether the channel was closed.
    ///
    /// ```
    /// assert!(goroutines::SendTimeoutError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, SendTimeoutError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("timed out sending on a channel"),
            SendTimeoutError::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for SendTimeoutError<T> {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Closed => f.write_str("receiving on a closed and empty channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out receiving on a channel"),
            RecvTimeoutError::Closed => f.write_str("receiving on a closed and empty channel"),
        }
    }
}

impl std::error::Error for RecvTimeoutError {}
