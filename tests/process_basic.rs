//! `goroutines::process`: spawning, waiting through pidfds, pipes in the netpoller, errors.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{at_procs, watchdog, GapTicker};
use goroutines::process::Command;

/// The ticker test measures gaps; the thousand-children test forks a thousand processes. Run
/// them one at a time so that one does not measure the other.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn exit_codes_and_output(procs: usize) {
    at_procs(procs, || {
        let s = Command::new("sh").args(["-c", "exit 7"]).status().unwrap();
        assert_eq!(s.code(), Some(7));
        let o = Command::new("sh")
            .arg("-c")
            .arg("echo \"$GREETING\"; echo err >&2; pwd")
            .env_clear()
            .env("GREETING", "hello")
            .current_dir("/")
            .output()
            .unwrap();
        assert!(o.status.success());
        assert_eq!(o.stdout, b"hello\n/\n");
        assert_eq!(o.stderr, b"err\n");
        // `output` leaves the command's defaults as they were: `status` inherits again.
        let mut c = Command::new("true");
        c.output().unwrap();
        assert!(c.status().unwrap().success());
    });
}

#[test]
fn exit_codes_and_output_procs_1() {
    watchdog(60);
    exit_codes_and_output(1);
}

#[test]
fn exit_codes_and_output_procs_4() {
    watchdog(60);
    exit_codes_and_output(4);
}

/// A child killed by a signal reports it in its ExitStatus.
#[test]
fn killed_child_reports_the_signal() {
    watchdog(60);
    for procs in [1, 4] {
        at_procs(procs, || {
            let mut c = Command::new("sleep").arg("30").spawn().unwrap();
            assert!(c.try_wait().unwrap().is_none());
            c.kill().unwrap();
            let s = c.wait().unwrap();
            assert_eq!(s.signal(), Some(libc::SIGKILL));
            assert_eq!(s.code(), None);
            // Waiting again returns the same status at once.
            assert_eq!(c.wait().unwrap().signal(), Some(libc::SIGKILL));
        });
    }
}

#[test]
fn missing_program_is_std_error() {
    watchdog(60);
    at_procs(1, || {
        let ours = Command::new("/nonexistent/program").spawn().unwrap_err();
        let std = std::process::Command::new("/nonexistent/program")
            .spawn()
            .unwrap_err();
        assert_eq!(ours.kind(), ErrorKind::NotFound);
        assert_eq!(ours.raw_os_error(), std.raw_os_error());
        let ours = Command::new("ls")
            .current_dir("/nonexistent")
            .status()
            .unwrap_err();
        assert_eq!(ours.kind(), ErrorKind::NotFound);
    });
}

/// Pipes through `cat` in both directions: a writer and a reader goroutine, a megabyte each way.
#[test]
fn stdio_pipes_park_in_the_netpoller() {
    watchdog(60);
    for procs in [1, 4] {
        at_procs(procs, || {
            let mut c = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = c.stdin.take().unwrap();
            let mut stdout = c.stdout.take().unwrap();
            let n = 1 << 20;
            let w = goroutines::go(move || {
                let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
                stdin.write_all(&data).unwrap();
            });
            let mut got = Vec::new();
            stdout.read_to_end(&mut got).unwrap();
            w.join().unwrap();
            assert_eq!(got.len(), n);
            assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            assert!(c.wait().unwrap().success());
        });
    }
}

/// One child's stdout feeds another's stdin.
#[test]
fn pipe_between_children() {
    watchdog(60);
    at_procs(1, || {
        let mut a = Command::new("echo")
            .arg("piped")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out: Stdio = a.stdout.take().unwrap().try_into().unwrap();
        let o = Command::new("cat").stdin(out).output().unwrap();
        assert_eq!(o.stdout, b"piped\n");
        a.wait().unwrap();
    });
}

/// At GOMAXPROCS=1, a goroutine waiting for a child and one reading its stdout park: a ticking
/// goroutine keeps ticking.
#[test]
fn wait_and_read_do_not_block_the_p() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    watchdog(60);
    at_procs(1, || {
        let ticker = GapTicker::start();
        let mut c = Command::new("sh")
            .args(["-c", "sleep 0.3; echo done"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = c.stdout.take().unwrap();
        let reader = goroutines::go(move || {
            let mut s = String::new();
            out.read_to_string(&mut s).unwrap();
            s
        });
        let t0 = ticker.ticks();
        assert!(c.wait().unwrap().success());
        assert_eq!(reader.join().unwrap(), "done\n");
        let (worst, ticks) = ticker.finish();
        assert!(
            ticks >= t0 + 50,
            "ticker ticked {} times in 300 ms",
            ticks - t0
        );
        assert!(
            worst < Duration::from_millis(150),
            "worst ticker gap {worst:?}"
        );
    });
}

/// 1,000 children waited on by 1,000 goroutines at once, on 2 Ps: no thread per child.
#[test]
fn thousand_children_without_a_thousand_threads() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    watchdog(120);
    let before = threads();
    let (peak, elapsed) = at_procs(2, move || {
        let start = Instant::now();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p2, s2) = (peak.clone(), stop.clone());
        let sampler = goroutines::go(move || {
            while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                p2.fetch_max(threads(), std::sync::atomic::Ordering::Relaxed);
                goroutines::time::sleep(Duration::from_millis(5));
            }
        });
        let wg = goroutines::sync::WaitGroup::new();
        wg.add(1000);
        let hs: Vec<_> = (0..1000)
            .map(|_| {
                let wg = wg.clone();
                goroutines::go(move || {
                    let mut c = Command::new("sleep").arg("1").spawn().unwrap();
                    wg.done();
                    c.wait().unwrap()
                })
            })
            .collect();
        wg.wait(); // all 1,000 spawned; most are now parked in wait
        peak.fetch_max(threads(), std::sync::atomic::Ordering::Relaxed);
        for h in hs {
            assert!(h.join().unwrap().success());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        sampler.join().unwrap();
        (
            peak.load(std::sync::atomic::Ordering::Relaxed),
            start.elapsed(),
        )
    });
    eprintln!("1000 children: peak {peak} threads (from {before}), {elapsed:?} wall");
    assert!(
        peak < before + 100,
        "peak {peak} threads for 1,000 waiting children"
    );
}
