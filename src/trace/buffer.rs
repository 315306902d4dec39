//! Recording: the running session, the per-thread event buffers, and the event cap.
//!
//! Protocol (see the module docs of `trace` for why per-thread buffers):
//! 1. [`start_session`] creates the file, installs a [`Session`] under the `SESSION` lock, bumps
//!    the generation `GEN`, resets the event budget and sets `ENABLED`.
//! 2. A hook calls [`record`]. The thread's [`Local`] state (thread-local) is used if it belongs
//!    to the current generation; otherwise the thread registers a fresh [`Buffer`] in the
//!    session's list under the `SESSION` lock (once per thread per trace).
//! 3. The event goes into the thread's current [`Chunk`]: a fixed array of slots written only by
//!    this thread, and a length it publishes with a `Release` store after writing each slot. No
//!    lock and no read-modify-write on the hot path (measured: an uncontended mutex around the
//!    push made `ChanSync` with tracing on ~10% slower, ~20 ns per event, median of 20 runs).
//! 4. When the chunk is full the thread reserves another (a [`CHUNK`] of events from the shared
//!    `BUDGET`, one atomic add) and appends it to its buffer's chunk list under that list's lock.
//! 5. [`take_session`] clears `ENABLED` and removes the session under the `SESSION` lock, then
//!    takes every buffer's chunk list (threads that have exited included, since the session's
//!    list holds their buffers) and copies out each chunk's published events: it loads the
//!    length with `Acquire`, pairing with the writer's `Release`, so every slot below it is
//!    fully written, and the writer never touches those slots again. A writer that has not yet
//!    seen `ENABLED` cleared may go on writing slots above that length, which nobody reads.
//!
//! Memory orderings: `ENABLED` and `GEN` are read `Relaxed` on the hot path and need no pairing,
//! because nothing is published through them. A thread that sees a stale value either records
//! into a chunk already taken (the event is lost) or tries to register and finds, under the
//! `SESSION` lock (whose lock/unlock orders it after `start`/`stop`), the true state. The cost of
//! a stale read is at most one lost event in the instant a trace starts or stops.
//!
//! Bounded memory: the whole trace holds at most [`MAX_EVENTS`] events, reserved a chunk at a
//! time. The first thread that finds the budget spent clears `ENABLED`, so the rest of the run
//! pays nothing; the trace is cut at that moment and its metadata says so (`ENABLED` then no
//! longer means "a trace is running": [`running`] answers that). After a trace, each thread keeps
//! its last chunk (at most `CHUNK` events, 160 KiB) until it records again or exits.
//!
//! Timestamps are read with [`Clock`] (`clock.rs`) and converted to nanoseconds since the start
//! by [`take_session`].

use std::cell::{RefCell, UnsafeCell};
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::clock::Clock;
use super::StopReason;
use crate::util::lock;

/// Most events one trace holds (about 40 bytes each: some 80 MB of memory, and a JSON file of a
/// few hundred MB, about as much as Perfetto's UI opens comfortably).
#[cfg(not(test))]
pub(crate) const MAX_EVENTS: usize = 2_000_000;
/// Small in unit tests, so that the cap can be reached.
#[cfg(test)]
pub(crate) const MAX_EVENTS: usize = 20_000;
/// Events a thread reserves from the shared budget, and allocates memory for, at a time.
const CHUNK: usize = 4096;

/// Whether the hooks should record: the only thing the scheduler reads when tracing is off.
pub(super) static ENABLED: AtomicBool = AtomicBool::new(false);
/// Generation of the current (or last) trace; buffers of older generations are stale.
static GEN: AtomicU64 = AtomicU64::new(0);
/// Events reserved by all threads in the current trace.
static BUDGET: AtomicUsize = AtomicUsize::new(0);
/// The running trace, if any. Held briefly: to start, to stop, and when a thread registers.
static SESSION: Mutex<Option<Session>> = Mutex::new(None);

/// One scheduler event, as recorded; `ts` is a [`Clock`] reading until [`take_session`] makes it
/// nanoseconds since the trace started.
#[derive(Clone, Copy, Debug)]
pub(super) enum Event {
    /// Goroutine `g` was created by `parent` (0: not by a goroutine) at `site`.
    Create {
        ts: u64,
        g: u64,
        parent: u64,
        site: &'static Location<'static>,
    },
    /// Goroutine `g` started running on this thread, on P `p` (`NO_P`: without one), with the
    /// run queues that long at that moment.
    Start {
        ts: u64,
        g: u64,
        site: &'static Location<'static>,
        p: u32,
        local: u32,
        global: u32,
    },
    /// Goroutine `g` stopped running on this thread.
    Stop {
        ts: u64,
        g: u64,
        p: u32,
        why: StopReason,
    },
    /// Goroutine `g` was made runnable, from this thread, by goroutine `by` (0: not by one).
    Unpark { ts: u64, g: u64, by: u64 },
}

