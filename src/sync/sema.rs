//! Wait queues: Go's runtime semaphores (`runtime/sema.go`) and the notify list behind `Cond`.
//!
//! # Semaphores keyed by address
//!
//! A semaphore here is any `AtomicU32` count owned by a primitive (the `sema` word of a
//! [`Mutex`](super::Mutex), a `WaitGroup`, an `RwLock`). [`semacquire`] waits until the count is
//! positive and decrements it; [`semrelease`] increments it and wakes one waiter. The waiters do
//! not live in the primitive: as in Go, a process-wide table of 251 buckets, picked by hashing
//! the count's address, holds them, so a primitive costs only its two words and an idle one costs
//! nothing else. Each bucket has a lock, a doubly linked list of waiters (of every address that
//! hashes there, in arrival order) and `nwait`, the number of waiters queued or about to queue,
//! which lets [`semrelease`] skip the lock when nobody waits.
//!
//! The protocol:
//! 1. `semacquire` tries to decrement the count (`cansemacquire`); done if it can.
//! 2. Otherwise it locks the bucket, increments `nwait`, and tries once more: a `semrelease`
//!    that incremented the count before seeing `nwait` is caught here (both sides are `SeqCst`,
//!    the Dekker pattern: either the acquirer sees the new count or the releaser sees `nwait`).
//! 3. It queues its waiter record at the tail (or, with `lifo`, at the head: a mutex waiter that
//!    was woken and lost the race goes back to the front), unlocks and parks until `woken`.
//! 4. `semrelease` increments the count, and if `nwait` is not zero locks the bucket, unlinks the
//!    first waiter of its address, and after unlocking marks it `woken` and unparks it. With
//!    `handoff` (a mutex in starvation mode) the releaser takes the count on the waiter's behalf
//!    and sets its `ticket`, so a newcomer cannot steal it: the waiter returns owning it, and
//!    the releaser yields so that the waiter (now in its P's `runnext`) runs at once.
//! 5. A woken waiter without a ticket competes for the count again from step 1 (via step 2).
//!
//! Waiter records live on the waiting goroutine's stack (or OS thread's): a waiter does not
//! return before a waker has unlinked it and set `woken`, and a waker touches the record only
//! under the bucket lock or before that `woken` store (it clones the unparker first). A
//! goroutine's record never leaves a queue on its own (nothing here times out).
//!
//! # Async waiters
//! A future (`WaitGroup::wait_async`, `Mutex::lock_async`) waits with an [`AsyncSemaWaiter`]: a
//! boxed record whose unparker wakes the task's `Waker`, so step 3 returns `Pending` instead of
//! parking. It may leave the queue when the future is dropped, but only under the bucket lock
//! and only while still linked (`linked`, cleared by whoever unlinks): a waker that has unlinked
//! the record owns it until `woken`, and the owner spins for that store (the waker is a few
//! instructions from it). A re-poll replaces the unparker under the same rule. So a record is
//! never freed while a queue or a waker can reach it. What the owner's primitive must undo on
//! cancellation (a waiter count, a wake-up meant for it) is the primitive's business.
//!
//! # Notify lists
//!
//! [`NotifyList`] is Go's `notifyList`: the ticket queue of `Cond`. `add` takes a ticket before
//! the caller unlocks its mutex, `wait(ticket)` parks unless that ticket was already notified,
//! `notify_one` wakes the oldest unnotified ticket and `notify_all` every ticket taken so far.
//! Because tickets are numbered when the waiter announces itself (under the user's mutex), a
//! signal goes to a goroutine that was waiting when it was sent, never to a later arrival.
//!
//! Rejected: a wait queue inside each primitive (a std mutex and a list head would triple the
//! size of `Mutex<()>`); a futex per primitive (no FIFO order and no hand-off for starvation
//! mode, and no goroutine parking).

use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex as StdMutex, MutexGuard as StdMutexGuard};

use crate::runtime::g;
use crate::runtime::park::{self, Unparker, WaitReason};
use crate::util::lock;

