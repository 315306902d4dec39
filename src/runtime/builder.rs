//! Configuration: `Builder`, and the environment variables that set its defaults.
//!
//! A `Builder` holds only what the caller set (`Option`s); `build` resolves each setting in one
//! order: the explicit setting, then the environment (`GOMAXPROCS`, `GOROUTINES_STACK_SIZE`,
//! and `GOROUTINES_DEBUG` parsed by `debug::from_env` for deadlock, sigquit, schedtrace,
//! scheddetail and the panic policy), then the default. It then makes the `Sched` and turns on
//! what was asked for (the SIGQUIT dump, the schedtrace thread, the trace from the environment).
//!
//! # Invariants
//! - Nothing out of range is silently clamped: a value out of range, set or from the
//!   environment, makes `build` return `InvalidInput` with a message naming the setting (or
//!   variable) and the value. The only adjustments are the CPU count capped at `MAX_PROCS`
//!   when `GOMAXPROCS` is unset, and the stack size rounded up to whole pages.
//! - The environment is read in `build`, not in `new`: a builder made before `set_var` sees
//!   the variable.
//! - Only `migrate_goroutines` is `unsafe` (it lets goroutines that hold `!Send` values on their
//!   stacks resume on another OS thread; docs/soundness.md).
//!
//! Rejected: attributes on `#[goroutines::main]` for each setting (a growing macro syntax that
//! programs could not set at run time; the macro takes none and the builder is ordinary code);
//! panicking on a bad environment variable (a library should not kill a process over its
//! environment; `goroutines::run` turns the error into a panic with the same message).

use std::io;
use std::time::Duration;

use super::sched::MAX_PROCS;
use super::stack::{round_stack_size, DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};
use super::Runtime;

/// Builds a [`Runtime`] with explicit settings.
///
/// Unset settings come from the environment, as Go's do: `GOMAXPROCS` (default: the CPUs this
/// process may use, cgroup limits included, as `std::thread::available_parallelism` reports) and
/// `GOROUTINES_STACK_SIZE` (bytes, or with a `K`/`KiB` or `M`/`MiB` suffix; default 256 KiB). An
/// invalid value is an error that names the variable and the value. The debugging settings come
/// from `GOROUTINES_DEBUG` (Go's `GODEBUG`), for example `GOROUTINES_DEBUG=schedtrace=1000`; see
/// [`Builder::schedtrace`].
///
/// ```
/// let rt = goroutines::Builder::new().max_procs(2).stack_size(64 * 1024).build().unwrap();
/// assert_eq!(rt.run(|| 1 + 1), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    max_procs: Option<usize>,
    stack_size: Option<usize>,
    detect_deadlock: Option<bool>,
    dump_on_sigquit: Option<bool>,
    schedtrace: Option<Duration>,
    scheddetail: Option<bool>,
    migrate: bool,
    panic_policy: Option<PanicPolicy>,
}

/// What a goroutine's panic does to the program; see [`Builder::panic_policy`].
///
/// ```
/// use goroutines::{Builder, PanicPolicy};
/// let rt = Builder::new().max_procs(1).panic_policy(PanicPolicy::Report).build().unwrap();
/// assert!(rt.run(|| goroutines::go(|| panic!("caught")).join()).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PanicPolicy {
    /// The panic is reported on stderr (by the panic hook) and ends only its goroutine; a
    /// joiner gets it as `Err`, and a detached goroutine's panic is otherwise ignored, as a
    /// thread's is. The default.
    #[default]
    Report,
    /// As Go: a panic that no one will see ends the process. The panic is reported, and when
    /// it ends a goroutine whose [`JoinHandle`](crate::JoinHandle) was dropped without
    /// joining (before or after the panic), the process prints
    /// `goroutines: goroutine N panicked and was not joined (panic policy Abort)` and exits
    /// with status 2, as a Go program does on an unrecovered panic. A joined panic is still
    /// returned to the joiner, and one caught by `catch_unwind` inside the goroutine is not a
    /// goroutine panic at all.
    Abort,
}

impl Builder {
    /// A builder with every setting taken from the environment.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// GOMAXPROCS: how many goroutines may run in parallel (1 to 4096).
    pub fn max_procs(mut self, n: usize) -> Builder {
        self.max_procs = Some(n);
        self
    }

