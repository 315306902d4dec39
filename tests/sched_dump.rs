//! `dump()` and `metrics()`: every goroutine with the right state, wait reason, stack and spawn
//! site, and counts that agree with what the program did.

use std::time::Duration;

use goroutines::chan::Chan;
use goroutines::runtime::WaitReason;
use goroutines::sync::{Mutex, WaitGroup};
use goroutines::{go, select, Builder, GoroutineId};

/// The header line of goroutine `id` in `dump`.
fn header(dump: &str, id: GoroutineId) -> &str {
    let want = format!("goroutine {id} [");
    dump.lines()
        .find(|l| l.starts_with(&want))
        .unwrap_or_else(|| panic!("no goroutine {id} in the dump:\n{dump}"))
}

/// The block of goroutine `id`: its header, frames and "created by" line.
fn block(dump: &str, id: GoroutineId) -> String {
    let want = format!("goroutine {id} [");
    let start = dump.find(&want).unwrap();
    let end = dump[start..].find("\n\n").map_or(dump.len(), |e| start + e);
    dump[start..end].to_string()
}

#[inline(never)]
fn wait_on_recv(c: Chan<i32>) {
    c.recv();
}

#[inline(never)]
fn wait_on_send(c: Chan<i32>) {
    c.send(1);
}

#[inline(never)]
fn wait_on_mutex(m: std::sync::Arc<Mutex<()>>) {
    drop(m.lock());
}

#[inline(never)]
fn wait_in_select(a: Chan<i32>, b: Chan<i32>) {
    select! {
        recv(a) -> _v => {},
        recv(b) -> _v => {},
    }
}

#[inline(never)]
fn wait_on_group(wg: WaitGroup) {
    wg.wait();
}

#[test]
fn dump_names_every_goroutine_with_reason_and_site() {
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let main = goroutines::current_id().unwrap();
        let (rc, sc, a, b) = (Chan::new(0), Chan::new(0), Chan::new(0), Chan::new(0));
        let m = std::sync::Arc::new(Mutex::new(()));
        let wg = WaitGroup::new();
        wg.add(1);
        let guard = m.lock();
        let mut cases = Vec::new();
        let c = rc.clone();
        let line = line!() + 1;
        let h = go(move || wait_on_recv(c));
        cases.push((h, "chan receive", "wait_on_recv", line));
        let c = sc.clone();
        let line = line!() + 1;
        let h = go(move || wait_on_send(c));
        cases.push((h, "chan send", "wait_on_send", line));
        let m2 = m.clone();
        let line = line!() + 1;
        let h = go(move || wait_on_mutex(m2));
        cases.push((h, "sync.Mutex.Lock", "wait_on_mutex", line));
        let (a2, b2) = (a.clone(), b.clone());
        let line = line!() + 1;
        let h = go(move || wait_in_select(a2, b2));
        cases.push((h, "select", "wait_in_select", line));
        let wg2 = wg.clone();
        let line = line!() + 1;
        let h = go(move || wait_on_group(wg2));
        cases.push((h, "sync.WaitGroup.Wait", "wait_on_group", line));
        let line = line!() + 1;
        let h = go(|| goroutines::time::sleep(Duration::from_secs(30)));
        cases.push((h, "sleep", "dump_names_every_goroutine", line));

        while goroutines::metrics().waiting < cases.len() {
            goroutines::yield_now();
        }
        goroutines::time::sleep(Duration::from_millis(20));
        let d = goroutines::dump();

        assert!(header(&d, main).ends_with("[running]:"), "{d}");
        assert!(
            block(&d, main).contains("dump_names_every_goroutine"),
            "{d}"
        );
        for (h, reason, func, line) in &cases {
            let head = header(&d, h.id());
            assert!(
                head.starts_with(&format!("goroutine {} [{reason}, ", h.id())),
                "{head}\n{d}"
            );
            // The wait time: at least the 20 ms slept above.
            assert!(head.contains("ms]") || head.contains("s]"), "{head}");
            let b = block(&d, h.id());
            assert!(
                b.contains(func),
                "want {func} on the stack of goroutine {}:\n{b}",
                h.id()
            );
            let site = format!("created by goroutine {main} at tests/sched_dump.rs:{line}:");
            let last = b.lines().last().unwrap();
            assert!(last.starts_with(&site), "want {site:?} last in\n{b}");
        }

        // The dump let everyone go: each can still be woken and finish.
        rc.send(1);
        sc.recv();
        drop(guard);
        a.send(1);
        wg.done();
        for (h, _, _, _) in cases.drain(..5) {
            h.join().unwrap();
        }
    });
}

