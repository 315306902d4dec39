//! Basic channel behaviour: buffered and unbuffered hand-off, close, nil channels, timeouts,
//! iteration, directional views, identity, and every panic message.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use goroutines::{
    go, select, Chan, RecvTimeoutError, Select, SendTimeoutError, TryRecvError, TrySendError,
};

fn panic_message(r: std::thread::Result<()>) -> String {
    let p = r.expect_err("expected a panic");
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "?".to_string()
    }
}

#[goroutines::test]
fn unbuffered_rendezvous() {
    let ch = Chan::new(0);
    let tx = ch.clone();
    let h = go(move || {
        for i in 0..100 {
            tx.send(i);
        }
        tx.close();
    });
    let got: Vec<i32> = ch.iter().collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    h.join().unwrap();
}

#[goroutines::test]
fn buffered_fifo_and_close_drains() {
    let ch = Chan::new(3);
    ch.send(1);
    ch.send(2);
    ch.send(3);
    assert_eq!(ch.len(), 3);
    assert_eq!(ch.cap(), 3);
    assert_eq!(ch.try_send(4), Err(TrySendError::Full(4)));
    ch.close();
    assert!(ch.is_closed());
    assert_eq!(ch.try_send(5), Err(TrySendError::Closed(5)));
    assert_eq!(ch.recv(), Some(1));
    assert_eq!(ch.try_recv(), Ok(2));
    assert_eq!(ch.recv(), Some(3));
    assert_eq!(ch.recv(), None);
    assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(
        ch.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Closed)
    );
}

#[goroutines::test]
fn full_buffer_with_blocked_senders_keeps_order() {
    let ch = Chan::new(2);
    ch.send(0);
    ch.send(1);
    let tx = ch.clone();
    let h = go(move || {
        for i in 2..10 {
            tx.send(i);
        }
    });
    let got: Vec<i32> = (0..10).map(|_| ch.recv().unwrap()).collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    h.join().unwrap();
}

