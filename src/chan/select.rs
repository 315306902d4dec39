//! `select`: wait on several channel operations and perform exactly one (Go's `selectgo`).
//!
//! The [`select!`](crate::select!) macro and the dynamic [`Select`] builder both turn their
//! cases into [`Case`] objects (one per `recv` or `send`, each owning its value slot) and call
//! [`select`], which runs Go's algorithm:
//!
//! 1. One case: the plain send or receive (with its lock-free fast path if non-blocking), as Go
//!    compiles a one-case select.
//! 2. Build a random poll order of the non-nil cases (a uniform shuffle with `fastrandn`) and a
//!    lock order: the cases sorted by channel address.
//! 3. Lock every channel in lock order, each once even if it appears in several cases.
//! 4. Poll the cases in poll order; the first that can proceed (a waiting partner, buffer room
//!    or a value, a closed channel) completes under the locks, which are then released, and its
//!    partner, if any, is unparked. A send on a closed channel unlocks and panics.
//! 5. None ready and a `default` exists: unlock and take the default.
//! 6. Otherwise link one node per case into its channel's queue, all pointing at one
//!    [`Waiter`] of this goroutine, unlock, and park until a waker claims the waiter (the first
//!    waker wins the compare-and-swap; see `waiter.rs`).
//! 7. Lock all channels again and unlink the nodes of the cases that did not fire (a waker on
//!    another channel may have popped one already; `WaitQ::remove` copes), then unlock.
//!
//! The random poll order gives the uniform choice among ready cases that Go promises; the
//! address lock order makes two selects over the same channels unable to deadlock.

use std::cell::{Cell, UnsafeCell};

use super::chan::{block_forever, Chan, RecvChan, SendChan};
use super::raw::{lock_of, wake_all, Mode, RawChan, RecvErr, SendErr};
use super::waiter::{Node, Waiter};
use crate::runtime::park::{Unparker, WaitReason};
use crate::util::fastrandn;

/// A value that can stand in a `recv` case of [`select!`](crate::select!) or [`Select`]:
/// `Chan<T>`, `RecvChan<T>`, references to them, and `Option` of any of these (`None` acts as
/// the nil channel and turns the case off).
///
/// ```
/// use goroutines::{select, Chan};
///
/// let ch = Chan::new(1);
/// ch.send(1);
/// let off: Option<&Chan<i32>> = None;
/// select! {
///     recv(off) -> _ => unreachable!(),
///     recv(ch) -> v => assert_eq!(v, Some(1)),
/// }
/// ```
pub trait SelectRecv {
    /// The channel's element type.
    type Item;
    /// The channel to receive from; `None` (or a nil channel) is never ready.
    fn recv_chan(&self) -> Option<&Chan<Self::Item>>;
}

/// A value that can stand in a `send` case of [`select!`](crate::select!) or [`Select`]:
/// `Chan<T>`, `SendChan<T>`, references to them, and `Option` of any of these.
///
/// ```
/// use goroutines::{select, Chan};
///
/// let ch = Chan::new(1);
/// let tx = ch.sender();
/// select! {
///     send(tx, 7) => {},
/// }
/// assert_eq!(ch.recv(), Some(7));
/// ```
pub trait SelectSend {
    /// The channel's element type.
    type Item;
    /// The channel to send on; `None` (or a nil channel) is never ready.
    fn send_chan(&self) -> Option<&Chan<Self::Item>>;
}

impl<T> SelectRecv for Chan<T> {
    type Item = T;
    fn recv_chan(&self) -> Option<&Chan<T>> {
        Some(self)
    }
}

impl<T> SelectRecv for RecvChan<T> {
    type Item = T;
    fn recv_chan(&self) -> Option<&Chan<T>> {
        Some(self.chan())
    }
}

impl<X: SelectRecv + ?Sized> SelectRecv for &X {
    type Item = X::Item;
    fn recv_chan(&self) -> Option<&Chan<X::Item>> {
        (**self).recv_chan()
    }
}

impl<X: SelectRecv> SelectRecv for Option<X> {
    type Item = X::Item;
    fn recv_chan(&self) -> Option<&Chan<X::Item>> {
        self.as_ref().and_then(|x| x.recv_chan())
    }
}

impl<T> SelectSend for Chan<T> {
    type Item = T;
    fn send_chan(&self) -> Option<&Chan<T>> {
        Some(self)
    }
}

impl<T> SelectSend for SendChan<T> {
    type Item = T;
    fn send_chan(&self) -> Option<&Chan<T>> {
        Some(self.chan())
    }
}