/// One waiting goroutine or thread, on its own stack while it waits.
struct Waiter {
    /// The address of the semaphore count, or the ticket number in a notify list.
    key: usize,
    /// Replaced only by an async waiter's owner, under the list's lock while `linked`
    /// (`AsyncSemaWaiter::poll_woken`); read by the waker after unlinking.
    unparker: UnsafeCell<Unparker>,
    /// Whether the record is in a list; read and written only under the list's lock (kept for
    /// semaphore waiters; records of notify lists leave through `take_all` without clearing it).
    linked: UnsafeCell<bool>,
    /// Neighbours in the bucket's list; read and written only under the list's lock.
    prev: UnsafeCell<*const Waiter>,
    next: UnsafeCell<*const Waiter>,
    /// Set to 1 by a hand-off `semrelease` before `woken` (the Release store publishes it).
    ticket: AtomicU32,
    /// Set by the waker after unlinking the record; the waiter may return once it reads true.
    woken: AtomicBool,
}

impl Waiter {
    fn new(key: usize) -> Waiter {
        Waiter {
            key,
            unparker: UnsafeCell::new(park::current()),
            linked: UnsafeCell::new(false),
            prev: UnsafeCell::new(ptr::null()),
            next: UnsafeCell::new(ptr::null()),
            ticket: AtomicU32::new(0),
            woken: AtomicBool::new(false),
        }
    }

    /// Parks until a waker has unlinked this record and set `woken`.
    fn park_until_woken(&self, reason: WaitReason) {
        // Acquire: pairs with the Release store in `wake`, so the waker's writes (the ticket,
        // the count or lock state it handed over) are visible once we see `woken`.
        while !self.woken.load(Ordering::Acquire) {
            park::park(reason);
        }
    }
}

/// Wakes a waiter that the caller has unlinked (so it is no longer reachable by anyone else).
///
/// # Safety
/// `w` points to a waiter record that is unlinked, not yet woken, and was unlinked by the
/// caller; its owner is parked or about to park in `park_until_woken`, so the record is live.
unsafe fn wake(w: *const Waiter, ticket: u32) {
    // SAFETY: per the contract the record is live until we store `woken`; we clone the unparker
    // before that store, because the owner may return (and its stack frame vanish) right after.
    let u = unsafe { (*(*w).unparker.get()).clone() };
    // SAFETY: the record is live (the contract) and this runs before the `woken` store below,
    // after which the owner may free it; `ticket` and `woken` are atomics, so the owner's
    // concurrent Acquire load of `woken` is no data race.
    unsafe {
        (*w).ticket.store(ticket, Ordering::Relaxed);
        // Release: pairs with the Acquire load in `park_until_woken`.
        (*w).woken.store(true, Ordering::Release);
    }
    u.unpark();
}

/// An intrusive FIFO of waiter records. Every access happens under the lock that owns it.
struct Queue {
    head: *const Waiter,
    tail: *const Waiter,
}

// SAFETY: the raw pointers refer to waiter records that stay live while linked (module docs);
// the queue is only touched under its std mutex, from whichever thread holds it.
unsafe impl Send for Queue {}

impl Queue {
    const fn new() -> Queue {
        Queue {
            head: ptr::null(),
            tail: ptr::null(),
        }
    }

    /// Links `w` at the tail, or at the head with `lifo`.
    ///
    /// # Safety
    /// `w` is live and not linked anywhere, and stays live until unlinked.
    unsafe fn push(&mut self, w: *const Waiter, lifo: bool) {
        // SAFETY: `w` and every linked record are live (contract and module docs), and we hold
        // the queue's lock, which guards the link fields.
        unsafe {
            *(*w).linked.get() = true;
            if self.head.is_null() {
                *(*w).prev.get() = ptr::null();
                *(*w).next.get() = ptr::null();
                self.head = w;
                self.tail = w;
            } else if lifo {
                *(*w).prev.get() = ptr::null();
                *(*w).next.get() = self.head;
                *(*self.head).prev.get() = w;
                self.head = w;
            } else {
                *(*w).prev.get() = self.tail;
                *(*w).next.get() = ptr::null();
                *(*self.tail).next.get() = w;
                self.tail = w;
            }
        }
    }

    /// Unlinks and returns the first waiter with `key`, or null.
    fn remove_first(&mut self, key: usize) -> *const Waiter {
        let mut w = self.head;
        // SAFETY: linked records are live and their links are guarded by the lock we hold.
        unsafe {
            while !w.is_null() {
                if (*w).key == key {
                    self.unlink(w);
                    return w;
                }
                w = *(*w).next.get();
            }
        }
        ptr::null()
    }