#[goroutines::test]
fn timeouts() {
    let ch = Chan::<u8>::new(0);
    let t = Instant::now();
    assert_eq!(
        ch.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(t.elapsed() >= Duration::from_millis(20));
    assert_eq!(
        ch.send_timeout(1, Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(1))
    );
    // The timed-out waiters left no node behind: a hand-off still works.
    let tx = ch.clone();
    let h = go(move || tx.send_timeout(7, Duration::from_secs(30)));
    assert_eq!(ch.recv(), Some(7));
    assert_eq!(h.join().unwrap(), Ok(()));
    let rx = ch.clone();
    let h = go(move || rx.recv_timeout(Duration::from_secs(30)));
    ch.send(8);
    assert_eq!(h.join().unwrap(), Ok(8));
    // Close wakes a timed sender with Closed.
    let tx = ch.clone();
    let h = go(move || tx.send_timeout(9, Duration::from_secs(30)));
    while ch.try_send(0).is_ok() {}
    goroutines::yield_now();
    std::thread::sleep(Duration::from_millis(5));
    ch.close();
    match h.join().unwrap() {
        Err(SendTimeoutError::Closed(9)) | Ok(()) => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[goroutines::test]
fn timeouts_race_with_wakers() {
    // Many short timeouts racing with senders: every value sent is received exactly once.
    let ch = Chan::new(0);
    let tx = ch.clone();
    let n = 2000;
    let h = go(move || {
        let mut sent = 0u64;
        for i in 0..n {
            if tx.send_timeout(i, Duration::from_micros(50)).is_ok() {
                sent += i;
            }
        }
        tx.close();
        sent
    });
    let mut got = 0u64;
    loop {
        match ch.recv_timeout(Duration::from_micros(30)) {
            Ok(v) => got += v,
            Err(RecvTimeoutError::Closed) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    assert_eq!(h.join().unwrap(), got);
}

#[goroutines::test]
fn identity_views_and_default() {
    let a = Chan::<i32>::new(1);
    let b = a.clone();
    let c = Chan::<i32>::new(1);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(Chan::<i32>::default(), Chan::nil());
    assert!(Chan::<i32>::default().is_nil());
    let tx = a.sender();
    let rx = a.receiver();
    assert_eq!(tx, a);
    assert_eq!(rx.clone(), a);
    tx.send(3);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.cap(), 1);
    assert_eq!(rx.recv(), Some(3));
    tx.close();
    assert!(rx.is_closed());
    let mut n = 0;
    for _ in &rx {
        n += 1;
    }
    assert_eq!(n, 0);
}

#[goroutines::test]
fn for_loop_and_into_iter() {
    let ch = Chan::new(10);
    for i in 0..10 {
        ch.send(i);
    }
    ch.close();
    let mut sum = 0;
    for v in &ch {
        sum += v;
    }
    assert_eq!(sum, 45);
    let ch2 = Chan::new(2);
    ch2.send(1);
    ch2.send(2);
    assert_eq!(ch2.try_iter().collect::<Vec<_>>(), [1, 2]);
    ch2.close();
    assert_eq!(ch2.into_iter().count(), 0);
}

#[goroutines::test]
fn dropping_handles_does_not_close() {
    let ch = Chan::<i32>::new(0);
    let tx = ch.clone();
    drop(tx);
    assert!(!ch.is_closed());
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
}

#[goroutines::test]
fn buffered_values_dropped_with_channel() {
    let marker = std::sync::Arc::new(());
    let ch = Chan::new(4);
    for _ in 0..3 {
        ch.send(marker.clone());
    }
    ch.recv();
    assert_eq!(std::sync::Arc::strong_count(&marker), 3);
    drop(ch);
    assert_eq!(std::sync::Arc::strong_count(&marker), 1);
}

#[goroutines::test]
fn panic_messages() {
    let ch = Chan::<i32>::new(1);
    ch.close();
    assert_eq!(
        panic_message(catch_unwind(|| ch.send(1))),
        "send on closed channel"
    );
    assert_eq!(
        panic_message(catch_unwind(|| ch.close())),
        "close of closed channel"
    );
    assert_eq!(
        panic_message(catch_unwind(|| Chan::<i32>::nil().close())),
        "close of nil channel"
    );
    assert_eq!(
        panic_message(catch_unwind(|| ch.sender().send(1))),
        "send on closed channel"
    );
    assert_eq!(
        panic_message(catch_unwind(|| ch.sender().close())),
        "close of closed channel"
    );
    let r = catch_unwind(AssertUnwindSafe(|| {
        select! {
            send(ch, 1) => {},
        }
    }));
    assert_eq!(panic_message(r), "send on closed channel");
    let r = catch_unwind(AssertUnwindSafe(|| {
        select! {
            send(ch, 1) => {},
            default => {},
        }
    }));
    assert_eq!(panic_message(r), "send on closed channel");
    let other = Chan::<i32>::new(0);
    let r = catch_unwind(AssertUnwindSafe(|| {
        select! {
            send(ch, 1) => {},
            recv(other) -> _ => {},
        }
    }));
    assert_eq!(panic_message(r), "send on closed channel");
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut s = Select::new();
        s.send(&ch, 1, || ()).recv(&other, |_| ());
        s.select()
    }));
    assert_eq!(panic_message(r), "send on closed channel");
}

#[goroutines::test]
fn blocked_sender_panics_on_close() {
    // Unbuffered: the sender blocks, then the close wakes it and it panics.
    let ch = Chan::<i32>::new(0);
    let tx = ch.clone();
    let h = go(move || tx.send(1));
    // Whether the close comes before or after the sender parks, the send panics.
    std::thread::sleep(Duration::from_millis(10));
    ch.close();
    let p = h.join().expect_err("a sender woken by close must panic");
    assert_eq!(
        p.downcast_ref::<&str>().copied(),
        Some("send on closed channel")
    );
    // A select parked on a send is woken by the close and panics too.
    let ch = Chan::<i32>::new(0);
    let c2 = ch.clone();
    let h = go(move || {
        let never = Chan::<i32>::nil();
        select! {
            send(c2, 1) => {},
            recv(never) -> _ => {},
        }
    });
    std::thread::sleep(Duration::from_millis(10));
    ch.close();
    let p = h.join().expect_err("select send woken by close must panic");
    assert_eq!(
        p.downcast_ref::<&str>().copied(),
        Some("send on closed channel")
    );
}

#[test]
fn works_from_os_threads() {
    let ch = Chan::new(0);
    let tx = ch.clone();
    let t = std::thread::spawn(move || {
        for i in 0..1000 {
            tx.send(i);
        }
        tx.close();
    });
    let h = go(move || ch.iter().sum::<i64>());
    assert_eq!(h.join().unwrap(), 499_500);
    t.join().unwrap();
    // Thread to thread, with select.
    let a = Chan::new(0);
    let b = Chan::<i32>::new(0);
    let (a2, b2) = (a.clone(), b.clone());
    let t = std::thread::spawn(move || {
        for i in 0..100 {
            select! {
                send(a2, i) => {},
                recv(b2) -> _ => break,
            }
        }
    });
    for i in 0..100 {
        assert_eq!(a.recv(), Some(i));
    }
    t.join().unwrap();
    assert_eq!(
        a.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
}

/// A capacity whose buffer cannot exist panics with Go's message (it used to abort the process:
/// "memory allocation of 4611686018427387904 bytes failed").
#[test]
fn makechan_size_out_of_range() {
    let r = catch_unwind(|| drop(Chan::<i64>::new(1 << 59)));
    assert_eq!(panic_message(r), "makechan: size out of range");
    let r = catch_unwind(|| drop(Chan::<[u8; 4096]>::new(1 << 40)));
    assert_eq!(panic_message(r), "makechan: size out of range");
    let r = catch_unwind(|| drop(Chan::<u64>::new(usize::MAX)));
    assert_eq!(panic_message(r), "makechan: size out of range");
}

/// A channel of a zero-sized type allocates nothing, so any capacity is fine (it used to build
/// the buffer slot by slot: over 20 s for 2^34 slots in a debug build), and it still counts.
#[test]
fn zero_sized_channel_of_huge_capacity() {
    let c = Chan::<()>::new(1 << 34);
    assert_eq!(c.cap(), 1 << 34);
    for _ in 0..1000 {
        c.try_send(()).unwrap();
    }
    assert_eq!(c.len(), 1000);
    assert_eq!(c.try_recv(), Ok(()));
    assert_eq!(c.len(), 999);
}
