//! The `Goroutine` builder (names in dumps and panic messages, per-goroutine stack sizes) and
//! the `JoinHandle` waits (`done()` in `select!`, `join_timeout`, `is_finished`).

use std::time::{Duration, Instant};

use goroutines::time::after;
use goroutines::{select, Builder, Chan, Goroutine};

mod common;

/// A named goroutine shows its name, quoted, between its id and its state in a dump.
#[test]
fn named_goroutine_in_dump() {
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let c = Chan::<()>::new(0);
        let rx = c.clone();
        let h = Goroutine::new()
            .name("conn 12")
            .spawn(move || rx.recv())
            .unwrap();
        // Asleep for longer than the test: on a loaded machine the dump may come late. The
        // runtime abandons it when `rt` is dropped.
        let plain = goroutines::go(|| goroutines::time::sleep(Duration::from_secs(600)));
        let named = format!("goroutine {} \"conn 12\" [chan receive", h.id());
        // An unnamed goroutine keeps Go's header.
        let unnamed = format!("goroutine {} [sleep", plain.id());
        let has = |d: &str, want: &str| d.lines().any(|l| l.starts_with(want));
        // Wait until both have parked (other tests' runtimes share the process, so count
        // nothing but these two).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let d = loop {
            let d = goroutines::dump();
            if (has(&d, &named) && has(&d, &unnamed)) || std::time::Instant::now() > deadline {
                break d;
            }
            goroutines::yield_now();
        };
        assert!(has(&d, &named), "want {named:?} in\n{d}");
        assert!(has(&d, &unnamed), "want {unnamed:?} in\n{d}");
        c.close();
        h.join().unwrap();
        drop(plain);
    });
}

