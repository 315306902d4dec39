//! Waiters: what a blocked sender, receiver or select leaves in a channel's wait queue (Go's
//! `sudog`), and the queues themselves.
//!
//! A blocking operation builds one [`Waiter`] for itself and one [`Node`] per channel it waits
//! on (one for a send or receive, one per case for a select), all in its own stack frame, links
//! the nodes into the channels' queues under their locks, and parks. Goroutine stacks never move
//! and an OS thread's frame stays put while it is parked, so the nodes stay valid for as long as
//! they are linked; the waiter unlinks every node that a waker did not unlink before it returns.
//!
//! # The hand-off protocol
//! 1. The waiter's `state` starts `WAITING`.
//! 2. A waker, holding the lock of the channel whose queue it pops a node from, claims the waiter
//!    with a compare-and-swap `WAITING -> CLAIMED`. Exactly one party wins it: the first waker of
//!    a select, or the waiter itself giving up at its deadline (`WAITING -> CANCELLED`). A waker
//!    that loses skips the node (it is already popped) and tries the next one.
//! 3. The winning waker moves the value through the node's slot, writes `fired` (the case index)
//!    and `success` (false when the wake-up is a close), takes the waiter's `Unparker` out, and
//!    only then stores `DONE` (Release). From that store on it never touches the waiter or the
//!    node again, because the waiter may return and its frame disappear.
//! 4. The waker releases the channel lock and then unparks the waiter, so the woken goroutine
//!    does not immediately contend on the lock its waker still holds.
//! 5. The waiter parks in a loop until it reads `DONE` (Acquire); `park` may return spuriously,
//!    and a token left over from a waker that finished after we stopped waiting is just such a
//!    spurious return.
//!
//! # Alternatives rejected
//! A reference-counted heap waiter (`Arc`) would free the waker from the "never touch after
//! DONE" rule, at the price of an allocation per blocking operation; the stack frame is free
//! and cannot move. Queues are intrusive doubly linked lists, as Go's `waitq`, so a select or a
//! timed-out waiter unlinks its node in O(1) even from a queue of thousands (`ChanPopular`).

use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use std::time::Instant;

use crate::runtime::park::{self, Unparker, WaitReason};
use crate::util::fatal;

/// Nobody has claimed the waiter yet.
const WAITING: u8 = 0;
/// A waker won the waiter and is completing it under a channel lock.
const CLAIMED: u8 = 1;
/// The waker finished: `fired`, `success` and the slot are final.
const DONE: u8 = 2;
/// The waiter gave up at its deadline; wakers skip it.
const CANCELLED: u8 = 3;

/// One blocked operation (a send, a receive or a whole select).
pub(crate) struct Waiter {
    /// `WAITING`, `CLAIMED`, `DONE` or `CANCELLED` (see the module docs).
    state: AtomicU8,
    /// Taken by the winning waker under the channel lock, before `DONE`.
    unparker: UnsafeCell<Option<Unparker>>,
    /// The case index of the node that fired: written by the winner before `DONE`.
    fired: UnsafeCell<usize>,
    /// False if the waker was a close: written by the winner before `DONE`.
    success: UnsafeCell<bool>,
}

impl Waiter {
    /// A waiter for the calling goroutine or thread.
    pub(crate) fn new() -> Waiter {
        Waiter {
            state: AtomicU8::new(WAITING),
            unparker: UnsafeCell::new(Some(park::current())),
            fired: UnsafeCell::new(0),
            success: UnsafeCell::new(false),
        }
    }

    /// A waiter that `unparker` wakes: an async task's (`Unparker::for_waker`).
    pub(crate) fn with_unparker(u: Unparker) -> Waiter {
        Waiter {
            state: AtomicU8::new(WAITING),
            unparker: UnsafeCell::new(Some(u)),
            fired: UnsafeCell::new(0),
            success: UnsafeCell::new(false),
        }
    }

    /// Whether a waker completed this waiter; if so, `success` is final.
    pub(crate) fn done(&self) -> Option<bool> {
        // Acquire: pairs with the Release store of DONE in `Claimed::complete`.
        if self.state.load(Ordering::Acquire) == DONE {
            // SAFETY: DONE is final for this arming and was stored after the last write.
            Some(unsafe { *self.success.get() })
        } else {
            None
        }
    }

