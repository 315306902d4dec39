//! A goroutine's life at its two ends: `go` (Go's newproc) and exit (Go's goexit0).
//!
//! Spawning: take an id (a per-P batch of the global counter), make the G, take a stack from
//! the P's cache (or the arena from outside the runtime), build the coroutine (or leave it
//! pending, so that the M that first runs the goroutine takes the stack's first page fault),
//! count it, register it in `allgs` (dumps, the deadlock detector), trace it, and put it in
//! the caller's `runnext` (the spawner usually parks soon and the child runs at once, warm in
//! cache) or the global queue; then `wakep`, so an idle P gets an M.
//!
//! Exit: the G is dead; its stack goes back to the P's cache (or the arena's free list), the
//! count drops. The G record itself is freed when the last `GRef` (a join handle, a dump)
//! goes.
//!
//! The coroutine body (`make_coroutine`) runs the user's closure and then drops the
//! goroutine-locals the closure's wrapper did not (local.rs), in the goroutine, so that no user
//! `Drop` ever runs on a scheduler stack.

use std::io;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::g::{self, Co, GRef, GStatus, GoroutineId, G};
use super::m::M;
use super::sched::Sched;
use crate::trace;
use crate::util::fastrand;

static NEXT_GOROUTINE_ID: AtomicU64 = AtomicU64::new(1);

impl Sched {
    /// Starts a goroutine running `f` (Go's newproc): it goes to `runnext` of the caller's P, or
    /// to the global queue from outside the runtime. `site` is where `go` was called; `opts`
    /// carries what `Goroutine` set (name, stack size), checked by the caller.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        f: F,
        site: &'static Location<'static>,
        opts: super::goroutine::SpawnOpts,
    ) -> io::Result<GRef>
    where
        F: FnOnce() + Send + 'static,
    {
        if self.shutdown.load(Ordering::Relaxed) {
            return Err(io::Error::other(
                "goroutines: the runtime has been shut down",
            ));
        }
        let p = self.current_p();
        let raw_id = match &p {
            Some(p) => p.next_goid(&NEXT_GOROUTINE_ID),
            None => NEXT_GOROUTINE_ID.fetch_add(1, Ordering::Relaxed),
        };
        let id = GoroutineId(std::num::NonZeroU64::new(raw_id).expect("id overflow"));
        let parent = g::current_id();
        let mut g = G::new(
            id,
            self.clone(),
            site,
            parent.map_or(0, |p| p.as_u64()),
            opts.migratable || self.migrate_all.load(Ordering::Relaxed),
        );
        g.name = opts.name;
        let g = Arc::new(g);
        let stack_size = opts.stack_size.unwrap_or(self.stack_size);
        let stack = match &p {
            Some(p) => p.alloc_stack(stack_size)?,
            None => {
                let mut v = Vec::with_capacity(1);
                super::stack::alloc_batch(stack_size, 1, &mut v)?;
                v.pop().expect("alloc_batch returned at least one stack")
            }
        };
        if stack.touched {
            // SAFETY: `g` is new and not yet shared: we are its only owner.
            unsafe { g.install(make_coroutine(&g, stack, f)) };
        } else {
            // An untouched stack faults on first use: leave that to the M that first runs the
            // goroutine, so that a goroutine spawning many others does not take every fault
            // itself (the million example spreads its faults over all Ms this way).
            // SAFETY: `g` is new and not yet shared (no queue or registry holds it), so we are
            // its only owner.
            unsafe { g.install_pending(stack, Box::new(f)) };
        }
        match &p {
            Some(p) => p.add_goroutines(1),
            None => {
                self.ngoroutine.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.allgs
            .insert(&g, p.as_ref().map_or_else(|| fastrand() as usize, |p| p.id));
        if trace::enabled() {
            trace::go_create(
                id.as_u64(),
                parent.map(GoroutineId::as_u64),
                site,
                g.name.as_ref(),
            );
        }
        match p {
            Some(p) => p.put(g.clone(), true, &self.global),
            None => self.global.push(g.clone()),
        }
        self.wakep();
        Ok(g)
    }

    /// A goroutine finished: recycle its stack.
    pub(crate) fn goexit(&self, m: &M, g: GRef) {
        g.set_status(GStatus::Dead);
        if !g.migratable && std::ptr::eq(g.home.load(Ordering::Relaxed), m) {
            m.add_homed(-1);
        }
        if std::ptr::eq(m.locked_g.load(Ordering::Relaxed), Arc::as_ptr(&g)) {
            m.locked_g.store(std::ptr::null_mut(), Ordering::Relaxed);
        }
        // SAFETY: this M owns the finished G (g.rs module docs).
        let stack = unsafe { g.coroutine() }.take().map(|co| {
            let mut stack = std::mem::ManuallyDrop::into_inner(co).into_stack();
            stack.touched = true;
            stack
        });
        match self.current_p() {
            Some(p) => {
                if let Some(s) = stack {
                    p.free_stack(s);
                }
                p.add_goroutines(-1);
            }
            None => {
                if let Some(s) = stack {
                    super::stack::free_batch([s]);
                }
                self.ngoroutine.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

/// The coroutine that runs `f` as goroutine `g` on `stack`.
pub(crate) fn make_coroutine<F: FnOnce() + Send + 'static>(
    g: &GRef,
    stack: super::stack::Stack,
    f: F,
) -> Co {
    g.set_stack(stack.top(), stack.size());
    let gp = SendPtr(Arc::as_ptr(g));
    Co::with_stack(stack, move |yielder, ()| {
        let gp = gp;
        // SAFETY: the G owns this coroutine, so it outlives the coroutine's body.
        unsafe { (*gp.0).set_yielder(yielder) };
        f();
        // Goroutine-locals not dropped by `f`'s wrapper (a detached goroutine's): dropped
        // here, in the goroutine, never on whichever thread drops the G (local.rs). A panic
        // was reported by the hook; it ends nothing else.
        let _ = std::panic::catch_unwind(super::local::destroy_current);
    })
}

struct SendPtr(*const G);
// SAFETY: the pointer is only dereferenced by the goroutine that the G describes, on whatever M
// runs it; the G is `Sync`.
unsafe impl Send for SendPtr {}