/// The panic report of a named goroutine names it (checked in a child process's stderr).
#[test]
fn named_goroutine_in_panic_message() {
    if std::env::var_os("GOROUTINES_TEST_CHILD").is_some() {
        let h = Goroutine::new()
            .name("worker 3")
            .spawn(|| panic!("named panic text"))
            .unwrap();
        let id = h.id();
        let _ = h.join();
        println!("ID={id}");
        return;
    }
    let out = common::run_test_in_child(
        "named_goroutine_in_panic_message",
        &[("GOROUTINES_TEST_CHILD", "1")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = stdout
        .lines()
        .find_map(|l| l.split("ID=").nth(1))
        .unwrap_or_else(|| panic!("child printed no id: {stdout} {stderr}"))
        .trim()
        .to_string();
    assert!(
        stderr.contains(&format!("goroutine {id} \"worker 3\" panicked at"))
            && stderr.contains("named panic text"),
        "stderr: {stderr}"
    );
}

/// Uses about `kib` KiB of stack.
#[inline(never)]
fn use_stack(kib: usize) -> u8 {
    let buf = [kib as u8; 1024];
    let buf = std::hint::black_box(buf);
    if kib <= 1 {
        buf[0]
    } else {
        buf[1].wrapping_add(use_stack(kib - 1))
    }
}

/// A goroutine gets the stack size it asks for: 4 MiB of frames run on an 8 MiB stack, far
/// past the runtime's 256 KiB.
#[test]
fn stack_size_is_per_goroutine() {
    let rt = Builder::new().max_procs(1).build().unwrap();
    rt.run(|| {
        let h = Goroutine::new()
            .stack_size(8 << 20)
            // Debug builds' frames are two to three times larger.
            .spawn(|| use_stack(if cfg!(debug_assertions) { 1536 } else { 4096 }))
            .unwrap();
        h.join().unwrap();
    });
}

/// A stack size outside the runtime's limits is an `InvalidInput` error, not a panic.
#[test]
fn stack_size_outside_limits_is_an_error() {
    for bytes in [0, 1, 16 * 1024 - 1, (1 << 30) + 1] {
        let e = Goroutine::new().stack_size(bytes).spawn(|| ()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{bytes}: {e}");
        assert!(e.to_string().contains("Goroutine::stack_size"), "{e}");
    }
    Goroutine::new()
        .stack_size(16 * 1024)
        .spawn(|| ())
        .unwrap()
        .join()
        .unwrap();
}

/// Small and default stacks freed together (a P's cache holds both, and gives them back to
/// the shared pool in mixed batches) come back only as stacks of their own size: goroutines
/// that use most of a default stack afterwards do not overflow a small one.
#[test]
fn mixed_stack_sizes_are_reused_by_size() {
    common::watchdog(120);
    let rt = Builder::new().max_procs(1).build().unwrap();
    rt.run(|| {
        for _ in 0..3 {
            let hs: Vec<_> = (0..300)
                .map(|i| {
                    let b = Goroutine::new();
                    let b = if i % 2 == 0 {
                        b.stack_size(32 * 1024)
                    } else {
                        b
                    };
                    b.spawn(|| use_stack(8)).unwrap()
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            // 200 KiB of frames (80 KiB in debug builds, whose frames are two to three times
            // larger): fine on the default 256 KiB stack, fatal on a 32 KiB one.
            let kib = if cfg!(debug_assertions) { 80 } else { 200 };
            let hs: Vec<_> = (0..300)
                .map(|_| goroutines::go(move || use_stack(kib)))
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
    });
}

/// `done()` is a channel a `select!` can wait on beside a timeout: the timeout wins while the
/// goroutine runs, the done case once it has finished.
#[test]
fn done_in_select_with_timeout() {
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let gate = Chan::<()>::new(0);
        let rx = gate.clone();
        let h = goroutines::go(move || {
            rx.recv();
            5
        });
        let timed_out = select! {
            recv(h.done()) -> _ => false,
            recv(after(Duration::from_millis(20))) -> _ => true,
        };
        assert!(
            timed_out,
            "done() was ready while the goroutine was blocked"
        );
        assert!(!h.is_finished());
        gate.close();
        let start = Instant::now();
        let finished = select! {
            recv(h.done()) -> v => { assert_eq!(v, None); true }
            recv(after(Duration::from_secs(30))) -> _ => false,
        };
        assert!(finished, "done() not closed after {:?}", start.elapsed());
        assert!(h.is_finished());
        // Asked for after the end: closed at once.
        assert_eq!(h.done().recv(), None);
        assert_eq!(h.join().unwrap(), 5);
    });
}

/// `join_timeout` hands the handle back on timeout and the result once the goroutine is done;
/// on a plain thread too.
#[test]
fn join_timeout_returns_handle_then_result() {
    let gate = Chan::<()>::new(0);
    let rx = gate.clone();
    let h = goroutines::go(move || {
        rx.recv();
        "done"
    });
    let start = Instant::now();
    let h = h.join_timeout(Duration::from_millis(30)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(30));
    gate.close();
    let r = h.join_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(r.unwrap(), "done");
    let p = goroutines::go(|| panic!("boom"));
    assert!(p.join_timeout(Duration::from_secs(30)).unwrap().is_err());
}

/// Waiting in `join_timeout` parks the goroutine: a ticker beside it at GOMAXPROCS=1 keeps
/// ticking.
#[test]
fn join_timeout_does_not_block_the_p() {
    let rt = Builder::new().max_procs(1).build().unwrap();
    rt.run(|| {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = stop.clone();
        let ticker = goroutines::go(move || {
            let mut last = Instant::now();
            let mut worst = Duration::ZERO;
            while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                goroutines::time::sleep(Duration::from_millis(1));
                worst = worst.max(last.elapsed());
                last = Instant::now();
            }
            worst
        });
        let gate = Chan::<()>::new(0);
        let rx = gate.clone();
        let h = goroutines::go(move || rx.recv());
        let h = h.join_timeout(Duration::from_millis(300)).unwrap_err();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let worst = ticker.join().unwrap();
        assert!(
            worst < Duration::from_millis(200),
            "ticker stalled {worst:?}"
        );
        gate.close();
        h.join().unwrap();
    });
}
