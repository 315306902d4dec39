//! The channel itself (Go's `hchan`): the ring buffer, the two wait queues and the algorithm of
//! `chansend`, `chanrecv` and `closechan`. The handles in `chan.rs` and the select in
//! `select.rs` are thin layers over it.
//!
//! # An operation, step by step (`send`; `recv` mirrors it)
//! 1. Non-blocking only: a look without the lock, in Go's order (`closed`, then `full`): a
//!    channel seen open and then full was both at some instant, so `Full` is a true answer.
//! 2. Lock; if closed, unlock and report `Closed` (the handle panics where Go does).
//! 3. `send_locked`: hand the value straight to the first waiting receiver (into the slot its
//!    node points at), or else put it in the buffer if there is room. The receiver's unparker
//!    comes back, to be woken after unlocking.
//! 4. Otherwise, unless the call may not block: link a node pointing at a slot and a waiter in
//!    this stack frame into `sendq`, unlock, and park in `Waiter::wait`. Whoever completes the
//!    waiter (a receiver, `close`) moved the value or marked it closed; a timed-out waiter
//!    relocks, unlinks its node (a no-op if a waker already popped it) and takes its value back.
//!
//! `close` sets `closed` under the lock and completes every queued waiter with "closed". The
//! algorithms that run under the lock (`send_locked`, `recv_locked`) are shared with `select.rs`
//! and `future.rs`, which lock the channel themselves.
//!
//! # Invariants
//! The queue invariants are on [`RawChan`]. Besides them: no user code runs under the lock (a
//! value is only moved there; values left in the buffer are dropped by `Drop for RawChan`, when
//! the last handle is gone, and a value given back travels out in the `Err`); and a node linked
//! into a queue lives in a frame (or a box, for futures) that does not go away before the node is
//! unlinked, by a waker or by its owner under the lock.
//!
//! Rejected: a lock-free buffer (Go's locked design is simple and fast enough, and select needs
//! the locks anyway, see `chan/mod.rs`); boxing a waiter per blocked operation (the waiter on the
//! blocked frame costs no allocation, and that frame cannot return before it is unlinked);
//! constructing the buffer's slots one by one (`new_buf` allocates them uninitialized, so a huge
//! channel of a zero-sized type costs nothing).

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use super::lock::Lock;
use super::waiter::{Node, WaitQ, Waiter};
use crate::runtime::park::{Unparker, WaitReason};
use crate::util::fatal;

/// How long an operation may wait.
#[derive(Clone, Copy)]
pub(crate) enum Mode {
    /// Not at all (`try_*`, a select with `default`).
    NonBlock,
    /// Until it completes.
    Block,
    /// Until the deadline.
    Until(Instant),
}

/// Go's `maxAlloc` on 64-bit Linux: the largest buffer `makechan` accepts. Allocating more
/// would fail anyway (and abort the process); past it the size is a bug, not a big channel.
const MAX_ALLOC: usize = {
    let limit = 1u64 << 48;
    if limit > isize::MAX as u64 {
        isize::MAX as usize
    } else {
        limit as usize
    }
};

/// A buffer of `cap` uninitialized slots, allocated in one step: no per-slot construction, so
/// that a channel of a zero-sized type costs nothing however large its capacity.
#[track_caller]
fn new_buf<T>(cap: usize) -> Box<[UnsafeCell<MaybeUninit<T>>]> {
    let bytes = cap.checked_mul(std::mem::size_of::<T>());
    if bytes.map_or(true, |b| b > MAX_ALLOC) {
        panic!("makechan: size out of range");
    }
    let mut v: Vec<UnsafeCell<MaybeUninit<T>>> = Vec::new();
    if v.try_reserve_exact(cap).is_err() {
        panic!("makechan: size out of range");
    }
    // SAFETY: the capacity is at least `cap` (reserved above), and a slot is an
    // `UnsafeCell<MaybeUninit<T>>`, for which uninitialized memory is a valid value.
    unsafe { v.set_len(cap) };
    v.into_boxed_slice()
}

