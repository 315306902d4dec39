//! Go's `sync` package: [`WaitGroup`], [`Mutex`], [`RwLock`], [`Once`], [`Cond`] and
//! [`Semaphore`], and [`ErrGroup`] (golang.org/x/sync/errgroup) on top of them, parking goroutines instead of blocking threads.
//!
//! A goroutine that waits for one of these parks through the runtime's park/unpark primitive
//! (`runtime::park`): its M goes on to run other goroutines, and a goroutine dump shows what it
//! waits for ("sync.Mutex.Lock", "sync.WaitGroup.Wait", ...). On a plain OS thread the same
//! calls block the thread, so goroutines and threads can share one lock, group or condition.
//!
//! # Design
//!
//! Everything is built as in Go, on two pieces in `sema.rs`:
//!
//! - **Semaphores keyed by address** (Go's `runtime/sema.go`): a primitive owns a `u32` count,
//!   `semacquire` waits for it to be positive and takes one, `semrelease` adds one and wakes the
//!   oldest waiter, optionally handing the count straight to it. The waiters live in a
//!   process-wide table of 251 locked buckets, not in the primitive, so `Mutex<()>` is 8 bytes.
//! - **Notify lists** (Go's `notifyList`): ticket-numbered waiters for `Cond`.
//!
//! On top of them, one file per primitive:
//!
//! - `mutex.rs`: Go's `sync.Mutex` state machine. One word holds LOCKED, WOKEN, STARVING and the
//!   waiter count. The uncontended lock and unlock are one CAS and one atomic subtraction. In
//!   normal mode a woken waiter competes with newcomers (which may spin a few rounds first when
//!   another P can run the holder); a waiter that waited more than 1 ms turns on starvation
//!   mode, where unlock hands the lock to the oldest waiter and newcomers queue behind.
//! - `rwlock.rs`: Go's `sync.RWMutex`: a reader count that a pending writer drives negative, so
//!   later readers wait behind it and writers are not starved.
//! - `waitgroup.rs`: counter and waiter count in one 64-bit word; `add`/`done` are one atomic
//!   add; the goroutine that brings the counter to zero releases each waiter.
//! - `once.rs`: a done flag read with one load, and a mutex serialising the first call.
//! - `cond.rs`: `Cond` over this crate's `MutexGuard`, on a notify list.
//! - `semaphore.rs`: a weighted FIFO semaphore like golang.org/x/sync/semaphore, with its own
//!   queue of (permits, waiter) and a lock-free path while nobody waits.
//!
//! # No poisoning
//!
//! Go's locks are not poisoned by panics and neither are these: a guard dropped during unwinding
//! unlocks normally, `lock` returns the guard directly, and the next holder sees the value as the
//! panicking code left it. Code that must keep an invariant across a panic restores it itself.
//! A `Once` whose function panicked counts as done, as in Go.
//!
//! # Misuse
//!
//! Misuse that Go reports with a panic panics with Go's message ("sync: negative WaitGroup
//! counter", "sync: WaitGroup is reused before previous Wait has returned"). States that Go
//! treats as fatal and that the guards here make unreachable ("sync: unlock of unlocked mutex")
//! abort with `goroutines: fatal:`.

mod cond;
mod errgroup;
mod mutex;
mod once;
mod rwlock;
mod sema;
mod semaphore;
mod waitgroup;

pub use cond::Cond;
pub use errgroup::ErrGroup;
pub use mutex::{LockFuture, Mutex, MutexGuard};
pub use once::Once;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::Semaphore;
pub use waitgroup::{WaitFuture, WaitGroup};
