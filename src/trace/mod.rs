//! A timeline trace of the scheduler, as Chrome Trace Event JSON for Perfetto's UI.
//!
//! [`start`] begins recording what the scheduler does, [`stop`] writes it to the file given to
//! `start`; or set `GOROUTINES_TRACE=path` and the runtime traces itself from its start until the
//! first [`run`](crate::run) returns. Open the file at <https://ui.perfetto.dev> (or
//! `chrome://tracing`), or render it offline as an SVG with `tools/trace_svg.py`. `docs/trace.md`
//! shows a picture and how to read it:
//!
//! - one row per P ("P0", "P1", ...), plus "no P" rows for goroutines that run without one;
//! - each time a goroutine runs, a slice named `G<id>`, whose arguments give the goroutine id,
//!   its spawn site (`file:line:col`) and why it stopped (`yield`, `park` with its wait reason
//!   such as "chan receive", `exit`, or `preempted`);
//! - wake-ups and spawns as arrows (flow events) from the slice of the goroutine that made
//!   another runnable to that goroutine's next slice;
//! - counters "runq P0", "runq P1", ... and "runq global": run-queue lengths seen whenever a P
//!   starts a goroutine.
//!
//! # What the scheduler calls
//! The scheduler calls a hook at each event, guarded by `enabled()`, which is one relaxed load
//! of a static flag: with tracing off that load is the whole cost.
//! - `go_create` when a goroutine is created (from the parent's thread),
//! - `go_start` / `go_stop` on the M, around each time a goroutine runs,
//! - `go_unpark` when a parked goroutine is made runnable, before it is queued (from the
//!   waker's thread: a goroutine, a plain thread, a timer or the netpoller).
//!
//! `start_from_env` (when a runtime is built) and `stop_from_env` (when a top-level `run`
//! returns) implement `GOROUTINES_TRACE`.
//!
//! # Design
//! 1. Each OS thread records into its own buffer (`buffer.rs`): chunks of event slots that only
//!    it writes, publishing each event with a release store, with no lock or atomic
//!    read-modify-write per event. Buffers are registered in the running trace's list, so
//!    those of threads that have exited are collected too. Timestamps come from the monotonic
//!    clock: the CPU's invariant timestamp counter where the kernel trusts it, converted to
//!    nanoseconds since `start` (`clock.rs`).
//! 2. Recording is raw: what happened, on which thread, when. Everything else (which run a
//!    wake-up leads to, which row a slice goes on, dropping repeated counter values) is worked
//!    out by `stop` (`chrome.rs`), off the scheduler's hot path.
//! 3. Memory is bounded: after `MAX_EVENTS` (2,000,000) events a trace stops recording, the
//!    hooks' flag is cleared so that the rest of the run pays nothing, and the trace is cut at
//!    that moment; its metadata (`otherData`) says so (`truncated`, `truncated_at_us`).
//! 4. The hooks never switch goroutines, never block (but for a short lock once per thread per
//!    trace, and once per 4096 events to add a chunk), and never panic.
//!
//! Rejected: one global buffer (every event of every M would contend on one lock or one
//! atomic index), and resolving flows while recording (a global map from goroutine to pending
//! wake-up, taken at every start). Go's own tracer also keeps per-M buffers and a
//! post-processing step; its binary format needs `go tool trace`, whereas Chrome's JSON opens in
//! any browser.
//!
//! # Cost
//! Measured on a shared 2-core VM (`cargo bench`, medians of 10 to 20 alternating runs, ns/op):
//!
//! | benchmark | hooks compiled out | tracing off | tracing on |
//! |-----------|-------------------:|------------:|-----------:|
//! | ChanSync | 215 | 216 | 499 |
//! | CreateGoroutines | 334 | 312 | 555 |
//! | ChanProdCons100 | | 44 | 46 |
//!
//! Off costs nothing measurable. On, each event costs ~36 ns in a tight loop and ~70 to
//! 100 ns inside the scheduler (a timestamp, and a store to memory not in cache); benchmarks
//! that do nothing but schedule (about three events per operation in the first two) take 1.8
//! to 2.3 times as long, while one with a buffered channel (ChanProdCons100) slows by 5%. Past the event
//! cap the trace stops recording and the program runs at full speed again; so
//! `GOROUTINES_TRACE` with a benchmark's default one-second runs records only their first
//! ~0.3 s (the "tracing on" column used `GOROUTINES_BENCHTIME=0.05`, 0.1 for ChanProdCons100,
//! to stay under the cap).

