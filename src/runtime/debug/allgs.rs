//! Every live goroutine of a runtime (Go's `allgs`), for dumps, metrics and deadlock detection.
//!
//! A goroutine is registered when it is spawned and removed when its record is dropped (after it
//! finished and the last `Unparker` for it went away, or when an abandoned runtime is dropped).
//! The registry holds weak references, so it never keeps a goroutine record alive by itself.
//!
//! The list is split into [`SHARDS`] shards, each a slab behind its own mutex on its own cache
//! line. A goroutine goes into the shard of the P that spawns it (P id modulo [`SHARDS`]), and is
//! usually removed by the M of that same P, which ran it to completion: two Ps spawning at once
//! touch different shards, and the shard's lock and memory stay in that P's cache (sharding by
//! goroutine id instead made every M touch every shard, and cost CreateGoroutines a third of its
//! time in cache misses). Insert and remove are a short critical section with no allocation in
//! the steady state (freed slots are reused). Readers
//! (a dump, `metrics()`, the deadlock detector) lock one shard at a time, so the view they get is
//! not a snapshot of one instant; each user says why that is enough.
//!
//! Rejected: one global lock (contended by every spawn on a busy runtime) and a lock-free list
//! (removal in the middle needs hazard handling for the readers; not worth it for a list that is
//! only walked when someone asks).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::runtime::g::{GRef, G};

/// How many independently locked parts the registry has.
const SHARDS: usize = 64;

pub(crate) struct AllGs {
    shards: Box<[Padded]>,
}

/// A shard on cache lines of its own (two lines: adjacent-line prefetch pairs them).
#[repr(align(128))]
struct Padded(Mutex<Shard>);

#[derive(Default)]
struct Shard {
    /// Registered goroutines; `None` marks a free slot, whose index is in `free`.
    slots: Vec<Option<Weak<G>>>,
    free: Vec<u32>,
}

impl AllGs {
    pub(crate) fn new() -> AllGs {
        AllGs {
            shards: (0..SHARDS)
                .map(|_| Padded(Mutex::new(Shard::default())))
                .collect(),
        }
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        crate::util::lock(&self.shards[shard % SHARDS].0)
    }

    /// Registers a goroutine that has just been created and is not shared yet, in the shard of
    /// P `pid` (any number will do for a spawn from outside the runtime).
    pub(crate) fn insert(&self, g: &GRef, pid: usize) {
        let shard = pid % SHARDS;
        let mut s = self.lock(shard);
        let w = Some(Arc::downgrade(g));
        let idx = match s.free.pop() {
            Some(i) => {
                s.slots[i as usize] = w;
                i
            }
            None => {
                s.slots.push(w);
                u32::try_from(s.slots.len() - 1).unwrap_or_else(|_| {
                    crate::util::fatal("more than 2^32 goroutines in one shard")
                })
            }
        };
        g.registry_shard.store(shard as u32, Ordering::Relaxed);
        g.registry_slot.store(idx, Ordering::Relaxed);
    }

    /// Unregisters `g`; called from `G`'s destructor.
    pub(crate) fn remove(&self, g: &G) {
        let idx = g.registry_slot.load(Ordering::Relaxed);
        if idx == u32::MAX {
            return;
        }
        let mut s = self.lock(g.registry_shard.load(Ordering::Relaxed) as usize);
        s.slots[idx as usize] = None;
        s.free.push(idx);
    }

    /// Strong references to every registered goroutine still alive, in id order.
    pub(crate) fn snapshot(&self) -> Vec<GRef> {
        let mut v = Vec::new();
        for i in 0..SHARDS {
            let s = self.lock(i);
            v.extend(s.slots.iter().flatten().filter_map(Weak::upgrade));
        }
        v.sort_by_key(|g| g.id());
        v
    }

    /// Calls `f` with every registered goroutine still alive, one shard at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&G)) {
        let mut batch: Vec<GRef> = Vec::new();
        for i in 0..SHARDS {
            {
                let s = self.lock(i);
                batch.extend(s.slots.iter().flatten().filter_map(Weak::upgrade));
            }
            // Outside the lock: dropping the last reference runs `G`'s destructor, which locks
            // this shard to unregister itself.
            for g in batch.drain(..) {
                f(&g);
            }
        }
    }
}
