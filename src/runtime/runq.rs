//! Run queues: the 256-slot local ring of each P and the global queue.
//!
//! The local ring is Go's `runq`: single producer (the M that owns the P), many consumers (the
//! owner, and thieves from other Ms). `head` and `tail` are free-running `u32` counters; slot `i`
//! holds the goroutine at position `i % 256`.
//!
//! Invariants:
//! - Only the owner writes `tail` and writes slots, and only in `[tail, head + 256)`: slots that
//!   no consumer can still be reading, because every consumer claims a slot by advancing `head`
//!   past it with a compare-and-swap after reading it.
//! - A consumer reads slots `[head, head + n)` and then claims them with one CAS of `head`; if
//!   the CAS fails, another consumer took some of them first, the read values are discarded and
//!   the consumer retries. So each goroutine is taken exactly once.
//! - `tail - head` is at most 256 as seen by the owner.
//!
//! The queue stores `Arc<G>` as raw pointers; a slot's pointer owns one strong count from the
//! moment the owner publishes it until the consumer that claims it turns it back into an `Arc`.
//!
//! The global queue is a mutex-protected `VecDeque`, with its length mirrored in an atomic so
//! that schedulers can skip the lock when it is empty.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::g::{GRef, G};
use crate::util::lock;

pub(crate) const LOCAL_QUEUE_SIZE: u32 = 256;
const MASK: u32 = LOCAL_QUEUE_SIZE - 1;

pub(crate) struct LocalQueue {
    /// Next slot to consume. Advanced by CAS by the owner and by thieves.
    head: AtomicU32,
    /// Next slot to fill. Written only by the owner.
    tail: AtomicU32,
    slots: Box<[AtomicPtr<G>]>,
}