    /// Replaces the unparker of a waiter still waiting (a future re-polled by another task or
    /// with a new waker).
    ///
    /// # Safety
    /// The lock of the only channel the waiter's node is linked into is held, and `done()` is
    /// `None` under it (so no waker has claimed it: claims happen under that lock).
    pub(crate) unsafe fn set_unparker(&self, u: Unparker) {
        // SAFETY: no waker can claim the waiter while we hold the lock (caller's guarantee), so
        // nobody else touches the field.
        unsafe { *self.unparker.get() = Some(u) };
    }

    /// Whether the waiter's unparker already wakes `w`.
    ///
    /// # Safety
    /// As [`Waiter::set_unparker`].
    pub(crate) unsafe fn wakes(&self, w: &std::task::Waker) -> bool {
        // SAFETY: the caller holds the lock of the waiter's channel and no waker has claimed
        // the waiter (claims happen under that lock), so nobody writes the field meanwhile.
        unsafe { (*self.unparker.get()).as_ref().is_some_and(|u| u.wakes(w)) }
    }

    /// Makes a completed waiter wait again, woken by `u`.
    ///
    /// # Safety
    /// `done()` returned `Some` (so the waker is finished with it and its node is unlinked), and
    /// the caller links its node again only after this call.
    pub(crate) unsafe fn rearm(&mut self, u: Unparker) {
        *self.unparker.get_mut() = Some(u);
        *self.state.get_mut() = WAITING;
    }

    /// Parks until a waker completes this waiter and returns `(fired, success)`; with a deadline,
    /// returns `None` once the deadline has passed and the waiter cancelled itself first. After
    /// `None` the caller must unlink its nodes under their channels' locks.
    ///
    /// Call it after linking the nodes and releasing the locks.
    pub(crate) fn wait(
        &self,
        reason: WaitReason,
        mut deadline: Option<Instant>,
    ) -> Option<(usize, bool)> {
        loop {
            // Acquire: pairs with the Release store of DONE in `Claimed::complete`, making the
            // waker's writes to `fired`, `success` and the slot visible.
            if self.state.load(Ordering::Acquire) == DONE {
                // SAFETY: DONE is final and was stored after the last write to these fields;
                // nobody writes them again.
                return Some(unsafe { (*self.fired.get(), *self.success.get()) });
            }
            match deadline {
                None => park::park(reason),
                Some(d) => {
                    if Instant::now() >= d {
                        // Relaxed: on success we own the waiter outright (nobody else will touch
                        // it); on failure a waker owns it and we wait for its DONE above.
                        match self.state.compare_exchange(
                            WAITING,
                            CANCELLED,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        ) {
                            Ok(_) => return None,
                            // Claimed: the waker will store DONE and unpark us soon.
                            Err(_) => deadline = None,
                        }
                    } else {
                        park::park_until(reason, d);
                    }
                }
            }
        }
    }
}

/// A waiter's entry in one channel queue (one per case of a select).
///
/// All fields are read and written only under the lock of the channel whose queue the node is
/// (or was) linked into, or by the owner before it links the node.
#[doc(hidden)]
pub struct Node {
    prev: *mut Node,
    next: *mut Node,
    waiter: *const Waiter,
    /// Points at the owner's `UnsafeCell<Option<T>>`: the value to send, or the place for the
    /// received value.
    slot: *mut (),
    /// The select case this node stands for (0 for a plain send or receive).
    case: usize,
}

impl Node {
    pub(crate) const EMPTY: Node = Node {
        prev: ptr::null_mut(),
        next: ptr::null_mut(),
        waiter: ptr::null(),
        slot: ptr::null_mut(),
        case: 0,
    };

    /// A node for `waiter`, with its slot at `slot`.
    pub(crate) fn new(waiter: &Waiter, slot: *mut (), case: usize) -> Node {
        Node {
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
            waiter,
            slot,
            case,
        }
    }
}

/// A FIFO queue of nodes (Go's `waitq`), protected by its channel's lock.
///
/// `first` is also read without the lock, by the non-blocking fast paths of unbuffered channels
/// ("is anybody waiting?"), hence atomic; every write happens under the lock.
pub(crate) struct WaitQ {
    first: AtomicPtr<Node>,
    last: AtomicPtr<Node>,
}