impl<X: SelectSend + ?Sized> SelectSend for &X {
    type Item = X::Item;
    fn send_chan(&self) -> Option<&Chan<X::Item>> {
        (**self).send_chan()
    }
}

impl<X: SelectSend> SelectSend for Option<X> {
    type Item = X::Item;
    fn send_chan(&self) -> Option<&Chan<X::Item>> {
        self.as_ref().and_then(|x| x.send_chan())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// What polling a case under its channel's lock found.
#[doc(hidden)]
pub enum Poll {
    /// Cannot proceed now.
    NotReady,
    /// Completed; unpark this partner once the locks are released.
    Fired(Option<Unparker>),
    /// A send case on a closed channel: the select panics.
    SendClosed,
}

/// One case of a select, as the engine sees it. Implemented only by this module's case types.
#[doc(hidden)]
pub trait Case: sealed::Sealed {
    /// The channel's lock, type-erased (its address orders the locking), or null for a nil
    /// channel.
    fn key(&self) -> *const ();
    /// Whether this is a send case.
    fn is_send(&self) -> bool;
    /// The case alone, as a plain operation, blocking or not.
    fn single(&self, block: bool) -> Poll;
    /// Tries to complete now.
    ///
    /// # Safety
    /// The channel is non-nil and locked.
    ///
    /// The async waiters it popped go to `notify` (`RawChan::send_locked`, `recv_locked`), for
    /// the select to wake once it has unlocked.
    unsafe fn poll(&self, notify: &mut Vec<Unparker>) -> Poll;
    /// Where a partner moves the value: an `UnsafeCell<Option<T>>` owned by the case.
    fn slot(&self) -> *mut ();
    /// Links `node` into the channel's queue.
    ///
    /// # Safety
    /// The channel is non-nil and locked; `node` points at this case's slot and stays valid
    /// until unlinked.
    unsafe fn enqueue(&self, node: *mut Node);
    /// Unlinks `node` if still linked.
    ///
    /// # Safety
    /// The channel is locked; `node` was passed to `enqueue`.
    unsafe fn dequeue(&self, node: *mut Node);
    /// Marks this case as the one chosen.
    fn set_fired(&self);
}

/// A `recv` case: the channel and the place for the received value.
#[doc(hidden)]
pub struct RecvCase<C: SelectRecv> {
    ch: C,
    slot: UnsafeCell<Option<C::Item>>,
    fired: Cell<bool>,
}

impl<C: SelectRecv> RecvCase<C> {
    pub fn new(ch: C) -> Self {
        RecvCase {
            ch,
            slot: UnsafeCell::new(None),
            fired: Cell::new(false),
        }
    }

    /// Whether this case was chosen, and what it received (`None`: closed).
    pub fn finish(self) -> (bool, Option<C::Item>) {
        (self.fired.get(), self.slot.into_inner())
    }

    fn raw(&self) -> Option<&RawChan<C::Item>> {
        self.ch.recv_chan().and_then(Chan::raw)
    }

    fn raw_locked(&self) -> &RawChan<C::Item> {
        match self.raw() {
            Some(r) => r,
            None => crate::util::fatal("select locked a nil channel"),
        }
    }
}

impl<C: SelectRecv> sealed::Sealed for RecvCase<C> {}

impl<C: SelectRecv> Case for RecvCase<C> {
    fn key(&self) -> *const () {
        self.raw().map_or(std::ptr::null(), RawChan::lock_key)
    }

    fn is_send(&self) -> bool {
        false
    }

    fn single(&self, block: bool) -> Poll {
        let Some(raw) = self.raw() else {
            if block {
                block_forever(WaitReason::ChanReceiveNilChan)
            }
            return Poll::NotReady;
        };
        let mode = if block { Mode::Block } else { Mode::NonBlock };
        match raw.recv(mode) {
            Ok(v) => {
                // SAFETY: the slot is not published: no node points at it.
                unsafe { *self.slot.get() = Some(v) };
                Poll::Fired(None)
            }
            Err(RecvErr::Closed) => Poll::Fired(None),
            Err(RecvErr::Empty | RecvErr::Timeout) => Poll::NotReady,
        }
    }

    unsafe fn poll(&self, notify: &mut Vec<Unparker>) -> Poll {
        let raw = self.raw_locked();
        // SAFETY: the caller holds the lock.
        unsafe {
            if raw.closed_and_drained_locked() {
                return Poll::Fired(None);
            }
            match raw.recv_locked(notify) {
                Some((v, wake)) => {
                    // SAFETY: no node points at the slot yet (polling precedes linking).
                    *self.slot.get() = Some(v);
                    Poll::Fired(wake)
                }
                None => Poll::NotReady,
            }
        }
    }

    fn slot(&self) -> *mut () {
        self.slot.get() as *mut ()
    }

    unsafe fn enqueue(&self, node: *mut Node) {
        // SAFETY: `Case::enqueue`'s contract: the channel is locked and `node` is valid until
        // unlinked and points at this case's slot, an `UnsafeCell<Option<T>>` that holds `None`
        // (a receive case's slot is filled only by a partner, after linking).
        unsafe { self.raw_locked().enqueue_recv(node) }
    }

    unsafe fn dequeue(&self, node: *mut Node) {
        // SAFETY: `Case::dequeue`'s contract: the channel is locked and `node` went through
        // `enqueue`, so it was linked into this channel's receive queue.
        unsafe { self.raw_locked().remove_recv(node) }
    }

    fn set_fired(&self) {
        self.fired.set(true);
    }
}

/// A `send` case: the channel and the value to send.
#[doc(hidden)]
pub struct SendCase<C: SelectSend> {
    ch: C,
    slot: UnsafeCell<Option<C::Item>>,
    fired: Cell<bool>,
}

impl<C: SelectSend> SendCase<C> {
    pub fn new(ch: C, v: C::Item) -> Self {
        SendCase {
            ch,
            slot: UnsafeCell::new(Some(v)),
            fired: Cell::new(false),
        }
    }

    /// Whether this case was chosen. A value not sent is dropped here.
    pub fn finish(self) -> (bool, ()) {
        (self.fired.get(), ())
    }

    fn raw(&self) -> Option<&RawChan<C::Item>> {
        self.ch.send_chan().and_then(Chan::raw)
    }

    fn raw_locked(&self) -> &RawChan<C::Item> {
        match self.raw() {
            Some(r) => r,
            None => crate::util::fatal("select locked a nil channel"),
        }
    }
}

impl<C: SelectSend> sealed::Sealed for SendCase<C> {}

impl<C: SelectSend> Case for SendCase<C> {
    fn key(&self) -> *const () {
        self.raw().map_or(std::ptr::null(), RawChan::lock_key)
    }

    fn is_send(&self) -> bool {
        true
    }

    fn single(&self, block: bool) -> Poll {
        let Some(raw) = self.raw() else {
            if block {
                block_forever(WaitReason::ChanSendNilChan)
            }
            return Poll::NotReady;
        };
        // SAFETY: the slot is not published: no node points at it.
        let Some(v) = (unsafe { (*self.slot.get()).take() }) else {
            return Poll::NotReady;
        };
        let mode = if block { Mode::Block } else { Mode::NonBlock };
        match raw.send(v, mode) {
            Ok(()) => Poll::Fired(None),
            Err(SendErr::Closed(_)) => Poll::SendClosed,
            Err(SendErr::Full(v) | SendErr::Timeout(v)) => {
                // SAFETY: still unpublished: `single` never links a node, so no partner can
                // point at the slot while we put the value back.
                unsafe { *self.slot.get() = Some(v) };
                Poll::NotReady
            }
        }
    }

    unsafe fn poll(&self, notify: &mut Vec<Unparker>) -> Poll {
        let raw = self.raw_locked();
        if raw.is_closed() {
            return Poll::SendClosed;
        }
        // SAFETY: the caller holds the lock and we checked `closed`; no node points at the slot
        // yet (polling precedes linking).
        match unsafe { raw.send_locked(&mut *self.slot.get(), notify) } {
            Some(wake) => Poll::Fired(wake),
            None => Poll::NotReady,
        }
    }

    fn slot(&self) -> *mut () {
        self.slot.get() as *mut ()
    }

    unsafe fn enqueue(&self, node: *mut Node) {
        // SAFETY: `Case::enqueue`'s contract: the channel is locked and `node` is valid until
        // unlinked and points at this case's slot, which holds the value (`poll` takes it only
        // when the case fires, and a select links only cases that did not).
        unsafe { self.raw_locked().enqueue_send(node) }
    }

    unsafe fn dequeue(&self, node: *mut Node) {
        // SAFETY: `Case::dequeue`'s contract: the channel is locked and `node` went through
        // `enqueue`, so it was linked into this channel's send queue.
        unsafe { self.raw_locked().remove_send(node) }
    }

    fn set_fired(&self) {
        self.fired.set(true);
    }
}

/// Selects with the orders and nodes on the stack up to this many cases.
const SMALL: usize = 8;

/// Runs a select over `cases`: the index of the case performed, or `None` if `block` is false
/// and none was ready (the `default` case). With no non-nil case and `block`, parks forever.
///
/// # Panics
/// "send on closed channel" if the chosen send case's channel is closed.
#[doc(hidden)]
#[track_caller]
#[inline]
pub fn select(cases: &[&dyn Case], block: bool) -> Option<usize> {
    let n = cases.len();
    if n == 0 {
        if block {
            block_forever(WaitReason::SelectNoCases)
        }
        return None;
    }
    if n == 1 {
        return match cases[0].single(block) {
            Poll::Fired(_) => {
                cases[0].set_fired();
                Some(0)
            }
            Poll::NotReady => {
                crate::runtime::syscall::preempt_point();
                None
            }
            Poll::SendClosed => panic!("send on closed channel"),
        };
    }
    let r = select_many(cases, block);
    if r.is_none() {
        // The default case: a goroutine polling in a loop never parks, so this is where
        // sysmon's request to yield, or the loss of its P, is honoured (sched::preempt_point).
        crate::runtime::syscall::preempt_point();
    }
    r
}

/// `select` of two or more cases: the scratch space, then `selectgo`.
#[track_caller]
#[inline(never)]
fn select_many(cases: &[&dyn Case], block: bool) -> Option<usize> {
    let n = cases.len();
    if n > u32::MAX as usize / 2 {
        panic!("select: too many cases");
    }
    if n <= SMALL {
        let mut order = [0u32; 2 * SMALL];
        let mut keys = [std::ptr::null(); SMALL];
        selectgo(cases, &mut keys[..n], &mut order[..2 * n], block)
    } else {
        let mut order = vec![0u32; 2 * n];
        let mut keys = vec![std::ptr::null(); n];
        selectgo(cases, &mut keys, &mut order, block)
    }
}

/// Go's `selectgo` for two or more cases (see the module docs).
#[track_caller]
fn selectgo(
    cases: &[&dyn Case],
    keys: &mut [*const ()],
    order: &mut [u32],
    block: bool,
) -> Option<usize> {
    let n = cases.len();
    let (pollorder, lockorder) = order.split_at_mut(n);
    // 2. A random permutation of the non-nil cases (inside-out Fisher-Yates).
    let mut norder = 0;
    for i in 0..n {
        keys[i] = cases[i].key();
        if keys[i].is_null() {
            continue;
        }
        let j = fastrandn(norder as u32 + 1) as usize;
        pollorder[norder] = pollorder[j];
        pollorder[j] = i as u32;
        norder += 1;
    }
    let pollorder = &pollorder[..norder];
    let lockorder = &mut lockorder[..norder];
    if norder == 0 {
        if block {
            block_forever(WaitReason::Select)
        }
        return None;
    }
    lockorder.copy_from_slice(pollorder);
    sort_lockorder(lockorder, keys);
    let keys = &*keys;
    let lockorder = &*lockorder;

    // 3, 4. Lock and poll.
    sellock(cases, keys, lockorder);
    let mut notify = Vec::new();
    for &i in pollorder {
        let case = cases[i as usize];
        // SAFETY: every non-nil case's channel is locked.
        match unsafe { case.poll(&mut notify) } {
            Poll::NotReady => continue,
            Poll::Fired(wake) => {
                selunlock(cases, keys, lockorder);
                wake_all(notify);
                case.set_fired();
                if let Some(u) = wake {
                    u.unpark();
                }
                return Some(i as usize);
            }
            Poll::SendClosed => {
                selunlock(cases, keys, lockorder);
                panic!("send on closed channel");
            }
        }
    }
    // 5.
    if !block {
        selunlock(cases, keys, lockorder);
        wake_all(notify);
        return None;
    }
    let (fired, success) = if cases.len() <= SMALL {
        let nodes = [const { UnsafeCell::new(Node::EMPTY) }; SMALL];
        park_on_all(cases, keys, lockorder, &nodes, notify)
    } else {
        let nodes: Vec<UnsafeCell<Node>> = (0..cases.len())
            .map(|_| UnsafeCell::new(Node::EMPTY))
            .collect();
        park_on_all(cases, keys, lockorder, &nodes, notify)
    };
    let case = cases[fired];
    if case.is_send() && !success {
        panic!("send on closed channel");
    }
    case.set_fired();
    Some(fired)
}

/// Steps 6 and 7 of `selectgo`, entered with every channel locked: links a node per case
/// (indexed by case), all for one waiter, unlocks, parks until a waker claims the waiter, and
/// unlinks the nodes of the cases that did not fire. Returns `(fired, success)`.
#[inline(never)]
fn park_on_all(
    cases: &[&dyn Case],
    keys: &[*const ()],
    lockorder: &[u32],
    nodes: &[UnsafeCell<Node>],
    notify: Vec<Unparker>,
) -> (usize, bool) {
    let waiter = Waiter::new();
    for &i in lockorder {
        let i = i as usize;
        let node = nodes[i].get();
        // SAFETY: the channels are locked; `nodes` (in our caller's frame) and `waiter` (in
        // ours) outlive every link, because we do not return before every node is unlinked
        // (below, or by the waker that popped it); the node is ours and unlinked.
        unsafe {
            *node = Node::new(&waiter, cases[i].slot(), i);
            cases[i].enqueue(node);
        }
    }
    selunlock(cases, keys, lockorder);
    wake_all(notify);
    let (fired, success) = match waiter.wait(WaitReason::Select, None) {
        Some(r) => r,
        None => crate::util::fatal("select waiter cancelled without a deadline"),
    };
    sellock(cases, keys, lockorder);
    for &i in lockorder {
        let i = i as usize;
        if i != fired {
            // SAFETY: the channels are locked and the node was linked above.
            unsafe { cases[i].dequeue(nodes[i].get()) };
        }
    }
    selunlock(cases, keys, lockorder);
    (fired, success)
}

/// Sorts the case indices by channel address: insertion sort for the usual handful of cases.
fn sort_lockorder(lockorder: &mut [u32], keys: &[*const ()]) {
    if lockorder.len() > 16 {
        lockorder.sort_unstable_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
        return;
    }
    for i in 1..lockorder.len() {
        let x = lockorder[i];
        let mut j = i;
        while j > 0 && keys[lockorder[j - 1] as usize] > keys[x as usize] {
            lockorder[j] = lockorder[j - 1];
            j -= 1;
        }
        lockorder[j] = x;
    }
}

/// Locks the channels in lock order, each once. The cases borrow their channels, so every
/// key names a live channel.
fn sellock(_cases: &[&dyn Case], keys: &[*const ()], lockorder: &[u32]) {
    let mut last = std::ptr::null();
    for &i in lockorder {
        let k = keys[i as usize];
        if k != last {
            // SAFETY: `k` is the lock key of a channel borrowed by a case of `_cases`.
            unsafe { lock_of(k) }.lock();
            last = k;
        }
    }
}

/// Unlocks the channels locked by `sellock`.
fn selunlock(_cases: &[&dyn Case], keys: &[*const ()], lockorder: &[u32]) {
    let mut last = std::ptr::null();
    for &i in lockorder {
        let k = keys[i as usize];
        if k != last {
            // SAFETY: `k` is the lock key of a channel borrowed by a case of `_cases`, alive
            // for this call; `sellock` locked it.
            unsafe { lock_of(k) }.unlock();
            last = k;
        }
    }
}

/// `select! {}`: parks forever.
#[doc(hidden)]
pub fn block_no_cases() -> ! {
    block_forever(WaitReason::SelectNoCases)
}

/// The branch after a select without `default`, which always chooses a case.
#[doc(hidden)]
pub fn unreachable() -> ! {
    crate::util::fatal("select returned without choosing a case")
}

/// A select over a number of cases known only at run time (Go's `reflect.Select`).
///
/// Each case carries a closure run if that case is chosen; [`Select::select`] performs one
/// case and returns its closure's result. The semantics are [`select!`](crate::select!)'s:
/// a uniformly random choice among ready cases, nil channels never ready, parking until a case
/// is ready unless there is a default.
///
/// ```
/// use goroutines::{Chan, Select};
///
/// let chans: Vec<Chan<usize>> = (0..10).map(|_| Chan::new(1)).collect();
/// chans[7].send(70);
/// let mut sel = Select::new();
/// for (i, ch) in chans.iter().enumerate() {
///     sel.recv(ch, move |v| (i, v));
/// }
/// assert_eq!(sel.select(), (7, Some(70)));
/// ```
pub struct Select<'a, R> {
    cases: Vec<Box<dyn DynCase<R> + 'a>>,
    default: Option<Box<dyn FnOnce() -> R + 'a>>,
}

trait DynCase<R> {
    fn case(&self) -> &dyn Case;
    fn finish(self: Box<Self>) -> R;
}

struct DynRecv<C: SelectRecv, F> {
    case: RecvCase<C>,
    f: F,
}

impl<C: SelectRecv, F: FnOnce(Option<C::Item>) -> R, R> DynCase<R> for DynRecv<C, F> {
    fn case(&self) -> &dyn Case {
        &self.case
    }
    fn finish(self: Box<Self>) -> R {
        let (_, v) = self.case.finish();
        (self.f)(v)
    }
}

struct DynSend<C: SelectSend, F> {
    case: SendCase<C>,
    f: F,
}

impl<C: SelectSend, F: FnOnce() -> R, R> DynCase<R> for DynSend<C, F> {
    fn case(&self) -> &dyn Case {
        &self.case
    }
    fn finish(self: Box<Self>) -> R {
        (self.f)()
    }
}

impl<'a, R> Select<'a, R> {
    /// A select with no cases yet.
    ///
    /// ```
    /// let mut sel = goroutines::Select::new();
    /// sel.default(|| "nothing");
    /// assert_eq!(sel.select(), "nothing");
    /// ```
    pub fn new() -> Self {
        Select {
            cases: Vec::new(),
            default: None,
        }
    }

