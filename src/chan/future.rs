//! `recv_async` and `send_async`: channel operations as futures, with Go's semantics and exact
//! cancel safety.
//!
//! A pending future leaves a [`Node`] in the channel's queue, as a blocked goroutine does, but
//! its [`Waiter`] is woken through the task's `Waker` (`Unparker::for_waker`) and the node lives
//! in a `Box` the future owns (a stable address for as long as it is linked; the future unlinks
//! it under the channel lock before the box is freed).
//!
//! # Receiving: a notification, never a hand-off
//! A goroutine's receive node takes the value straight from the sender. A future cannot: it may
//! be dropped (a `select!` branch losing) after the sender handed it the value and before it is
//! polled again, and the value would be lost. So an async receiver links a *notification node*
//! (a node with no slot) into `recvq`:
//! 1. poll, under the lock: closed and drained → `None`; a value in the buffer or a sender in
//!    `sendq` → take it (`recv_locked`); otherwise link the notification node;
//! 2. a sender that pops notification nodes (`RawChan::send_locked`) completes each one (its
//!    unparker is woken after the lock is released) and goes on to the next node; only a
//!    goroutine's node takes the value, else the value goes to the buffer or the sender queues
//!    itself, exactly as if no receiver were there. A close completes them too;
//! 3. the woken future polls again: back to 1.
//!
//! A value is thus only ever in the channel or in the hands of a receiver that returned it:
//! dropping a pending `recv_async` at any moment loses nothing. Dropping one that was notified
//! but not polled wakes nobody else, and needs to: its sender popped *every* notification node
//! before any goroutine receiver, so it never left a value behind while a receiver was queued,
//! and receivers that came later took the value or saw it under the lock.
//!
//! The price: an async receiver does not count as "a receiver waiting" for a non-blocking send on
//! an unbuffered channel (`try_send`, a `select!` with `default`), which reports `Full` and wakes
//! it; a blocking send queues itself and the woken receiver takes the value from it.
//!
//! # Sending
//! On a buffered channel, `send_async` mirrors the receive: a full buffer links a notification
//! node into `sendq`; a receiver that pops notification nodes (`RawChan::recv_locked`) wakes
//! them and takes from the buffer; the woken future puts its value into the room made. The value
//! enters the channel only during a poll that returns `Ready`: a dropped future never sent.
//!
//! On an unbuffered channel there is no room to wait for: a send needs a receiver at the same
//! moment, and two notification nodes (an async sender and an async receiver) would only wake
//! each other. So an unbuffered `send_async` links an ordinary hand-off node whose slot (in the
//! box) holds the value, and any receiver, goroutine or future, takes the value from it under
//! the channel lock. Under that lock the future is in one of two states: still waiting (dropping
//! it unlinks the node, and the value, never taken, is dropped with the future: it was not sent),
//! or done (a receiver took it: it was sent, even if the future is dropped before its next poll
//! reports it; or the channel was closed and the value is still in the slot).
//!
//! A re-poll of a pending future replaces the waker under the channel lock when it changed
//! (`Waiter::set_unparker`); a waiter is claimed only under that same lock.

use std::cell::UnsafeCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::raw::{wake_all, RawChan};
use super::waiter::{Node, Waiter};
use crate::runtime::park::Unparker;

/// A pending operation's waiter and node, boxed for a stable address.
struct Reg<S> {
    waiter: Waiter,
    node: UnsafeCell<Node>,
    /// The send slot (`Option<T>`); `()` for a receive's notification node.
    slot: UnsafeCell<S>,
    /// Whether `node` is (or may still be) linked into a queue: set when linked, cleared once
    /// the waiter is seen done (a waker popped the node) or the node is removed.
    linked: bool,
}

/// The future of [`Chan::recv_async`](super::Chan::recv_async) and
/// [`RecvChan::recv_async`](super::RecvChan::recv_async).
///
/// Cancel-safe in tokio's terms: if it is dropped before completing (for example as a losing
/// `tokio::select!` branch), no value was received, and none is lost.
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    raw: Option<&'a RawChan<T>>,
    reg: Option<Box<Reg<()>>>,
}

