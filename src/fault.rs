//! Fault injection for the runtime's own tests (cargo feature `fault-injection`, off by default).
//!
//! A few system calls whose failure a test cannot provoke on demand go through a check here
//! first: reserving a stack arena (`mmap`), starting an M's thread (`clone`), and registering a
//! descriptor with epoll (`epoll_ctl(EPOLL_CTL_ADD)`). A test arms a fault through the functions
//! below (re-exported, hidden, as `goroutines::__fault`), and the next such call fails with the
//! error the kernel would give (`ENOMEM`, `EAGAIN`, `ENOSPC`) instead of being made. Faults are
//! targeted (by stack size, by descriptor) or counted, so that tests running side by side in one
//! binary do not hit each other's faults.
//!
//! Without the feature every check is a constant `None` the compiler removes, and nothing here
//! is part of the build a user gets.
//!
//! Rejected: an environment variable (`GOROUTINES_FAULT=...`) read in debug builds. It would put
//! the hook into every debug build of every program using the crate, where a stray variable
//! changes behaviour; it is read once, so a test could not arm a fault at the moment it wants
//! (after its runtime started, for one descriptor it just opened); and release builds, which CI
//! tests too, would lose it. A feature asked for explicitly by `cargo test --features
//! fault-injection` has none of these problems. `accept` hitting EMFILE needs no hook: a test
//! lowers `RLIMIT_NOFILE` for real (tests/fault_fd_limit.rs).

use std::io;

#[cfg(feature = "fault-injection")]
mod armed {
    use std::os::fd::RawFd;
    use std::sync::Mutex;

    use crate::util::lock;

    /// What is armed: stack sizes whose next arena reservations fail (with how many times),
    /// M thread starts that fail, descriptors whose epoll registration fails.
    pub(super) struct Faults {
        pub(super) arena: Vec<(usize, usize)>,
        pub(super) thread: usize,
        pub(super) epoll: Vec<RawFd>,
    }

    pub(super) static FAULTS: Mutex<Faults> = Mutex::new(Faults {
        arena: Vec::new(),
        thread: 0,
        epoll: Vec::new(),
    });

    pub(super) fn with<R>(f: impl FnOnce(&mut Faults) -> R) -> R {
        f(&mut lock(&FAULTS))
    }
}

/// The public side, for tests: `goroutines::__fault`.
#[cfg(feature = "fault-injection")]
pub mod api {
    use std::os::fd::RawFd;

    use super::armed::with;

    /// The next `times` reservations of a stack arena for stacks of `stack_size` usable bytes
    /// (as given to `Builder::stack_size`, a whole number of pages) fail with ENOMEM.
    pub fn fail_arena_mmap(stack_size: usize, times: usize) {
        with(|f| {
            f.arena.retain(|&(s, _)| s != stack_size);
            if times > 0 {
                f.arena.push((stack_size, times));
            }
        });
    }

    /// The next `times` starts of an M's OS thread, in any runtime, fail with EAGAIN.
    pub fn fail_thread_spawn(times: usize) {
        with(|f| f.thread = times);
    }

    /// While `on`, registering `fd` with epoll fails with ENOSPC (the error of a full
    /// `max_user_watches`).
    pub fn fail_epoll_add(fd: RawFd, on: bool) {
        with(|f| {
            f.epoll.retain(|&x| x != fd);
            if on {
                f.epoll.push(fd);
            }
        });
    }
}

/// The error to fail this reservation of an arena for `stack_size`-byte stacks with, if armed.
#[inline(always)]
pub(crate) fn arena_mmap(stack_size: usize) -> Option<io::Error> {
    #[cfg(feature = "fault-injection")]
    {
        let hit = armed::with(|f| {
            let i = f.arena.iter().position(|&(s, _)| s == stack_size)?;
            f.arena[i].1 -= 1;
            if f.arena[i].1 == 0 {
                f.arena.swap_remove(i);
            }
            Some(())
        });
        if hit.is_some() {
            return Some(io::Error::from_raw_os_error(libc::ENOMEM));
        }
    }
    let _ = stack_size;
    None
}

/// The error to fail this start of an M's thread with, if armed.
#[inline(always)]
pub(crate) fn thread_spawn() -> Option<io::Error> {
    #[cfg(feature = "fault-injection")]
    {
        let hit = armed::with(|f| {
            let hit = f.thread > 0;
            f.thread = f.thread.saturating_sub(1);
            hit
        });
        if hit {
            return Some(io::Error::from_raw_os_error(libc::EAGAIN));
        }
    }
    None
}

/// The error to fail this epoll registration of `fd` with, if armed.
#[inline(always)]
pub(crate) fn epoll_add(fd: std::os::fd::RawFd) -> Option<io::Error> {
    #[cfg(feature = "fault-injection")]
    {
        if armed::with(|f| f.epoll.contains(&fd)) {
            return Some(io::Error::from_raw_os_error(libc::ENOSPC));
        }
    }
    let _ = fd;
    None
}
