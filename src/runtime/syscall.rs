//! What a goroutine does that involves its M: blocking calls, preemption points and locking
//! to an OS thread (Go's entersyscall/exitsyscall, Gosched's checks, LockOSThread).
//!
//! Blocking calls (`blocking`): the running goroutine's P goes from RUNNING to SYSCALL (a
//! compare-and-swap on the P's state word, p.rs). Sysmon retakes a P that stays in SYSCALL
//! past its threshold and hands it to another M, so the other goroutines go on while this M
//! blocks. On return the goroutine keeps its P if sysmon left it (SYSCALL back to RUNNING),
//! else takes an idle P, else switches out to be queued for one (`Switch::Requeue`). A park or
//! yield inside the call leaves the syscall state first and re-enters it on resume, so a
//! parked goroutine never leaves its P in SYSCALL.
//!
//! Preemption points (`preempt_point`): the runtime cannot preempt a running goroutine, so
//! `go` and a `select!` that took its `default` yield when sysmon asked (`P::preempt`), when
//! the P was lost, or when other Ms wait for a P and the time slice is over.
//!
//! Locked goroutines (`lock_os_thread`): the goroutine records its M, and the M its
//! goroutine; a migratable goroutine lives on the M while locked (m.rs), and `find_runnable`
//! lets a locked M run only the goroutines that live on it (Go's stoplockedm).
//!
//! Rejected: running every `blocking` call on a separate thread pool (tokio's
//! `spawn_blocking`): it moves the closure to another thread, which would let thread-bound
//! values cross threads and costs two switches when the call does not block at all.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::g::{self, GRef, GStatus, Switch, G};
use super::m::{self, M};
use super::p::pstate;
use super::park::{pin_if_unwinding, unpin, yield_current};
use super::sched::{Sched, TIME_SLICE};

/// Values of `G::syscall`: where a goroutine stands with respect to a `blocking` call.
pub(crate) mod state {
    /// Not inside `blocking`.
    pub const NONE: u8 = 0;
    /// Inside `blocking`, and its P is in SYSCALL, owned by its M: sysmon may take it.
    pub const ENTERED: u8 = 1;
    /// Inside `blocking` without a P (sysmon took it before the call): nothing to give back.
    pub const WITHOUT_P: u8 = 2;
}

/// Runs `f`, which may block its OS thread, after telling the scheduler (Go's entersyscall and
/// exitsyscall). See `goroutines::blocking`.
///
/// Unlike a Go system call, `f` is arbitrary Rust and may park or yield the goroutine (a
/// channel receive inside `blocking`). A switch leaves the syscall state first and enters it
/// again when the goroutine resumes ([`park_current`], [`yield_current`]): a parked goroutine
/// must not leave its P in SYSCALL, where the next schedule on it would fail its
/// compare-and-swap and drop the P for sysmon to find much later (issue 11, item 2).
pub(crate) fn blocking<F: FnOnce() -> R, R>(f: F) -> R {
    let Some(g) = g::current() else { return f() };

    if g.syscall.get() != state::NONE {
        // Nested: the outer call already told the scheduler.
        return f();
    }
    enter_syscall(&g);
    struct Exit<'a>(&'a GRef);
    impl Drop for Exit<'_> {
        fn drop(&mut self) {
            exit_syscall(self.0);
        }
    }
    let _exit = Exit(&g);
    f()
}

