//! Go's goroutines for Rust.
//!
//! A function started with [`go`] runs as a goroutine: a lightweight green thread with its own
//! small stack, written in plain blocking style (no `async`), scheduled in user space by Go's
//! G-M-P model onto a few OS threads. Goroutines park (in channels, timers, sync primitives and
//! I/O) without blocking the thread under them, and a million of them are cheap.
//!
//! ```
//! use goroutines::go;
//!
//! let handles: Vec<_> = (0..1000).map(|i| go(move || i * 2)).collect();
//! let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
//! assert_eq!(sum, 999_000);
//! ```
//!
//! # The tour
//! - [`go`], [`JoinHandle`], [`run`] and `#[goroutines::main]`: starting goroutines, waiting for
//!   them, and running `main` as a goroutine.
//! - Structured concurrency: [`scope`] (goroutines that borrow from the caller, joined before
//!   it returns, as `std::thread::scope`), [`sync::ErrGroup`] (Go's errgroup),
//!   [`JoinHandle::done`] and [`JoinHandle::join_timeout`] (waiting in `select!` or with a
//!   timeout), and [`Goroutine`] (a goroutine's name and stack size).
//! - [`yield_now`], [`num_goroutine`], [`max_procs`], [`set_max_procs`], [`current_id`],
//!   [`lock_os_thread`]: Go's `runtime` package.
//! - [`Chan`], [`SendChan`], [`RecvChan`], [`select!`] and [`Select`]: Go's channels and
//!   `select`, with Go's semantics to the letter (module [`chan`]).
//! - [`sync`]: `WaitGroup`, `Mutex`, `RwLock`, `Once`, `Cond`, `Semaphore` and `ErrGroup`,
//!   parking goroutines rather than threads.
//! - [`time::sleep`], [`time::after`], [`time::Timer`], [`time::after_func`] and
//!   [`time::Ticker`]: Go's `time` package, parking goroutines on the runtime's per-P timer
//!   heaps (module [`time`]).
//! - [`context::Context`]: Go's `context` package, cancellation and deadlines down a tree, with
//!   Go 1.21's values, causes and `after_func` (module [`context`]).
//! - [`Builder`] and [`Runtime`]: explicit runtimes, and the environment variables `GOMAXPROCS`
//!   and `GOROUTINES_STACK_SIZE`.
//! - [`net`]: TCP, UDP and Unix sockets in blocking style; a call that would block parks the
//!   goroutine ("IO wait") and the netpoller (epoll) wakes it.
//! - [`block_on`], [`Chan::recv_async`], [`Chan::send_async`], `JoinHandle: IntoFuture`,
//!   [`sync::WaitGroup::wait_async`], [`sync::Mutex::lock_async`] and [`time::sleep_async`]:
//!   the bridge to async Rust, both ways (README "Async code"); with the
//!   `tokio` feature, `tokio::spawn_on` runs a future on a tokio runtime from a goroutine.
//! - Waiting on the rest of the system: [`fs`] (files as Go's system calls), [`process`]
//!   (children waited through pidfds), [`signal`] (Go's `os/signal`), [`net::lookup_host`] and
//!   [`net::PollFd`] (any descriptor in the netpoller).
//! - Seeing inside: [`dump`] (every goroutine with its state, wait reason, stack and spawn
//!   site), [`metrics`], `GOROUTINES_DEBUG=schedtrace=1000` (Go's `SCHED` lines), a timeline
//!   trace for Perfetto ([`trace`]), and Go's "all goroutines are asleep - deadlock!" with a dump
//!   instead of a hang ([`Builder::detect_deadlock`]).
//!
//! # The soundness contract: goroutines move between OS threads
//!
//! A goroutine may resume on a different OS thread after any point where it can switch: a
//! channel operation, a lock, a sleep, a join, [`yield_now`], or any other call into this crate
//! that can block. Rust's type system cannot see this, so:
//!
//! 1. **Do not hold thread-affine values across a blocking call.** A `std::sync::MutexGuard`,
//!    an `Rc`, a `RefCell` borrow of a thread-local, a reference into a `thread_local!` obtained
//!    with `with`, or any `!Send` value that relies on staying on one thread must not be alive
//!    across a call that may park. (A reference into a thread-local taken before the switch
//!    would point at the old thread's copy.) `go` requires the closure to be `Send`, but values
//!    created inside the goroutine are not checked.
//! 2. **Thread-locals are per OS thread, not per goroutine.** Read them afresh after each
//!    blocking call; do not cache their address.
//! 3. **Use [`lock_os_thread`] for code that must stay on one thread** (thread-locals kept across
//!    blocking calls, OpenGL contexts, `setns`, thread-bound FFI handles).
//! 4. **Blocking the OS thread blocks the goroutines queued behind it** on that P: prefer this
//!    crate's channels, timers and locks to `std::thread::sleep` and `std::sync::Mutex` inside
//!    goroutines.
//!
//! The runtime keeps the same rule itself: it reaches its per-thread state only through
//! `#[inline(never)]` accessors and never holds a reference to it across a switch, because LLVM
//! may keep a thread-local's address across a call within one function (llvm-project issue
//! 98479).
//!
//! # Stacks
//! Each goroutine gets a stack of 256 KiB by default (`GOROUTINES_STACK_SIZE`,
//! [`Builder::stack_size`]), of which the kernel commits only the pages it touches, above a guard
//! page. Overflowing it ends the process with "goroutine N overflowed its 256 KiB stack".
//!
//! # Panics
//! A panic in a goroutine unwinds that goroutine only; its message goes to stderr naming the
//! goroutine ("goroutine 17 panicked at ..."), and [`JoinHandle::join`] returns the payload.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod bridge;
pub mod chan;
pub mod context;
pub mod fs;
pub mod net;
pub mod process;
pub mod signal;
pub mod runtime;
pub mod sync;
pub mod time;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod trace;

pub use bridge::block_on;
pub use chan::{
    Chan, RecvChan, RecvTimeoutError, Select, SelectRecv, SelectSend, SendChan, SendTimeoutError,
    TryRecvError, TrySendError,
};
pub use goroutines_macros::{main, test};

/// What `#[goroutines::test]` expands to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::testing::run_test;
}
pub use runtime::{
    blocking, current_id, dump, go, go_migratable, lock_os_thread, max_procs, metrics,
    num_goroutine, run, scope, set_max_procs, stats, unlock_os_thread, yield_now, Builder,
    Goroutine, GoroutineId, JoinFuture, JoinHandle, Metrics, PanicPolicy, Runtime, Scope,
    ScopedJoinHandle, Stats,
};
