//! Debug settings (`GOROUTINES_DEBUG`, Go's `GODEBUG`), the schedtrace printer and the SIGQUIT
//! goroutine dump.
//!
//! `GOROUTINES_DEBUG` is a comma-separated list of `key=value`:
//!
//! | key | value | effect |
//! | --- | --- | --- |
//! | `schedtrace` | milliseconds | print a `SCHED` line to stderr every period (Go's `schedtrace`) |
//! | `scheddetail` | `0` or `1` | with `schedtrace`, also a line per P, M and goroutine |
//! | `sigquit` | `0` or `1` | on SIGQUIT, print every goroutine to stderr and exit with status 2 |
//! | `deadlock` | `0` or `1` | the deadlock detector (on by default) |
//! | `panic` | `report` or `abort` | [`PanicPolicy`](crate::PanicPolicy) (`report` by default) |
//!
//! A [`Builder`](crate::Builder) setting overrides the variable. An unknown key or a bad value
//! is an error that names the variable and the key.
//!
//! The schedtrace printer is one thread per runtime that sleeps for the period and reads the
//! scheduler's counters without locking it, so each line is a close view, not an atomic one.
//!
//! SIGQUIT: the signal handler only writes a byte to a pipe (async-signal-safe); a listener
//! thread reads it and does the dump, which needs locks and memory. As Go does on SIGQUIT, the
//! process then exits with status 2.

pub(crate) mod allgs;
pub(crate) mod deadlock;
pub(crate) mod dump;
pub(crate) mod metrics;
pub(crate) mod overflow;
pub(crate) mod traceback;

use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use super::p::pstate;
use super::sched::{Sched, MAX_PROCS};
use crate::util::AuxThread;

/// The parsed `GOROUTINES_DEBUG`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DebugEnv {
    pub(crate) schedtrace: Option<Duration>,
    pub(crate) scheddetail: Option<bool>,
    pub(crate) sigquit: Option<bool>,
    pub(crate) deadlock: Option<bool>,
    pub(crate) panic: Option<super::builder::PanicPolicy>,
}

/// Reads `GOROUTINES_DEBUG`.
pub(crate) fn from_env() -> io::Result<DebugEnv> {
    match std::env::var("GOROUTINES_DEBUG") {
        Err(std::env::VarError::NotPresent) => Ok(DebugEnv::default()),
        Err(std::env::VarError::NotUnicode(v)) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("goroutines: invalid GOROUTINES_DEBUG={v:?}: not UTF-8"),
        )),
        Ok(v) => parse(&v),
    }
}

fn parse(v: &str) -> io::Result<DebugEnv> {
    let bad = |item: &str, why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("goroutines: invalid GOROUTINES_DEBUG={v:?}: {item:?} {why}"),
        )
    };
    let flag = |item: &str, val: &str| match val {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(bad(item, "must be 0 or 1")),
    };
    let mut d = DebugEnv::default();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((key, val)) = item.split_once('=') else {
            return Err(bad(item, "is not key=value"));
        };
        match key.trim() {
            "schedtrace" => match val.trim().parse::<u64>() {
                Ok(0) => d.schedtrace = None,
                Ok(ms) => d.schedtrace = Some(Duration::from_millis(ms)),
                Err(_) => return Err(bad(item, "must be a period in milliseconds")),
            },
            "scheddetail" => d.scheddetail = Some(flag(item, val.trim())?),
            "sigquit" => d.sigquit = Some(flag(item, val.trim())?),
            "deadlock" => d.deadlock = Some(flag(item, val.trim())?),
            "panic" => {
                d.panic = Some(match val.trim() {
                    "report" => super::builder::PanicPolicy::Report,
                    "abort" => super::builder::PanicPolicy::Abort,
                    _ => return Err(bad(item, "must be report or abort")),
                })
            }
            _ => {
                return Err(bad(
                    item,
                    "has an unknown key (known: schedtrace, scheddetail, sigquit, deadlock, panic)",
                ))
            }
        }
    }
    Ok(d)
}

// ---- schedtrace ----

/// Starts the thread that prints a `SCHED` line every `period`.
pub(crate) fn start_schedtrace(sched: &Arc<Sched>, period: Duration, detail: bool) {
    let weak = Arc::downgrade(sched);
    let spawned = std::thread::Builder::new()
        .name("goroutines-schedtrace".into())
        .spawn(move || loop {
            std::thread::sleep(period);
            let Some(s) = weak.upgrade() else { return };
            if s.is_shut_down() {
                return;
            }
            eprint!("{}", schedtrace(&s, detail));
        });
    match spawned {
        Ok(_) => {
            // It lives as long as the process.
            std::mem::forget(AuxThread::start());
        }
        Err(e) => eprintln!("goroutines: schedtrace: cannot start its thread: {e}"),
    }
}