/// The running goroutine `g` enters a blocking call: its P goes from RUNNING to SYSCALL, where
/// sysmon may hand it to another M.
pub(crate) fn enter_syscall(g: &G) {
    let p = m::current_p();
    let me = m::current_m() as usize;
    // SAFETY: the current P pointer is live for the life of its Sched (ownership is checked by
    // the compare-and-swap).
    let entered = !p.is_null()
        && unsafe { &*p }
            .state
            // AcqRel: Release publishes our use of the P to a sysmon that retakes it.
            .compare_exchange(
                me | pstate::RUNNING,
                me | pstate::SYSCALL,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
    if entered {
        // SAFETY: `p` is non-null (checked above) and a P of this Sched, which outlives the
        // goroutine that runs on it; the compare-and-swap just confirmed we own it.
        unsafe { &*p }.syscall_seq.fetch_add(1, Ordering::Relaxed);
        g.set_status(GStatus::Syscall);
        g.syscall.set(state::ENTERED);
    } else {
        // Sysmon already took the P (we ran too long): nothing to hand off.
        g.syscall.set(state::WITHOUT_P);
    }
}

/// Leaves the syscall state without giving up the goroutine's claim to run: SYSCALL back to
/// RUNNING if sysmon left the P alone, else the M goes on without a P. Returns the state that
/// `g.syscall` had, for `reenter_syscall`.
pub(crate) fn leave_syscall(g: &G) -> u8 {
    let st = g.syscall.replace(state::NONE);
    if st != state::ENTERED {
        return st;
    }
    g.set_status(GStatus::Running);
    let p = m::current_p();
    let me = m::current_m() as usize;
    // SAFETY: `ENTERED` means this M put its current P in SYSCALL; Ps live as long as the Sched.
    let kept = unsafe { &*p }
        .state
        // Acquire: pairs with the Release of whoever owned the P meanwhile, if anyone.
        .compare_exchange(
            me | pstate::SYSCALL,
            me | pstate::RUNNING,
            Ordering::Acquire,
            Ordering::Relaxed,
        )
        .is_ok();
    if !kept {
        // Sysmon handed the P to another M: we have none now.
        m::set_current_p(std::ptr::null());
    }
    st
}

/// After a switch inside `blocking`, on whatever M resumed the goroutine: enter the syscall
/// state again if the goroutine was in it.
pub(crate) fn reenter_syscall(g: &G, st: u8) {
    if st != state::NONE {
        enter_syscall(g);
    }
}

/// The end of a `blocking` call: keep the P if sysmon left it, else take an idle P, else queue
/// for one (Go's exitsyscall).
pub(crate) fn exit_syscall(g: &GRef) {
    let st = leave_syscall(g);
    g.set_status(GStatus::Running);
    if st != state::ENTERED || !m::current_p().is_null() {
        return;
    }
    if let Some(p2) = g.sched.pidleget() {
        // Release: as in `execute`, publishes our scheduler writes to a retaker.
        p2.state
            .store(m::current_m() as usize | pstate::RUNNING, Ordering::Release);
        m::set_current_p(p2);
        return;
    }
    let pinned = pin_if_unwinding(g);
    g.switch_out(Switch::Requeue);
    unpin(g, pinned);
}

/// Called by `go` after it spawned, and by a `select!` that took its `default` case, where a
/// goroutine looping without ever parking passes. (Not by `try_send`/`try_recv`: the runtime's
/// own code calls those while it holds locks, where a yield could deadlock its M.) Yields if sysmon asked this P to (see `P::preempt`); if sysmon took the P
/// away meanwhile (the goroutines living on this M, m.rs, can run only here, so a loop that went
/// on without a P would starve them: yielding queues it for a P with them instead); or if other
/// Ms wait for a P and this M has had its time slice.
pub(crate) fn preempt_point() {
    if !g::in_goroutine() {
        return;
    }
    let p = m::current_p();
    if p.is_null() {
        return;
    }
    // SAFETY: a non-null current P is a live P of this M's Sched; its fields are atomics.
    let p = unsafe { &*p };
    let owner = p.state.load(Ordering::Relaxed) & !pstate::MASK;
    let me = m::current_m();
    let lost = owner != me as usize;
    // SAFETY: a P holds the address of its live Sched (`P::sched`); `me` is this thread's M,
    // whose `p_since` only this thread touches.
    let slice_over = !lost
        && unsafe { &*(p.sched as *const Sched) }
            .npwait
            .load(Ordering::Relaxed)
            > 0
        && unsafe { &*me }.p_since.get().elapsed() >= TIME_SLICE;
    if lost || slice_over || p.preempt.load(Ordering::Relaxed) {
        if !lost {
            p.preempt.store(false, Ordering::Relaxed);
        }
        yield_current();
    }
}

/// Go's LockOSThread.
pub(crate) fn lock_os_thread() {
    let Some(g) = g::current() else { return };
    let depth = g.lock_depth.get();
    g.lock_depth.set(depth + 1);
    if depth == 0 {
        let m = m::current_m();
        if g.migratable {
            // It lives on this M while locked (m.rs); only its goroutine calls this.
            g.home.store(m as *mut M, Ordering::Relaxed);
        }
        // Relaxed: `locked_m` is read by this goroutine on its own thread and otherwise only by
        // dumps (`debug/`), which print the M's id and dereference nothing through it.
        g.locked_m.store(m as *mut M, Ordering::Relaxed);
        // SAFETY: the calling goroutine runs on this M, which lives as long as its Sched.
        unsafe {
            (*m).locked_g
                .store(Arc::as_ptr(&g) as *mut G, Ordering::Relaxed)
        };
    }
}

/// Go's UnlockOSThread.
pub(crate) fn unlock_os_thread() {
    let Some(g) = g::current() else { return };
    let depth = g.lock_depth.get();
    if depth == 0 {
        return;
    }
    g.lock_depth.set(depth - 1);
    if depth == 1 {
        if g.migratable {
            g.home.store(std::ptr::null_mut(), Ordering::Relaxed);
        }
        // Relaxed: as in `lock_os_thread`.
        let m = g.locked_m.swap(std::ptr::null_mut(), Ordering::Relaxed);
        if !m.is_null() {
            // SAFETY: as in `lock_os_thread`: a locked goroutine runs only on its M.
            unsafe { (*m).locked_g.store(std::ptr::null_mut(), Ordering::Relaxed) };
        }
    }
}
