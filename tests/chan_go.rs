//! Ports of Go's channel tests (runtime/chan_test.go, Go 1.27), sized for a 2-core machine in
//! debug mode (roughly Go's `-short` sizes).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goroutines::{go, select, yield_now, Chan, JoinHandle};

/// Parks the calling goroutine for `d` (a timed receive on a nil channel), so that other
/// goroutines run meanwhile even with GOMAXPROCS=1.
fn sleep(d: Duration) {
    let _ = Chan::<()>::nil().recv_timeout(d);
}

fn join_all<T>(hs: Vec<JoinHandle<T>>) -> Vec<T> {
    hs.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Ported from Go's runtime/chan_test.go TestChan (with N = 20 capacities, Go's short mode).
#[goroutines::test]
fn test_chan() {
    const N: usize = 20;
    for chan_cap in 0..N {
        {
            // Ensure that receive from empty chan blocks.
            let c = Chan::<i32>::new(chan_cap);
            let recv1 = Arc::new(AtomicBool::new(false));
            let recv2 = Arc::new(AtomicBool::new(false));
            let (c1, r1) = (c.clone(), recv1.clone());
            go(move || {
                let _ = c1.recv();
                r1.store(true, Ordering::SeqCst);
            });
            let (c2, r2) = (c.clone(), recv2.clone());
            go(move || {
                let _ = c2.recv();
                r2.store(true, Ordering::SeqCst);
            });
            sleep(Duration::from_millis(1));
            assert!(
                !recv1.load(Ordering::SeqCst) && !recv2.load(Ordering::SeqCst),
                "chan[{chan_cap}]: receive from empty chan"
            );
            // Ensure that non-blocking receive does not block.
            select! {
                recv(c) -> _ => panic!("chan[{chan_cap}]: receive from empty chan"),
                default => {}
            }
            select! {
                recv(c) -> _v => panic!("chan[{chan_cap}]: receive from empty chan"),
                default => {}
            }
            c.send(0);
            c.send(0);
        }
        {
            // Ensure that send to full chan blocks.
            let c = Chan::<i32>::new(chan_cap);
            for i in 0..chan_cap {
                c.send(i as i32);
            }
            let sent = Arc::new(AtomicU32::new(0));
            let (c1, s1) = (c.clone(), sent.clone());
            go(move || {
                c1.send(0);
                s1.store(1, Ordering::SeqCst);
            });
            sleep(Duration::from_millis(1));
            assert_eq!(
                sent.load(Ordering::SeqCst),
                0,
                "chan[{chan_cap}]: send to full chan"
            );
            // Ensure that non-blocking send does not block.
            select! {
                send(c, 0) => panic!("chan[{chan_cap}]: send to full chan"),
                default => {}
            }
            c.recv();
        }
        {
            // Ensure that we receive 0 (here: None) from closed chan.
            let c = Chan::<i32>::new(chan_cap);
            for i in 0..chan_cap {
                c.send(i as i32);
            }
            c.close();
            for i in 0..chan_cap {
                assert_eq!(c.recv(), Some(i as i32), "chan[{chan_cap}]");
            }
            assert_eq!(c.recv(), None);
            assert_eq!(c.recv(), None);
        }
        {
            // Ensure that close unblocks receive.
            let c = Chan::<i32>::new(chan_cap);
            let done = Chan::new(0);
            let (c1, d1) = (c.clone(), done.clone());
            go(move || {
                let v = c1.recv();
                d1.send(v.is_none());
            });
            sleep(Duration::from_millis(1));
            c.close();
            assert!(
                done.recv().unwrap(),
                "chan[{chan_cap}]: received non zero from closed chan"
            );
        }
        {
            // Send 100 integers, ensure that we receive them non-corrupted in FIFO order.
            let c = Chan::<i32>::new(chan_cap);
            let c1 = c.clone();
            go(move || {
                for i in 0..100 {
                    c1.send(i);
                }
            });
            for i in 0..100 {
                assert_eq!(c.recv(), Some(i), "chan[{chan_cap}]");
            }
            // Same, but using recv2 (Go's `v, ok := <-c`).
            let c1 = c.clone();
            go(move || {
                for i in 0..100 {
                    c1.send(i);
                }
            });
            for i in 0..100 {
                match c.recv() {
                    Some(v) => assert_eq!(v, i, "chan[{chan_cap}]"),
                    None => panic!("chan[{chan_cap}]: receive failed, expected {i}"),
                }
            }
            // Send 1000 integers in 4 goroutines, ensure that we receive what we send.
            const P: usize = 4;
            const L: i32 = 1000;
            for _ in 0..P {
                let c1 = c.clone();
                go(move || {
                    for i in 0..L {
                        c1.send(i);
                    }
                });
            }
            let done = Chan::<HashMap<i32, usize>>::new(0);
            for _ in 0..P {
                let (c1, d1) = (c.clone(), done.clone());
                go(move || {
                    let mut recv = HashMap::new();
                    for _ in 0..L {
                        let v = c1.recv().unwrap();
                        *recv.entry(v).or_insert(0) += 1;
                    }
                    d1.send(recv);
                });
            }
            let mut recv = HashMap::new();
            for _ in 0..P {
                for (k, v) in done.recv().unwrap() {
                    *recv.entry(k).or_insert(0) += v;
                }
            }
            assert_eq!(recv.len(), L as usize, "chan[{chan_cap}]: received values");
            for (_, v) in recv {
                assert_eq!(v, P, "chan[{chan_cap}]: received values");
            }
        }
        {
            // Test len/cap.
            let c = Chan::<i32>::new(chan_cap);
            assert_eq!((c.len(), c.cap()), (0, chan_cap));
            for i in 0..chan_cap {
                c.send(i as i32);
            }
            assert_eq!((c.len(), c.cap()), (chan_cap, chan_cap));
        }
    }
}