/// `p` of an event that happened without a P.
pub(super) const NO_P: u32 = u32::MAX;

/// The running trace.
struct Session {
    gen: u64,
    path: PathBuf,
    /// Created by `start`, so that a bad path fails there rather than at `stop`.
    file: File,
    clock: Clock,
    /// Every buffer registered during this trace, of live and exited threads alike.
    buffers: Vec<Arc<Buffer>>,
    from_env: bool,
}

/// What `stop` gets back: everything needed to write the file.
pub(super) struct Finished {
    pub(super) path: PathBuf,
    pub(super) file: File,
    /// Each thread's events, in the order the thread recorded them, in chunks.
    pub(super) threads: Vec<Vec<Vec<Event>>>,
    /// Nanoseconds from the trace's start to its stop.
    pub(super) end: u64,
    /// Events not recorded because the cap was reached.
    pub(super) dropped: u64,
    /// When the first event was dropped (nanoseconds since the start), if any was.
    pub(super) first_drop: Option<u64>,
}

/// One thread's events for one trace: its chunks, and what it could not record.
struct Buffer {
    /// Every chunk the thread filled or is filling, in order. Locked by the owning thread to
    /// append a chunk (once per `CHUNK` events) and by `take_session` to take them all.
    chunks: Mutex<Vec<Arc<Chunk>>>,
    /// Events the thread could not record because the budget was spent.
    dropped: AtomicU64,
    /// Clock reading of the first of them (`u64::MAX`: none).
    first_drop: AtomicU64,
}

/// A fixed array of event slots with one writer, the owning thread, and a published length.
///
/// Invariant: slots below `len` are initialized and never written again; slots at or above it
/// are touched only by the owning thread.
struct Chunk {
    slots: Box<[UnsafeCell<MaybeUninit<Event>>]>,
    /// How many slots are written: stored (`Release`) by the owner after writing each slot,
    /// loaded (`Acquire`) by `take_session`.
    len: AtomicUsize,
}

// SAFETY: the slots are shared between the owning thread and `take_session` under the invariant
// above: the owner writes only slots no one else reads yet, and the reader reads only slots the
// owner has published and no longer writes. `Event` is `Send` (plain data and `&'static`).
unsafe impl Sync for Chunk {}

impl Chunk {
    fn new(cap: usize) -> Chunk {
        let slots: Box<[UnsafeCell<MaybeUninit<Event>>]> = (0..cap)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        Chunk {
            slots,
            len: AtomicUsize::new(0),
        }
    }

    /// A copy of the published events.
    fn published(&self) -> impl Iterator<Item = Event> + '_ {
        // Acquire: pairs with the owner's Release store after writing the slots below `n`.
        let n = self.len.load(Ordering::Acquire);
        self.slots[..n].iter().map(|slot| {
            // SAFETY: slot below the published length: initialized, and no longer written
            // (the invariant of `Chunk`).
            unsafe { (*slot.get()).assume_init() }
        })
    }
}

/// A thread's recording state for one trace.
struct Local {
    gen: u64,
    clock: Clock,
    buf: Arc<Buffer>,
    /// The chunk being filled, and how many of its slots are written (the owner's copy of
    /// `chunk.len`); `None` before the first event and once the budget is spent.
    chunk: Option<(Arc<Chunk>, usize)>,
}

impl Local {
    /// Records `ev` (read at clock reading `ts`).
    #[inline]
    fn push(&mut self, ev: Event, ts: u64) {
        let (chunk, len) = match &mut self.chunk {
            Some((c, len)) if *len < c.slots.len() => (c, len),
            _ => match self.next_chunk(ts) {
                Some((c, len)) => (c, len),
                None => return,
            },
        };
        // SAFETY: slot `len` is at or above the published length, so only this thread, the
        // chunk's owner, touches it (the invariant of `Chunk`); `len < slots.len()` was checked
        // above or by `next_chunk`.
        unsafe { (*chunk.slots[*len].get()).write(ev) };
        *len += 1;
        // Release: publishes the slot to `take_session` (see `Chunk::published`).
        chunk.len.store(*len, Ordering::Release);
    }

    /// Reserves and registers a new chunk, or notes a dropped event if the budget is spent.
    #[cold]
    fn next_chunk(&mut self, ts: u64) -> Option<&mut (Arc<Chunk>, usize)> {
        let used = BUDGET.fetch_add(CHUNK, Ordering::Relaxed);
        if used >= MAX_EVENTS {
            // The budget is spent: stop recording everywhere, so that a forgotten trace costs
            // nothing from here on. The trace is cut at the first drop (`chrome.rs`).
            ENABLED.store(false, Ordering::Relaxed);
            self.chunk = None;
            self.buf.dropped.fetch_add(1, Ordering::Relaxed);
            self.buf.first_drop.fetch_min(ts, Ordering::Relaxed);
            return None;
        }
        let chunk = Arc::new(Chunk::new(CHUNK.min(MAX_EVENTS - used)));
        lock(&self.buf.chunks).push(chunk.clone());
        self.chunk = Some((chunk, 0));
        self.chunk.as_mut()
    }
}