    /// Adds a receive case; if chosen, `f` gets the value (`None`: closed and drained).
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// ch.send(2);
    /// let mut sel = goroutines::Select::new();
    /// sel.recv(&ch, |v| v.unwrap() * 10);
    /// assert_eq!(sel.select(), 20);
    /// ```
    pub fn recv<C>(&mut self, ch: C, f: impl FnOnce(Option<C::Item>) -> R + 'a) -> &mut Self
    where
        C: SelectRecv + 'a,
    {
        self.cases.push(Box::new(DynRecv {
            case: RecvCase::new(ch),
            f,
        }));
        self
    }

    /// Adds a send case of `v`; if chosen, `f` runs after the value was sent. A value not sent
    /// is dropped when the select returns.
    ///
    /// ```
    /// let ch = goroutines::Chan::new(1);
    /// let mut sel = goroutines::Select::new();
    /// sel.send(&ch, 5, || "sent");
    /// assert_eq!(sel.select(), "sent");
    /// assert_eq!(ch.recv(), Some(5));
    /// ```
    pub fn send<C>(&mut self, ch: C, v: C::Item, f: impl FnOnce() -> R + 'a) -> &mut Self
    where
        C: SelectSend + 'a,
    {
        self.cases.push(Box::new(DynSend {
            case: SendCase::new(ch, v),
            f,
        }));
        self
    }

    /// Sets the default case, taken when no case is ready (which makes the select
    /// non-blocking).
    ///
    /// ```
    /// let ch = goroutines::Chan::<i32>::new(1);
    /// let mut sel = goroutines::Select::new();
    /// sel.recv(&ch, |_| false).default(|| true);
    /// assert!(sel.select());
    /// ```
    pub fn default(&mut self, f: impl FnOnce() -> R + 'a) -> &mut Self {
        self.default = Some(Box::new(f));
        self
    }

    /// Performs one case (or the default) and returns its closure's result. The builder is
    /// left empty, ready for new cases.
    ///
    /// ```
    /// use goroutines::{go, Chan, Select};
    ///
    /// let a = Chan::new(0);
    /// let tx = a.clone();
    /// go(move || tx.send("from a"));
    /// let b = Chan::<&str>::nil();
    /// let mut sel = Select::new();
    /// sel.recv(&a, |v| v).recv(&b, |v| v);
    /// assert_eq!(sel.select(), Some("from a"));
    /// ```
    ///
    /// # Panics
    /// "send on closed channel" if the chosen send case's channel is closed. Without cases and
    /// without a default it parks forever, as `select {}` does.
    #[track_caller]
    pub fn select(&mut self) -> R {
        let mut cases = std::mem::take(&mut self.cases);
        let default = self.default.take();
        let chosen = {
            let refs: Vec<&dyn Case> = cases.iter().map(|c| c.case()).collect();
            select(&refs, default.is_none())
        };
        match (chosen, default) {
            (Some(i), _) => cases.swap_remove(i).finish(),
            (None, Some(d)) => d(),
            (None, None) => unreachable(),
        }
    }
}

impl<R> Default for Select<'_, R> {
    fn default() -> Self {
        Select::new()
    }
}

impl<R> std::fmt::Debug for Select<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .field("default", &self.default.is_some())
            .finish()
    }
}