/// One schedtrace report, in Go 1.27's format.
pub(crate) fn schedtrace(s: &Sched, detail: bool) -> String {
    let mut out = String::new();
    let procs = s.max_procs();
    let (idle_ms, spinning) = s.idle_and_spinning_ms();
    let ms = s.all_ms();
    let _ = write!(
        out,
        "SCHED {}ms: gomaxprocs={procs} idleprocs={} threads={} spinningthreads={spinning} \
         needspinning=0 idlethreads={idle_ms} runqueue={}",
        s.uptime_ms(),
        s.idle_procs(),
        ms.len(),
        s.global.len(),
    );
    let ps: Vec<_> = (0..procs).filter_map(|i| s.p_by_id(i)).collect();
    let m_id = |addr: usize| {
        ms.iter()
            .find(|m| Arc::as_ptr(m) as usize == addr)
            .map_or("nil".to_string(), |m| m.id.to_string())
    };
    if !detail {
        out.push_str(" [");
        for p in &ps {
            let _ = write!(
                out,
                " {}",
                p.runq.len() as usize + usize::from(p.has_runnext())
            );
        }
        out.push_str(" ] schedticks=[ ");
        for p in &ps {
            let _ = write!(out, "{} ", p.sched_tick.load(Ordering::Relaxed));
        }
        out.push_str("]\n");
        return out;
    }
    out.push_str(" gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0\n");
    for p in &ps {
        let word = p.state.load(Ordering::Relaxed);
        // Go's numbers: _Pidle 0, _Prunning 1, _Psyscall 2, _Pdead 4.
        let status = match word & pstate::MASK {
            pstate::IDLE => 0,
            pstate::SYSCALL => 2,
            pstate::RETIRED => 4,
            _ => 1,
        };
        let owner = word & !pstate::MASK;
        let _ = writeln!(
            out,
            "  P{}: status={status} schedtick={} syscalltick={} m={} runqsize={} gfreecnt=0 timerslen={}",
            p.id,
            p.sched_tick.load(Ordering::Relaxed),
            p.syscall_seq.load(Ordering::Relaxed),
            if owner == 0 { "nil".to_string() } else { m_id(owner) },
            p.runq.len() as usize + usize::from(p.has_runnext()),
            p.timers.len(),
        );
    }
    // Held by strong references: the M lines below name goroutines only through these, never
    // through an M's `locked_g`, which holds no count.
    let gs = s.allgs.snapshot();
    for m in &ms {
        let me = Arc::as_ptr(m) as usize;
        let p = (0..MAX_PROCS)
            .map_while(|i| s.p_by_id(i))
            .find(|p| p.state.load(Ordering::Relaxed) & !pstate::MASK == me)
            .map_or("nil".to_string(), |p| p.id.to_string());
        let curg = m.curg.load(Ordering::Relaxed);
        let lockedg = gs
            .iter()
            .find(|g| g.locked_m.load(Ordering::Relaxed) as usize == me)
            .map_or("nil".to_string(), |g| g.id().to_string());
        let _ = writeln!(
            out,
            "  M{}: p={p} curg={} mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning={} blocked={} lockedg={}",
            m.id,
            if curg == 0 { "nil".to_string() } else { curg.to_string() },
            m.spinning.load(Ordering::Relaxed),
            p == "nil" && curg == 0,
            lockedg,
        );
    }
    for g in &gs {
        let st = g.status();
        let m = ms
            .iter()
            .find(|m| m.curg.load(Ordering::Relaxed) == g.id().as_u64())
            .map_or("nil".to_string(), |m| m.id.to_string());
        let lockedm = g.locked_m.load(Ordering::Relaxed) as usize;
        let _ = writeln!(
            out,
            "  G{}: status={}({}) m={m} lockedm={}",
            g.id(),
            st.go_number(),
            g.wait_reason(),
            if lockedm == 0 {
                "nil".to_string()
            } else {
                m_id(lockedm)
            },
        );
    }
    out
}

// ---- SIGQUIT ----

