//! Channels and `select`, with Go's semantics, parking goroutines (and OS threads).
//!
//! This module owns Go's `chan` type: [`Chan`] and its directional views [`SendChan`] and
//! [`RecvChan`], the non-blocking and timed operations with their errors, the
//! [`select!`](crate::select!) macro and the dynamic [`Select`] builder.
//!
//! # Layout
//! - `raw.rs`: the channel (Go's `hchan`): ring buffer, wait queues, and the algorithms of
//!   `chansend`, `chanrecv` and `closechan`.
//! - `waiter.rs`: what a blocked operation leaves in a queue (Go's `sudog`) and the hand-off
//!   protocol between a waker and a waiter.
//! - `select.rs`: `selectgo`, the case objects and the `Select` builder; `macros.rs`: `select!`.
//! - `lock.rs`: the channel lock; `chan.rs`: the public handles; `errors.rs`: the errors.
//!
//! # Design (Go's runtime/chan.go and select.go)
//! 1. One lock per channel, held for a few loads and stores and never across a park; no user
//!    code (not even a `Drop`) runs under it.
//! 2. A ring buffer of `cap` slots, and two FIFO queues of blocked waiters, receivers and
//!    senders. At most one queue is non-empty (but for a select sending and receiving on one
//!    channel), and a sender waits only when the buffer is full, a receiver only when it is
//!    empty.
//! 3. Direct hand-off: a sender that finds a receiver waiting moves its value straight into the
//!    receiver's slot and wakes it; a receiver that finds a sender waiting takes its value (for a
//!    full buffer: the head of the buffer, and the sender's value goes to the tail). Each value
//!    is moved under exactly one channel lock, so none is lost or duplicated.
//! 4. The non-blocking operations (`try_send`, `try_recv`, a one-case select with `default`)
//!    first look without the lock, in Go's order of checks, so that failing on a full or empty
//!    channel costs a few loads.
//! 5. A waiter (on its own stack, which never moves) is completed by exactly one waker: the
//!    first to win a compare-and-swap on it. That is how a select enqueued on many channels is
//!    woken once, and how a timed-out waiter and a waker agree on who won. Wake-ups are issued
//!    after the channel lock is released.
//! 6. `select` locks its channels in address order (no deadlock between selects), polls its
//!    cases in a random order (a uniform choice among ready cases), and, if none is ready and
//!    there is no default, enqueues on all and parks.
//!
//! Closing wakes every waiter: receivers get `None`, senders panic with "send on closed
//! channel" (Go's message, as for "close of closed channel" and "close of nil channel").
//! Dropping handles never closes a channel.
//!
//! # Rejected alternatives
//! Wrapping a thread channel (crossbeam's, std's) would block OS threads instead of parking
//! goroutines, and none has Go's close, nil channels or unbuffered rendezvous semantics in
//! select. A lock-free channel was not attempted: Go's locked design is simple, measured fast
//! enough, and its `select` needs the locks anyway.

//! # Performance
//! Go's channel benchmarks are ported with their names in `benches/chan.rs`
//! (`cargo bench --bench chan`). Measured on a shared 2-core machine under a load average of
//! about 7, each benchmark run back to back with Go 1.27's own `runtime.test` binary so that both
//! saw the same load (ns/op, lower is better; Go's figures on an idle machine for reference):
//!
//! | benchmark            | Go, same run | this crate | Go, idle |
//! |----------------------|-------------:|-----------:|---------:|
//! | ChanNonblocking      |          8.7 |        1.4 |      1.7 |
//! | SelectUncontended    |         79.6 |       63.7 |     25.6 |
//! | SelectSyncContended  |          533 |        319 |      910 |
//! | SelectAsyncContended |          129 |        116 |       62 |
//! | SelectNonblock       |         29.0 |       10.1 |      5.7 |
//! | ChanUncontended      |         6243 |       3125 |     1489 |
//! | ChanContended        |         6198 |       5450 |     3364 |
//! | ChanSync             |          339 |        283 |      117 |
//! | ChanProdCons0        |          190 |        151 |      154 |
//! | ChanProdCons10       |          121 |       52.7 |       57 |
//! | ChanProdCons100      |         65.4 |       28.4 |       38 |
//! | SelectProdCons       |          478 |        526 |      188 |
//! | ChanCreation         |          152 |       64.4 |       57 |
//! | ChanSem              |         33.2 |       28.9 |       50 |
//! | ChanPopular          |      1441578 |    1640400 |   284616 |
//! | ChanClosed           |         19.4 |        6.0 |      2.3 |
//!
//! Figures on such a machine vary by a factor of two from run to run. The blocking benchmarks
//! (`ChanSync`, `ChanProdCons0`, `SelectSyncContended`, `ChanPopular`) are dominated by the
//! runtime's park/unpark round trip rather than by the channel. `SelectProdCons` uses a plain
//! channel where Go uses `time.After(time.Hour)`.

#[allow(clippy::module_inception)]
mod chan;
mod errors;
mod future;
mod lock;
mod macros;
mod raw;
mod select;
mod waiter;

pub(crate) use chan::WeakChan;
pub use chan::{Chan, IntoIter, Iter, RecvChan, SendChan, TryIter};
pub use errors::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
pub use future::{RecvFuture, SendFuture};
pub use select::{Select, SelectRecv, SelectSend};

/// What the `select!` expansion uses; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use super::select::{block_no_cases, select, unreachable, Case, Poll, RecvCase, SendCase};
    pub use super::waiter::Node;
}
