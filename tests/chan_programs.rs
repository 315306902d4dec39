//! Go's classic channel programs: the concurrent prime sieve, select over nil channels, close
//! while receivers and senders are blocked, the dynamic `Select`, and waits between goroutines
//! and OS threads.

use std::time::{Duration, Instant};

use goroutines::{go, select, Chan, RecvChan, Select, SendChan};

fn sleep(d: Duration) {
    let _ = Chan::<()>::nil().recv_timeout(d);
}

/// The concurrent prime sieve of chained goroutines, from the Go tour / Go's test/chan/sieve1.go.
#[goroutines::test]
fn prime_sieve() {
    fn generate(ch: SendChan<u32>) {
        let mut i = 2;
        loop {
            ch.send(i);
            i += 1;
        }
    }
    fn filter(input: RecvChan<u32>, out: SendChan<u32>, prime: u32) {
        loop {
            let i = input.recv().unwrap();
            if i % prime != 0 {
                out.send(i);
            }
        }
    }
    let ch = Chan::new(0);
    let tx = ch.sender();
    go(move || generate(tx));
    let mut input = ch.receiver();
    let mut primes = Vec::new();
    for _ in 0..100 {
        let prime = input.recv().unwrap();
        primes.push(prime);
        let next = Chan::new(0);
        let (i, o) = (input.clone(), next.sender());
        go(move || filter(i, o, prime));
        input = next.receiver();
    }
    assert_eq!(&primes[..10], &[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    assert_eq!(primes[99], 541);
    // The 101 goroutines stay blocked on their channels; the test runtime abandons them.
}

#[goroutines::test]
fn select_over_nil_channels() {
    let nil = Chan::<i32>::nil();
    // Only nil channels and a default: the default.
    let r = select! {
        recv(nil) -> _ => 1,
        send(nil, 5) => 2,
        default => 3,
    };
    assert_eq!(r, 3);
    // A nil case never wins over a ready one.
    let ready = Chan::new(1);
    ready.send(10);
    for _ in 0..100 {
        ready.try_send(10).ok();
        let r = select! {
            recv(nil) -> _ => 0,
            recv(ready) -> v => v.unwrap(),
            send(nil, 1) => 0,
        };
        assert_eq!(r, 10);
    }
    // Option cases: None is a nil channel.
    let off: Option<&Chan<i32>> = None;
    let on = Some(&ready);
    ready.try_send(11).ok();
    let r = select! {
        recv(off) -> _ => 0,
        recv(on) -> v => v.unwrap(),
    };
    assert_eq!(r, 11);
    // A blocking select on nil channels and a channel that becomes ready later.
    let later = Chan::new(0);
    let tx = later.clone();
    go(move || {
        sleep(Duration::from_millis(2));
        tx.send(42)
    });
    let r = select! {
        recv(nil) -> _ => 0,
        recv(later) -> v => v.unwrap(),
        send(nil, 1) => 0,
    };
    assert_eq!(r, 42);
    // Nil receive and send block forever: check they are still blocked after a while.
    let h = go(move || Chan::<i32>::nil().recv());
    let h2 = go(move || Chan::<i32>::nil().send(1));
    let h3 = go(move || select! {});
    sleep(Duration::from_millis(5));
    assert!(!h.is_finished() && !h2.is_finished() && !h3.is_finished());
    let stats = goroutines::stats();
    assert!(stats.goroutines >= 4);
}

#[goroutines::test]
fn close_while_receivers_and_senders_blocked() {
    for cap in [0usize, 3] {
        // Receivers: plain, timed and select, all woken with None.
        let ch = Chan::<i32>::new(cap);
        let mut hs = Vec::new();
        for k in 0..6 {
            let c = ch.clone();
            hs.push(go(move || match k % 3 {
                0 => c.recv(),
                1 => c.recv_timeout(Duration::from_secs(60)).ok(),
                _ => {
                    let other = Chan::<i32>::new(0);
                    select! {
                        recv(c) -> v => v,
                        recv(other) -> _ => Some(-1),
                    }
                }
            }));
        }
        sleep(Duration::from_millis(5));
        ch.close();
        for h in hs {
            assert_eq!(h.join().unwrap(), None);
        }

        // Senders: fill the buffer, block the rest, close: plain and select senders panic,
        // timed senders get their value back.
        let ch = Chan::<i32>::new(cap);
        for i in 0..cap {
            ch.send(i as i32);
        }
        let mut hs = Vec::new();
        for k in 0..6 {
            let c = ch.clone();
            hs.push(go(move || match k % 3 {
                0 => {
                    c.send(100);
                    0
                }
                1 => match c.send_timeout(101, Duration::from_secs(60)) {
                    Err(goroutines::SendTimeoutError::Closed(101)) => 1,
                    other => panic!("unexpected {other:?}"),
                },
                _ => {
                    let other = Chan::<i32>::new(0);
                    select! {
                        send(c, 102) => {},
                        recv(other) -> _ => {},
                    }
                    2
                }
            }));
        }
        sleep(Duration::from_millis(5));
        ch.close();
        let mut panics = 0;
        let mut timed = 0;
        for h in hs {
            match h.join() {
                Ok(1) => timed += 1,
                Ok(v) => panic!("sender {v} returned normally"),
                Err(p) => {
                    assert_eq!(
                        p.downcast_ref::<&str>().copied(),
                        Some("send on closed channel")
                    );
                    panics += 1;
                }
            }
        }
        assert_eq!((panics, timed), (4, 2));
        // The buffered values survive the close.
        let rest: Vec<i32> = ch.iter().collect();
        assert_eq!(rest, (0..cap as i32).collect::<Vec<_>>());
    }
}

#[goroutines::test]
fn dynamic_select() {
    let chans: Vec<Chan<usize>> = (0..20).map(|_| Chan::new(0)).collect();
    for (i, c) in chans.iter().enumerate() {
        let c = c.clone();
        go(move || c.send(i * 10));
    }
    let mut seen = [false; 20];
    for _ in 0..20 {
        let mut sel = Select::new();
        for (i, c) in chans.iter().enumerate() {
            sel.recv(c, move |v| (i, v));
        }
        let (i, v) = sel.select();
        assert_eq!(v, Some(i * 10));
        assert!(!seen[i]);
        seen[i] = true;
    }
    // Send cases, a nil case and a default.
    let out = Chan::new(1);
    let nil = Chan::<usize>::nil();
    let mut sel = Select::new();
    sel.send(&nil, 1, || "nil")
        .send(&out, 2, || "out")
        .default(|| "default");
    assert_eq!(sel.select(), "out");
    sel.send(&out, 3, || "out").default(|| "default");
    assert_eq!(sel.select(), "default");
    assert_eq!(out.recv(), Some(2));
}

#[goroutines::test]
fn select_send_and_recv_many_goroutines() {
    // A ring of goroutines passing a token with selects that both send and receive.
    let n = 50;
    let chans: Vec<Chan<u64>> = (0..n).map(|_| Chan::new(0)).collect();
    let done = Chan::<u64>::new(0);
    for i in 0..n {
        let input = chans[i].clone();
        let output = chans[(i + 1) % n].clone();
        let done = done.clone();
        go(move || loop {
            let v = input.recv().unwrap();
            if v >= 5000 {
                done.send(v);
                return;
            }
            select! {
                send(output, v + 1) => {},
                recv(input) -> _ => unreachable!(),
            }
        });
    }
    chans[0].send(0);
    assert_eq!(done.recv(), Some(5000));
}

#[test]
fn goroutines_and_threads_select_together() {
    // OS threads and goroutines on both sides of the same channels.
    let a = Chan::<u32>::new(0);
    let b = Chan::<u32>::new(4);
    let total = Chan::<u64>::new(8);
    let mut threads = Vec::new();
    for _ in 0..2 {
        let (a, b) = (a.clone(), b.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0..500 {
                select! {
                    send(a, i) => {},
                    send(b, i) => {},
                }
            }
        }));
    }
    let mut gs = Vec::new();
    for _ in 0..2 {
        let (a, b) = (a.clone(), b.clone());
        gs.push(goroutines::go(move || {
            for i in 0..500 {
                select! {
                    send(a, i) => {},
                    send(b, i) => {},
                }
            }
        }));
    }
    for k in 0..4 {
        let (a, b, t) = (a.clone(), b.clone(), total.clone());
        let body = move || {
            let mut sum = 0u64;
            let mut n = 0;
            while n < 500 {
                select! {
                    recv(a) -> v => sum += v.unwrap() as u64,
                    recv(b) -> v => sum += v.unwrap() as u64,
                }
                n += 1;
            }
            t.send(sum);
        };
        if k % 2 == 0 {
            std::thread::spawn(body);
        } else {
            goroutines::go(body);
        }
    }
    let s: u64 = (0..4).map(|_| total.recv().unwrap()).sum();
    assert_eq!(s, 4 * (0..500u64).sum::<u64>());
    for t in threads {
        t.join().unwrap();
    }
    for g in gs {
        g.join().unwrap();
    }
}

/// Stands for the timer issue's `time::after(d) -> RecvChan<Instant>`: a channel returned by
/// value that delivers the time once after `d`.
fn after(d: Duration) -> RecvChan<Instant> {
    let ch = Chan::new(1);
    let tx = ch.clone();
    go(move || {
        sleep(d);
        tx.send(Instant::now());
    });
    ch.receiver()
}

#[goroutines::test]
fn select_with_a_timeout_channel_by_value() {
    let never = Chan::<i32>::new(0);
    let start = Instant::now();
    let r = select! {
        recv(never) -> _ => "value",
        recv(after(Duration::from_millis(5))) -> t => {
            assert!(t.unwrap() >= start);
            "timeout"
        }
    };
    assert_eq!(r, "timeout");
    let mut sel = Select::new();
    sel.recv(&never, |_| "value")
        .recv(after(Duration::from_millis(1)), |_| "timeout");
    assert_eq!(sel.select(), "timeout");
    // A ready value wins over a timer that has not fired.
    let ready = Chan::new(1);
    ready.send(1);
    let r = select! {
        recv(ready) -> v => v.unwrap(),
        recv(after(Duration::from_secs(60))) -> _ => 0,
    };
    assert_eq!(r, 1);
}
