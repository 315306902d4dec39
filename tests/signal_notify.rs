//! `goroutines::signal`: delivery to channels, several watchers, full channels, ignore/reset,
//! uncatchable signals, and the SIGQUIT dump beside it. Signals are process-wide, so each test
//! uses its own signal; the cases that end a process run in a child (this binary re-run with
//! `GOROUTINES_SIGNAL_CASE`).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use common::{at_procs, watchdog, GapTicker};
use goroutines::signal::{self, Signal};
use goroutines::Chan;

fn raise(s: Signal) {
    // SAFETY: raise(3) with a signal number; its handler is installed by `notify`/`ignore`.
    assert_eq!(unsafe { libc::raise(s.as_raw()) }, 0);
}

#[test]
fn signal_type() {
    assert_eq!(Signal::INT.as_raw(), libc::SIGINT);
    assert_eq!(Signal::TERM.as_raw(), libc::SIGTERM);
    assert_eq!(Signal::HUP.as_raw(), libc::SIGHUP);
    assert_eq!(Signal::USR1.as_raw(), libc::SIGUSR1);
    assert_eq!(Signal::USR2.as_raw(), libc::SIGUSR2);
    assert_eq!(Signal::QUIT.as_raw(), libc::SIGQUIT);
    assert_eq!(Signal::CHLD.as_raw(), libc::SIGCHLD);
    assert_eq!(Signal::WINCH.as_raw(), libc::SIGWINCH);
    assert_eq!(Signal::from_raw(libc::SIGINT), Signal::INT);
    assert_eq!(format!("{:?}", Signal::TERM), "SIGTERM");
}

/// SIGUSR1 reaches a goroutine parked in `recv`, at GOMAXPROCS=1 (with a ticker that keeps
/// ticking meanwhile) and 4.
#[test]
fn notify_delivers_to_a_parked_goroutine() {
    watchdog(60);
    let ch: Chan<Signal> = Chan::new(1);
    signal::notify(&ch, &[Signal::USR1]);
    for procs in [1, 4] {
        let ch = ch.clone();
        at_procs(procs, move || {
            let ticker = (procs == 1).then(GapTicker::start);
            let ch2 = ch.clone();
            let waiter = goroutines::go(move || ch2.recv().unwrap());
            let t = std::thread::spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                raise(Signal::USR1);
            });
            assert_eq!(waiter.join().unwrap(), Signal::USR1);
            t.join().unwrap();
            if let Some(ticker) = ticker {
                let (worst, ticks) = ticker.finish();
                assert!(ticks >= 20, "ticker ticked {ticks} times");
                assert!(worst < Duration::from_millis(150), "worst gap {worst:?}");
            }
        });
    }
}

#[test]
fn several_channels_watch_one_signal() {
    watchdog(60);
    at_procs(4, || {
        let a: Chan<Signal> = Chan::new(1);
        let b: Chan<Signal> = Chan::new(1);
        signal::notify(&a, &[Signal::USR2]);
        signal::notify(&b, &[Signal::USR2, Signal::USR2]);
        raise(Signal::USR2);
        assert_eq!(
            a.recv_timeout(Duration::from_secs(10)).unwrap(),
            Signal::USR2
        );
        assert_eq!(
            b.recv_timeout(Duration::from_secs(10)).unwrap(),
            Signal::USR2
        );
        // One channel for the signal from `notify` twice: delivered once.
        assert!(b.recv_timeout(Duration::from_millis(50)).is_err());
        // Stop `a`: b still gets it, a does not.
        signal::stop(&a);
        raise(Signal::USR2);
        assert_eq!(
            b.recv_timeout(Duration::from_secs(10)).unwrap(),
            Signal::USR2
        );
        assert!(a.recv_timeout(Duration::from_millis(50)).is_err());
    });
}

/// Delivery never blocks: a full channel drops the signal, and later ones still arrive.
#[test]
fn full_channel_drops_the_signal() {
    watchdog(60);
    at_procs(1, || {
        let ch: Chan<Signal> = Chan::new(1);
        ch.send(Signal::from_raw(0)); // full
        let other: Chan<Signal> = Chan::new(1);
        signal::notify(&ch, &[Signal::WINCH]);
        signal::notify(&other, &[Signal::WINCH]);
        raise(Signal::WINCH);
        // `other` gets it even though `ch` is full (the dispatcher did not block on `ch`).
        assert_eq!(
            other.recv_timeout(Duration::from_secs(10)).unwrap(),
            Signal::WINCH
        );
        assert_eq!(ch.len(), 1);
        assert_eq!(ch.recv().unwrap(), Signal::from_raw(0)); // the dropped one is not queued
        raise(Signal::WINCH);
        assert_eq!(
            ch.recv_timeout(Duration::from_secs(10)).unwrap(),
            Signal::WINCH
        );
        signal::stop(&ch);
        signal::stop(&other);
    });
}