mod buffer;
mod chrome;
mod clock;
#[cfg(test)]
mod tests;

use crate::util::lock;
use std::io::{self, BufWriter, Write};
use std::panic::Location;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Starts recording a trace of the scheduler into the file at `path` (created now, written by
/// [`stop`]). Tracing is process-wide: it records every runtime of the process.
///
/// ```
/// let path = std::env::temp_dir().join(format!("goroutines-doc-{}.json", std::process::id()));
/// goroutines::trace::start(&path)?;
/// goroutines::run(|| {
///     let h = goroutines::go(|| 6 * 7);
///     assert_eq!(h.join().unwrap(), 42);
/// });
/// goroutines::trace::stop()?;
/// let json = std::fs::read_to_string(&path)?;
/// assert!(json.contains("\"traceEvents\""));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// `AlreadyExists` if a trace is already running (the message names its file), or the error of
/// creating the file.
pub fn start(path: impl AsRef<Path>) -> io::Result<()> {
    buffer::start_session(path.as_ref(), false)
}

/// Stops the running trace and writes it as Chrome Trace Event JSON to the file given to
/// [`start`].
///
/// ```
/// let path = std::env::temp_dir().join(format!("goroutines-doc-stop-{}.json", std::process::id()));
/// goroutines::trace::start(&path)?;
/// goroutines::trace::stop()?;
/// let err = goroutines::trace::stop().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Called from a goroutine, the writing runs as a [`blocking`](crate::blocking) call.
///
/// # Errors
/// `NotFound` if no trace is running; the error of writing the file.
pub fn stop() -> io::Result<()> {
    match buffer::take_session(false) {
        Some(done) => crate::blocking(|| write(done)),
        None => Err(io::Error::new(
            io::ErrorKind::NotFound,
            "goroutines: no trace is running (start one with goroutines::trace::start)",
        )),
    }
}

/// Whether a trace is running: between [`start`] and [`stop`] (even once it has stopped
/// recording at its event cap).
///
/// ```
/// assert!(!goroutines::trace::is_enabled());
/// let path = std::env::temp_dir().join(format!("goroutines-doc-on-{}.json", std::process::id()));
/// goroutines::trace::start(&path)?;
/// assert!(goroutines::trace::is_enabled());
/// goroutines::trace::stop()?;
/// assert!(!goroutines::trace::is_enabled());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_enabled() -> bool {
    buffer::running()
}

/// Whether the scheduler should call the hooks: one relaxed load (see `buffer.rs` for why
/// relaxed is enough).
#[inline(always)]
pub(crate) fn enabled() -> bool {
    buffer::ENABLED.load(Ordering::Relaxed)
}

/// Why a goroutine stopped running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// It yielded (`yield_now`): back to the global queue.
    Yield,
    /// It parked, for this reason (the wait reason's name, as dumps print it).
    Park(&'static str),
    /// It finished.
    Exit,
    /// It lost its P (sysmon, or a long `blocking` call) and waits for one.
    Preempted,
}

fn p_index(p: Option<usize>) -> u32 {
    p.map_or(buffer::NO_P, |p| p.min(buffer::NO_P as usize - 1) as u32)
}

fn clamp_len(n: usize) -> u32 {
    n.min(u32::MAX as usize) as u32
}

/// Names given to goroutines created while tracing, by id, for the slices' labels. Taken (and
/// so emptied) when a trace is written; ids are never reused, so a name recorded just as one
/// trace stops and found by the next one labels nothing wrongly.
static NAMES: std::sync::Mutex<Vec<(u64, Arc<str>)>> = std::sync::Mutex::new(Vec::new());

