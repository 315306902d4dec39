//! Child processes with `std::process`'s shapes, waited on without a thread per child.
//!
//! [`Command`] is std's builder; [`Command::spawn`] returns a [`Child`] whose `wait` parks only
//! the goroutine and whose `stdin`, `stdout` and `stderr` pipes park in the netpoller:
//!
//! 1. `spawn` runs std's spawn (`posix_spawn` or `fork`+`exec`) inside [`crate::blocking`], as Go
//!    runs `forkExec` in a system call.
//! 2. Right after, it opens a pidfd for the child (`pidfd_open(2)`, Linux 5.3). The pid cannot
//!    have been reused: the child is ours and nobody has reaped it yet.
//! 3. `wait` asks `waitpid(WNOHANG)` (std's `try_wait`); if the child still runs, the goroutine
//!    parks until the pidfd is readable (the child exited) in the netpoller
//!    ([`crate::net::PollFd`]), then reaps it with `waitpid(WNOHANG)`. A thousand children
//!    waited on by a thousand goroutines cost a thousand fds in one epoll set, not a thousand
//!    threads.
//! 4. The pipes are put in non-blocking mode (our ends only: each end of a pipe is its own open
//!    file description) and read and written as sockets are (`net/fd.rs`).
//!
//! Where `pidfd_open` is unavailable (`ENOSYS` on kernels before 5.3, `EPERM` under some
//! seccomp filters) `wait` falls back to std's blocking `waitpid` inside `blocking`: one thread
//! per waiting child, but still no stalled P.
//!
//! Rejected: a SIGCHLD handler that reaps every child (it would steal the exit statuses of
//! children that other code in the process spawned with std, which Go's `os/exec` also avoids by
//! waiting per pid), and a reaper thread polling `waitpid(-1)` (same problem).

use std::ffi::OsStr;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

pub use std::process::{ExitStatus, Output, Stdio};

use crate::net::fd::{set_nonblocking, PollIo};
use crate::net::PollFd;
use crate::runtime::netpoll::Dir;
use crate::runtime::offload::syscall as blocking;

/// A process builder (std's [`std::process::Command`]).
///
/// ```
/// use goroutines::process::Command;
/// goroutines::run(|| {
///     let out = Command::new("sh").arg("-c").arg("echo hi").output().unwrap();
///     assert!(out.status.success());
///     assert_eq!(out.stdout, b"hi\n");
/// });
/// ```
#[derive(Debug)]
pub struct Command {
    inner: std::process::Command,
    /// Which of stdin, stdout, stderr the caller configured (`output` pipes the others).
    set: [bool; 3],
}

impl Command {
    /// A command that runs `program` (searched in `PATH`), as std's `Command::new`.
    ///
    /// ```
    /// let _ = goroutines::process::Command::new("true");
    /// ```
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            inner: std::process::Command::new(program),
            set: [false; 3],
        }
    }

    /// Adds an argument.
    ///
    /// ```
    /// goroutines::process::Command::new("ls").arg("-l");
    /// ```
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    ///
    /// ```
    /// goroutines::process::Command::new("ls").args(["-l", "-a"]);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// ```
    /// goroutines::process::Command::new("env").env("A", "1");
    /// ```
    pub fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, key: K, val: V) -> &mut Command {
        self.inner.env(key, val);
        self
    }

    /// Sets several environment variables.
    ///
    /// ```
    /// goroutines::process::Command::new("env").envs([("A", "1"), ("B", "2")]);
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// ```
    /// goroutines::process::Command::new("env").env_remove("HOME");
    /// ```
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// The child starts with an empty environment (plus what `env` adds).
    ///
    /// ```
    /// goroutines::process::Command::new("env").env_clear();
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// The child's working directory.
    ///
    /// ```
    /// goroutines::process::Command::new("pwd").current_dir("/");
    /// ```
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// The child's standard input (inherited by default; null for `output`).
    ///
    /// ```
    /// goroutines::process::Command::new("cat").stdin(std::process::Stdio::piped());
    /// ```
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdin(cfg);
        self.set[0] = true;
        self
    }

    /// The child's standard output (inherited by default; piped for `output`).
    ///
    /// ```
    /// goroutines::process::Command::new("ls").stdout(std::process::Stdio::null());
    /// ```
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdout(cfg);
        self.set[1] = true;
        self
    }

    /// The child's standard error (inherited by default; piped for `output`).
    ///
    /// ```
    /// goroutines::process::Command::new("ls").stderr(std::process::Stdio::null());
    /// ```
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stderr(cfg);
        self.set[2] = true;
        self
    }

    /// Starts the child.
    ///
    /// # Errors
    /// As std: `NotFound` for a program that does not exist, `PermissionDenied`, ...
    ///
    /// ```
    /// let e = goroutines::run(|| goroutines::process::Command::new("/nonexistent/prog").spawn().unwrap_err());
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let child = blocking(|| self.inner.spawn())?;
        Child::from_std(child)
    }

    /// Runs the child to completion and returns its exit status (stdio inherited by default).
    ///
    /// # Errors
    /// As [`Command::spawn`] and [`Child::wait`].
    ///
    /// ```
    /// let s = goroutines::run(|| goroutines::process::Command::new("false").status().unwrap());
    /// assert_eq!(s.code(), Some(1));
    /// ```
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait()
    }

    /// Runs the child to completion, collecting its stdout and stderr (piped unless configured
    /// otherwise; stdin is null unless configured), as std's `output`.
    ///
    /// # Errors
    /// As [`Command::spawn`], or a read error on the pipes.
    ///
    /// ```
    /// let o = goroutines::run(|| goroutines::process::Command::new("sh").args(["-c", "echo e >&2"]).output().unwrap());
    /// assert_eq!(o.stderr, b"e\n");
    /// ```
    pub fn output(&mut self) -> io::Result<Output> {
        let set = self.set;
        if !set[0] {
            self.inner.stdin(Stdio::null());
        }
        if !set[1] {
            self.inner.stdout(Stdio::piped());
        }
        if !set[2] {
            self.inner.stderr(Stdio::piped());
        }
        let spawned = self.spawn();
        // Put back the defaults of `spawn` and `status` (inherit) for what the caller left unset.
        for (i, was_set) in set.iter().enumerate() {
            if !was_set {
                match i {
                    0 => self.inner.stdin(Stdio::inherit()),
                    1 => self.inner.stdout(Stdio::inherit()),
                    _ => self.inner.stderr(Stdio::inherit()),
                };
            }
        }
        spawned?.wait_with_output()
    }

    /// The std command inside, to set what this type does not forward (`uid`, `pre_exec`...).
    ///
    /// ```
    /// use std::os::unix::process::CommandExt;
    /// let mut c = goroutines::process::Command::new("true");
    /// c.as_std_mut().arg0("renamed");
    /// ```
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.inner
    }
}