/// Ported from Go's runtime/chan_test.go TestNonblockRecvRace.
#[goroutines::test]
fn test_nonblock_recv_race() {
    let n = 2000;
    for _ in 0..n {
        let c = Chan::<i32>::new(1);
        c.send(1);
        let c1 = c.clone();
        let h = go(move || {
            select! {
                recv(c1) -> _ => true,
                default => false,
            }
        });
        c.close();
        c.recv();
        assert!(h.join().unwrap(), "chan is not ready");
    }
}

/// Ported from Go's runtime/chan_test.go TestNonblockSelectRace: select acts on the state of
/// the channels at one moment, not over a smeared window.
#[goroutines::test]
fn test_nonblock_select_race() {
    let n = 5000;
    let done = Chan::<bool>::new(1);
    for _ in 0..n {
        let c1 = Chan::<i32>::new(1);
        let c2 = Chan::<i32>::new(1);
        c1.send(1);
        let (a, b, d) = (c1.clone(), c2.clone(), done.clone());
        go(move || {
            select! {
                recv(a) -> _ => {},
                recv(b) -> _ => {},
                default => {
                    d.send(false);
                    return;
                }
            }
            d.send(true);
        });
        c2.send(1);
        select! {
            recv(c1) -> _ => {},
            default => {}
        }
        assert!(done.recv().unwrap(), "no chan is ready");
    }
}

/// Ported from Go's runtime/chan_test.go TestNonblockSelectRace2: as above, with close(c2)
/// instead of a send.
#[goroutines::test]
fn test_nonblock_select_race2() {
    let n = 5000;
    let done = Chan::<bool>::new(1);
    for _ in 0..n {
        let c1 = Chan::<i32>::new(1);
        let c2 = Chan::<i32>::new(0);
        c1.send(1);
        let (a, b, d) = (c1.clone(), c2.clone(), done.clone());
        go(move || {
            select! {
                recv(a) -> _ => {},
                recv(b) -> _ => {},
                default => {
                    d.send(false);
                    return;
                }
            }
            d.send(true);
        });
        c2.close();
        select! {
            recv(c1) -> _ => {},
            default => {}
        }
        assert!(done.recv().unwrap(), "no chan is ready");
    }
}

/// Ported from Go's runtime/chan_test.go TestSelfSelect: send and receive on the same channel
/// in one select neither crashes nor deadlocks, and a goroutine never receives its own value.
#[goroutines::test]
fn test_self_select() {
    for chan_cap in [0usize, 10] {
        let c = Chan::<usize>::new(chan_cap);
        let hs: Vec<_> = (0..2usize)
            .map(|p| {
                let c = c.clone();
                go(move || {
                    for i in 0..1000 {
                        if p == 0 || i % 2 == 0 {
                            select! {
                                send(c, p) => {},
                                recv(c) -> v => {
                                    assert!(!(chan_cap == 0 && v == Some(p)), "self receive");
                                }
                            }
                        } else {
                            select! {
                                recv(c) -> v => {
                                    assert!(!(chan_cap == 0 && v == Some(p)), "self receive");
                                }
                                send(c, p) => {},
                            }
                        }
                    }
                })
            })
            .collect();
        join_all(hs);
    }
}