impl LocalQueue {
    pub(crate) fn new() -> Self {
        LocalQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: (0..LOCAL_QUEUE_SIZE)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        }
    }

    /// Approximate number of queued goroutines.
    pub(crate) fn len(&self) -> u32 {
        // Acquire: pairs with the head CAS and the owner's Release tail store; the length is a hint
        // either way.
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(LOCAL_QUEUE_SIZE)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Owner only: appends `g`, or, when the ring is full, moves half of it plus `g` to `global`.
    pub(crate) fn push(&self, g: GRef, global: &GlobalQueue) {
        let mut g = g;
        loop {
            g = match self.push_if_room(g) {
                Ok(()) => return,
                Err(g) => g,
            };
            // Acquire: pairs with the AcqRel head CAS of the consumer that last claimed slots, so
            // its reads of those slots happened before the owner reuses them.
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Relaxed);
            match self.push_slow(g, head, tail, global) {
                Ok(()) => return,
                Err(back) => g = back,
            }
        }
    }

    /// Owner only: appends `g` if the ring has room.
    fn push_if_room(&self, g: GRef) -> Result<(), GRef> {
        // Acquire: pairs with consumers' CAS of `head` (AcqRel), so their reads of the slots we
        // are about to overwrite happened before our writes.
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Relaxed);
        if tail.wrapping_sub(head) >= LOCAL_QUEUE_SIZE {
            return Err(g);
        }
        self.slots[(tail & MASK) as usize].store(Arc::into_raw(g) as *mut G, Ordering::Relaxed);
        // Release: publishes the slot write to consumers that Acquire-load `tail`.
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Moves half the ring and `g` to the global queue in one lock acquisition (Go's runqputslow).
    fn push_slow(&self, g: GRef, head: u32, tail: u32, global: &GlobalQueue) -> Result<(), GRef> {
        if tail.wrapping_sub(head) < LOCAL_QUEUE_SIZE {
            // A thief made room since `push_if_room` looked: take the fast path again.
            return Err(g);
        }
        let n = LOCAL_QUEUE_SIZE / 2;
        let mut batch: Vec<*mut G> = Vec::with_capacity(n as usize + 1);
        for i in 0..n {
            batch.push(self.slots[(head.wrapping_add(i) & MASK) as usize].load(Ordering::Relaxed));
        }
        // AcqRel: claims the slots read above (see the module invariants).
        if self
            .head
            .compare_exchange(
                head,
                head.wrapping_add(n),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Err(g);
        }
        let mut items: Vec<GRef> = batch
            .into_iter()
            // SAFETY: the CAS claimed these slots; each holds a pointer from `Arc::into_raw` whose
            // strong count now passes to us.
            .map(|p| unsafe { Arc::from_raw(p as *const G) })
            .collect();
        items.push(g);
        global.push_batch(items);
        Ok(())
    }

    /// Owner only: takes the goroutine at the head.
    pub(crate) fn pop(&self) -> Option<GRef> {
        loop {
            // Acquire: pairs with the AcqRel head CAS of the consumer that last claimed slots, so
            // its reads of those slots happened before the owner reuses them.
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Relaxed);
            if tail == head {
                return None;
            }
            let p = self.slots[(head & MASK) as usize].load(Ordering::Relaxed);
            if self
                .head
                .compare_exchange(
                    head,
                    head.wrapping_add(1),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                // SAFETY: the CAS claimed the slot; its pointer came from `Arc::into_raw`.
                return Some(unsafe { Arc::from_raw(p as *const G) });
            }
        }
    }

    /// Thief: moves about half of `self` into `dst` (whose owner is the caller) and returns one
    /// goroutine to run at once.
    pub(crate) fn steal_into(&self, dst: &LocalQueue) -> Option<GRef> {
        let dst_tail = dst.tail.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the AcqRel head CAS of the consumer that last claimed slots, so
            // its reads of those slots happened before the owner reuses them.
            let head = self.head.load(Ordering::Acquire);
            // Acquire: pairs with the victim owner's Release store of `tail`, so the slots below
            // it are visible.
            let tail = self.tail.load(Ordering::Acquire);
            let avail = tail.wrapping_sub(head);
            if avail == 0 || avail > LOCAL_QUEUE_SIZE {
                // Empty, or an inconsistent snapshot (head moved past our tail read): retry later.
                if avail == 0 {
                    return None;
                }
                continue;
            }
            let room = LOCAL_QUEUE_SIZE - dst.len();
            let n = (avail - avail / 2).min(room);
            if n == 0 {
                return None;
            }
            for i in 0..n {
                let p = self.slots[(head.wrapping_add(i) & MASK) as usize].load(Ordering::Relaxed);
                dst.slots[(dst_tail.wrapping_add(i) & MASK) as usize].store(p, Ordering::Relaxed);
            }
            if self
                .head
                .compare_exchange(
                    head,
                    head.wrapping_add(n),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_err()
            {
                // Another consumer got some of them: the copies in `dst` are beyond its `tail`,
                // so they are simply overwritten next time.
                continue;
            }
            // The last one is returned to run now; the rest are published in `dst`.
            let last =
                dst.slots[(dst_tail.wrapping_add(n - 1) & MASK) as usize].load(Ordering::Relaxed);
            if n > 1 {
                dst.tail
                    .store(dst_tail.wrapping_add(n - 1), Ordering::Release);
            }
            // SAFETY: claimed by the CAS above; the pointer came from `Arc::into_raw`.
            return Some(unsafe { Arc::from_raw(last as *const G) });
        }
    }

    /// Owner only, when retiring the P: takes everything.
    pub(crate) fn drain(&self) -> Vec<GRef> {
        let mut v = Vec::new();
        while let Some(g) = self.pop() {
            v.push(g);
        }
        v
    }
}

impl Drop for LocalQueue {
    fn drop(&mut self) {
        // Remaining goroutines are abandoned (their runtime is gone); release their counts.
        while let Some(g) = self.pop() {
            drop(g);
        }
    }
}

/// The global run queue (Go's `sched.runq`).
pub(crate) struct GlobalQueue {
    queue: Mutex<VecDeque<GRef>>,
    len: AtomicUsize,
}

impl GlobalQueue {
    pub(crate) fn new() -> Self {
        GlobalQueue {
            queue: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
        }
    }

    pub(crate) fn len(&self) -> usize {
        // SeqCst: as in `push`: the global queue's half of the waking protocol's pair.
        self.len.load(Ordering::SeqCst)
    }

    pub(crate) fn push(&self, g: GRef) {
        let mut q = lock(&self.queue);
        q.push_back(g);
        // SeqCst: a submitter stores here and then loads the idle counts; an M going idle stores
        // its idle count and then loads this. Either sees the other (see `sched::wakep`).
        self.len.store(q.len(), Ordering::SeqCst);
    }

    pub(crate) fn push_batch(&self, items: Vec<GRef>) {
        let mut q = lock(&self.queue);
        // SeqCst: as in `push`: the global queue's half of the waking protocol's pair.
        q.extend(items);
        self.len.store(q.len(), Ordering::SeqCst);
    }