impl From<std::process::Command> for Command {
    fn from(inner: std::process::Command) -> Command {
        // std has no getters for stdio: treat all three as configured, so `output` keeps them.
        Command {
            inner,
            set: [true; 3],
        }
    }
}

/// A running or exited child process (std's [`std::process::Child`]).
///
/// ```
/// use std::io::{Read, Write};
/// use std::process::Stdio;
/// goroutines::run(|| {
///     let mut c = goroutines::process::Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     c.stdin.take().unwrap().write_all(b"meow").unwrap(); // dropping it closes cat's stdin
///     let mut s = String::new();
///     c.stdout.take().unwrap().read_to_string(&mut s).unwrap();
///     assert_eq!(s, "meow");
///     assert!(c.wait().unwrap().success());
/// });
/// ```
#[derive(Debug)]
pub struct Child {
    /// The child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
    // Field order: `pidfd` is closed before `inner` (which owns no fd once the pipes are taken).
    pidfd: Option<PollFd<OwnedFd>>,
    inner: std::process::Child,
}

impl Child {
    fn from_std(mut inner: std::process::Child) -> io::Result<Child> {
        let pidfd = pidfd_open(inner.id()).and_then(|fd| PollFd::new(fd).ok());
        Ok(Child {
            stdin: inner.stdin.take().map(ChildStdin::new).transpose()?,
            stdout: inner.stdout.take().map(ChildStdout::new).transpose()?,
            stderr: inner.stderr.take().map(ChildStderr::new).transpose()?,
            pidfd,
            inner,
        })
    }

    /// The child's process id.
    ///
    /// ```
    /// goroutines::run(|| {
    ///     let mut c = goroutines::process::Command::new("true").spawn().unwrap();
    ///     assert!(c.id() > 0);
    ///     c.wait().unwrap();
    /// });
    /// ```
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// Sends SIGKILL to the child (nothing if it was already reaped), as std's `kill`.
    ///
    /// # Errors
    /// As std.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// goroutines::run(|| {
    ///     let mut c = goroutines::process::Command::new("sleep").arg("10").spawn().unwrap();
    ///     c.kill().unwrap();
    ///     assert_eq!(c.wait().unwrap().signal(), Some(9));
    /// });
    /// ```
    pub fn kill(&mut self) -> io::Result<()> {
        self.inner.kill()
    }