impl WaitQ {
    pub(crate) const fn new() -> WaitQ {
        WaitQ {
            first: AtomicPtr::new(ptr::null_mut()),
            last: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Whether the queue is empty, readable without the lock (a racy hint).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: the fast paths only need some recent value; see `RawChan::full`.
        self.first.load(Ordering::Relaxed).is_null()
    }

    /// Links `n` at the tail.
    ///
    /// # Safety
    /// The channel lock is held; `n` is valid, unlinked, and stays valid until it is unlinked.
    pub(crate) unsafe fn enqueue(&self, n: *mut Node) {
        let last = self.last.load(Ordering::Relaxed);
        // SAFETY: the caller guarantees `n` is valid; `last` is a linked node of this queue,
        // valid while linked, and we hold the lock that protects both.
        unsafe {
            (*n).next = ptr::null_mut();
            (*n).prev = last;
            if last.is_null() {
                self.first.store(n, Ordering::Relaxed);
            } else {
                (*last).next = n;
            }
        }
        self.last.store(n, Ordering::Relaxed);
    }

    /// Pops nodes from the head until one whose waiter it can claim; nodes of waiters already
    /// claimed or cancelled are dropped from the queue (their owners unlink nothing then).
    ///
    /// # Safety
    /// The channel lock is held.
    pub(crate) unsafe fn dequeue(&self) -> Option<Claimed> {
        loop {
            let n = self.first.load(Ordering::Relaxed);
            if n.is_null() {
                return None;
            }
            // SAFETY: linked nodes are valid (their owners unlink them under this lock before
            // they return), and we hold the lock.
            unsafe {
                let next = (*n).next;
                if next.is_null() {
                    self.first.store(ptr::null_mut(), Ordering::Relaxed);
                    self.last.store(ptr::null_mut(), Ordering::Relaxed);
                } else {
                    (*next).prev = ptr::null_mut();
                    self.first.store(next, Ordering::Relaxed);
                    (*n).next = ptr::null_mut();
                }
                // Relaxed: the CAS only arbitrates who owns the waiter. The node's contents
                // and the waiter's fields were published to us by the channel lock (the owner
                // linked the node under it); the waiter learns of our writes through DONE.
                if (*(*n).waiter)
                    .state
                    .compare_exchange(WAITING, CLAIMED, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    return Some(Claimed { node: n });
                }
            }
        }
    }

    /// Unlinks `n` if it is still linked (Go's `dequeueSudoG`).
    ///
    /// # Safety
    /// The channel lock is held; `n` is valid and was linked into this queue at some point.
    pub(crate) unsafe fn remove(&self, n: *mut Node) {
        // SAFETY: the caller guarantees `n` is valid; its neighbours are linked nodes, valid
        // while linked; we hold the lock.
        unsafe {
            let x = (*n).prev;
            let y = (*n).next;
            if !x.is_null() {
                if !y.is_null() {
                    (*x).next = y;
                    (*y).prev = x;
                    (*n).next = ptr::null_mut();
                    (*n).prev = ptr::null_mut();
                } else {
                    (*x).next = ptr::null_mut();
                    self.last.store(x, Ordering::Relaxed);
                    (*n).prev = ptr::null_mut();
                }
                return;
            }
            if !y.is_null() {
                (*y).prev = ptr::null_mut();
                self.first.store(y, Ordering::Relaxed);
                (*n).next = ptr::null_mut();
                return;
            }
            // No neighbours: either the only node, or already popped by a waker.
            if self.first.load(Ordering::Relaxed) == n {
                self.first.store(ptr::null_mut(), Ordering::Relaxed);
                self.last.store(ptr::null_mut(), Ordering::Relaxed);
            }
        }
    }
}

/// A node popped from a queue whose waiter we won: the waker's obligation to complete it.
pub(crate) struct Claimed {
    node: *mut Node,
}

impl Claimed {
    /// Whether the node is an async receiver's notification node (no slot): the waker wakes
    /// it and hands it nothing (see `chan/future.rs`).
    ///
    /// # Safety
    /// The channel lock is still held.
    pub(crate) unsafe fn is_notify(&self) -> bool {
        // SAFETY: the node is valid until `complete` (its owner waits for DONE).
        unsafe { (*self.node).slot.is_null() }
    }