    /// Takes one goroutine to run and moves up to `max` more into `local` (Go's globrunqget).
    pub(crate) fn pop_into(
        &self,
        local: &LocalQueue,
        global_share: usize,
        max: usize,
    ) -> Option<GRef> {
        if self.len() == 0 {
            return None;
        }
        let mut q = lock(&self.queue);
        let g = q.pop_front();
        let n = global_share
            .min(max)
            .min(q.len())
            .min((LOCAL_QUEUE_SIZE / 2) as usize);
        for _ in 0..n {
            let x = q.pop_front().expect("length checked");
            if let Err(x) = local.push_if_room(x) {
                q.push_front(x);
                break;
            }
        }
        // SeqCst: as in `push`: the global queue's half of the waking protocol's pair.
        self.len.store(q.len(), Ordering::SeqCst);
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::g::GoroutineId;
    use crate::runtime::sched::Sched;
    use std::collections::HashSet;
    use std::num::NonZeroU64;
    use std::sync::atomic::AtomicBool;

    fn g(sched: &Arc<Sched>, id: u64) -> GRef {
        Arc::new(G::new(
            GoroutineId(NonZeroU64::new(id).unwrap()),
            sched.clone(),
            std::panic::Location::caller(),
            0,
            false,
        ))
    }

    /// Stealing from an empty queue finds nothing; stealing takes half.
    #[test]
    fn steal_half_and_from_empty() {
        let sched = Sched::new(1, 64 * 1024);
        let (a, b, global) = (LocalQueue::new(), LocalQueue::new(), GlobalQueue::new());
        assert!(a.steal_into(&b).is_none());
        for i in 1..=10 {
            a.push(g(&sched, i), &global);
        }
        let first = a.steal_into(&b).expect("a non-empty victim gives work");
        assert_eq!(b.len() + 1, 5, "a thief takes half");
        assert_eq!(a.len(), 5);
        assert_eq!(
            first.id().as_u64(),
            5,
            "the thief runs the last goroutine it took"
        );
        assert_eq!(
            a.pop().unwrap().id().as_u64(),
            6,
            "the victim keeps its order"
        );
    }

    /// A full ring moves half of itself and the new goroutine to the global queue.
    #[test]
    fn overflow_goes_to_global() {
        let sched = Sched::new(1, 64 * 1024);
        let (a, global) = (LocalQueue::new(), GlobalQueue::new());
        for i in 1..=LOCAL_QUEUE_SIZE as u64 + 1 {
            a.push(g(&sched, i), &global);
        }
        assert_eq!(a.len(), LOCAL_QUEUE_SIZE / 2);
        assert_eq!(global.len(), LOCAL_QUEUE_SIZE as usize / 2 + 1);
    }

    /// One owner pushing and popping, three thieves stealing: every goroutine is taken exactly
    /// once.
    #[test]
    fn concurrent_steal_takes_each_once() {
        let sched = Sched::new(1, 64 * 1024);
        let victim = Arc::new(LocalQueue::new());
        let global = Arc::new(GlobalQueue::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..3)
            .map(|_| {
                let (victim, stop) = (victim.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mine = LocalQueue::new();
                    let mut got = Vec::new();
                    while !stop.load(Ordering::SeqCst) || !victim.is_empty() {
                        if let Some(g) = victim.steal_into(&mine) {
                            got.push(g.id().as_u64());
                        }
                        while let Some(g) = mine.pop() {
                            got.push(g.id().as_u64());
                        }
                    }
                    got
                })
            })
            .collect();
        let n = 200_000u64;
        let mut owner_got = Vec::new();
        for i in 1..=n {
            victim.push(g(&sched, i), &global);
            if i % 3 == 0 {
                if let Some(g) = victim.pop() {
                    owner_got.push(g.id().as_u64());
                }
            }
        }
        stop.store(true, Ordering::SeqCst);
        let mut all: Vec<u64> = owner_got;
        for t in thieves {
            all.extend(t.join().unwrap());
        }
        while let Some(g) = global.pop_into(&LocalQueue::new(), 0, 0) {
            all.push(g.id().as_u64());
        }
        let set: HashSet<u64> = all.iter().copied().collect();
        assert_eq!(set.len(), all.len(), "a goroutine was taken twice");
        assert_eq!(all.len() as u64, n, "a goroutine was lost");
    }
}
