//! Go's `os/signal`: deliver incoming Unix signals to channels.
//!
//! ```no_run
//! use goroutines::signal::{self, Signal};
//! goroutines::run(|| {
//!     let ch = goroutines::Chan::new(1);
//!     signal::notify(&ch, &[Signal::INT, Signal::TERM]);
//!     let s = ch.recv().unwrap(); // parks until Ctrl-C or `kill`
//!     println!("got {s:?}, shutting down");
//! });
//! ```
//!
//! # Design
//!
//! 1. Each signal that [`notify`] or [`ignore`] ever touches gets one action registered with
//!    `signal-hook` (which chains with handlers that other code installs through it, and is
//!    well kept; a hand-written `sigaction` would clobber theirs or be clobbered). The action is
//!    never unregistered; what it does depends on the signal's state, an atomic per signal:
//!    *default* (emulate the default action, as if we had never touched it), *ignored* (nothing)
//!    or *notify* (deliver).
//! 2. Delivery never blocks the signal path: the action only sets the signal's pending flag and
//!    writes one byte to a non-blocking pipe (both async-signal-safe). A byte that does not fit
//!    is dropped; the pending flag is what counts.
//! 3. A dispatcher thread ("goroutines-signal", started by the first `notify`) reads the pipe,
//!    takes each pending flag, and `try_send`s the signal to every channel watching it, under
//!    the watchers' lock: a full channel drops that signal (Go's rule: give the channel a buffer),
//!    several channels may watch one signal, and once [`stop`] returns the channel gets nothing
//!    more. Signals that arrive while a flag is already pending coalesce, as in Go.
//!
//! # SIGQUIT
//!
//! The goroutine dump on SIGQUIT (`Builder::dump_on_sigquit`, `runtime/debug.rs`) registers its
//! own action the same way and steps aside while some channel watches SIGQUIT, as Go's does;
//! with nobody watching, SIGQUIT dumps (when asked for) or takes its default action.
//!
//! # Which signals
//!
//! SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGILL and SIGFPE are the runtime's
//! (stack overflow detection) or signal-hook's forbidden set. Passing one of those is a
//! programming error and panics (see each function). An empty list means every other signal
//! from 1 to 31, as Go's `Notify(c)` with no signals.
//!
//! Rejected: `signalfd` (it needs the signals blocked in every thread, including threads that
//! other libraries start, or they are delivered the ordinary way), and a goroutine as the
//! dispatcher (it would tie delivery to one runtime; the thread serves every runtime and plain
//! threads alike).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

use crate::chan::Chan;
use crate::util::lock;

/// A Unix signal number (Go's `os.Signal` / `syscall.Signal`).
///
/// ```
/// use goroutines::signal::Signal;
/// assert_eq!(Signal::INT.as_raw(), libc::SIGINT);
/// assert_eq!(Signal::from_raw(libc::SIGTERM), Signal::TERM);
/// assert_eq!(format!("{:?}", Signal::HUP), "SIGHUP");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

impl Signal {
    /// SIGINT (Ctrl-C).
    pub const INT: Signal = Signal(libc::SIGINT);
    /// SIGTERM (`kill`'s default).
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// SIGHUP (the terminal went away; daemons reload on it).
    pub const HUP: Signal = Signal(libc::SIGHUP);
    /// SIGUSR1.
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    /// SIGUSR2.
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    /// SIGQUIT (Ctrl-\\).
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    /// SIGCHLD (a child changed state).
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    /// SIGWINCH (the terminal was resized).
    pub const WINCH: Signal = Signal(libc::SIGWINCH);

    /// The signal with number `signo` (any number; [`notify`] checks it).
    ///
    /// ```
    /// assert_eq!(goroutines::signal::Signal::from_raw(10).as_raw(), 10);
    /// ```
    pub const fn from_raw(signo: i32) -> Signal {
        Signal(signo)
    }

