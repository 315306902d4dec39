//! `goroutines::context`, ported from Go's context/x_test.go and context_test.go (BSD-style
//! license, The Go Authors). Runs at whatever GOMAXPROCS the environment sets.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use goroutines::context::{CancelFunc, Context, ContextError};
use goroutines::time::{after, sleep};
use goroutines::{go, select, Chan};

const LONG: Duration = Duration::from_secs(10);

fn is_done(c: &Context) -> bool {
    select! {
        recv(c.done()) -> _ => true,
        default => false,
    }
}

/// Waits for `c` to be done, failing after a generous bound.
fn wait_done(c: &Context) {
    select! {
        recv(c.done()) -> _ => {},
        recv(after(LONG)) -> _ => panic!("timed out waiting for done"),
    }
}

/// Ported from TestBackground.
#[goroutines::test]
fn background() {
    let c = Context::background();
    assert!(c.done().is_nil());
    assert!(!is_done(&c));
    assert_eq!(c.err(), None);
    assert_eq!(c.deadline(), None);
}

/// Ported from TestWithCancel: cancellation propagates synchronously to children.
#[goroutines::test]
fn with_cancel() {
    let (c1, cancel) = Context::background().with_cancel();
    let (c2, _cancel2) = c1.with_cancel();
    for c in [&c1, &c2] {
        assert!(!c.done().is_nil());
        assert_eq!(c.err(), None);
        assert!(!is_done(c));
    }
    cancel.cancel();
    for c in [&c1, &c2] {
        assert!(is_done(c), "done blocked after cancel");
        assert_eq!(c.err(), Some(ContextError::Canceled));
    }
    cancel.cancel(); // twice is harmless
    assert_eq!(c1.err(), Some(ContextError::Canceled));
}

/// Ported from TestParentFinishesChild: cancelling a parent closes every child's done, the
/// parent keeps no children, and children made afterwards are born cancelled.
#[goroutines::test]
fn parent_finishes_child() {
    let (parent, cancel) = Context::background().with_cancel();
    let (cancel_child, _c1) = parent.with_cancel();
    let (timer_child, _c2) = parent.with_timeout(LONG);
    let (grandchild, _c3) = timer_child.with_cancel();
    for c in [&parent, &cancel_child, &timer_child, &grandchild] {
        assert!(!is_done(c));
    }
    cancel.cancel();
    for c in [&parent, &cancel_child, &timer_child, &grandchild] {
        assert!(is_done(c));
        assert_eq!(c.err(), Some(ContextError::Canceled));
    }
    let (late, _c4) = parent.with_cancel();
    assert!(is_done(&late));
    assert_eq!(late.err(), Some(ContextError::Canceled));
}

/// Ported from TestChildFinishesFirst: cancelling a child leaves the parent alone.
#[goroutines::test]
fn child_finishes_first() {
    for parent_kind in 0..2 {
        let (parent, pcancel) = if parent_kind == 0 {
            Context::background().with_cancel()
        } else {
            Context::background().with_timeout(LONG)
        };
        let (child, ccancel) = parent.with_cancel();
        ccancel.cancel();
        assert!(is_done(&child));
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert!(!is_done(&parent));
        assert_eq!(parent.err(), None);
        pcancel.cancel();
        assert_eq!(
            child.err(),
            Some(ContextError::Canceled),
            "first error wins"
        );
    }
}

/// Ported from TestDeadline: deadlines fire with DeadlineExceeded, the earlier of parent's
/// and child's wins, and a past deadline cancels at once.
#[goroutines::test]
fn deadline() {
    let now = Instant::now();
    let (c, _x) = Context::background().with_deadline(now + Duration::from_millis(5));
    assert_eq!(c.deadline(), Some(now + Duration::from_millis(5)));
    wait_done(&c);
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));

    let (o, _y) = Context::background().with_deadline(now + Duration::from_millis(5));
    let (c, _z) = o.with_deadline(now + LONG);
    assert_eq!(
        c.deadline(),
        o.deadline(),
        "a later deadline does not extend the parent's"
    );
    wait_done(&c);
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));

    let (c, _w) = Context::background().with_deadline(Instant::now() - Duration::from_millis(1));
    assert!(is_done(&c), "past deadline cancels at once");
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
}

/// Ported from TestTimeout: a timeout fires no earlier than its duration.
#[goroutines::test]
fn timeout() {
    let start = Instant::now();
    let (c, _cancel) = Context::background().with_timeout(Duration::from_millis(10));
    let (child, _cc) = c.with_cancel();
    wait_done(&child);
    assert!(start.elapsed() >= Duration::from_millis(10));
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
}

/// Ported from TestCanceledTimeout: cancelling before the timeout gives Canceled.
#[goroutines::test]
fn canceled_timeout() {
    let (c, _cancel) = Context::background().with_timeout(Duration::from_secs(1));
    let (o, ocancel) = c.with_cancel();
    ocancel.cancel();
    wait_done(&o);
    assert_eq!(o.err(), Some(ContextError::Canceled));
    assert_eq!(c.err(), None);
}