/// A goroutine woken while the dump holds it parked is not lost: the dumper readies it. Values
/// flow until at least 50 dumps have overlapped the exchange. Runs at the environment's
/// GOMAXPROCS (CI: 1, 4 and the CPU count).
#[test]
fn wakeups_during_dumps_are_not_lost() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let rt = Builder::new().build().unwrap();
    rt.run(|| {
        let dumps = Arc::new(AtomicUsize::new(0));
        let c = Chan::<u64>::new(0);
        let done = Chan::<()>::new(0);
        let (done2, dumps2) = (done.clone(), dumps.clone());
        let dumper = go(move || loop {
            select! {
                recv(done2) -> _v => return,
                default => {
                    let _ = goroutines::dump();
                    dumps2.fetch_add(1, Ordering::Relaxed);
                    goroutines::yield_now();
                }
            }
        });
        let rx_c = c.clone();
        let rx = go(move || rx_c.iter().sum::<u64>());
        let mut sent = 0u64;
        let mut i = 0u64;
        while i < 1000 || dumps.load(Ordering::Relaxed) < 50 {
            c.send(i);
            sent += i;
            i += 1;
        }
        c.close();
        assert_eq!(rx.join().unwrap(), sent);
        done.send(());
        dumper.join().unwrap();
    });
}

#[test]
fn metrics_count_goroutines_by_state_and_reason() {
    let rt = Builder::new().max_procs(2).build().unwrap();
    let m = rt.run(|| {
        let c = Chan::<i32>::new(0);
        let hs: Vec<_> = (0..5)
            .map(|_| {
                let c = c.clone();
                go(move || c.recv())
            })
            .collect();
        let s = go(|| goroutines::time::sleep(Duration::from_millis(300)));
        while goroutines::metrics().waiting < 6 {
            goroutines::yield_now();
        }
        let m = goroutines::metrics();
        c.close();
        for h in hs {
            h.join().unwrap();
        }
        s.join().unwrap();
        m
    });
    assert_eq!(m.max_procs, 2);
    assert!(m.goroutines >= 7, "{m:?}");
    assert_eq!(m.waiting, 6, "{m:?}");
    assert!(m.running >= 1, "{m:?}");
    assert_eq!(
        m.waiting_by_reason,
        vec![(WaitReason::ChanReceive, 5), (WaitReason::Sleep, 1)],
        "{m:?}"
    );
    assert_eq!(m.local_queues.len(), 2);
    assert!(m.threads >= 1 && m.timers >= 1 && m.parks >= 6, "{m:?}");
    assert!(m.stack_reserved_bytes >= m.stack_resident_bytes, "{m:?}");
    assert!(m.stack_resident_bytes > 0, "{m:?}");
    assert_eq!(m.netpoll_waiters, 0);
}

#[test]
fn metrics_count_network_waiters() {
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = go(move || l.accept().map(|_| ()));
        while goroutines::metrics().netpoll_waiters == 0 {
            goroutines::yield_now();
        }
        assert_eq!(
            goroutines::metrics().waiting_by_reason,
            vec![(WaitReason::IoWait, 1)]
        );
        let _c = goroutines::net::TcpStream::connect(addr).unwrap();
        h.join().unwrap().unwrap();
        assert_eq!(goroutines::metrics().netpoll_waiters, 0);
    });
}