    /// The signal's number.
    ///
    /// ```
    /// assert_eq!(goroutines::signal::Signal::USR1.as_raw(), libc::SIGUSR1);
    /// ```
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match signal_hook::low_level::signal_name(self.0) {
            Some(n) => f.write_str(n),
            None => write!(f, "Signal({})", self.0),
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Highest signal number handled (real-time signals included).
const NSIG: usize = 65;

/// Per-signal state (step 1 of the design).
const DEFAULT: u8 = 0;
const IGNORED: u8 = 1;
const NOTIFY: u8 = 2;

static STATE: [AtomicU8; NSIG] = [const { AtomicU8::new(DEFAULT) }; NSIG];
static PENDING: [AtomicBool; NSIG] = [const { AtomicBool::new(false) }; NSIG];
/// Whether our signal-hook action is registered for the signal (under `WATCHERS`).
static HOOKED: [AtomicBool; NSIG] = [const { AtomicBool::new(false) }; NSIG];
/// Write end of the dispatcher's pipe; -1 before the dispatcher starts.
static PIPE_W: AtomicI32 = AtomicI32::new(-1);

/// Channels watching each signal. Held by the dispatcher while it delivers, so that `stop`
/// returning means no further delivery.
static WATCHERS: Mutex<Option<HashMap<i32, Vec<Chan<Signal>>>>> = Mutex::new(None);

fn watchers() -> MutexGuard<'static, Option<HashMap<i32, Vec<Chan<Signal>>>>> {
    lock(&WATCHERS)
}

/// True while some channel watches SIGQUIT (the SIGQUIT dump then stays out of the way).
pub(crate) fn quit_watched() -> bool {
    // Relaxed: a signal racing with `notify` may go either way, as in Go.
    STATE[libc::SIGQUIT as usize].load(Ordering::Relaxed) == NOTIFY
}

/// The signals an empty list stands for.
fn all_catchable() -> Vec<Signal> {
    (1..32).filter(|&s| !reserved(s)).map(Signal).collect()
}

fn reserved(s: i32) -> bool {
    signal_hook::consts::FORBIDDEN.contains(&s)
        || [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
        ]
        .contains(&s)
}

#[track_caller]
fn check(signals: &[Signal]) -> Vec<Signal> {
    if signals.is_empty() {
        return all_catchable();
    }
    for s in signals {
        if s.0 <= 0 || s.0 as usize >= NSIG {
            panic!("signal: invalid signal number {}", s.0);
        }
        if reserved(s.0) {
            panic!("signal: {s:?} cannot be caught or ignored");
        }
    }
    signals.to_vec()
}

/// The action run in the signal handler (async-signal-safe: atomics, write(2), and
/// signal-hook's `emulate_default_handler`, documented as async-signal-safe).
fn on_signal(sig: i32) {
    let i = sig as usize;
    match STATE[i].load(Ordering::Relaxed) {
        NOTIFY => {
            // Release: pairs with the dispatcher's Acquire swap, which then sees the state.
            PENDING[i].store(true, Ordering::Release);
            let fd = PIPE_W.load(Ordering::Acquire);
            if fd >= 0 {
                let b = 1u8;
                // SAFETY: write(2) is async-signal-safe; the byte lives on this stack; errno
                // is saved and restored around it so the interrupted code does not see ours.
                unsafe {
                    let errno = *libc::__errno_location();
                    libc::write(fd, (&b as *const u8).cast(), 1);
                    *libc::__errno_location() = errno;
                }
            }
        }
        IGNORED => {}
        _ => {
            if sig == libc::SIGQUIT && crate::runtime::debug::sigquit_dump_installed() {
                return; // the dump's own action handles it
            }
            let _ = signal_hook::low_level::emulate_default_handler(sig);
        }
    }
}

/// Registers our action for `sig` once. Called under the watchers' lock.
fn hook(sig: i32) {
    if HOOKED[sig as usize].swap(true, Ordering::Relaxed) {
        return;
    }
    // SAFETY: `on_signal` is async-signal-safe (see there); `sig` is not in FORBIDDEN (checked
    // by `check`), so `register` does not panic.
    let r = unsafe { signal_hook::low_level::register(sig, move || on_signal(sig)) };
    if let Err(e) = r {
        HOOKED[sig as usize].store(false, Ordering::Relaxed);
        panic!(
            "signal: cannot install a handler for {:?}: {e}",
            Signal(sig)
        );
    }
}

fn start_dispatcher() {
    static START: Once = Once::new();
    START.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            panic!(
                "signal: cannot create the signal pipe: {}",
                std::io::Error::last_os_error()
            );
        }
        let read_fd = fds[0];
        // The read end blocks: the dispatcher thread sleeps in read(2).
        // SAFETY: F_SETFL on the fd we just created.
        unsafe { libc::fcntl(read_fd, libc::F_SETFL, 0) };
        // Release: pairs with the handler's Acquire load of the pipe.
        PIPE_W.store(fds[1], Ordering::Release);
        std::thread::Builder::new()
            .name("goroutines-signal".into())
            .spawn(move || dispatch(read_fd))
            .expect("signal: cannot start the signal dispatcher thread");
    });
}