/// The future of [`Chan::send_async`](super::Chan::send_async) and
/// [`SendChan::send_async`](super::SendChan::send_async).
///
/// Cancel safety: on a buffered channel, a future dropped before it completed did not send
/// (tokio's `mpsc::Sender::send` guarantee). On an unbuffered channel the value goes straight
/// into a receiver's hands, possibly between two polls: a future dropped before a receiver took
/// the value did not send it; one dropped after did, though it never returned `Ready`. In a
/// `select!` that retries a lost send, use a buffered channel. An unsent value is dropped with
/// the future, not given back.
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    raw: Option<&'a RawChan<T>>,
    /// The value, until the first poll sends or links it.
    value: Option<T>,
    reg: Option<Box<Reg<Option<T>>>>,
}

// SAFETY: the futures hold a shared reference to a channel (`Sync` for `T: Send`) and a box
// whose raw pointers (the node's links, its waiter and slot) are touched only under the
// channel's lock or by the future's owner once a waker is finished with them (DONE). Moving the
// future to another thread moves nothing the channel points into: the box stays put.
unsafe impl<T: Send> Send for RecvFuture<'_, T> {}
// SAFETY: `&RecvFuture` gives access to nothing: it has no `&self` methods and private fields,
// so threads sharing one can neither read nor write its box.
unsafe impl<T: Send> Sync for RecvFuture<'_, T> {}
// SAFETY: the channel reference is `Sync` for `T: Send`, the box's raw
// pointers are touched only under the channel's lock or by the owner after DONE, and the box
// does not move; the value it owns (`T: Send`) may move to another thread with it.
unsafe impl<T: Send> Send for SendFuture<'_, T> {}
// SAFETY: `&SendFuture` gives access to nothing: it has no `&self` methods and private fields,
// so threads sharing one can neither read nor write its box or its value.
unsafe impl<T: Send> Sync for SendFuture<'_, T> {}

impl<T> Unpin for RecvFuture<'_, T> {}
impl<T> Unpin for SendFuture<'_, T> {}

impl<'a, T> RecvFuture<'a, T> {
    pub(crate) fn new(raw: Option<&'a RawChan<T>>) -> Self {
        RecvFuture { raw, reg: None }
    }
}