/// Goroutine `g` was created by `parent` (`None`: by a plain thread) at `site`, with `name` if
/// it was given one.
#[inline(never)]
pub(crate) fn go_create(
    g: u64,
    parent: Option<u64>,
    site: &'static Location<'static>,
    name: Option<&Arc<str>>,
) {
    buffer::record(|ts| buffer::Event::Create {
        ts,
        g,
        parent: parent.unwrap_or(0),
        site,
    });
    if let Some(name) = name {
        lock(&NAMES).push((g, name.clone()));
    }
}

/// Goroutine `g` (spawned at `site`) starts running on this thread, on P `p` (`None`: without
/// a P), whose local run queue then holds `local_runq` goroutines and the global one
/// `global_runq`.
#[inline(never)]
pub(crate) fn go_start(
    g: u64,
    site: &'static Location<'static>,
    p: Option<usize>,
    local_runq: usize,
    global_runq: usize,
) {
    buffer::record(|ts| buffer::Event::Start {
        ts,
        g,
        site,
        p: p_index(p),
        local: clamp_len(local_runq),
        global: clamp_len(global_runq),
    });
}

/// Goroutine `g` stops running on this thread (the one that called `go_start` for it).
#[inline(never)]
pub(crate) fn go_stop(g: u64, p: Option<usize>, why: StopReason) {
    buffer::record(|ts| buffer::Event::Stop {
        ts,
        g,
        p: p_index(p),
        why,
    });
}

/// Goroutine `g` is made runnable by goroutine `by` (`None`: a plain thread, a timer or the
/// netpoller). Call it before `g` is queued, so that the run it leads to starts later.
#[inline(never)]
pub(crate) fn go_unpark(g: u64, by: Option<u64>) {
    buffer::record(|ts| buffer::Event::Unpark {
        ts,
        g,
        by: by.unwrap_or(0),
    });
}

/// Set once `GOROUTINES_TRACE` has started a trace: the variable traces one run per process,
/// so that a later runtime does not overwrite the file.
static ENV_USED: AtomicBool = AtomicBool::new(false);

/// Starts a trace if `GOROUTINES_TRACE=path` is set, no trace runs and the variable has not
/// been used yet; says on stderr why not if the file cannot be created.
pub(crate) fn start_from_env() {
    let Some(path) = std::env::var_os("GOROUTINES_TRACE") else {
        return;
    };
    if path.is_empty() || ENV_USED.swap(true, Ordering::Relaxed) {
        return;
    }
    match buffer::start_session(Path::new(&path), true) {
        Ok(()) => {}
        // A trace started by the program itself wins; not an error.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.strip_prefix("goroutines: ").unwrap_or(&msg);
            eprintln!(
                "goroutines: GOROUTINES_TRACE={}: {msg}",
                Path::new(&path).display()
            );
        }
    }
}

/// Stops and writes the running trace if `GOROUTINES_TRACE` started it; errors go to stderr.
pub(crate) fn stop_from_env() {
    if let Some(done) = buffer::take_session(true) {
        let path = done.path.clone();
        if let Err(e) = crate::blocking(|| write(done)) {
            let msg = e.to_string();
            let msg = msg.strip_prefix("goroutines: ").unwrap_or(&msg);
            eprintln!("goroutines: GOROUTINES_TRACE={}: {msg}", path.display());
        }
    }
}

/// Builds the timeline and writes the JSON file.
fn write(done: buffer::Finished) -> io::Result<()> {
    let events = done.threads.iter().flatten().map(Vec::len).sum();
    // Past the cap, the trace ends where the first event was dropped.
    let end = done.first_drop.unwrap_or(done.end);
    let timeline = chrome::Timeline::build(&done.threads, end);
    drop(done.threads);
    let meta = chrome::Meta {
        pid: std::process::id(),
        events,
        dropped: done.dropped + timeline.cut,
        first_drop: done.first_drop,
        end,
        names: std::mem::take(&mut *lock(&NAMES)).into_iter().collect(),
    };
    let mut w = BufWriter::with_capacity(1 << 16, done.file);
    timeline
        .write_json(&mut w, &meta)
        .and_then(|()| w.flush())
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("goroutines: writing trace {}: {e}", done.path.display()),
            )
        })
}
