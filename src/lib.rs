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
//! # The soundness contract: a goroutine stays on its thread
//!
//! Safe code cannot cause undefined behaviour through this crate. A goroutine started with
//! [`go`] runs on the OS thread where it first ran until it ends, so thread-local references,
//! `Rc`s shared with thread-locals and other `!Send` values it keeps across a park are used on
//! their own thread only. Per-goroutine state belongs in [`goroutine_local!`].
//!
//! What that costs: a goroutine waits for its thread when another goroutine living there
//! computes without parking, or sits in a long [`blocking`] call (the crate's own `fs`,
//! `process` and `lookup_host` calls move to a helper thread when other goroutines live on the
//! caller's thread). [`go_migratable`], [`Runtime::go_migratable`] and
//! [`Builder::migrate_goroutines`] give Go's migration to code whose author vouches for it;
//! their `# Safety` sections state the rule. See docs/soundness.md for the analysis.
//!
//! Blocking the OS thread (std's blocking I/O, `std::thread::sleep`, `std::sync` locks) blocks
//! the goroutines that live on that thread: prefer this crate's channels, timers, locks and
//! sockets inside goroutines, and wrap other blocking calls in [`blocking`].
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
#![deny(clippy::undocumented_unsafe_blocks)]

mod bridge;
pub mod chan;
pub mod context;
pub(crate) mod fault;
pub mod fs;
pub mod net;
pub mod process;
pub mod runtime;
pub mod signal;
pub mod sync;
pub mod time;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod trace;
pub(crate) mod util;

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
/// Test-only fault injection (feature `fault-injection`); not part of the public API.
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub use fault::api as __fault;
pub use runtime::{
    blocking, current_id, dump, go, go_migratable, lock_os_thread, max_procs, metrics,
    num_goroutine, run, scope, set_max_procs, stats, unlock_os_thread, yield_now, Builder,
    Goroutine, GoroutineId, JoinFuture, JoinHandle, Metrics, PanicPolicy, Runtime, Scope,
    ScopedJoinHandle, Stats,
};
