//! Every live goroutine of a runtime (Go's `allgs`), for dumps, metrics and deadlock detection.
//!
//! A goroutine is registered when it is spawned and removed when its record is dropped (after it
//! finished and the last `Unparker` for it went away, or when an abandoned runtime is dropped).
//! The registry holds weak references, so it never keeps a goroutine record alive by itself.
//!
//! The list is split into [`SHARDS`] shards, chosen by goroutine id, each a slab behind its own
//! mutex: two Ps spawning at once touch different shards, and insert and remove are a short
//! critical section with no allocation in the steady state (freed slots are reused). Readers
//! (a dump, `metrics()`, the deadlock detector) lock one shard at a time, so the view they get is
//! not a snapshot of one instant; each user says why that is enough.
//!
//! Rejected: one global lock (contended by every spawn on a busy runtime) and a lock-free list
//! (removal in the middle needs hazard handling for the readers; not worth it for a list that is
//! only walked when someone asks).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::g::{GRef, G};

/// How many independently locked parts the registry has.
const SHARDS: usize = 64;

pub(crate) struct AllGs {
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Default)]
struct Shard {
    /// Registered goroutines; `None` marks a free slot, whose index is in `free`.
    slots: Vec<Option<Weak<G>>>,
    free: Vec<u32>,
}

impl AllGs {
    pub(crate) fn new() -> AllGs {
        AllGs {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, g: &G) -> MutexGuard<'_, Shard> {
        let i = (g.id().as_u64() % SHARDS as u64) as usize;
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a goroutine that has just been created and is not shared yet.
    pub(crate) fn insert(&self, g: &GRef) {
        let mut s = self.shard(g);
        let w = Some(Arc::downgrade(g));
        let idx = match s.free.pop() {
            Some(i) => {
                s.slots[i as usize] = w;
                i
            }
            None => {
                s.slots.push(w);
                u32::try_from(s.slots.len() - 1)
                    .unwrap_or_else(|_| super::g::fatal("more than 2^32 goroutines in one shard"))
            }
        };
        g.registry_slot.store(idx, Ordering::Relaxed);
    }

    /// Unregisters `g`; called from `G`'s destructor.
    pub(crate) fn remove(&self, g: &G) {
        let idx = g.registry_slot.load(Ordering::Relaxed);
        if idx == u32::MAX {
            return;
        }
        let mut s = self.shard(g);
        s.slots[idx as usize] = None;
        s.free.push(idx);
    }

    /// Strong references to every registered goroutine still alive, in id order.
    pub(crate) fn snapshot(&self) -> Vec<GRef> {
        let mut v = Vec::new();
        for shard in self.shards.iter() {
            let s = shard.lock().unwrap_or_else(|e| e.into_inner());
            v.extend(s.slots.iter().flatten().filter_map(Weak::upgrade));
        }
        v.sort_by_key(|g| g.id());
        v
    }

    /// Calls `f` with every registered goroutine still alive, one shard at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&G)) {
        let mut batch: Vec<GRef> = Vec::new();
        for shard in self.shards.iter() {
            {
                let s = shard.lock().unwrap_or_else(|e| e.into_inner());
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