/// An ignored SIGHUP does not end the process (its default action would).
#[test]
fn ignore_keeps_the_process_alive() {
    watchdog(60);
    at_procs(1, || {
        let ch: Chan<Signal> = Chan::new(1);
        signal::notify(&ch, &[Signal::HUP]);
        signal::ignore(&[Signal::HUP]); // also stops relaying it
        raise(Signal::HUP);
        assert!(ch.recv_timeout(Duration::from_millis(50)).is_err());
    });
}

#[test]
fn uncatchable_signals_panic_with_a_message() {
    let ch: Chan<Signal> = Chan::new(1);
    for (s, name) in [
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGSTOP, "SIGSTOP"),
        (libc::SIGSEGV, "SIGSEGV"),
    ] {
        let e =
            std::panic::catch_unwind(|| signal::notify(&ch, &[Signal::from_raw(s)])).unwrap_err();
        let msg = e.downcast_ref::<String>().unwrap();
        assert_eq!(msg, &format!("signal: {name} cannot be caught or ignored"));
        assert!(std::panic::catch_unwind(|| signal::ignore(&[Signal::from_raw(s)])).is_err());
    }
    let e = std::panic::catch_unwind(|| signal::reset(&[Signal::from_raw(99)])).unwrap_err();
    assert_eq!(
        e.downcast_ref::<String>().unwrap(),
        "signal: invalid signal number 99"
    );
}

// ---- cases that end the process, run in a child ----

fn child(case: &str, debug: &str) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_case", "--nocapture", "--test-threads=1"])
        .env("GOROUTINES_SIGNAL_CASE", case)
        .env("GOROUTINES_DEBUG", debug)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_ready(c: &mut std::process::Child) {
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(
            out.read_line(&mut line).unwrap(),
            0,
            "child ended before ready"
        );
        if line.trim().ends_with("ready") {
            break;
        }
    }
    c.stdout = None;
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
}

fn stderr_of(c: &mut std::process::Child) -> String {
    let mut s = String::new();
    c.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn child_case() {
    let Ok(case) = std::env::var("GOROUTINES_SIGNAL_CASE") else {
        return;
    };
    goroutines::run(move || {
        let ch: Chan<Signal> = Chan::new(1);
        match case.as_str() {
            "dump" => signal::notify(&ch, &[Signal::USR1]), // the module is in use, QUIT is not
            "quit" => signal::notify(&ch, &[Signal::QUIT]),
            "reset" => {
                signal::notify(&ch, &[Signal::TERM]);
                signal::reset(&[Signal::TERM]);
            }
            "stop" => {
                signal::notify(&ch, &[Signal::USR2]);
                signal::stop(&ch);
            }
            _ => unreachable!(),
        }
        println!("ready");
        match case.as_str() {
            "quit" => {
                let s = ch.recv().unwrap();
                println!("got {s:?}");
                std::process::exit(0);
            }
            "reset" => raise(Signal::TERM),
            "stop" => raise(Signal::USR2),
            _ => {}
        }
        goroutines::time::sleep(Duration::from_secs(30));
    });
}

/// With the dump on (`sigquit=1`) and the signal module in use for other signals, SIGQUIT
/// still dumps the goroutines and exits with status 2.
#[test]
fn sigquit_dump_works_when_nobody_watches_quit() {
    watchdog(60);
    let mut c = child("dump", "sigquit=1");
    wait_ready(&mut c);
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(c.id() as i32, libc::SIGQUIT) }, 0);
    let st = c.wait().unwrap();
    let err = stderr_of(&mut c);
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(err.contains("SIGQUIT: quit"), "{err}");
}

/// A channel watching SIGQUIT gets it, and the dump stays out of the way (as in Go).
#[test]
fn notified_sigquit_goes_to_the_channel_not_the_dump() {
    watchdog(60);
    let mut c = child("quit", "sigquit=1");
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    while !line.trim().ends_with("ready") {
        line.clear();
        assert_ne!(out.read_line(&mut line).unwrap(), 0);
    }
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(c.id() as i32, libc::SIGQUIT) }, 0);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let st = c.wait().unwrap();
    let err = stderr_of(&mut c);
    assert_eq!(st.code(), Some(0), "{err}");
    assert!(rest.contains("got SIGQUIT"), "{rest}");
    assert!(!err.contains("SIGQUIT: quit"), "{err}");
}

/// After `reset` (and after `stop` of the last watcher) a signal takes its default action: the
/// child dies of it, and its ExitStatus says so.
#[test]
fn reset_and_stop_restore_the_default_action() {
    watchdog(60);
    for (case, sig) in [("reset", libc::SIGTERM), ("stop", libc::SIGUSR2)] {
        let mut c = child(case, "");
        wait_ready(&mut c);
        let st = c.wait().unwrap();
        assert_eq!(
            st.signal(),
            Some(sig),
            "{case}: {st:?} {}",
            stderr_of(&mut c)
        );
    }
}