    /// The node's slot, typed.
    ///
    /// # Safety
    /// The node belongs to a queue of a channel of `T` (its slot is an `Option<T>`), and the
    /// channel lock is still held.
    pub(crate) unsafe fn slot<T>(&self) -> *mut Option<T> {
        // SAFETY: the node is valid until `complete` (its owner waits for DONE).
        unsafe { (*self.node).slot as *mut Option<T> }
    }

    /// Finishes the hand-off: records the case and `success`, releases the waiter, and returns
    /// its unparker, to be used after the channel lock is released.
    ///
    /// # Safety
    /// The channel lock is still held.
    pub(crate) unsafe fn complete(self, success: bool) -> Unparker {
        // SAFETY: we won the CLAIMED state, so until we store DONE we alone access the waiter's
        // fields, and the waiter (on its owner's frame) stays valid because its owner waits
        // for DONE.
        unsafe {
            let w = &*(*self.node).waiter;
            *w.fired.get() = (*self.node).case;
            *w.success.get() = success;
            let u = match (*w.unparker.get()).take() {
                Some(u) => u,
                None => fatal("channel waiter completed twice"),
            };
            // Release: pairs with the Acquire load in `Waiter::wait`. After this store the
            // waiter may return at once: we must not touch it or the node again.
            w.state.store(DONE, Ordering::Release);
            u
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Links nodes 0..n of `nodes` into `q`.
    fn link(q: &WaitQ, nodes: &[UnsafeCell<Node>]) {
        for n in nodes {
            // SAFETY: the nodes outlive the queue's use in each test; no other thread.
            unsafe { q.enqueue(n.get()) };
        }
    }

    /// Pops everything claimable, returning the case indices in order.
    fn drain(q: &WaitQ) -> Vec<usize> {
        let mut out = Vec::new();
        // SAFETY: single-threaded; the nodes and waiters outlive the calls.
        while let Some(c) = unsafe { q.dequeue() } {
            // SAFETY: `dequeue` returned a claimed node of ours; the node and its waiter are
            // live locals of the test, and no other thread touches them.
            unsafe {
                out.push((*c.node).case);
                c.complete(true);
            }
        }
        out
    }

    #[test]
    fn fifo_remove_and_skip() {
        let ws: Vec<Waiter> = (0..5).map(|_| Waiter::new()).collect();
        let nodes: Vec<UnsafeCell<Node>> = (0..5)
            .map(|i| UnsafeCell::new(Node::new(&ws[i], ptr::null_mut(), i)))
            .collect();
        let q = WaitQ::new();
        link(&q, &nodes);
        // SAFETY: single-threaded; nodes 0, 2 and 4 are linked (first, middle, last).
        unsafe {
            q.remove(nodes[2].get());
            q.remove(nodes[0].get());
            q.remove(nodes[4].get());
            // Removing twice is a no-op.
            q.remove(nodes[4].get());
        }
        assert_eq!(drain(&q), [1, 3]);
        assert!(q.is_empty());
        // A popped node's later removal (a select cleaning up) does nothing.
        // SAFETY: `remove`'s contract: node 1 is a live local that was linked into `q` (and
        // popped by `drain`); the test is single-threaded, which stands in for the lock.
        unsafe { q.remove(nodes[1].get()) };
        assert!(q.is_empty());
    }

    #[test]
    fn cancelled_and_claimed_waiters_are_skipped() {
        let ws: Vec<Waiter> = (0..3).map(|_| Waiter::new()).collect();
        let nodes: Vec<UnsafeCell<Node>> = (0..3)
            .map(|i| UnsafeCell::new(Node::new(&ws[i], ptr::null_mut(), i)))
            .collect();
        let q = WaitQ::new();
        link(&q, &nodes);
        ws[0].state.store(CANCELLED, Ordering::Relaxed);
        ws[1].state.store(DONE, Ordering::Relaxed);
        assert_eq!(drain(&q), [2]);
        assert!(q.is_empty());
        assert_eq!(ws[2].wait(WaitReason::Zero, None), Some((2, true)));
    }

    #[test]
    fn deadline_cancels() {
        let w = Waiter::new();
        let d = Instant::now() + std::time::Duration::from_millis(2);
        assert_eq!(w.wait(WaitReason::Zero, Some(d)), None);
        assert_eq!(w.state.load(Ordering::Relaxed), CANCELLED);
    }
}