    /// Closes the child's stdin (as std does) and waits for it to exit, parking the goroutine
    /// (not the thread) until the child's pidfd reports the exit. Returns at once if it has
    /// already been reaped.
    ///
    /// # Errors
    /// As std's `wait`.
    ///
    /// ```
    /// goroutines::run(|| {
    ///     let mut c = goroutines::process::Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
    ///     assert_eq!(c.wait().unwrap().code(), Some(3));
    ///     assert_eq!(c.wait().unwrap().code(), Some(3));
    /// });
    /// ```
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        loop {
            if let Some(status) = self.inner.try_wait()? {
                return Ok(status);
            }
            match &self.pidfd {
                Some(pidfd) => pidfd.readable()?,
                None => return blocking(|| self.inner.wait()),
            }
        }
    }

    /// The exit status if the child has exited (reaping it), `None` if it still runs.
    ///
    /// # Errors
    /// As std's `try_wait`.
    ///
    /// ```
    /// goroutines::run(|| {
    ///     let mut c = goroutines::process::Command::new("sleep").arg("10").spawn().unwrap();
    ///     assert!(c.try_wait().unwrap().is_none());
    ///     c.kill().unwrap();
    ///     c.wait().unwrap();
    /// });
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Waits for the child while collecting its piped stdout and stderr (read concurrently, so
    /// a child that fills one pipe while we read the other does not deadlock).
    ///
    /// # Errors
    /// As [`Child::wait`], or a read error on the pipes.
    ///
    /// ```
    /// use std::process::Stdio;
    /// goroutines::run(|| {
    ///     let c = goroutines::process::Command::new("echo").arg("x").stdout(Stdio::piped()).spawn().unwrap();
    ///     assert_eq!(c.wait_with_output().unwrap().stdout, b"x\n");
    /// });
    /// ```
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let err = self.stderr.take().map(|mut e| {
            crate::go(move || {
                let mut v = Vec::new();
                e.read_to_end(&mut v).map(|_| v)
            })
        });
        let mut stdout = Vec::new();
        if let Some(mut o) = self.stdout.take() {
            o.read_to_end(&mut stdout)?;
        }
        let stderr = match err {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?,
            None => Vec::new(),
        };
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// `pidfd_open(pid, 0)`, or `None` where the kernel or a sandbox refuses it.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags, no pointers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel returned a fresh fd (O_CLOEXEC is implied for pidfds) that we own.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

macro_rules! pipe_end {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        pub struct $name {
            // Field order: `io` deregisters the fd before `inner` closes it.
            io: PollIo,
            inner: $std,
        }

        impl $name {
            fn new(inner: $std) -> io::Result<$name> {
                set_nonblocking(inner.as_raw_fd())?;
                Ok($name {
                    io: PollIo::new(inner.as_raw_fd()),
                    inner,
                })
            }

            /// The pipe as an owned fd, back in blocking mode (for another child's stdio, or
            /// code that expects a blocking fd).
            ///
            /// # Errors
            /// The error of `fcntl(2)`.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                let $name { io, inner } = self;
                drop(io);
                let fd = OwnedFd::from(inner);
                set_blocking(fd.as_raw_fd())?;
                Ok(fd)
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.as_raw_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.inner.as_raw_fd()).finish()
            }
        }

        /// Another child's stdio from this pipe (in blocking mode again, as children expect).
        impl TryFrom<$name> for Stdio {
            type Error = io::Error;
            fn try_from(p: $name) -> io::Result<Stdio> {
                p.into_owned_fd().map(Stdio::from)
            }
        }
    };
}

pipe_end!(
    /// The write end of a child's stdin pipe; writes park in the netpoller when the pipe is full.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::process::Stdio;
    /// goroutines::run(|| {
    ///     let mut c = goroutines::process::Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    ///     c.stdin.as_mut().unwrap().write_all(&[0u8; 1 << 20]).unwrap();
    ///     assert!(c.wait().unwrap().success());
    /// });
    /// ```
    ChildStdin,
    std::process::ChildStdin
);
pipe_end!(
    /// The read end of a child's stdout pipe; reads park in the netpoller.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::process::Stdio;
    /// goroutines::run(|| {
    ///     let mut c = goroutines::process::Command::new("echo").arg("out").stdout(Stdio::piped()).spawn().unwrap();
    ///     let mut s = String::new();
    ///     c.stdout.as_mut().unwrap().read_to_string(&mut s).unwrap();
    ///     assert_eq!(s, "out\n");
    ///     c.wait().unwrap();
    /// });
    /// ```
    ChildStdout,
    std::process::ChildStdout
);
pipe_end!(
    /// The read end of a child's stderr pipe; reads park in the netpoller.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::process::Stdio;
    /// goroutines::run(|| {
    ///     let mut c = goroutines::process::Command::new("sh").args(["-c", "echo err >&2"]).stderr(Stdio::piped()).spawn().unwrap();
    ///     let mut s = String::new();
    ///     c.stderr.as_mut().unwrap().read_to_string(&mut s).unwrap();
    ///     assert_eq!(s, "err\n");
    ///     c.wait().unwrap();
    /// });
    /// ```
    ChildStderr,
    std::process::ChildStderr
);

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        self.io.io(Dir::Write, || inner.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let inner = &mut self.inner;
        self.io.io(Dir::Write, || inner.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        self.io.io(Dir::Read, || inner.read(buf))
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        self.io.io(Dir::Read, || inner.read(buf))
    }
}

fn set_blocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL take no pointers; a bad fd is reported as EBADF.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
