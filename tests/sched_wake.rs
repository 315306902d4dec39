//! Wake-ups are never lost: work made runnable from outside the runtime, or by a timer, while
//! every M is going idle, always runs. A lost wake-up would hang these tests; a watchdog turns
//! a hang into a failure with a message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goroutines::go;
use goroutines::runtime::park::{self, Unparker, WaitReason};

fn watchdog(name: &'static str, limit: Duration) -> Arc<std::sync::atomic::AtomicBool> {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        while !d.load(Ordering::SeqCst) {
            if start.elapsed() > limit {
                eprintln!("{name}: no progress for {limit:?}: a wake-up was lost");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    done
}

/// An OS thread and a goroutine take turns 20,000 times: each turn the goroutine parks and its
/// M goes idle, and the thread's unpark must bring an M back.
#[test]
fn thread_goroutine_ping_pong() {
    let rounds: u64 = 20_000;
    let done = watchdog("thread_goroutine_ping_pong", Duration::from_secs(60));
    let turn = Arc::new(AtomicU64::new(0));
    let g_waiter: Arc<Mutex<Option<Unparker>>> = Arc::new(Mutex::new(None));
    let t_waiter: Arc<Mutex<Option<Unparker>>> = Arc::new(Mutex::new(None));
    let (turn2, gw, tw) = (turn.clone(), g_waiter.clone(), t_waiter.clone());
    let h = go(move || {
        for r in 0..rounds {
            loop {
                *gw.lock().unwrap() = Some(park::current());
                if turn2.load(Ordering::SeqCst) == 2 * r + 1 {
                    break;
                }
                park::park(WaitReason::Zero);
            }
            turn2.store(2 * r + 2, Ordering::SeqCst);
            if let Some(u) = tw.lock().unwrap().take() {
                u.unpark();
            }
        }
    });
    for r in 0..rounds {
        turn.store(2 * r + 1, Ordering::SeqCst);
        if let Some(u) = g_waiter.lock().unwrap().take() {
            u.unpark();
        }
        loop {
            *t_waiter.lock().unwrap() = Some(park::current());
            if turn.load(Ordering::SeqCst) == 2 * r + 2 {
                break;
            }
            park::park(WaitReason::Zero);
        }
    }
    h.join().unwrap();
    done.store(true, Ordering::SeqCst);
}

/// Goroutines sleeping on runtime timers while the runtime is otherwise idle all wake, and
/// never before their deadline.
#[goroutines::test]
fn timers_wake_idle_runtime() {
    let done = watchdog("timers_wake_idle_runtime", Duration::from_secs(60));
    for round in 0..20u64 {
        let hs: Vec<_> = (0..50u64)
            .map(|i| {
                go(move || {
                    let d = Duration::from_micros((i * 37 + round * 101) % 3000);
                    let deadline = Instant::now() + d;
                    while Instant::now() < deadline {
                        park::park_until(WaitReason::Sleep, deadline);
                    }
                    assert!(Instant::now() >= deadline);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }
    done.store(true, Ordering::SeqCst);
}

/// Many OS threads ready goroutines at once while Ms come and go.
#[test]
fn many_threads_wake_goroutines() {
    let done = watchdog("many_threads_wake_goroutines", Duration::from_secs(60));
    let n_goroutines = 64;
    let rounds = 300u64;
    let counters: Arc<Vec<AtomicU64>> =
        Arc::new((0..n_goroutines).map(|_| AtomicU64::new(0)).collect());
    let waiters: Arc<Vec<Mutex<Option<Unparker>>>> =
        Arc::new((0..n_goroutines).map(|_| Mutex::new(None)).collect());
    let hs: Vec<_> = (0..n_goroutines)
        .map(|i| {
            let (c, w) = (counters.clone(), waiters.clone());
            go(move || {
                for r in 1..=rounds {
                    loop {
                        *w[i].lock().unwrap() = Some(park::current());
                        if c[i].load(Ordering::SeqCst) >= r {
                            break;
                        }
                        park::park(WaitReason::Zero);
                    }
                }
            })
        })
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (c, w) = (counters.clone(), waiters.clone());
            std::thread::spawn(move || {
                for r in 1..=rounds {
                    for i in (t..n_goroutines).step_by(4) {
                        c[i].store(r, Ordering::SeqCst);
                        if let Some(u) = w[i].lock().unwrap().take() {
                            u.unpark();
                        }
                    }
                    if r % 50 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for h in hs {
        h.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
}

/// Two goroutines handing off to each other through `runnext` must not starve a goroutine
/// waiting in the same P's local queue (found by a dump test at GOMAXPROCS=1: the dumper
/// goroutine never ran again). Go gets this from the runnext pair sharing one time slice, which
/// sysmon preempts after 10 ms; we take the local queue's head ahead of `runnext` every 61st
/// schedule.
#[test]
fn runnext_ping_pong_does_not_starve_the_local_queue() {
    let done = watchdog(
        "runnext_ping_pong_does_not_starve_the_local_queue",
        Duration::from_secs(30),
    );
    let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
    rt.run(|| {
        use goroutines::Chan;
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
        let (ping2, pong2, f2) = (ping.clone(), pong.clone(), flag.clone());
        let a = go(move || {
            let mut n = 0u64;
            let mut bystander = None;
            while !f2.load(Ordering::Relaxed) {
                if n == 100 {
                    // Lands in runnext; the send below readies the partner into runnext and
                    // pushes the bystander into the local queue, behind the hand-offs.
                    let f = f2.clone();
                    bystander = Some(go(move || f.store(true, Ordering::Relaxed)));
                }
                ping2.send(n);
                n = pong2.recv().unwrap();
            }
            ping2.close();
            bystander.unwrap().join().unwrap();
        });
        let b = go(move || {
            for v in &ping {
                pong.send(v + 1);
            }
        });
        a.join().unwrap();
        b.join().unwrap();
        assert!(flag.load(Ordering::Relaxed));
    });
    done.store(true, Ordering::Relaxed);
}