/// Why a send did not happen; the value comes back.
pub(crate) enum SendErr<T> {
    Full(T),
    Closed(T),
    Timeout(T),
}

/// Why a receive got nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RecvErr {
    Empty,
    Closed,
    Timeout,
}

/// One channel.
///
/// Invariants (after Go's chan.go), all under `lock`:
/// - at least one of `sendq` and `recvq` is empty, except for an unbuffered channel with a single
///   goroutine blocked in a select that both sends and receives on it (its own nodes never pair
///   up: a select polls every case before it links any node);
/// - buffered: `qcount > 0` implies `recvq` is empty, and `qcount < cap` implies `sendq` is
///   empty;
/// - closed: both queues are empty, and no value is ever added to the buffer again.
pub(crate) struct RawChan<T> {
    lock: Lock,
    /// Set once, under `lock`; read without it by the fast paths.
    closed: AtomicBool,
    /// Values in the buffer. Written under `lock`; read without it by the fast paths and `len`.
    qcount: AtomicUsize,
    /// Buffer capacity; 0 for an unbuffered channel.
    cap: usize,
    /// Under `lock`: index of the next value to receive.
    recvx: UnsafeCell<usize>,
    /// Under `lock`: index of the next free slot.
    sendx: UnsafeCell<usize>,
    /// Blocked receivers.
    recvq: WaitQ,
    /// Blocked senders.
    sendq: WaitQ,
    /// `cap` slots; those in `recvx .. recvx + qcount` (mod `cap`) are initialized.
    buf: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: values of `T` move between threads through the channel (hence `T: Send`); every
// non-atomic field is accessed only under `lock`, and `&RawChan` gives no access to a `&T`.
unsafe impl<T: Send> Send for RawChan<T> {}
// SAFETY: through `&RawChan` every non-atomic field is read or written only under `lock`, so
// threads sharing one never race; values leave it by move (`T: Send`), never as a shared `&T`,
// so `T: Sync` is not needed.
unsafe impl<T: Send> Sync for RawChan<T> {}

// A panic never leaves a channel half-updated: nothing that can panic runs under its lock
// (misuse panics happen after unlocking), so handles may cross `catch_unwind`.
impl<T> std::panic::UnwindSafe for RawChan<T> {}
impl<T> std::panic::RefUnwindSafe for RawChan<T> {}

impl<T> RawChan<T> {
    /// # Panics
    /// "makechan: size out of range" (Go's message) if the buffer would pass Go's allocation
    /// limit (2^48 bytes on 64-bit targets) or the allocator cannot provide it.
    #[track_caller]
    pub(crate) fn new(cap: usize) -> RawChan<T> {
        RawChan {
            lock: Lock::new(),
            closed: AtomicBool::new(false),
            qcount: AtomicUsize::new(0),
            cap,
            recvx: UnsafeCell::new(0),
            sendx: UnsafeCell::new(0),
            recvq: WaitQ::new(),
            sendq: WaitQ::new(),
            buf: new_buf(cap),
        }
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    pub(crate) fn len(&self) -> usize {
        self.qcount.load(Ordering::Relaxed)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Takes the channel lock (for the futures of `chan/future.rs`, which run the same
    /// operations as `send`/`recv` step by step).
    pub(crate) fn lock(&self) {
        self.lock.lock();
    }

    /// Releases the channel lock.
    pub(crate) fn unlock(&self) {
        self.lock.unlock();
    }

    /// Address of the channel: `==` and hashing of handles.
    pub(crate) fn key(&self) -> usize {
        self as *const Self as usize
    }

    /// The channel's lock, type-erased: select's lock order, and how it locks channels of any
    /// element type (`lock_of`).
    pub(crate) fn lock_key(&self) -> *const () {
        &self.lock as *const Lock as *const ()
    }

    /// Go's `full`: a send cannot proceed now. Racy, for the fast paths.
    #[inline]
    fn full(&self) -> bool {
        if self.cap == 0 {
            self.recvq.is_empty()
        } else {
            self.qcount.load(Ordering::Relaxed) == self.cap
        }
    }

    /// Go's `empty`: a receive cannot proceed now (unless closed). Racy, for the fast paths.
    #[inline]
    fn empty(&self) -> bool {
        if self.cap == 0 {
            self.sendq.is_empty()
        } else {
            self.qcount.load(Ordering::Relaxed) == 0
        }
    }

    // ---- under the lock ----

    /// Sends the value in `v` now if a receiver waits or the buffer has room: `Some(waker)`, the
    /// receiver to unpark once the lock is released. `None` leaves `v` untouched.
    ///
    /// # Safety
    /// The lock is held and the channel is not closed; `v` is `Some`.
    ///
    /// Async receivers waiting (notification nodes, see `chan/future.rs`) cannot take a value
    /// directly: they are popped and their unparkers pushed to `notify`, for the caller to wake
    /// once the lock is released, whether or not the send completes. Popping every one of them
    /// that stands before a plain receiver keeps Go's invariant that a value is never left in
    /// the buffer (or a sender in `sendq`) while a receiver is queued.
    pub(crate) unsafe fn send_locked(
        &self,
        v: &mut Option<T>,
        notify: &mut Vec<Unparker>,
    ) -> Option<Option<Unparker>> {
        // SAFETY: we hold the lock, which protects the queues, indices and buffer.
        unsafe {
            while let Some(c) = self.recvq.dequeue() {
                if c.is_notify() {
                    notify.push(c.complete(true));
                    continue;
                }
                // Direct hand-off into the receiver's slot (Go's `send`/`sendDirect`).
                *c.slot::<T>() = v.take();
                return Some(Some(c.complete(true)));
            }
            let n = self.qcount.load(Ordering::Relaxed);
            if n < self.cap {
                let i = *self.sendx.get();
                let Some(val) = v.take() else {
                    fatal("channel send of no value")
                };
                (*self.buf[i].get()).write(val);
                *self.sendx.get() = if i + 1 == self.cap { 0 } else { i + 1 };
                self.qcount.store(n + 1, Ordering::Relaxed);
                return Some(None);
            }
            None
        }
    }

    /// Receives now if a sender waits or the buffer holds a value: `Some((value, waker))`.
    /// A closed and drained channel is the caller's to check first.
    ///
    /// # Safety
    /// The lock is held.
    ///
    /// As `send_locked` does with async receivers, this pops the async senders of a buffered
    /// channel (notification nodes) that stand before a goroutine sender, pushing their
    /// unparkers to `notify`: the room this receive makes is theirs to fill on their next poll.
    pub(crate) unsafe fn recv_locked(
        &self,
        notify: &mut Vec<Unparker>,
    ) -> Option<(T, Option<Unparker>)> {
        // SAFETY: we hold the lock, which protects the queues, indices and buffer; slots in
        // `recvx .. recvx + qcount` are initialized.
        unsafe {
            while let Some(c) = self.sendq.dequeue() {
                if c.is_notify() {
                    notify.push(c.complete(true));
                    continue;
                }
                let sv = (*c.slot::<T>()).take();
                let Some(sv) = sv else {
                    fatal("blocked channel sender without a value")
                };
                let v = if self.cap == 0 {
                    // Unbuffered: straight from the sender.
                    sv
                } else {
                    // A sender waits only if the buffer is full: take the head and put the
                    // sender's value at the tail, which is the same slot (Go's `recv`).
                    let i = *self.recvx.get();
                    let v = (*self.buf[i].get()).assume_init_read();
                    (*self.buf[i].get()).write(sv);
                    let next = if i + 1 == self.cap { 0 } else { i + 1 };
                    *self.recvx.get() = next;
                    *self.sendx.get() = next;
                    v
                };
                return Some((v, Some(c.complete(true))));
            }
            let n = self.qcount.load(Ordering::Relaxed);
            if n > 0 {
                let i = *self.recvx.get();
                let v = (*self.buf[i].get()).assume_init_read();
                *self.recvx.get() = if i + 1 == self.cap { 0 } else { i + 1 };
                self.qcount.store(n - 1, Ordering::Relaxed);
                return Some((v, None));
            }
            None
        }
    }

    /// Whether the channel is closed and drained (a receive completes with nothing).
    ///
    /// # Safety
    /// The lock is held.
    pub(crate) unsafe fn closed_and_drained_locked(&self) -> bool {
        self.closed.load(Ordering::Relaxed) && self.qcount.load(Ordering::Relaxed) == 0
    }

    /// Links a select's receive node.
    ///
    /// # Safety
    /// As [`WaitQ::enqueue`]; the node's slot is an `UnsafeCell<Option<T>>` holding `None`.
    pub(crate) unsafe fn enqueue_recv(&self, n: *mut Node) {
        // SAFETY: the caller holds the lock and passes a valid, unlinked node that stays valid
        // until unlinked (`WaitQ::enqueue`'s contract, which this function's repeats).
        unsafe { self.recvq.enqueue(n) }
    }

    /// Links a select's send node.
    ///
    /// # Safety
    /// As [`WaitQ::enqueue`]; the node's slot is an `UnsafeCell<Option<T>>` holding `Some`.
    pub(crate) unsafe fn enqueue_send(&self, n: *mut Node) {
        // SAFETY: the caller holds the lock and passes a valid, unlinked node that stays valid
        // until unlinked (`WaitQ::enqueue`'s contract, which this function's repeats).
        unsafe { self.sendq.enqueue(n) }
    }

    /// Unlinks a receive node if still linked.
    ///
    /// # Safety
    /// As [`WaitQ::remove`].
    pub(crate) unsafe fn remove_recv(&self, n: *mut Node) {
        // SAFETY: the caller holds the lock and passes a valid node once linked into this
        // channel's receive queue (`WaitQ::remove`'s contract, which this function's repeats).
        unsafe { self.recvq.remove(n) }
    }

    /// Unlinks a send node if still linked.
    ///
    /// # Safety
    /// As [`WaitQ::remove`].
    pub(crate) unsafe fn remove_send(&self, n: *mut Node) {
        // SAFETY: the caller holds the lock and passes a valid node once linked into this
        // channel's send queue (`WaitQ::remove`'s contract, which this function's repeats).
        unsafe { self.sendq.remove(n) }
    }

    // ---- whole operations ----

    /// Go's `chansend`. A closed channel gives `Closed` back (the caller panics where Go does).
    #[inline]
    pub(crate) fn send(&self, v: T, mode: Mode) -> Result<(), SendErr<T>> {
        if let Mode::NonBlock = mode {
            // Fast path without the lock (Go's order): observing "not closed" and then "full"
            // implies a moment when the channel was both, because a closed channel never
            // becomes not-ready-for-sending. Relaxed loads suffice: nothing is read through
            // them.
            if !self.closed.load(Ordering::Relaxed) && self.full() {
                return Err(SendErr::Full(v));
            }
        }
        self.send_slow(v, mode)
    }

    /// `send` past the fast path.
    #[inline(never)]
    fn send_slow(&self, v: T, mode: Mode) -> Result<(), SendErr<T>> {
        self.lock.lock();
        if self.closed.load(Ordering::Relaxed) {
            self.lock.unlock();
            return Err(SendErr::Closed(v));
        }
        let slot = UnsafeCell::new(Some(v));
        let mut notify = Vec::new();
        // SAFETY: we hold the lock and checked `closed`; the slot is ours and unpublished.
        if let Some(wake) = unsafe { self.send_locked(&mut *slot.get(), &mut notify) } {
            self.lock.unlock();
            wake_all(notify);
            if let Some(u) = wake {
                u.unpark();
            }
            return Ok(());
        }
        let deadline = match mode {
            Mode::NonBlock => {
                self.lock.unlock();
                wake_all(notify);
                return Err(SendErr::Full(take(slot)));
            }
            Mode::Block => None,
            Mode::Until(d) => Some(d),
        };
        let waiter = Waiter::new();
        let node = UnsafeCell::new(Node::new(&waiter, slot.get() as *mut (), 0));
        // SAFETY: we hold the lock; `node`, `waiter` and `slot` live in this frame, which does
        // not return before the node is unlinked (by a waker, or by us below).
        unsafe { self.sendq.enqueue(node.get()) };
        self.lock.unlock();
        wake_all(notify);
        match waiter.wait(WaitReason::ChanSend, deadline) {
            Some((_, true)) => Ok(()),
            Some((_, false)) => Err(SendErr::Closed(take(slot))),
            None => {
                self.lock.lock();
                // SAFETY: we hold the lock; the node was linked into `sendq`.
                unsafe { self.sendq.remove(node.get()) };
                self.lock.unlock();
                Err(SendErr::Timeout(take(slot)))
            }
        }
    }

    /// Go's `chanrecv`.
    #[inline]
    pub(crate) fn recv(&self, mode: Mode) -> Result<T, RecvErr> {
        if let Mode::NonBlock = mode {
            // Fast path without the lock, in Go's order. If it looks empty and is not closed,
            // there was a moment when it was both. If it is closed, re-check emptiness: a value
            // may have arrived between the two loads.
            if self.empty() {
                // Acquire: pairs with the Release store in `close`, so the buffer count we read
                // next is at least what it was when the channel was closed.
                if !self.closed.load(Ordering::Acquire) {
                    return Err(RecvErr::Empty);
                }
                if self.empty() {
                    return Err(RecvErr::Closed);
                }
            }
        }
        self.recv_slow(mode)
    }

    /// `recv` past the fast path.
    #[inline(never)]
    fn recv_slow(&self, mode: Mode) -> Result<T, RecvErr> {
        self.lock.lock();
        let mut notify = Vec::new();
        // SAFETY: we hold the lock.
        unsafe {
            if self.closed_and_drained_locked() {
                self.lock.unlock();
                return Err(RecvErr::Closed);
            }
            if let Some((v, wake)) = self.recv_locked(&mut notify) {
                self.lock.unlock();
                wake_all(notify);
                if let Some(u) = wake {
                    u.unpark();
                }
                return Ok(v);
            }
        }
        let deadline = match mode {
            Mode::NonBlock => {
                self.lock.unlock();
                wake_all(notify);
                return Err(RecvErr::Empty);
            }
            Mode::Block => None,
            Mode::Until(d) => Some(d),
        };
        let slot: UnsafeCell<Option<T>> = UnsafeCell::new(None);
        let waiter = Waiter::new();
        let node = UnsafeCell::new(Node::new(&waiter, slot.get() as *mut (), 0));
        // SAFETY: we hold the lock; `node`, `waiter` and `slot` live in this frame, which does
        // not return before the node is unlinked (by a waker, or by us below).
        unsafe { self.recvq.enqueue(node.get()) };
        self.lock.unlock();
        wake_all(notify);
        match waiter.wait(WaitReason::ChanReceive, deadline) {
            // A close leaves the slot empty.
            Some(_) => slot.into_inner().ok_or(RecvErr::Closed),
            None => {
                self.lock.lock();
                // SAFETY: we hold the lock; the node was linked into `recvq`.
                unsafe { self.recvq.remove(node.get()) };
                self.lock.unlock();
                Err(RecvErr::Timeout)
            }
        }
    }

    /// Go's `closechan`; `Err` if already closed. Wakes every blocked receiver (with nothing)
    /// and every blocked sender (which then panics or reports `Closed`).
    pub(crate) fn close(&self) -> Result<(), ()> {
        self.lock.lock();
        if self.closed.load(Ordering::Relaxed) {
            self.lock.unlock();
            return Err(());
        }
        // Release: pairs with the Acquire load in `recv`'s fast path.
        self.closed.store(true, Ordering::Release);
        let mut wake = Vec::new();
        // SAFETY: we hold the lock.
        unsafe {
            while let Some(c) = self.recvq.dequeue() {
                wake.push(c.complete(false));
            }
            while let Some(c) = self.sendq.dequeue() {
                wake.push(c.complete(false));
            }
        }
        self.lock.unlock();
        for u in wake {
            u.unpark();
        }
        Ok(())
    }
}

/// Wakes the async receivers a send popped (see `send_locked`), with no lock held.
pub(crate) fn wake_all(notify: Vec<Unparker>) {
    for u in notify {
        u.unpark();
    }
}

/// The value of a slot that is ours again.
fn take<T>(slot: UnsafeCell<Option<T>>) -> T {
    match slot.into_inner() {
        Some(v) => v,
        None => fatal("channel slot lost its value"),
    }
}

/// The lock behind a `lock_key`.
///
/// # Safety
/// `key` is `RawChan::lock_key` of a channel that is alive for `'a`.
pub(crate) unsafe fn lock_of<'a>(key: *const ()) -> &'a Lock {
    // SAFETY: `key` points at the lock of a live channel (the caller's guarantee).
    unsafe { &*(key as *const Lock) }
}

impl<T> Drop for RawChan<T> {
    fn drop(&mut self) {
        let n = *self.qcount.get_mut();
        let mut i = *self.recvx.get_mut();
        for _ in 0..n {
            // SAFETY: slots `recvx .. recvx + qcount` hold values, and we have `&mut self`.
            unsafe { self.buf[i].get_mut().assume_init_drop() };
            i = if i + 1 == self.cap { 0 } else { i + 1 };
        }
    }
}

#[cfg(test)]
mod tests {
    //! White-box tests on plain OS threads (no runtime), small enough for Miri.

    use super::super::{Chan, Select};
    use std::time::Duration;

    #[test]
    fn threads_hand_off_and_close() {
        for cap in [0, 2] {
            let ch = Chan::new(cap);
            let tx = ch.clone();
            let t = std::thread::spawn(move || {
                for i in 0..20 {
                    tx.send(i);
                }
                tx.close();
            });
            let got: Vec<i32> = ch.iter().collect();
            assert_eq!(got, (0..20).collect::<Vec<_>>());
            t.join().unwrap();
        }
    }

    #[test]
    fn threads_select_and_timeout() {
        let a = Chan::<u8>::new(0);
        let b = Chan::<u8>::new(0);
        let (a2, b2) = (a.clone(), b.clone());
        let t = std::thread::spawn(move || {
            for i in 0..10 {
                let mut sel = Select::new();
                sel.send(&a2, i, || ()).send(&b2, i, || ());
                sel.select();
            }
        });
        let mut sum = 0;
        for _ in 0..10 {
            let mut sel = Select::new();
            sel.recv(&a, |v| v.unwrap()).recv(&b, |v| v.unwrap());
            sum += sel.select();
        }
        assert_eq!(sum, 45);
        t.join().unwrap();
        assert!(a.recv_timeout(Duration::from_millis(1)).is_err());
        assert!(b.send_timeout(1, Duration::from_millis(1)).is_err());
    }

    #[test]
    fn threads_many_cases_duplicates_and_close() {
        // More cases than fit on the stack, one channel several times, and a close that wakes
        // the parked select.
        let chans: Vec<Chan<usize>> = (0..9).map(|_| Chan::new(0)).collect();
        let c = chans.clone();
        let t = std::thread::spawn(move || {
            let mut sel = Select::new();
            for ch in c.iter().chain(c.iter().take(3)) {
                sel.recv(ch, |v| v);
            }
            sel.select()
        });
        std::thread::sleep(Duration::from_millis(5));
        chans[1].close();
        assert_eq!(t.join().unwrap(), None);
        // A select parked on a send is woken by the close and panics.
        let ch = Chan::<u8>::new(0);
        let c = ch.clone();
        let t = std::thread::spawn(move || {
            let nil = Chan::<u8>::nil();
            let mut sel = Select::new();
            sel.send(&c, 1, || ()).recv(&nil, |_| ());
            sel.select()
        });
        std::thread::sleep(Duration::from_millis(5));
        ch.close();
        assert!(t.join().is_err());
    }
}