/// Ported from TestSimultaneousCancels: a tree of about 100 contexts cancelled in parallel
/// from goroutines, every done closes and no cancel hangs.
#[goroutines::test]
fn simultaneous_cancels() {
    let (root, cancel) = Context::background().with_cancel();
    let mut all: Vec<(Context, CancelFunc)> = vec![(root.clone(), cancel)];
    let mut q = VecDeque::from([root]);
    while let Some(parent) = q.pop_front() {
        if all.len() >= 100 {
            break;
        }
        for _ in 0..4 {
            let (c, cancel) = parent.with_cancel();
            q.push_back(c.clone());
            all.push((c, cancel));
        }
    }
    let (ctxs, cancels): (Vec<_>, Vec<_>) = all.into_iter().unzip();
    let hs: Vec<_> = cancels
        .into_iter()
        .map(|c| go(move || c.cancel()))
        .collect();
    for c in ctxs.iter().rev() {
        wait_done(c);
    }
    for h in hs {
        h.join().unwrap();
    }
}

/// Ported from TestInterlockedCancels: a goroutine woken by the parent's cancellation cancels
/// the child while the parent's cancellation is cancelling that child too. Neither may
/// deadlock on the other's locks: the parent's cancel returns, and so does the goroutine's
/// (Go's test only waits for the child's done, which the parent's cancel alone closes; here
/// the goroutine is joined, so a cancel stuck on the tree's locks fails the test).
#[goroutines::test]
fn interlocked_cancels() {
    for _ in 0..200 {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_cancel();
        let (p, c) = (parent.clone(), child.clone());
        let h = go(move || {
            p.done().recv();
            cancel_child.cancel();
            c.err()
        });
        cancel_parent.cancel();
        wait_done(&child);
        let seen = h.join().unwrap();
        assert_eq!(
            seen,
            Some(ContextError::Canceled),
            "the goroutine's cancel returned"
        );
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(parent.err(), Some(ContextError::Canceled));
    }
}

/// Ported from TestLayersCancel and TestLayersTimeout: 30+ random layers of cancel and
/// timeout contexts; cancelling any layer, or the shortest timeout, finishes the innermost.
#[goroutines::test]
fn layers() {
    for test_timeout in [false, true] {
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D ^ test_timeout as u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut ctx = Context::background();
        let mut cancels = Vec::new();
        let mut timers = 0;
        let mut i = 0;
        while i < 30 || timers == 0 || cancels.is_empty() {
            let (c, cancel) = if rand(2) == 0 {
                ctx.with_cancel()
            } else {
                timers += 1;
                ctx.with_timeout(if test_timeout {
                    Duration::from_millis(5)
                } else {
                    LONG * 100
                })
            };
            ctx = c;
            cancels.push(cancel);
            i += 1;
        }
        if test_timeout {
            wait_done(&ctx);
            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        } else {
            assert!(!is_done(&ctx), "ctx should not be canceled yet");
            cancels[rand(cancels.len() as u64) as usize].cancel();
            assert!(is_done(&ctx), "ctx should be canceled");
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
        }
    }
}

/// Ported from TestWithCancelCanceledParent.
#[goroutines::test]
fn with_cancel_canceled_parent() {
    let (parent, pcancel) = Context::background().with_cancel();
    pcancel.cancel();
    let (c, _cancel) = parent.with_cancel();
    assert!(is_done(&c));
    assert_eq!(c.err(), Some(ContextError::Canceled));
}

/// Ported from TestDeadlineExceededSupportsTimeout, and Go's error messages.
#[test]
fn errors() {
    assert!(ContextError::DeadlineExceeded.is_timeout());
    assert_eq!(ContextError::Canceled.to_string(), "context canceled");
    assert_eq!(
        ContextError::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );
    let e: Box<dyn std::error::Error> = Box::new(ContextError::Canceled);
    assert_eq!(e.to_string(), "context canceled");
}

/// Dropping a CancelFunc does not cancel; a timeout still fires for a goroutine that holds
/// only the done channel; contexts work from plain OS threads.
#[test]
fn drop_and_threads() {
    let (c, cancel) = Context::background().with_cancel();
    drop(cancel);
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(c.err(), None);

    let (c, cancel) = Context::background().with_timeout(Duration::from_millis(5));
    let done = c.done();
    drop(c);
    drop(cancel);
    let t = std::thread::spawn(move || done.recv());
    assert_eq!(t.join().unwrap(), None);
}

/// A goroutine blocked in select on done is woken by a cancel from another goroutine, and a
/// deep chain of contexts cancels without overflowing a goroutine's stack.
#[goroutines::test]
fn cancel_wakes_and_deep_chain() {
    let (root, cancel) = Context::background().with_cancel();
    let mut leaf = root.clone();
    let mut keep = Vec::new();
    for _ in 0..20_000 {
        let (c, f) = leaf.with_cancel();
        keep.push(f);
        leaf = c;
    }
    let result = Chan::new(1);
    let (r, l) = (result.clone(), leaf.clone());
    go(move || {
        select! {
            recv(l.done()) -> _ => r.send(l.err()),
            recv(after(LONG)) -> _ => r.send(None),
        }
    });
    sleep(Duration::from_millis(2));
    cancel.cancel();
    assert_eq!(result.recv(), Some(Some(ContextError::Canceled)));
}
