//! Recording: the running session, the per-thread event buffers, and the event cap.
//!
//! Protocol (see the module docs of `trace` for why per-thread buffers):
//! 1. [`start_session`] creates the file, installs a [`Session`] under the `SESSION` lock, bumps
//!    the generation `GEN`, resets the event budget and sets `ENABLED`.
//! 2. A hook calls [`record`]. The thread's buffer (a thread-local `Arc<Buffer>`) is used if it
//!    belongs to the current generation; otherwise the thread registers a fresh one in the
//!    session's list under the `SESSION` lock (once per thread per trace). The event is pushed
//!    under the buffer's own lock, which only `stop` ever contends for.
//! 3. [`take_session`] clears `ENABLED` and removes the session under the `SESSION` lock; the
//!    caller then closes every registered buffer (threads that have exited included, since the
//!    list holds them) and takes their events.
//!
//! Memory orderings: `ENABLED` and `GEN` are read `Relaxed` on the hot path and need no pairing,
//! because nothing is published through them. A thread that sees a stale value either records
//! into a closed buffer (the event is discarded, see [`Inner::push`]) or tries to register and
//! finds, under the `SESSION` lock (whose lock/unlock orders it after `start`/`stop`), the true
//! state. The cost of a stale read is at most one lost event in the instant a trace starts or
//! stops.
//!
//! Bounded memory: the whole trace holds at most [`MAX_EVENTS`] events. Threads reserve them in
//! chunks of [`CHUNK`] from the shared `BUDGET` counter (one shared atomic add per chunk, not per
//! event) and store each chunk in a vector of its own, so a long trace never copies what it has
//! recorded into a bigger vector; past the cap events are counted as dropped and the trace says
//! so in its metadata.
//!
//! Timestamps are read with [`Clock`] (`clock.rs`) and converted to nanoseconds since the start
//! by [`take_session`].

use super::clock::Clock;
use super::StopReason;
use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most events one trace holds (about 40 bytes each: some 80 MB of memory, and a JSON file of a
/// few hundred MB, about as much as Perfetto's UI opens comfortably).
#[cfg(not(test))]
pub(crate) const MAX_EVENTS: usize = 2_000_000;
/// Small in unit tests, so that the cap can be reached.
#[cfg(test)]
pub(crate) const MAX_EVENTS: usize = 2_000_000;
/// Events a thread reserves from the shared budget, and allocates memory for, at a time.
const CHUNK: usize = 16 * 1024;

/// Whether a trace is running: the only thing the scheduler reads when tracing is off.
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
    /// Each thread's events, in the order the thread recorded them.
    pub(super) threads: Vec<Vec<Event>>,
    /// Nanoseconds from the trace's start to its stop.
    pub(super) end: u64,
    /// Events not recorded because the cap was reached.
    pub(super) dropped: u64,
    /// When the first event was dropped (nanoseconds since the start), if any was.
    pub(super) first_drop: Option<u64>,
}

/// One thread's events for one trace.
pub(super) struct Buffer {
    gen: u64,
    clock: Clock,
    /// Locked by the owning thread for each event, and by `stop` once.
    inner: Mutex<Inner>,
}

struct Inner {
    /// Chunks of at most `CHUNK` events, each allocated at its full size.
    chunks: Vec<Vec<Event>>,
    /// Events this thread may still record before reserving another chunk.
    allowance: usize,
    /// The trace's budget is spent: drop everything from now on.
    full: bool,
    /// `stop` has taken the events: record nothing more.
    closed: bool,
    dropped: u64,
    first_drop: Option<u64>,
}

impl Buffer {
    fn new(gen: u64, clock: Clock) -> Buffer {
        Buffer {
            gen,
            clock,
            inner: Mutex::new(Inner {
                chunks: Vec::new(),
                allowance: 0,
                full: false,
                closed: false,
                dropped: 0,
                first_drop: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic cannot happen while the lock is held (pushes only), but a poisoned lock must
        // not make a hook panic either.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn push(&mut self, ev: Event, ts: u64) {
        if self.closed {
            return;
        }
        if self.allowance == 0 && !self.full {
            let used = BUDGET.fetch_add(CHUNK, Ordering::Relaxed);
            if used < MAX_EVENTS {
                self.allowance = CHUNK.min(MAX_EVENTS - used);
                let mut chunk = Vec::with_capacity(self.allowance);
                prefault(&mut chunk);
                self.chunks.push(chunk);
            } else {
                self.full = true;
            }
        }
        if self.allowance == 0 {
            self.dropped += 1;
            self.first_drop.get_or_insert(ts);
            return;
        }
        self.allowance -= 1;
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(ev);
        }
    }
}

/// Commits the memory of a new chunk with one system call, rather than one page fault per
/// 4 KiB as events fill it (measured: page faults were half the cost of recording in a VM).
fn prefault(chunk: &mut Vec<Event>) {
    #[cfg(target_os = "linux")]
    {
        /// Linux 5.14's `MADV_POPULATE_WRITE` (not in every `libc` release).
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        const PAGE: usize = 4096;
        let start = chunk.as_mut_ptr() as usize;
        let end = start + chunk.capacity() * std::mem::size_of::<Event>();
        let (a, b) = ((start + PAGE - 1) & !(PAGE - 1), end & !(PAGE - 1));
        if b > a {
            // SAFETY: `[a, b)` lies inside the chunk's allocation, which this thread owns and
            // has not written yet. The call only faults the pages in and leaves their contents
            // alone; if it fails (before Linux 5.14: EINVAL), the pages fault on first write,
            // as they would have anyway.
            unsafe { libc::madvise(a as *mut libc::c_void, b - a, MADV_POPULATE_WRITE) };
        }
    }
}

fn session() -> MutexGuard<'static, Option<Session>> {
    SESSION.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// This thread's buffer for the current (or a past) trace.
    static LOCAL: RefCell<Option<Arc<Buffer>>> = const { RefCell::new(None) };
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
        if !matches!(&*slot, Some(b) if b.gen == gen) {
            *slot = register();
        }
        let Some(buf) = slot.as_ref() else { return };
        let ts = buf.clock.now();
        buf.lock().push(make(ts), ts);
    });
}

/// A new buffer for this thread in the running trace, or `None` if no trace runs.
#[cold]
fn register() -> Option<Arc<Buffer>> {
    let mut s = session();
    let s = s.as_mut()?;
    let buf = Arc::new(Buffer::new(s.gen, s.clock));
    s.buffers.push(buf.clone());
    Some(buf)
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
    let mut first_drop: Option<u64> = None;
    for b in &sess.buffers {
        let chunks = {
            let mut inner = b.lock();
            inner.closed = true;
            dropped += inner.dropped;
            if let Some(t) = inner.first_drop {
                first_drop = Some(first_drop.map_or(t, |f| f.min(t)));
            }
            std::mem::take(&mut inner.chunks)
        };
        let mut events = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
        for chunk in chunks {
            events.extend(chunk.into_iter().map(|mut ev| {
                let ts = match &mut ev {
                    Event::Create { ts, .. }
                    | Event::Start { ts, .. }
                    | Event::Stop { ts, .. }
                    | Event::Unpark { ts, .. } => ts,
                };
                *ts = to_ns.nanos(*ts);
                ev
            }));
        }
        threads.push(events);
    }
    let end = to_ns.nanos(end);
    let first_drop = first_drop.map(|t| to_ns.nanos(t));
    Some(Finished {
        path: sess.path,
        file: sess.file,
        threads,
        end,
        dropped,
        first_drop,
    })
}