    /// Usable bytes of each goroutine's stack, rounded up to whole pages (16 KiB to 1 GiB).
    /// Physical memory is committed only as a goroutine touches its stack.
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Whether [`Runtime::run`] ends the process when every goroutine is asleep with nothing
    /// left to wake them: it prints Go's "fatal error: all goroutines are asleep - deadlock!"
    /// and a goroutine dump to stderr and exits with status 2. On by default
    /// (`GOROUTINES_DEBUG=deadlock=0` turns it off).
    ///
    /// It stays quiet while a timer is pending, a goroutine waits on the network or runs inside
    /// [`blocking`](crate::blocking), and whenever the process has an OS thread that is not the
    /// runtime's own (such a thread may still send on a channel): test harnesses, for instance.
    ///
    /// ```no_run
    /// // Prints the message and a dump naming the main goroutine "[chan receive]", exits with 2.
    /// goroutines::run(|| goroutines::chan::Chan::<i32>::new(0).recv());
    /// ```
    pub fn detect_deadlock(mut self, on: bool) -> Builder {
        self.detect_deadlock = Some(on);
        self
    }

    /// On SIGQUIT (Ctrl-\\), print every goroutine to stderr and exit with status 2, as Go
    /// does. Off by default (`GOROUTINES_DEBUG=sigquit=1` turns it on), so that SIGQUIT keeps its
    /// usual meaning in programs that did not ask.
    pub fn dump_on_sigquit(mut self, on: bool) -> Builder {
        self.dump_on_sigquit = Some(on);
        self
    }

    /// Print a line about the scheduler to stderr every `period`, in the shape of Go's
    /// `GODEBUG=schedtrace`; `Duration::ZERO` turns it off. Also `GOROUTINES_DEBUG=schedtrace=MS`.
    ///
    /// ```text
    /// SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 needspinning=0 idlethreads=2 runqueue=3 [ 12 4 ] schedticks=[ 771 802 ]
    /// ```
    ///
    /// Read it as: the time since the runtime started; GOMAXPROCS; Ps with nothing to run; OS
    /// threads; threads looking for work; threads asleep; goroutines in the global queue; then
    /// each P's local queue and how many times each P has scheduled.
    pub fn schedtrace(mut self, period: Duration) -> Builder {
        self.schedtrace = Some(period);
        self
    }

    /// With [`schedtrace`](Builder::schedtrace), add a line per P, per M and per goroutine, as
    /// Go's `scheddetail=1` does. Also `GOROUTINES_DEBUG=scheddetail=1`.
    pub fn scheddetail(mut self, on: bool) -> Builder {
        self.scheddetail = Some(on);
        self
    }

    /// Lets every goroutine of this runtime resume on any of its OS threads, as in Go, as if
    /// each were started with [`go_migratable`](crate::go_migratable). Off by default.
    ///
    /// # Safety
    /// Every goroutine the runtime will run, including those started by libraries, must obey
    /// the rule of [`go_migratable`](crate::go_migratable)'s `# Safety` section.
    ///
    /// ```
    /// // SAFETY: the goroutines below keep nothing tied to an OS thread across a park.
    /// let rt = unsafe { goroutines::Builder::new().migrate_goroutines(true) }.build().unwrap();
    /// assert_eq!(rt.run(|| 1 + 1), 2);
    /// ```
    pub unsafe fn migrate_goroutines(mut self, on: bool) -> Builder {
        self.migrate = on;
        self
    }

    /// What a goroutine's panic does: [`PanicPolicy::Report`] (the default) or
    /// [`PanicPolicy::Abort`], Go's behaviour. Also `GOROUTINES_DEBUG=panic=abort`.
    ///
    /// Either way the panic is reported through the panic hook: with std's default hook the
    /// runtime prints `goroutine N panicked at FILE:LINE:COL:` and the message; a hook the
    /// program installed before the runtime started is called instead, on the panicking
    /// goroutine (where [`current_id`](crate::current_id) names it).
    ///
    /// ```no_run
    /// use goroutines::{Builder, PanicPolicy};
    /// let rt = Builder::new().panic_policy(PanicPolicy::Abort).build().unwrap();
    /// rt.run(|| {
    ///     drop(goroutines::go(|| panic!("nobody joins me")));
    ///     goroutines::time::sleep(std::time::Duration::from_secs(1)); // exits with 2 meanwhile
    /// });
    /// ```
    pub fn panic_policy(mut self, policy: PanicPolicy) -> Builder {
        self.panic_policy = Some(policy);
        self
    }