impl<'a, T> SendFuture<'a, T> {
    pub(crate) fn new(raw: Option<&'a RawChan<T>>, v: T) -> Self {
        SendFuture {
            raw,
            value: Some(v),
            reg: None,
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        // A nil channel: pending forever, as a receive blocks forever.
        let Some(raw) = this.raw else {
            return Poll::Pending;
        };
        raw.lock();
        if let Some(reg) = this.reg.as_mut().filter(|r| r.linked) {
            if reg.waiter.done().is_none() {
                // Still linked and waiting: keep the newest waker.
                // SAFETY: we hold the lock of the one channel the node is linked into, and the
                // waiter is not done under it.
                unsafe {
                    if !reg.waiter.wakes(cx.waker()) {
                        reg.waiter
                            .set_unparker(Unparker::for_waker(cx.waker().clone()));
                    }
                }
                raw.unlock();
                return Poll::Pending;
            }
            // Notified (the waker popped the node): try again below.
            reg.linked = false;
        }
        let deferred;
        // SAFETY: we hold the lock.
        unsafe {
            if raw.closed_and_drained_locked() {
                raw.unlock();
                return Poll::Ready(None);
            }
            let mut notify = Vec::new();
            let got = raw.recv_locked(&mut notify);
            if let Some((v, wake)) = got {
                raw.unlock();
                wake_all(notify);
                if let Some(u) = wake {
                    u.unpark();
                }
                return Poll::Ready(Some(v));
            }
            // Nothing popped when nothing was ready (no sender waits on a non-full buffer),
            // but wake whatever was, after unlocking.
            deferred = notify;
        }
        let u = Unparker::for_waker(cx.waker().clone());
        let reg = match &mut this.reg {
            Some(reg) => {
                // SAFETY: the waiter is done and its node unlinked (`linked` was cleared above
                // after `done()`), and we link it again only below.
                unsafe { reg.waiter.rearm(u) };
                reg
            }
            None => this.reg.insert(Box::new(Reg {
                waiter: Waiter::with_unparker(u),
                node: UnsafeCell::new(Node::EMPTY),
                slot: UnsafeCell::new(()),
                linked: false,
            })),
        };
        // SAFETY: we hold the lock; the node is unlinked and lives in the box, which is not
        // freed before `Drop` unlinks the node (or a waker popped it). A null slot makes it a
        // notification node.
        unsafe {
            *reg.node.get() = Node::new(&reg.waiter, std::ptr::null_mut(), 0);
            raw.enqueue_recv(reg.node.get());
        }
        reg.linked = true;
        raw.unlock();
        wake_all(deferred);
        Poll::Pending
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        let (Some(raw), Some(reg)) = (self.raw, self.reg.as_mut()) else {
            return;
        };
        if !reg.linked {
            return;
        }
        raw.lock();
        if reg.waiter.done().is_none() {
            // SAFETY: we hold the lock; the node was linked into `recvq` and is still (nobody
            // claimed the waiter, and claims happen under this lock).
            unsafe { raw.remove_recv(reg.node.get()) };
        }
        // Done: the node was popped; nothing to pass on (module docs).
        raw.unlock();
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(raw) = this.raw else {
            return Poll::Pending;
        };
        raw.lock();
        if let Some(reg) = this.reg.as_mut().filter(|r| r.linked) {
            match reg.waiter.done() {
                None => {
                    // SAFETY: we hold the lock of the channel the node is linked into, and the
                    // waiter is not done under it.
                    unsafe {
                        if !reg.waiter.wakes(cx.waker()) {
                            reg.waiter
                                .set_unparker(Unparker::for_waker(cx.waker().clone()));
                        }
                    }
                    raw.unlock();
                    return Poll::Pending;
                }
                Some(success) => {
                    reg.linked = false;
                    if raw.cap() == 0 {
                        // A hand-off node: done means taken (sent) or closed.
                        raw.unlock();
                        if !success {
                            panic!("send on closed channel");
                        }
                        return Poll::Ready(());
                    }
                    // A notification node (buffered): room was made, or a close. Try again.
                }
            }
        }
        if raw.is_closed() {
            raw.unlock();
            panic!("send on closed channel");
        }
        let mut slot = this.value.take();
        if slot.is_none() {
            raw.unlock();
            panic!("`send_async` future polled after completion");
        }
        let mut notify = Vec::new();
        // SAFETY: we hold the lock and checked `closed`; `slot` is ours and unpublished.
        if let Some(wake) = unsafe { raw.send_locked(&mut slot, &mut notify) } {
            raw.unlock();
            wake_all(notify);
            if let Some(u) = wake {
                u.unpark();
            }
            return Poll::Ready(());
        }
        let u = Unparker::for_waker(cx.waker().clone());
        let reg = match &mut this.reg {
            Some(reg) => {
                // SAFETY: the waiter is done and its node unlinked (`linked` was cleared above
                // after `done()`), and we link it again only below.
                unsafe { reg.waiter.rearm(u) };
                reg
            }
            None => this.reg.insert(Box::new(Reg {
                waiter: Waiter::with_unparker(u),
                node: UnsafeCell::new(Node::EMPTY),
                slot: UnsafeCell::new(None),
                linked: false,
            })),
        };
        let node_slot = if raw.cap() == 0 {
            // Unbuffered: a hand-off node holding the value (module docs).
            // SAFETY: the slot is unpublished (the node is unlinked).
            unsafe { *reg.slot.get() = slot };
            reg.slot.get() as *mut ()
        } else {
            // Buffered: a notification node; the value stays in the future.
            this.value = slot;
            std::ptr::null_mut()
        };
        // SAFETY: we hold the lock; node, waiter and slot live in the box, which is not freed
        // before `Drop` unlinks the node (or a waker completed it).
        unsafe {
            *reg.node.get() = Node::new(&reg.waiter, node_slot, 0);
            raw.enqueue_send(reg.node.get());
        }
        reg.linked = true;
        raw.unlock();
        wake_all(notify);
        Poll::Pending
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        let (Some(raw), Some(reg)) = (self.raw, self.reg.as_mut()) else {
            return;
        };
        if !reg.linked {
            return;
        }
        raw.lock();
        if reg.waiter.done().is_none() {
            // SAFETY: we hold the lock; the node is linked into `sendq` (nobody claimed the
            // waiter, and claims happen under this lock). The value stays in the slot, unsent,
            // and is dropped with the box.
            unsafe { raw.remove_send(reg.node.get()) };
        }
        raw.unlock();
    }
}