/// Ported from Go's runtime/chan_test.go TestSelectStress (N = 5000 instead of 1e5).
#[goroutines::test]
fn test_select_stress() {
    const N: usize = 5000;
    let c = [
        Chan::<i32>::new(0),
        Chan::new(0),
        Chan::new(2),
        Chan::new(3),
    ];
    // 4 goroutines that send N values on each of the chans, 4 that receive N values on each,
    // 1 that sends N values on each in a single select, 1 that receives N values on each in a
    // single select.
    let mut hs = Vec::new();
    for ck in &c {
        let ck1 = ck.clone();
        hs.push(go(move || {
            for _ in 0..N {
                ck1.send(0);
            }
        }));
        let ck = ck.clone();
        hs.push(go(move || {
            for _ in 0..N {
                ck.recv();
            }
        }));
    }
    let c1 = c.clone();
    hs.push(go(move || {
        let mut n = [0usize; 4];
        let mut c1: [Option<&Chan<i32>>; 4] =
            [Some(&c1[0]), Some(&c1[1]), Some(&c1[2]), Some(&c1[3])];
        for _ in 0..4 * N {
            select! {
                send(c1[3], 0) => {
                    n[3] += 1;
                    if n[3] == N {
                        c1[3] = None;
                    }
                }
                send(c1[2], 0) => {
                    n[2] += 1;
                    if n[2] == N {
                        c1[2] = None;
                    }
                }
                send(c1[0], 0) => {
                    n[0] += 1;
                    if n[0] == N {
                        c1[0] = None;
                    }
                }
                send(c1[1], 0) => {
                    n[1] += 1;
                    if n[1] == N {
                        c1[1] = None;
                    }
                }
            }
        }
    }));
    let c2 = c.clone();
    hs.push(go(move || {
        let mut n = [0usize; 4];
        let mut c1: [Option<&Chan<i32>>; 4] =
            [Some(&c2[0]), Some(&c2[1]), Some(&c2[2]), Some(&c2[3])];
        for _ in 0..4 * N {
            select! {
                recv(c1[0]) -> _ => {
                    n[0] += 1;
                    if n[0] == N {
                        c1[0] = None;
                    }
                }
                recv(c1[1]) -> _ => {
                    n[1] += 1;
                    if n[1] == N {
                        c1[1] = None;
                    }
                }
                recv(c1[2]) -> _ => {
                    n[2] += 1;
                    if n[2] == N {
                        c1[2] = None;
                    }
                }
                recv(c1[3]) -> _ => {
                    n[3] += 1;
                    if n[3] == N {
                        c1[3] = None;
                    }
                }
            }
        }
    }));
    join_all(hs);
}

/// Ported from Go's runtime/chan_test.go TestSelectFairness.
#[goroutines::test]
fn test_select_fairness() {
    const TRIALS: usize = 10000;
    let c1 = Chan::<u8>::new(TRIALS + 1);
    let c2 = Chan::<u8>::new(TRIALS + 1);
    for _ in 0..TRIALS + 1 {
        c1.send(1);
        c2.send(2);
    }
    let c3 = Chan::<u8>::new(0);
    let c4 = Chan::<u8>::new(0);
    let out = Chan::<u8>::new(0);
    let done = Chan::<u8>::new(0);
    let (a, b, d, o) = (c1.clone(), c2.clone(), done.clone(), out.clone());
    let h = go(move || loop {
        let b = select! {
            recv(c3) -> v => v,
            recv(c4) -> v => v,
            recv(a) -> v => v,
            recv(b) -> v => v,
        };
        select! {
            send(o, b.unwrap()) => {},
            recv(d) -> _ => return,
        }
    });
    let (mut cnt1, mut cnt2) = (0usize, 0usize);
    for _ in 0..TRIALS {
        match out.recv() {
            Some(1) => cnt1 += 1,
            Some(2) => cnt2 += 1,
            b => panic!("unexpected value {b:?} on channel"),
        }
    }
    // If the select is fair, cnt1 and cnt2 are about the same: at most 10 sigma away.
    let mean = TRIALS as f64 * 0.5;
    let stddev = (TRIALS as f64 * 0.5 * 0.5).sqrt();
    assert!(
        (cnt1 as f64 - mean).abs() <= 10.0 * stddev,
        "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
    );
    done.close();
    h.join().unwrap();
}