    /// Creates the runtime. No thread starts until the first goroutine does.
    ///
    /// # Errors
    /// `InvalidInput` for an out-of-range setting or environment variable.
    pub fn build(self) -> io::Result<Runtime> {
        let env = super::debug::from_env()?;
        let procs = match self.max_procs {
            Some(n) => check_procs(n, "max_procs")?,
            None => env_procs()?,
        };
        let stack = match self.stack_size {
            Some(n) => check_stack(n, "stack_size")?,
            None => env_stack()?,
        };
        let sched = super::sched::Sched::new(procs, round_stack_size(stack));
        sched
            .migrate_all
            .store(self.migrate, std::sync::atomic::Ordering::Relaxed);
        let deadlock = self.detect_deadlock.or(env.deadlock).unwrap_or(true);
        sched
            .detect_deadlock
            .store(deadlock, std::sync::atomic::Ordering::Relaxed);
        let abort = self.panic_policy.or(env.panic).unwrap_or_default() == PanicPolicy::Abort;
        sched
            .panic_abort
            .store(abort, std::sync::atomic::Ordering::Relaxed);
        if self.dump_on_sigquit.or(env.sigquit).unwrap_or(false) {
            super::debug::dump_on_sigquit(&sched);
        }
        let period = self.schedtrace.or(env.schedtrace).unwrap_or(Duration::ZERO);
        if !period.is_zero() {
            let detail = self.scheddetail.or(env.scheddetail).unwrap_or(false);
            super::debug::start_schedtrace(&sched, period, detail);
        }
        crate::trace::start_from_env();
        Ok(Runtime::from_sched(sched))
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn check_procs(n: usize, what: &str) -> io::Result<usize> {
    if (1..=MAX_PROCS).contains(&n) {
        Ok(n)
    } else {
        Err(invalid(format!(
            "goroutines: {what} is {n}; it must be from 1 to {MAX_PROCS}"
        )))
    }
}

pub(crate) fn check_stack(n: usize, what: &str) -> io::Result<usize> {
    if (MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&n) {
        Ok(n)
    } else {
        Err(invalid(format!(
            "goroutines: {what} is {n} bytes; it must be from {MIN_STACK_SIZE} (16 KiB) to {MAX_STACK_SIZE} (1 GiB)"
        )))
    }
}

fn env_procs() -> io::Result<usize> {
    match std::env::var("GOMAXPROCS") {
        Err(std::env::VarError::NotPresent) => {
            Ok(std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_PROCS))
        }
        Err(std::env::VarError::NotUnicode(v)) => {
            Err(invalid(format!("goroutines: invalid GOMAXPROCS={v:?}: expected a whole number from 1 to {MAX_PROCS}")))
        }
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_PROCS).contains(&n) => Ok(n),
            _ => Err(invalid(format!(
                "goroutines: invalid GOMAXPROCS={v:?}: expected a whole number from 1 to {MAX_PROCS}"
            ))),
        },
    }
}

fn env_stack() -> io::Result<usize> {
    let v = match std::env::var("GOROUTINES_STACK_SIZE") {
        Err(std::env::VarError::NotPresent) => return Ok(DEFAULT_STACK_SIZE),
        Err(std::env::VarError::NotUnicode(v)) => {
            return Err(invalid(format!(
                "goroutines: invalid GOROUTINES_STACK_SIZE={v:?}: not UTF-8"
            )))
        }
        Ok(v) => v,
    };
    let bad = || {
        invalid(format!(
            "goroutines: invalid GOROUTINES_STACK_SIZE={v:?}: expected bytes from {MIN_STACK_SIZE} to {MAX_STACK_SIZE}, \
             optionally with a K, KiB, M or MiB suffix (for example 256K)"
        ))
    };
    let t = v.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("KiB").or_else(|| t.strip_suffix(['K', 'k']))
    {
        (n, 1024)
    } else if let Some(n) = t.strip_suffix("MiB").or_else(|| t.strip_suffix(['M', 'm'])) {
        (n, 1024 * 1024)
    } else {
        (t, 1)
    };
    let n: usize = num.trim().parse().map_err(|_| bad())?;
    let bytes = n.checked_mul(mult).ok_or_else(bad)?;
    if (MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(bad())
    }
}