    /// Unlinks `w`.
    ///
    /// # Safety
    /// `w` is linked into this queue; the caller holds its lock.
    unsafe fn unlink(&mut self, w: *const Waiter) {
        // SAFETY: linked records are live and their links are guarded by the lock we hold.
        unsafe {
            *(*w).linked.get() = false;
            let (prev, next) = (*(*w).prev.get(), *(*w).next.get());
            if prev.is_null() {
                self.head = next;
            } else {
                *(*prev).next.get() = next;
            }
            if next.is_null() {
                self.tail = prev;
            } else {
                *(*next).prev.get() = prev;
            }
        }
    }

    /// Unlinks every waiter and returns them as a chain (follow `next` before waking each).
    fn take_all(&mut self) -> *const Waiter {
        let h = self.head;
        self.head = ptr::null();
        self.tail = ptr::null();
        h
    }
}

/// Wakes a chain returned by `Queue::take_all`.
///
/// # Safety
/// Every record in the chain was unlinked by the caller and is live until woken.
unsafe fn wake_chain(mut w: *const Waiter) {
    while !w.is_null() {
        // SAFETY: `w` is live until we wake it; read its successor first.
        let next = unsafe { *(*w).next.get() };
        // SAFETY: unlinked by our caller, woken once here.
        unsafe { wake(w, 0) };
        w = next;
    }
}

fn lock_queue(m: &StdMutex<Queue>) -> StdMutexGuard<'_, Queue> {
    // Nothing panics while holding a queue lock, so poisoning cannot happen; ignore it anyway.
    lock(m)
}

// ---- semaphores ----

/// Go's `semTabSize`: a prime, so addresses spread over the buckets.
const SEM_TABLE_SIZE: usize = 251;

/// One bucket of the semaphore table, on its own cache line.
#[repr(align(64))]
struct Bucket {
    /// Waiters queued here (any address) plus acquirers between steps 2 and 3; `SeqCst`
    /// (module docs, step 2).
    nwait: AtomicU32,
    queue: StdMutex<Queue>,
}

impl Bucket {
    const fn new() -> Bucket {
        Bucket {
            nwait: AtomicU32::new(0),
            queue: StdMutex::new(Queue::new()),
        }
    }
}

static SEM_TABLE: [Bucket; SEM_TABLE_SIZE] = [const { Bucket::new() }; SEM_TABLE_SIZE];

fn bucket(addr: usize) -> &'static Bucket {
    &SEM_TABLE[(addr >> 3) % SEM_TABLE_SIZE]
}

/// Decrements `sema` if it is positive.
#[inline]
fn cansemacquire(sema: &AtomicU32) -> bool {
    // SeqCst: the acquirer's read in step 2's Dekker pattern with `nwait` (module docs); a stale
    // value costs only a failed compare-and-swap below.
    let mut v = sema.load(Ordering::SeqCst);
    loop {
        if v == 0 {
            return false;
        }
        // SeqCst: the acquirer's half of the Dekker pattern with `nwait` (module docs, step 2);
        // it also acquires what the releaser published with its SeqCst increment.
        match sema.compare_exchange_weak(v, v - 1, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return true,
            Err(cur) => v = cur,
        }
    }
}