fn dispatch(fd: libc::c_int) {
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reads into `buf`, which is 64 writable bytes, from the pipe we own.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
        let w = watchers();
        for (i, p) in PENDING.iter().enumerate() {
            // Acquire: pairs with the handler's Release store.
            if !p.swap(false, Ordering::Acquire) {
                continue;
            }
            if let Some(chans) = w.as_ref().and_then(|m| m.get(&(i as i32))) {
                for ch in chans {
                    let _ = ch.try_send(Signal(i as i32)); // full: dropped, as in Go
                }
            }
        }
    }
}

/// Relays the `signals` to `ch` (all catchable signals if empty), as Go's `signal.Notify`.
///
/// Delivery never blocks: if `ch` is full when a signal arrives, that signal is dropped for
/// `ch`, so give it a buffer (`Chan::new(1)` for one signal kind). Several channels may watch
/// one signal, and one channel several signals; calling `notify` again adds signals.
///
/// # Panics
/// "signal: SIGKILL cannot be caught or ignored" for SIGKILL, SIGSTOP and the signals the
/// runtime owns (SIGSEGV, SIGBUS, SIGILL, SIGFPE); "signal: invalid signal number N" for a
/// number outside 1..=64.
///
/// ```
/// use goroutines::signal::{self, Signal};
/// goroutines::run(|| {
///     let ch = goroutines::Chan::new(1);
///     signal::notify(&ch, &[Signal::USR1]);
///     unsafe { libc::raise(libc::SIGUSR1) };
///     assert_eq!(ch.recv().unwrap(), Signal::USR1);
///     signal::stop(&ch);
/// });
/// ```
#[track_caller]
pub fn notify(ch: &Chan<Signal>, signals: &[Signal]) {
    let signals = check(signals);
    start_dispatcher();
    let mut w = watchers();
    let map = w.get_or_insert_with(HashMap::new);
    for s in signals {
        let list = map.entry(s.0).or_default();
        if !list.contains(ch) {
            list.push(ch.clone());
        }
        STATE[s.0 as usize].store(NOTIFY, Ordering::Relaxed);
        hook(s.0);
    }
}

/// Stops relaying signals to `ch`, as Go's `signal.Stop`: when it returns, `ch` receives no
/// more signals. Signals nobody watches any more go back to their default action.
///
/// ```
/// use goroutines::signal::{self, Signal};
/// let ch = goroutines::Chan::new(1);
/// signal::notify(&ch, &[Signal::USR2]);
/// signal::stop(&ch);
/// ```
pub fn stop(ch: &Chan<Signal>) {
    let mut w = watchers();
    let Some(map) = w.as_mut() else { return };
    for (sig, list) in map.iter_mut() {
        let before = list.len();
        list.retain(|c| c != ch);
        if list.is_empty() && before > 0 {
            STATE[*sig as usize].store(DEFAULT, Ordering::Relaxed);
        }
    }
    map.retain(|_, l| !l.is_empty());
}

/// Ignores the `signals` (all catchable signals if empty) and stops relaying them to any
/// channel, as Go's `signal.Ignore`.
///
/// The signals are caught by a handler that does nothing rather than set to `SIG_IGN`, so a
/// child started afterwards gets their default actions (Go's children inherit `SIG_IGN`).
///
/// # Panics
/// As [`notify`].
///
/// ```
/// use goroutines::signal::{self, Signal};
/// signal::ignore(&[Signal::HUP]);
/// unsafe { libc::raise(libc::SIGHUP) }; // would end the process by default
/// signal::reset(&[Signal::HUP]);
/// ```
#[track_caller]
pub fn ignore(signals: &[Signal]) {
    let signals = check(signals);
    let mut w = watchers();
    for s in signals {
        if let Some(map) = w.as_mut() {
            map.remove(&s.0);
        }
        STATE[s.0 as usize].store(IGNORED, Ordering::Relaxed);
        hook(s.0);
    }
}

/// Undoes [`notify`] and [`ignore`] for the `signals` (all if empty): they take their default
/// actions again, as Go's `signal.Reset`.
///
/// # Panics
/// As [`notify`].
///
/// ```
/// use goroutines::signal::{self, Signal};
/// signal::ignore(&[Signal::USR2]);
/// signal::reset(&[Signal::USR2]);
/// ```
#[track_caller]
pub fn reset(signals: &[Signal]) {
    let signals = check(signals);
    let mut w = watchers();
    for s in signals {
        if let Some(map) = w.as_mut() {
            map.remove(&s.0);
        }
        STATE[s.0 as usize].store(DEFAULT, Ordering::Relaxed);
    }
}