fn session() -> MutexGuard<'static, Option<Session>> {
    lock(&SESSION)
}

thread_local! {
    /// This thread's recording state for the current (or a past) trace.
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Records the event `make(ts)` in this thread's buffer, `ts` being now.
///
/// Reaches the thread-local only here, in a function that is never inlined and never switches
/// goroutines, so no reference to one thread's `LOCAL` can survive a switch to another thread
/// in a caller (the crate's rule, see the soundness contract in `lib.rs`). Never panics: a
/// thread being torn down, or a re-entrant call, loses the event instead.
#[inline(never)]
pub(super) fn record(make: impl FnOnce(u64) -> Event) {
    let _ = LOCAL.try_with(|slot| {
        let Ok(mut slot) = slot.try_borrow_mut() else {
            return;
        };
        let gen = GEN.load(Ordering::Relaxed);
        if !matches!(&*slot, Some(l) if l.gen == gen) {
            *slot = register();
        }
        let Some(local) = slot.as_mut() else { return };
        let ts = local.clock.now();
        local.push(make(ts), ts);
    });
}

/// Fresh recording state for this thread in the running trace, or `None` if no trace runs.
#[cold]
fn register() -> Option<Local> {
    let mut s = session();
    let s = s.as_mut()?;
    let buf = Arc::new(Buffer {
        chunks: Mutex::new(Vec::new()),
        dropped: AtomicU64::new(0),
        first_drop: AtomicU64::new(u64::MAX),
    });
    s.buffers.push(buf.clone());
    Some(Local {
        gen: s.gen,
        clock: s.clock,
        buf,
        chunk: None,
    })
}

/// Whether a trace is running (possibly no longer recording, past the cap).
pub(super) fn running() -> bool {
    session().is_some()
}

/// Starts a trace writing to `path`.
pub(super) fn start_session(path: &Path, from_env: bool) -> io::Result<()> {
    let mut s = session();
    if let Some(cur) = s.as_ref() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "goroutines: a trace is already running, writing to {}",
                cur.path.display()
            ),
        ));
    }
    let file = File::create(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "goroutines: cannot create trace file {}: {e}",
                path.display()
            ),
        )
    })?;
    let gen = GEN.load(Ordering::Relaxed) + 1;
    GEN.store(gen, Ordering::Relaxed);
    BUDGET.store(0, Ordering::Relaxed);
    *s = Some(Session {
        gen,
        path: path.to_path_buf(),
        file,
        clock: Clock::start(),
        buffers: Vec::new(),
        from_env,
    });
    // Relaxed: see the module docs; the session itself is published by the `SESSION` lock.
    ENABLED.store(true, Ordering::Relaxed);
    Ok(())
}

/// Ends the running trace (if `only_from_env`, only one started from the environment) and
/// returns its events; `None` if there is none to stop.
pub(super) fn take_session(only_from_env: bool) -> Option<Finished> {
    let sess = {
        let mut s = session();
        if s.as_ref().map_or(true, |s| only_from_env && !s.from_env) {
            return None;
        }
        // Under the lock, so that a `start` right after cannot be undone by this store.
        ENABLED.store(false, Ordering::Relaxed);
        s.take()?
    };
    let end = sess.clock.now();
    let to_ns = sess.clock.finish();
    let mut threads = Vec::with_capacity(sess.buffers.len());
    let mut dropped = 0;
    let mut first_drop = u64::MAX;
    for b in &sess.buffers {
        dropped += b.dropped.load(Ordering::Relaxed);
        first_drop = first_drop.min(b.first_drop.load(Ordering::Relaxed));
        let chunks = std::mem::take(&mut *lock(&b.chunks));
        let events: Vec<Vec<Event>> = chunks
            .iter()
            .map(|c| {
                c.published()
                    .map(|mut ev| {
                        let (Event::Create { ts, .. }
                        | Event::Start { ts, .. }
                        | Event::Stop { ts, .. }
                        | Event::Unpark { ts, .. }) = &mut ev;
                        *ts = to_ns.nanos(*ts);
                        ev
                    })
                    .collect()
            })
            .collect();
        threads.push(events);
    }
    Some(Finished {
        path: sess.path,
        file: sess.file,
        threads,
        end: to_ns.nanos(end),
        dropped,
        first_drop: (first_drop != u64::MAX).then(|| to_ns.nanos(first_drop)),
    })
}