/// Waits until `*sema > 0`, then decrements it (Go's `semacquire1`). With `lifo` the caller
/// queues at the front of this address's waiters.
pub(crate) fn semacquire(sema: &AtomicU32, lifo: bool, reason: WaitReason) {
    if cansemacquire(sema) {
        return;
    }
    let addr = sema as *const AtomicU32 as usize;
    let b = bucket(addr);
    let w = Waiter::new(addr);
    loop {
        let mut q = lock_queue(&b.queue);
        // SeqCst: pairs with the SeqCst load of `nwait` in `semrelease` (module docs, step 2).
        b.nwait.fetch_add(1, Ordering::SeqCst);
        if cansemacquire(sema) {
            // SeqCst: `nwait` is accessed only in step 2's SeqCst order (module docs); this
            // un-counts us: we took the count and will not queue.
            b.nwait.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        w.woken.store(false, Ordering::Relaxed);
        // SAFETY: `w` lives on this frame, is not linked (fresh, or unlinked by the waker that
        // woke it last round), and we do not return before a waker unlinks it and sets `woken`.
        unsafe { q.push(&w, lifo) };
        drop(q);
        w.park_until_woken(reason);
        if w.ticket.load(Ordering::Relaxed) != 0 || cansemacquire(sema) {
            return;
        }
    }
}

/// Increments `*sema` and wakes one waiter of it (Go's `semrelease1`). With `handoff` the count
/// goes straight to the oldest waiter, which returns without competing for it.
pub(crate) fn semrelease(sema: &AtomicU32, handoff: bool) {
    let addr = sema as *const AtomicU32 as usize;
    let b = bucket(addr);
    // SeqCst: the releaser's half of the Dekker pattern with `nwait` (module docs, step 2); it
    // also publishes the caller's writes to the acquirer's SeqCst decrement.
    sema.fetch_add(1, Ordering::SeqCst);
    if b.nwait.load(Ordering::SeqCst) == 0 {
        return;
    }
    let mut q = lock_queue(&b.queue);
    // SeqCst: the same Dekker read, again under the lock, where a counted waiter has queued.
    if b.nwait.load(Ordering::SeqCst) == 0 {
        return;
    }
    let w = q.remove_first(addr);
    if w.is_null() {
        return;
    }
    // SeqCst: `nwait` is accessed only in step 2's SeqCst order (module docs); this
    // un-counts the waiter just unlinked, under the bucket lock.
    b.nwait.fetch_sub(1, Ordering::SeqCst);
    drop(q);
    let ticket = u32::from(handoff && cansemacquire(sema));
    // SAFETY: we unlinked `w` under the bucket lock; its owner waits for `woken`.
    unsafe { wake(w, ticket) };
    if ticket != 0 && g::in_goroutine() && !std::thread::panicking() {
        // Direct hand-off (Go's goyield here): the waiter now owns what we released and sits in
        // our P's `runnext`; let it run at once rather than after our next block, since nobody
        // else can take the mutex meanwhile. Not while unwinding (a guard dropped by a panic):
        // the panic count is per OS thread, so a goroutine must not switch threads mid-unwind.
        crate::runtime::yield_now();
    }
}

// ---- async waiters ----

/// A future's place in a semaphore's wait queue (`WaitGroup::wait_async`): the record of the
/// module docs, boxed so that it outlives no frame, woken through the task's `Waker`.
///
/// Unlike a goroutine's record it may leave the queue on its own ([`AsyncSemaWaiter::cancel`]),
/// under the bucket lock, and only while still linked: once a waker has unlinked it, the waker
/// owns it until `woken`, and the owner waits for that (a few instructions of the waker's).
pub(crate) struct AsyncSemaWaiter {
    rec: Box<Waiter>,
    addr: usize,
}

// SAFETY: the record's raw links and cells are touched only under the bucket lock or, after
// `woken`, by the owner alone (module docs); the unparker is `Send + Sync`.
unsafe impl Send for AsyncSemaWaiter {}
// SAFETY: the `&self` methods (`poll_woken`, `ticket`, `cancel`) read the atomics `woken` and
// `ticket`, and touch `linked`, the links and the unparker only under the bucket lock, so two
// threads sharing one cannot race on its cells.
unsafe impl Sync for AsyncSemaWaiter {}

impl AsyncSemaWaiter {
    /// Steps 1 to 3 of `semacquire` for a future: `None` if the count was taken at once,
    /// otherwise the queued record (at the front with `lifo`), woken through `waker`.
    pub(crate) fn acquire(
        sema: &AtomicU32,
        lifo: bool,
        waker: &std::task::Waker,
    ) -> Option<AsyncSemaWaiter> {
        if cansemacquire(sema) {
            return None;
        }
        let addr = sema as *const AtomicU32 as usize;
        let mut rec = Box::new(Waiter::new(addr));
        *rec.unparker.get_mut() = Unparker::for_waker(waker.clone());
        let b = bucket(addr);
        let mut q = lock_queue(&b.queue);
        // SeqCst: pairs with the SeqCst load of `nwait` in `semrelease` (module docs, step 2).
        b.nwait.fetch_add(1, Ordering::SeqCst);
        if cansemacquire(sema) {
            // SeqCst: `nwait` is accessed only in step 2's SeqCst order (module docs); this
            // un-counts us: we took the count and will not queue.
            b.nwait.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        // SAFETY: the record is boxed (a stable address), unlinked, and the box is not freed
        // before the record is unlinked and woken (`cancel`, `Drop` of the owner's future).
        unsafe { q.push(&*rec, lifo) };
        drop(q);
        Some(AsyncSemaWaiter { rec, addr })
    }

    /// Whether a waker has unlinked and woken the record; if not, makes `waker` the one it
    /// will wake.
    pub(crate) fn poll_woken(&self, waker: &std::task::Waker) -> bool {
        // Acquire: pairs with the Release store in `wake`.
        if self.rec.woken.load(Ordering::Acquire) {
            return true;
        }
        let q = lock_queue(&bucket(self.addr).queue);
        // SAFETY: we hold the bucket lock, which guards `linked`, and while the record is
        // linked no waker has taken it, so the unparker is ours to replace.
        unsafe {
            if *self.rec.linked.get() {
                let u = &mut *self.rec.unparker.get();
                if !u.wakes(waker) {
                    *u = Unparker::for_waker(waker.clone());
                }
                return false;
            }
        }
        drop(q);
        // Unlinked: a waker is between its unlink and its `woken` store.
        self.wait_woken();
        true
    }

    /// Whether the waker handed the count over (a hand-off `semrelease`).
    pub(crate) fn ticket(&self) -> bool {
        self.rec.ticket.load(Ordering::Relaxed) != 0
    }

    /// Leaves the queue if the record is still linked and `decide` (run under the bucket lock,
    /// so that no `semrelease` can pop the record meanwhile) agrees: returns true. Otherwise
    /// waits until a waker has woken the record and returns false.
    pub(crate) fn cancel(&self, decide: impl FnOnce() -> bool) -> bool {
        let b = bucket(self.addr);
        let mut q = lock_queue(&b.queue);
        // SAFETY: we hold the bucket lock, which guards `linked` and the links.
        unsafe {
            if *self.rec.linked.get() && decide() {
                q.unlink(&*self.rec);
                // SeqCst: `nwait` is accessed only in step 2's SeqCst order (module docs);
                // this un-counts the record we unlinked, under the bucket lock.
                b.nwait.fetch_sub(1, Ordering::SeqCst);
                // The record is ours alone again: mark it settled for `Drop`.
                self.rec.woken.store(true, Ordering::Relaxed);
                return true;
            }
        }
        drop(q);
        self.wait_woken();
        false
    }

    /// Spins until `woken`: called only once the record is unlinked, or sure to be unlinked by
    /// a waker already under way (a `semrelease` that will find it).
    fn wait_woken(&self) {
        // Acquire: as in `poll_woken`.
        while !self.rec.woken.load(Ordering::Acquire) {
            std::hint::spin_loop();
            std::thread::yield_now();
        }
    }
}

impl Drop for AsyncSemaWaiter {
    /// Frees the record only once no queue and no waker can reach it: a record still linked
    /// (an owner that did not `cancel`) is unlinked here, so the box never dangles.
    fn drop(&mut self) {
        // Acquire: as in `poll_woken`.
        if self.rec.woken.load(Ordering::Acquire) {
            return;
        }
        let b = bucket(self.addr);
        let mut q = lock_queue(&b.queue);
        // SAFETY: we hold the bucket lock, which guards `linked` and the links.
        unsafe {
            if *self.rec.linked.get() {
                q.unlink(&*self.rec);
                // SeqCst: `nwait` is accessed only in step 2's SeqCst order (module docs);
                // this un-counts the record we unlinked, under the bucket lock.
                b.nwait.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        }
        drop(q);
        self.wait_woken();
    }
}

/// `cansemacquire` for the async waiters of other modules.
pub(crate) fn try_semacquire(sema: &AtomicU32) -> bool {
    cansemacquire(sema)
}

// ---- notify lists (Cond) ----

/// Go's `notifyList`: ticket-ordered waiters of a `Cond`.
pub(crate) struct NotifyList {
    /// The next ticket to hand out; atomic, taken without the lock.
    wait: AtomicU32,
    /// The next ticket to notify; written only under `queue`'s lock, read without it on the
    /// fast paths.
    notify: AtomicU32,
    queue: StdMutex<Queue>,
}

/// `a < b` on wrapping ticket numbers.
fn less(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl NotifyList {
    pub(crate) const fn new() -> NotifyList {
        NotifyList {
            wait: AtomicU32::new(0),
            notify: AtomicU32::new(0),
            queue: StdMutex::new(Queue::new()),
        }
    }

    /// Takes a ticket; called while the caller still holds the user's mutex.
    pub(crate) fn add(&self) -> u32 {
        // SeqCst: pairs with the SeqCst loads of the notify fast paths, so a notifier that runs
        // after this (ordered by the user's mutex) sees the ticket.
        self.wait.fetch_add(1, Ordering::SeqCst)
    }

    /// Parks until `ticket` has been notified (at once if it already was).
    pub(crate) fn wait(&self, ticket: u32, reason: WaitReason) {
        let mut q = lock_queue(&self.queue);
        if less(ticket, self.notify.load(Ordering::Relaxed)) {
            return;
        }
        let w = Waiter::new(ticket as usize);
        // SAFETY: `w` lives on this frame, is fresh, and we return only after a notifier has
        // unlinked it and set `woken`.
        unsafe { q.push(&w, false) };
        drop(q);
        w.park_until_woken(reason);
    }

    /// Wakes the waiter with the oldest unnotified ticket, if any.
    pub(crate) fn notify_one(&self) {
        // Fast path: no ticket taken since the last notification (SeqCst: pairs with `add`).
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        let mut q = lock_queue(&self.queue);
        let t = self.notify.load(Ordering::Relaxed);
        // SeqCst: pairs with `add`; Relaxed would do for `notify` (written only under this lock).
        if t == self.wait.load(Ordering::SeqCst) {
            return;
        }
        // SeqCst: pairs with the lock-free fast-path loads of `notify` here and in `notify_all`
        // (`wait` reads it under the queue lock, which this store is under too).
        self.notify.store(t.wrapping_add(1), Ordering::SeqCst);
        // The ticket's owner may not have queued yet; then it will see `notify` past its ticket
        // in `wait` and not park.
        let w = q.remove_first(t as usize);
        drop(q);
        if !w.is_null() {
            // SAFETY: unlinked by us under the lock; its owner waits for `woken`.
            unsafe { wake(w, 0) };
        }
    }

    /// Wakes every waiter with a ticket taken so far.
    pub(crate) fn notify_all(&self) {
        // Fast path: no ticket taken since the last notification (SeqCst: the `wait` load pairs
        // with `add`, the `notify` load with the stores under the queue lock).
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        let mut q = lock_queue(&self.queue);
        let chain = q.take_all();
        // SeqCst: the `wait` load pairs with `add` (every ticket taken so far is released); the
        // store pairs with the fast-path loads, as in `notify_one`.
        self.notify
            .store(self.wait.load(Ordering::SeqCst), Ordering::SeqCst);
        drop(q);
        // SAFETY: the whole chain was unlinked by us under the lock.
        unsafe { wake_chain(chain) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_before_acquire_does_not_block() {
        let s = AtomicU32::new(0);
        semrelease(&s, false);
        semacquire(&s, false, WaitReason::Semacquire);
        assert_eq!(s.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn threads_hand_counts_around() {
        static S: AtomicU32 = AtomicU32::new(0);
        let hs: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| semacquire(&S, false, WaitReason::Semacquire)))
            .collect();
        for i in 0..4 {
            semrelease(&S, i % 2 == 0);
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(S.load(Ordering::Relaxed), 0);
    }

    /// Tickets are served in order: `notify_one` releases the oldest ticket only (a wait on it
    /// returns at once, even though it starts after the notify), and `notify_all` the rest.
    #[test]
    fn notify_list_tickets() {
        use std::sync::atomic::AtomicBool;
        use std::sync::mpsc;
        use std::time::Duration;
        static L: NotifyList = NotifyList::new();
        static SECOND_DONE: AtomicBool = AtomicBool::new(false);
        let t1 = L.add();
        let t2 = L.add();
        assert_ne!(t1, t2);
        L.notify_one();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            L.wait(t1, WaitReason::SyncCondWait);
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a wait on an already notified ticket returns at once");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            L.wait(t2, WaitReason::SyncCondWait);
            // Relaxed: only the flag's own value is read below; nothing else is published.
            SECOND_DONE.store(true, Ordering::Relaxed);
            tx.send(()).unwrap();
        });
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            !SECOND_DONE.load(Ordering::Relaxed),
            "notify_one released a second ticket"
        );
        L.notify_all();
        rx.recv_timeout(Duration::from_secs(10))
            .expect("notify_all releases the remaining ticket");
    }
}