/// Runtimes that asked for a dump on SIGQUIT.
static SIGQUIT_RUNTIMES: Mutex<Vec<Weak<Sched>>> = Mutex::new(Vec::new());
/// Write end of the pipe the handler writes to; -1 before it exists.
static SIGQUIT_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Dumps `sched` (with every other such runtime) on SIGQUIT.
pub(crate) fn dump_on_sigquit(sched: &Arc<Sched>) {
    crate::util::lock(&SIGQUIT_RUNTIMES).push(Arc::downgrade(sched));
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if let Err(e) = install_sigquit() {
            eprintln!("goroutines: cannot dump goroutines on SIGQUIT: {e}");
        }
    });
}

fn install_sigquit() -> io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let read_fd = fds[0];
    // SeqCst: read by the signal handler, which may run on any thread; the store happens before the
    // handler that reads it is installed.
    SIGQUIT_PIPE.store(fds[1], Ordering::SeqCst);
    std::thread::Builder::new()
        .name("goroutines-sigquit".into())
        .spawn(move || sigquit_listener(read_fd))?;
    // It lives as long as the process.
    std::mem::forget(AuxThread::start());
    // Registered through signal-hook, as `goroutines::signal` registers its actions, so the two
    // chain instead of replacing each other's handler.
    // SAFETY: the action is async-signal-safe: an atomic load, one write(2), errno saved and
    // restored; SIGQUIT is not in signal-hook's forbidden set.
    unsafe { signal_hook::low_level::register(libc::SIGQUIT, || on_sigquit(libc::SIGQUIT)) }?;
    Ok(())
}

/// True once some runtime asked for the SIGQUIT dump (its action is then registered).
pub(crate) fn sigquit_dump_installed() -> bool {
    SIGQUIT_PIPE.load(Ordering::Relaxed) >= 0
}

fn on_sigquit(_sig: libc::c_int) {
    if crate::signal::quit_watched() {
        return; // a channel asked for SIGQUIT (`goroutines::signal::notify`): Go skips the dump
    }
    let fd = SIGQUIT_PIPE.load(Ordering::Relaxed);
    // SAFETY: write(2) and errno access are async-signal-safe; the byte lives on our stack.
    unsafe {
        let errno = *libc::__errno_location();
        let b = 1u8;
        libc::write(fd, (&b as *const u8).cast(), 1);
        *libc::__errno_location() = errno;
    }
}

fn sigquit_listener(fd: libc::c_int) {
    let mut b = 0u8;
    loop {
        // SAFETY: reads one byte into `b` from the pipe we own.
        let n = unsafe { libc::read(fd, (&mut b as *mut u8).cast(), 1) };
        if n == 1 {
            break;
        }
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return;
    }
    let runtimes: Vec<Arc<Sched>> = crate::util::lock(&SIGQUIT_RUNTIMES)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut text = String::from("SIGQUIT: quit\n\n");
    for s in runtimes {
        text.push_str(&self::dump::dump_sched(&s));
    }
    eprint!("{text}");
    std::process::exit(2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_style_settings() {
        let d = parse("schedtrace=1000,scheddetail=1").unwrap();
        assert_eq!(d.schedtrace, Some(Duration::from_secs(1)));
        assert_eq!(d.scheddetail, Some(true));
        let d = parse(" sigquit=1 , deadlock=0 ").unwrap();
        assert_eq!((d.sigquit, d.deadlock), (Some(true), Some(false)));
        assert_eq!(parse("").unwrap(), DebugEnv::default());
        use crate::runtime::builder::PanicPolicy;
        assert_eq!(
            parse("panic=abort").unwrap().panic,
            Some(PanicPolicy::Abort)
        );
        assert_eq!(
            parse("panic=report").unwrap().panic,
            Some(PanicPolicy::Report)
        );
    }

    #[test]
    fn bad_settings_name_the_variable_and_the_key() {
        let e = parse("schedtrace=soon").unwrap_err().to_string();
        assert!(
            e.contains("GOROUTINES_DEBUG") && e.contains("schedtrace=soon"),
            "{e}"
        );
        let e = parse("gctrace=1").unwrap_err().to_string();
        assert!(e.contains("unknown key") && e.contains("gctrace"), "{e}");
        assert!(parse("sigquit=yes").is_err());
        assert!(parse("deadlock").is_err());
        let e = parse("panic=crash").unwrap_err().to_string();
        assert!(
            e.contains("panic=crash") && e.contains("report or abort"),
            "{e}"
        );
    }
}