/// Ported from Go's runtime/chan_test.go TestChanSendInterface (which only checks that it
/// compiles and runs): a full channel of trait objects takes `default` in both selects, keeps
/// the first value, and drops the values of the sends not taken, each once.
#[goroutines::test]
fn test_chan_send_interface() {
    struct Mt(u8, Arc<AtomicU32>);
    impl Drop for Mt {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicU32::new(0));
    let m = |tag| Box::new(Mt(tag, drops.clone())) as Box<dyn std::any::Any + Send>;
    let c = Chan::<Box<dyn std::any::Any + Send>>::new(1);
    c.send(m(0));
    let first = select! {
        send(c, m(1)) => false,
        default => true,
    };
    assert!(first, "a send on a full channel is not ready");
    let second = select! {
        send(c, m(2)) => false,
        send(c, m(3)) => false,
        default => true,
    };
    assert!(second, "no send on a full channel is ready");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        3,
        "the values of the sends not taken are dropped"
    );
    let v = c.try_recv().expect("the first value is still there");
    assert_eq!(v.downcast_ref::<Mt>().map(|m| m.0), Some(0));
    drop(v);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

/// Ported from Go's runtime/chan_test.go TestPseudoRandomSend.
#[goroutines::test]
fn test_pseudo_random_send() {
    let n = 100;
    for chan_cap in [0, n] {
        let c = Chan::<usize>::new(chan_cap);
        let c1 = c.clone();
        let h = go(move || {
            let mut l = vec![0; n];
            for x in l.iter_mut() {
                yield_now();
                *x = c1.recv().unwrap();
            }
            l
        });
        for _ in 0..n {
            select! {
                send(c, 1) => {},
                send(c, 0) => {},
            }
        }
        let l = h.join().unwrap();
        let n0 = l.iter().filter(|&&i| i == 0).count();
        let n1 = l.iter().filter(|&&i| i == 1).count();
        assert!(
            n0 > n / 10 && n1 > n / 10,
            "Want pseudorandom, got {n0} zeros and {n1} ones (chan cap {chan_cap})"
        );
    }
}

/// Ported from Go's runtime/chan_test.go TestMultiConsumer (niter divided by 10).
#[goroutines::test]
fn test_multi_consumer() {
    const NWORK: usize = 23;
    const NITER: usize = 27182;
    const PN: [usize; 10] = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
    let q = Chan::<usize>::new(NWORK * 3);
    let r = Chan::<usize>::new(NWORK * 3);
    // workers
    let mut workers = Vec::new();
    for w in 0..NWORK {
        let (q, r) = (q.clone(), r.clone());
        workers.push(go(move || {
            for v in &q {
                // mess with the fifo-ish nature of range
                if PN[w % PN.len()] == v {
                    yield_now();
                }
                r.send(v);
            }
        }));
    }
    // feeder & closer
    let (q1, r1) = (q.clone(), r.clone());
    let feeder = go(move || {
        let mut expect = 0;
        for i in 0..NITER {
            let v = PN[i % PN.len()];
            expect += v;
            q1.send(v);
        }
        q1.close(); // no more work
        join_all(workers); // workers done
        r1.close(); // ... so there can be no more results
        expect
    });
    // consume & check
    let (mut n, mut s) = (0, 0);
    for v in &r {
        n += 1;
        s += v;
    }
    let expect = feeder.join().unwrap();
    assert!(
        n == NITER && s == expect,
        "Expected sum {expect} (got {s}) from {NITER} iter (saw {n})"
    );
}

/// Ported from Go's runtime/chan_test.go TestSelectDuplicateChannel: a goroutine can be queued
/// on the same channel several times.
#[goroutines::test]
fn test_select_duplicate_channel() {
    let c = Chan::<i32>::new(0);
    let d = Chan::<i32>::new(0);
    let e = Chan::<i32>::new(0);
    // goroutine A
    let (c1, d1, e1) = (c.clone(), d.clone(), e.clone());
    go(move || {
        select! {
            recv(c1) -> _ => {},
            recv(c1) -> _ => {},
            recv(d1) -> _ => {},
        }
        e1.send(9);
    });
    sleep(Duration::from_millis(1)); // make sure goroutine A gets queued first on c
                                     // goroutine B
    let c2 = c.clone();
    let b = go(move || c2.recv());
    sleep(Duration::from_millis(1)); // make sure goroutine B gets queued on c before continuing
    d.send(7); // wake up A, it dequeues itself from c
    e.recv(); // A tells us it's done
    c.send(8); // wake up B
    assert_eq!(b.join().unwrap(), Some(8));
}
