//! Go 1.21's additions to `context`: values, cancellation causes and `after_func`, partly
//! ported from Go's context/x_test.go (BSD-style license, The Go Authors).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goroutines::context::{Context, ContextError};
use goroutines::time::after;
use goroutines::{select, Chan};

#[derive(PartialEq)]
struct Key1;
#[derive(PartialEq)]
struct Key2;

/// In the spirit of TestValues: a value is found in its context and every descendant, the
/// nearest one wins, keys of other types never match, and cancellable children keep values.
#[test]
fn values_flow_down_and_shadow() {
    let c0 = Context::background();
    assert_eq!(c0.value::<_, &str>(&Key1), None);
    let c1 = c0.with_value(Key1, "c1k1");
    let c2 = c1.with_value(Key2, "c2k2");
    let c3 = c2.with_value(Key1, "c3k1");
    let (c4, cancel) = c3.with_timeout(Duration::from_secs(60));
    assert_eq!(c1.value::<_, &str>(&Key1), Some(&"c1k1"));
    assert_eq!(c1.value::<_, &str>(&Key2), None);
    assert_eq!(c2.value::<_, &str>(&Key1), Some(&"c1k1"));
    assert_eq!(c2.value::<_, &str>(&Key2), Some(&"c2k2"));
    assert_eq!(c3.value::<_, &str>(&Key1), Some(&"c3k1"));
    assert_eq!(c4.value::<_, &str>(&Key1), Some(&"c3k1"));
    assert_eq!(c4.value::<_, &str>(&Key2), Some(&"c2k2"));
    // Equal keys of one type: compared with ==.
    let s = c4.with_value("user", 7u32).with_value("tenant", 9u32);
    assert_eq!(s.value::<_, u32>(&"user"), Some(&7));
    assert_eq!(s.value::<_, u32>(&"tenant"), Some(&9));
    // The wrong value type is no value.
    assert_eq!(s.value::<_, u64>(&"user"), None);
    // A value context is cancelled with its parent.
    cancel.cancel();
    assert_eq!(s.err(), Some(ContextError::Canceled));
}

/// The cause given to a CancelCauseFunc is the context's and its descendants' cause; without
/// one, the cause is the error; the first cancellation's cause wins (TestCause, in part).
#[test]
fn cancel_cause_is_recorded_and_inherited() {
    let (ctx, cancel) = Context::background().with_cancel_cause();
    let (child, _c) = ctx.with_cancel();
    assert!(ctx.cause().is_none());
    cancel.cancel("database gone");
    cancel.cancel("later cause ignored");
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    assert_eq!(ctx.cause().unwrap().to_string(), "database gone");
    assert_eq!(child.cause().unwrap().to_string(), "database gone");
    // A child made after the cancellation inherits it too.
    let (late, _c) = ctx.with_cancel();
    assert_eq!(late.cause().unwrap().to_string(), "database gone");

    let (plain, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let cause = plain.cause().unwrap();
    assert_eq!(
        cause.downcast_ref::<ContextError>(),
        Some(&ContextError::Canceled)
    );

    let (timed, _cancel) = Context::background().with_timeout(Duration::from_millis(1));
    timed.done().recv();
    let cause = timed.cause().unwrap();
    assert_eq!(
        cause.downcast_ref::<ContextError>(),
        Some(&ContextError::DeadlineExceeded)
    );
}

/// TestAfterFuncCalledAfterCancel and friends: the function runs after cancellation, in a
/// goroutine of its own; stop before cancellation keeps it from running; stop after is false.
#[goroutines::test]
fn after_func_runs_in_its_own_goroutine() {
    let (ctx, cancel) = Context::background().with_cancel();
    let c = Chan::new(1);
    let tx = c.clone();
    let stop = ctx.after_func(move || tx.send(goroutines::current_id()));
    let me = goroutines::current_id();
    select! {
        recv(c) -> _ => panic!("ran before cancellation"),
        recv(after(Duration::from_millis(10))) -> _ => {},
    }
    cancel.cancel();
    let ran_on = select! {
        recv(c) -> v => v.unwrap(),
        recv(after(Duration::from_secs(10))) -> _ => panic!("after_func did not run"),
    };
    assert!(ran_on.is_some(), "not run in a goroutine");
    assert_ne!(ran_on, me, "run in the canceller's goroutine");
    assert!(!stop.stop(), "stop after the function started");
}

/// TestAfterFuncNotCalledAfterStop, TestAfterFuncCalledImmediately and a deadline's cancel.
#[goroutines::test]
fn after_func_stop_and_already_cancelled() {
    let n = Arc::new(AtomicUsize::new(0));
    let (ctx, cancel) = Context::background().with_cancel();
    let n2 = n.clone();
    let stop = ctx.after_func(move || {
        n2.fetch_add(1, Ordering::SeqCst);
    });
    assert!(stop.stop());
    assert!(!stop.stop());
    cancel.cancel();
    goroutines::time::sleep(Duration::from_millis(20));
    assert_eq!(n.load(Ordering::SeqCst), 0, "a stopped function ran");

    // Already cancelled: runs at once (in its own goroutine).
    let c = Chan::new(1);
    let tx = c.clone();
    let _stop = ctx.after_func(move || tx.send(1));
    assert_eq!(c.recv_timeout(Duration::from_secs(10)), Ok(1));

    // A deadline starts it too.
    let (timed, _cancel) = Context::background().with_timeout(Duration::from_millis(2));
    let tx = c.clone();
    let _stop = timed.after_func(move || tx.send(2));
    assert_eq!(c.recv_timeout(Duration::from_secs(10)), Ok(2));

    // The background context is never done: the function never runs and stop succeeds.
    let stop = Context::background().after_func(|| unreachable!());
    assert!(stop.stop());
}

/// A function that blocks does not hold up the canceller (it runs in its own goroutine).
#[goroutines::test]
fn after_func_that_blocks_does_not_block_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let gate = Chan::<()>::new(0);
    let rx = gate.clone();
    let _stop = ctx.after_func(move || {
        rx.recv();
    });
    cancel.cancel(); // returns although the function waits on `gate`
    assert!(ctx.err().is_some());
    gate.close();
}

/// WithDeadlineCause / WithTimeoutCause record their cause when the deadline passes, not when
/// cancelled by hand; WithoutCancel keeps values and drops cancellation.
#[test]
fn deadline_cause_and_without_cancel() {
    let (timed, _c) =
        Context::background().with_timeout_cause(Duration::from_millis(1), "too slow");
    timed.done().recv();
    assert_eq!(timed.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(timed.cause().unwrap().to_string(), "too slow");

    let (early, cancel) =
        Context::background().with_timeout_cause(Duration::from_secs(60), "unused cause");
    cancel.cancel();
    let cause = early.cause().unwrap();
    assert_eq!(
        cause.downcast_ref::<ContextError>(),
        Some(&ContextError::Canceled)
    );

    let (ctx, cancel) = Context::background().with_value(Key1, 5i32).with_cancel();
    let detached = ctx.without_cancel();
    cancel.cancel();
    assert!(detached.err().is_none());
    assert_eq!(detached.value::<_, i32>(&Key1), Some(&5));
}
