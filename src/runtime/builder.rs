//! Configuration: `Builder`, and the environment variables that set its defaults.

use std::io;

use super::sched::MAX_PROCS;
use super::stack::{round_stack_size, DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};
use super::Runtime;

/// Builds a [`Runtime`] with explicit settings.
///
/// Unset settings come from the environment, as Go's do: `GOMAXPROCS` (default: the CPUs this
/// process may use, cgroup limits included, as `std::thread::available_parallelism` reports) and
/// `GOROUTINES_STACK_SIZE` (bytes, or with a `K`/`KiB` or `M`/`MiB` suffix; default 256 KiB). An
/// invalid value is an error that names the variable and the value.
///
/// ```
/// let rt = goroutines::Builder::new().max_procs(2).stack_size(64 * 1024).build().unwrap();
/// assert_eq!(rt.run(|| 1 + 1), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    max_procs: Option<usize>,
    stack_size: Option<usize>,
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

    /// Creates the runtime. No thread starts until the first goroutine does.
    ///
    /// # Errors
    /// `InvalidInput` for an out-of-range setting or environment variable.
    pub fn build(self) -> io::Result<Runtime> {
        let procs = match self.max_procs {
            Some(n) => check_procs(n, "max_procs")?,
            None => env_procs()?,
        };
        let stack = match self.stack_size {
            Some(n) => check_stack(n, "stack_size")?,
            None => env_stack()?,
        };
        Ok(Runtime::from_sched(super::sched::Sched::new(
            procs,
            round_stack_size(stack),
        )))
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

fn check_stack(n: usize, what: &str) -> io::Result<usize> {
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
