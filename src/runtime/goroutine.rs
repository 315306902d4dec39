//! `Goroutine`: a builder for one goroutine with a name and its own stack size (std's
//! `thread::Builder`).
//!
//! What the builder sets travels to the scheduler in one [`SpawnOpts`] value, checked here, so
//! `Sched::spawn` only copies the name into the goroutine record and picks the stack size.
//! The name is kept in the record (`G::name`) for the goroutine's life and printed by dumps
//! (`goroutine 17 "conn 12" [chan receive]:`) and by the panic hook (`goroutine 17 "conn 12"
//! panicked at ...`). A stack of a size other than the runtime's comes from the stack pool of
//! that size (`stack.rs` keeps one pool per size), so it is reused by later goroutines of the
//! same size.
//!
//! Rejected: a name as `&'static str` only (names like "conn 12" are made at run time), and a
//! per-goroutine stack size rounded silently into range (a request outside the runtime's limits
//! is a mistake the caller should hear about, as `Builder::stack_size` says).

use std::io;
use std::panic::Location;
use std::sync::Arc;

use super::builder::check_stack;
use super::join::JoinHandle;
use super::stack::round_stack_size;
use super::with_current_sched;

/// What a spawn asks of the scheduler beyond the function: passed to `Sched::spawn`.
#[derive(Default)]
pub(crate) struct SpawnOpts {
    /// The goroutine's name, for dumps and panic messages.
    pub(crate) name: Option<Arc<str>>,
    /// Usable stack bytes, a whole number of pages within the runtime's limits; `None`: the
    /// runtime's size.
    pub(crate) stack_size: Option<usize>,
    /// May resume on any M after a park (`go_migratable`, docs/soundness.md).
    pub(crate) migratable: bool,
}

/// Configures one goroutine before it starts: its name and its stack size (std's
/// `thread::Builder`).
///
/// ```
/// let h = goroutines::Goroutine::new()
///     .name("conn 12")
///     .stack_size(1 << 20)
///     .spawn(|| 6 * 7)
///     .unwrap();
/// assert_eq!(h.join().unwrap(), 42);
/// ```
#[derive(Debug, Default)]
#[must_use = "a Goroutine does nothing until spawned"]
pub struct Goroutine {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Goroutine {
    /// A builder with no name and the runtime's stack size.
    pub fn new() -> Goroutine {
        Goroutine::default()
    }

    /// Names the goroutine: dumps print `goroutine 17 "conn 12" [chan receive]:`, and a panic in
    /// it is reported as `goroutine 17 "conn 12" panicked at ...`.
    ///
    /// ```
    /// goroutines::run(|| {
    ///     let c = goroutines::Chan::<()>::new(0);
    ///     let rx = c.clone();
    ///     let h = goroutines::Goroutine::new().name("conn 12").spawn(move || rx.recv()).unwrap();
    ///     while goroutines::metrics().waiting == 0 {
    ///         goroutines::yield_now();
    ///     }
    ///     assert!(goroutines::dump().contains(&format!("goroutine {} \"conn 12\" [", h.id())));
    ///     c.close();
    ///     h.join().unwrap();
    /// });
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Goroutine {
        self.name = Some(name.into());
        self
    }

    /// Gives the goroutine a stack of `bytes` usable bytes (rounded up to whole pages) instead
    /// of the runtime's [`Builder::stack_size`](crate::Builder::stack_size). `spawn` fails if it
    /// is outside the runtime's limits, 16 KiB to 1 GiB (as for `Builder::stack_size`).
    ///
    /// ```
    /// let deep = goroutines::Goroutine::new().stack_size(8 << 20).spawn(|| {
    ///     let buf = [1u8; 4 << 20]; // would overflow the default 256 KiB stack
    ///     std::hint::black_box(&buf).len()
    /// });
    /// assert_eq!(deep.unwrap().join().unwrap(), 4 << 20);
    /// assert!(goroutines::Goroutine::new().stack_size(1).spawn(|| ()).is_err());
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Goroutine {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the goroutine, on the caller's runtime (or the default one outside a goroutine),
    /// as [`go`](crate::go) does.
    ///
    /// # Errors
    /// `InvalidInput` if the stack size is outside the runtime's limits; otherwise as
    /// [`Runtime::try_go`](crate::Runtime::try_go): `OutOfMemory` when no stack can be mapped,
    /// `Other` after the runtime has been shut down.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let site = Location::caller();
        let opts = self.into_opts()?;
        with_current_sched(|s| super::spawn_with(s, f, site, opts))
    }

    /// Starts the goroutine on `rt`.
    ///
    /// # Errors
    /// As [`spawn`](Goroutine::spawn).
    ///
    /// ```
    /// let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
    /// let h = goroutines::Goroutine::new().name("worker").spawn_on(&rt, || 1).unwrap();
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn spawn_on<F, T>(self, rt: &super::Runtime, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let site = Location::caller();
        let opts = self.into_opts()?;
        super::spawn_with(&rt.sched, f, site, opts)
    }

    /// Starts the goroutine in scope `s`, as [`Scope::go`](crate::Scope::go) does: it may
    /// borrow from outside the scope.
    ///
    /// # Errors
    /// As [`spawn`](Goroutine::spawn).
    ///
    /// ```
    /// let v = vec![1, 2, 3];
    /// let sum = goroutines::scope(|s| {
    ///     let h = goroutines::Goroutine::new().name("summer").spawn_scoped(s, || v.iter().sum::<i32>());
    ///     h.unwrap().join().unwrap()
    /// });
    /// assert_eq!(sum, 6);
    /// ```
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        s: &'scope super::Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<super::ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let site = Location::caller();
        let opts = self.into_opts()?;
        s.spawn(f, site, opts)
    }

    /// Checks the settings and makes them what the scheduler takes.
    pub(crate) fn into_opts(self) -> io::Result<SpawnOpts> {
        let stack_size = match self.stack_size {
            Some(n) => Some(round_stack_size(check_stack(n, "Goroutine::stack_size")?)),
            None => None,
        };
        Ok(SpawnOpts {
            name: self.name.map(Arc::from),
            stack_size,
            migratable: false,
        })
    }
}
