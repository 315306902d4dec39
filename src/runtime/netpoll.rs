//! The netpoller: epoll readiness that wakes goroutines parked in "IO wait".
//!
//! # What it owns
//!
//! Each runtime owns one [`Poller`] (created on first use): an epoll instance and an eventfd that
//! breaks a blocking `epoll_wait`. Each socket that a goroutine ever waits on gets a
//! [`PollDesc`] (Go's `pollDesc`), registered once, edge-triggered, for
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`. A poll descriptor holds, per direction (read and
//! write), a readiness sequence number and the list of waiters.
//!
//! # The wait protocol (no lost wake-ups)
//!
//! Go keeps one word per direction (`rg`/`wg`: nil, pdReady, pdWait or a G) and relies on a lock
//! that serialises readers of one fd. Here `&TcpStream` is `Read`, so two goroutines may read one
//! socket at once; we use an event count instead, which any number of waiters can share:
//!
//! 1. A waiter loads the direction's `seq` *before* its system call.
//! 2. The call fails with `EAGAIN`. The waiter counts itself in `nwait`, then, under the
//!    direction's lock, checks whether `seq` moved; if it did, it retries the call at once.
//!    Otherwise it adds its [`Unparker`] to the list and parks ("IO wait"), looping until `seq`
//!    moves, its deadline passes, or the poller it waits on is shut down.
//! 3. The poller, on an edge, increments `seq` and then, if `nwait` is non-zero, takes the list
//!    under the lock and unparks every waiter.
//!
//! Either the poller's increment comes before the waiter's check under the lock (the waiter
//! retries) or the poller's critical section comes after the waiter's (the poller sees and wakes
//! it). The `nwait` shortcut is a Dekker pair of SeqCst operations: the waiter increments `nwait`
//! then reads `seq`; the poller increments `seq` then reads `nwait`.
//!
//! # Who polls
//!
//! Go's design: (1) an M looking for work polls without blocking, after its local and global
//! queues and before stealing, when goroutines wait on fds and no M is blocked in the poller
//! (`sched.rs`, `find_runnable`); (2) one idle M (the timed sleeper, or the first idle M while
//! goroutines wait on fds) blocks in `epoll_wait` until the next timer deadline instead of
//! sleeping on its futex (`m.rs`, `stopm`, through [`Netpoll::sleep_m`]). Whoever wakes that
//! M (a P handed to it, an earlier timer, shutdown) also writes the eventfd
//! ([`Netpoll::wake_m`]). Goroutines readied by an M without a P go to the global queue and
//! `wakep` (Go's `injectglist`); an M with a P puts them in its `runnext` and local queue.
//! (3) Sysmon polls when nobody has for 10 ms ([`Netpoll::last_poll`],
//! [`Netpoll::poll_nonblocking`]), so goroutines that keep the queues busy (a yield loop) cannot
//! starve those waiting on fds. An earlier version also polled every 61st schedule; that filled
//! busy local queues with fresh wake-ups and pushed older goroutines to the global queue, which
//! made echo's p99 latency at 1,000 connections 1.6x Go's.
//!
//! # Stale events (Go issue 59545)
//!
//! Poll descriptors are never freed: they return to a process-wide pool and are reused, so an
//! event that another thread already took from epoll for a descriptor closed meanwhile still
//! points at valid memory. The event's data carries the descriptor's address and the low 16
//! bits of its `fdseq`, which is incremented each time the descriptor is released; an event whose
//! tag does not match is ignored.
//!
//! # Several runtimes
//!
//! A descriptor is registered with the poller of the runtime of the first goroutine that waits on
//! it. A goroutine of another runtime that waits on it waits on that poller (and starts an M
//! there so that someone polls); if that runtime has been shut down, the descriptor moves to the
//! waiter's own poller. Plain OS threads never use the netpoller: they wait with `poll(2)` on the
//! one fd (see `net/fd.rs`).
//!
//! Rejected: a dedicated poller thread (a thread hop for every readiness, which Go's design
//! avoids by letting Ms poll), one process-wide epoll shared by every runtime (an eventfd write
//! would wake an arbitrary runtime's poller), and level-triggered registration (an fd that stays
//! readable would be reported on every poll).

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::g;
use super::m::M;
use super::park::{self, Unparker, WaitReason};
use super::sched::Sched;
use crate::util::fatal;
use crate::util::lock;

/// Events taken from epoll per call (Go uses 128).
const EVENTS_PER_POLL: usize = 128;
/// Address bits of a tagged descriptor pointer; the tag takes the 16 bits above.
const ADDR_BITS: u32 = 48;
const ADDR_MASK: u64 = (1 << ADDR_BITS) - 1;
/// Event data of the eventfd (no descriptor lives at address 0).
const EVENTFD_DATA: u64 = 0;
/// How often a goroutine waiting on another runtime's poller re-checks that it is alive.
const FOREIGN_RECHECK: Duration = Duration::from_millis(10);

/// A read or a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Read,
    Write,
}

// ---- the per-runtime poller ----

/// The netpoller slot of a runtime (a field of `Sched`); the epoll instance is created on first
/// use, so runtimes that never wait on a socket never open one.
pub(crate) struct Netpoll {
    poller: OnceLock<Arc<Poller>>,
}

impl Netpoll {
    pub(crate) fn new() -> Netpoll {
        Netpoll {
            poller: OnceLock::new(),
        }
    }

    /// The poller, if some goroutine of this runtime ever waited on a socket.
    pub(crate) fn get(&self) -> Option<&Arc<Poller>> {
        self.poller.get()
    }

    fn get_or_init(&self, sched: &Arc<Sched>) -> io::Result<&Arc<Poller>> {
        if let Some(p) = self.poller.get() {
            return Ok(p);
        }
        let p = Poller::new(Arc::downgrade(sched))?;
        // A racing initialiser may win; the loser's poller is dropped and its fds closed.
        let _ = self.poller.set(p);
        Ok(self.poller.get().expect("set above"))
    }

    /// Goroutines waiting on a file descriptor of this runtime.
    pub(crate) fn waiters(&self) -> usize {
        // SeqCst: the poller's waiter count, loaded by findRunnable's non-blocking poll and stopm's
        // choice of epoll_wait after they publish their own state; a waiter increments it before
        // its re-check of `seq`.
        self.get().map_or(0, |p| p.waiters.load(Ordering::SeqCst))
    }

    /// Find-work step (Go's `netpoll(0)` in findRunnable): polls without blocking when some
    /// goroutine waits on an fd and no M is blocked in `epoll_wait`. Returns how many waiters it
    /// woke.
    pub(crate) fn poll_nonblocking(&self) -> usize {
        match self.poller.get() {
            Some(p) if p.any_waiters() && p.blocked.load(Ordering::Relaxed).is_null() => {
                p.poll(Some(Duration::ZERO), false)
            }
            _ => 0,
        }
    }

    /// Sleeps the idle M `m` (called by `stopm`): in `epoll_wait` until `timeout` if it is the
    /// timed sleeper (`timed`) or goroutines wait on fds, and no other M is blocked there; on its
    /// futex otherwise. Returns true if it was woken (not timed out), as `M::sleep` does.
    pub(crate) fn sleep_m(&self, m: &M, timed: bool, timeout: Option<Duration>) -> bool {
        let Some(p) = self.poller.get() else {
            return m.sleep(timeout);
        };
        if p.dead.load(Ordering::Relaxed) || !(timed || p.any_waiters()) {
            return m.sleep(timeout);
        }
        let me = m as *const M as *mut M;
        // SeqCst: `blocked` says which M sleeps in epoll_wait; an M that hands work to the
        // poller stores its state and then loads this (`wake_m`), and the sleeper stores this
        // and then rechecks for work, so one sees the other.
        if p.blocked
            .compare_exchange(std::ptr::null_mut(), me, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return m.sleep(timeout);
        }
        // SeqCst fence: pairs with the fence in `wake_m`. Either the waker's load of `blocked`
        // sees us, and it writes the eventfd, or our check of the futex word below sees its wake.
        fence(Ordering::SeqCst);
        if m.sleep(Some(Duration::ZERO)) {
            p.blocked.store(std::ptr::null_mut(), Ordering::SeqCst);
            return true;
        }
        let woke = p.poll(timeout, true);
        // Consume a futex wake-up that came while we were in epoll_wait.
        let woken = m.sleep(Some(Duration::ZERO));
        woken || woke > 0 || p.was_broken.swap(false, Ordering::Relaxed)
    }

    /// Wakes the idle M `m`: its futex, and the eventfd if it is blocked in `epoll_wait`.
    pub(crate) fn wake_m(&self, m: &M) {
        m.wake();
        if let Some(p) = self.poller.get() {
            // SeqCst fence: pairs with the one in `sleep_m` (see there).
            fence(Ordering::SeqCst);
            // SeqCst: `blocked` says which M sleeps in epoll_wait; an M that hands work to the
            // poller stores its state and then loads this (`wake_m`), and the sleeper stores this
            // and then re-checks for work, so one sees the other.
            if std::ptr::eq(p.blocked.load(Ordering::SeqCst), m) {
                p.wake_poller();
            }
        }
    }

    /// The runtime is shutting down: break a blocking poll and let descriptors move elsewhere.
    pub(crate) fn shutdown(&self) {
        if let Some(p) = self.poller.get() {
            // SeqCst: `dead` is set by shutdown before it breaks the poll; a waiter that loads it
            // false after registering will be woken by that break.
            p.dead.store(true, Ordering::SeqCst);
            p.wake_poller();
        }
    }

    /// Nanoseconds since the process's poll epoch of the last poll, 0 if never (for sysmon:
    /// "polls the network when nobody has for 10 ms", together with `poll_nonblocking`).
    pub(crate) fn last_poll(&self) -> u64 {
        self.poller
            .get()
            .map_or(0, |p| p.last_poll.load(Ordering::Relaxed))
    }
}

/// Nanoseconds since a process-wide epoch (for `last_poll`).
pub(crate) fn poll_clock() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let e = *EPOCH.get_or_init(Instant::now);
    u64::try_from(e.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// One epoll instance with its eventfd.
pub(crate) struct Poller {
    epfd: RawFd,
    evfd: RawFd,
    /// The runtime that polls this instance, to start an M there for a foreign waiter.
    sched: Weak<Sched>,
    /// Goroutines parked on descriptors registered here (Go's `netpollWaiters`).
    waiters: AtomicUsize,
    /// The M blocked in `epoll_wait` on this instance, or null (Go's `sched.lastpoll == 0`).
    blocked: AtomicPtr<M>,
    /// An eventfd write is pending and not yet drained (Go's `netpollWakeSig`).
    wake_sig: AtomicBool,
    /// The last blocking poll was broken through the eventfd.
    was_broken: AtomicBool,
    /// The runtime was shut down: nobody polls this instance any more.
    dead: AtomicBool,
    /// `poll_clock()` at the last poll.
    last_poll: AtomicU64,
}

impl Poller {
    fn new(sched: Weak<Sched>) -> io::Result<Arc<Poller>> {
        // SAFETY: epoll_create1 and eventfd take no pointers.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: eventfd takes no pointers; it returns a new fd or -1.
        let evfd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if evfd < 0 {
            let e = io::Error::last_os_error();
            // SAFETY: we own `epfd`, created above.
            unsafe { libc::close(epfd) };
            return Err(e);
        }
        let p = Poller {
            epfd,
            evfd,
            sched,
            waiters: AtomicUsize::new(0),
            blocked: AtomicPtr::new(std::ptr::null_mut()),
            wake_sig: AtomicBool::new(false),
            was_broken: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            last_poll: AtomicU64::new(0),
        };
        // The eventfd is level-triggered, as in Go: it stays readable until the blocking poller
        // drains it, so a non-blocking poll cannot swallow a wake-up meant for it.
        p.ctl(
            libc::EPOLL_CTL_ADD,
            evfd,
            libc::EPOLLIN as u32,
            EVENTFD_DATA,
        )?;
        Ok(Arc::new(p))
    }

    fn any_waiters(&self) -> bool {
        // SeqCst: pairs with the waiter's increment in `PollDesc::wait`, which it makes before
        // its own M goes looking for work.
        self.waiters.load(Ordering::SeqCst) > 0
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
        if op == libc::EPOLL_CTL_ADD {
            if let Some(e) = crate::fault::epoll_add(fd) {
                return Err(e);
            }
        }
        let mut ev = libc::epoll_event { events, u64: data };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(self.epfd, op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Breaks a blocking `epoll_wait` (Go's `netpollBreak`); coalesces concurrent calls.
    pub(crate) fn wake_poller(&self) {
        // AcqRel: pairs with the poller's Release store of false after it drained the eventfd, so a
        // waker that wins here sees the drain and its write is not swallowed by it.
        if self
            .wake_sig
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd. EAGAIN (counter full) cannot
        // happen while `wake_sig` limits us to one pending write.
        unsafe { libc::write(self.evfd, &one as *const u64 as *const libc::c_void, 8) };
    }

    /// Runs `epoll_wait` (blocking until `timeout`, forever for `None`) and readies the waiters
    /// of every ready descriptor. Returns how many waiters it woke. With `holds_slot`, the caller
    /// is the M in `blocked`, and leaves that slot before readying anyone (so that a P handed to
    /// it meanwhile does not cost an eventfd write).
    pub(crate) fn poll(&self, timeout: Option<Duration>, holds_slot: bool) -> usize {
        let ms: libc::c_int = match timeout {
            None => -1,
            Some(d) if d.is_zero() => 0,
            // Round up so that we never wake just before a timer deadline.
            Some(d) => d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int,
        };
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; EVENTS_PER_POLL];
        // SAFETY: `evs` is a writable array of EVENTS_PER_POLL events.
        let n = unsafe {
            libc::epoll_wait(
                self.epfd,
                evs.as_mut_ptr(),
                EVENTS_PER_POLL as libc::c_int,
                ms,
            )
        };
        if holds_slot {
            // SeqCst: `blocked` says which M sleeps in epoll_wait; an M that hands work to the
            // poller stores its state and then loads this (`wake_m`), and the sleeper stores this
            // and then re-checks for work, so one sees the other.
            self.blocked.store(std::ptr::null_mut(), Ordering::SeqCst);
        }
        self.last_poll.store(poll_clock(), Ordering::Relaxed);
        if n <= 0 {
            return 0;
        }
        let mut woke = 0;
        for ev in &evs[..n as usize] {
            let data = ev.u64;
            if data == EVENTFD_DATA {
                if ms != 0 {
                    let mut buf = 0u64;
                    // SAFETY: reads 8 bytes into a live u64 from our eventfd.
                    unsafe { libc::read(self.evfd, &mut buf as *mut u64 as *mut libc::c_void, 8) };
                    // Release: pairs with `wake_poller`'s AcqRel: the drain above happens before
                    // the next waker's write.
                    self.wake_sig.store(false, Ordering::Release);
                    self.was_broken.store(true, Ordering::Relaxed);
                }
                continue;
            }
            let pd = (data & ADDR_MASK) as *const PollDesc;
            // SAFETY: event data is only ever a tagged `&'static PollDesc` (see `register`);
            // descriptors are never freed, so the pointer is valid even if the event is stale.
            let pd: &'static PollDesc = unsafe { &*pd };
            // Acquire: pairs with the Release bump of `fdseq` when a descriptor is released, so
            // an event tagged before the release is seen as stale.
            if pd.fdseq.load(Ordering::Acquire) & 0xffff != data >> ADDR_BITS {
                continue; // stale: the descriptor was released since this fd was registered
            }
            let e = ev.events as libc::c_int;
            if e & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                woke += pd.rd.ready();
            }
            if e & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                woke += pd.wr.ready();
            }
        }
        woke
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // SAFETY: we own both fds; nothing else uses them once the last Arc is gone.
        unsafe {
            libc::close(self.evfd);
            libc::close(self.epfd);
        }
    }
}

// ---- poll descriptors ----

/// One direction's readiness and waiters.
struct Direction {
    /// Incremented on every readiness edge.
    seq: AtomicU64,
    /// Waiters counted before they check `seq` (the Dekker pair of the module docs).
    nwait: AtomicUsize,
    waiters: Mutex<Vec<Unparker>>,
}

impl Direction {
    fn new() -> Direction {
        Direction {
            seq: AtomicU64::new(0),
            nwait: AtomicUsize::new(0),
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// An edge: bump the sequence and wake every waiter. Returns how many it woke.
    fn ready(&self) -> usize {
        // SeqCst: pairs with the waiter's SeqCst increment of `nwait` then load of `seq`.
        self.seq.fetch_add(1, Ordering::SeqCst);
        if self.nwait.load(Ordering::SeqCst) == 0 {
            return 0;
        }
        let (first, rest) = {
            let mut w = lock(&self.waiters);
            let first = w.pop();
            let rest: Vec<Unparker> = if w.is_empty() {
                Vec::new()
            } else {
                w.drain(..).collect()
            };
            (first, rest)
        };
        let mut n = 0;
        for u in first.into_iter().chain(rest) {
            u.unpark();
            n += 1;
        }
        n
    }
}

/// Registration state of a descriptor, under `PollDesc::reg`.
struct RegState {
    fd: RawFd,
    poller: Option<Arc<Poller>>,
}

/// Go's `pollDesc`: readiness of one fd. Lives forever in a pool (see the module docs).
pub(crate) struct PollDesc {
    /// Incremented when the descriptor is released; the low 16 bits tag epoll events.
    fdseq: AtomicU64,
    reg: Mutex<RegState>,
    rd: Direction,
    wr: Direction,
}

static POOL: Mutex<Vec<&'static PollDesc>> = Mutex::new(Vec::new());

impl PollDesc {
    /// A descriptor for `fd`, not yet registered with any poller.
    pub(crate) fn alloc(fd: RawFd) -> &'static PollDesc {
        let pd = lock(&POOL).pop().unwrap_or_else(|| {
            Box::leak(Box::new(PollDesc {
                fdseq: AtomicU64::new(0),
                reg: Mutex::new(RegState {
                    fd: -1,
                    poller: None,
                }),
                rd: Direction::new(),
                wr: Direction::new(),
            }))
        });
        if (pd as *const PollDesc as u64) >> ADDR_BITS != 0 {
            fatal("netpoll: a poll descriptor lies above the 48-bit address space");
        }
        lock(&pd.reg).fd = fd;
        pd
    }

    /// Deregisters the fd (it must still be open) and returns the descriptor to the pool. No
    /// waiter may be left: callers own the socket exclusively when they close it.
    pub(crate) fn release(&'static self) {
        {
            let mut st = lock(&self.reg);
            if let Some(p) = st.poller.take() {
                // Errors are ignored: the fd may never have been added (a failed add), and the
                // stale-event tag below covers events already taken from epoll.
                let _ = p.ctl(libc::EPOLL_CTL_DEL, st.fd, 0, 0);
            }
            st.fd = -1;
        }
        // Release: an event tagged with the old value is ignored by a poller that loads this.
        self.fdseq.fetch_add(1, Ordering::Release);
        lock(&POOL).push(self);
    }

    fn dir(&self, d: Dir) -> &Direction {
        match d {
            Dir::Read => &self.rd,
            Dir::Write => &self.wr,
        }
    }

    /// The readiness sequence of `d`, to take before the system call (protocol step 1).
    pub(crate) fn seq(&self, d: Dir) -> u64 {
        // SeqCst: pairs with the readiness bump of `seq` by the poller before it wakes `waiters`
        // (protocol step 3, module docs): a waiter that loads the old value is on the list before
        // the poller takes it.
        self.dir(d).seq.load(Ordering::SeqCst)
    }

    /// The poller to wait on: the one the fd is registered with, registering it with the
    /// caller's runtime first if needed (see "Several runtimes" in the module docs).
    fn poller_for(&self, sched: &Arc<Sched>) -> io::Result<Arc<Poller>> {
        let mine = sched.netpoll.get_or_init(sched)?;
        let mut st = lock(&self.reg);
        if let Some(p) = &st.poller {
            // SeqCst: `dead` is set by shutdown before it breaks the poll; a waiter that loads it
            // false after registering will be woken by that break.
            if Arc::ptr_eq(p, mine) || !p.dead.load(Ordering::SeqCst) {
                return Ok(p.clone());
            }
            let _ = p.ctl(libc::EPOLL_CTL_DEL, st.fd, 0, 0);
            st.poller = None;
        }
        let tag = self.fdseq.load(Ordering::Relaxed) & 0xffff;
        let data = (self as *const PollDesc as u64) | (tag << ADDR_BITS);
        let events = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
        mine.ctl(libc::EPOLL_CTL_ADD, st.fd, events, data)?;
        st.poller = Some(mine.clone());
        Ok(mine.clone())
    }

    /// Parks the calling goroutine until direction `d` sees an edge after `seen` (a value of
    /// [`PollDesc::seq`] taken before the failed call), until `deadline`, or until
    /// `interrupted()` turns true (checked before each park; whoever makes it true unparks the
    /// waiter afterwards, as Go's deadline change does in `netpollunblock`). Returns `Ok` for an
    /// edge or an interruption: the caller retries and re-reads its deadlines.
    ///
    /// # Errors
    /// `TimedOut` at the deadline; the error of registering the fd with epoll.
    pub(crate) fn wait(
        &self,
        d: Dir,
        seen: u64,
        deadline: Option<Instant>,
        interrupted: &dyn Fn() -> bool,
    ) -> io::Result<()> {
        let Some(gr) = g::current() else {
            fatal("netpoll: PollDesc::wait called outside a goroutine");
        };
        let poller = self.poller_for(&gr.sched)?;
        let foreign = !std::ptr::eq(
            Arc::as_ptr(&poller),
            gr.sched.netpoll.get().map_or(std::ptr::null(), Arc::as_ptr),
        );
        drop(gr);
        let dir = self.dir(d);
        // SeqCst: the waiter's half of the Dekker pairs (module docs).
        dir.nwait.fetch_add(1, Ordering::SeqCst);
        poller.waiters.fetch_add(1, Ordering::SeqCst);
        if foreign && poller.blocked.load(Ordering::SeqCst).is_null() {
            // Make sure some M of the other runtime polls (it may be all asleep on futexes).
            if let Some(s) = poller.sched.upgrade() {
                s.wakep();
            }
        }
        let me = park::current();
        let res = loop {
            // SeqCst: pairs with the readiness bump of `seq` by the poller before it wakes
            // `waiters` (protocol step 3, module docs): a waiter that loads the old value is on the
            // list before the poller takes it.
            if dir.seq.load(Ordering::SeqCst) != seen || interrupted() {
                break Ok(());
            }
            // SeqCst: `dead` is set by shutdown before it breaks the poll; a waiter that loads it
            // false after registering will be woken by that break.
            if foreign && poller.dead.load(Ordering::SeqCst) {
                break Ok(()); // retry; the next wait re-registers with our own poller
            }
            let now = Instant::now();
            if deadline.is_some_and(|dl| now >= dl) {
                break Err(io::Error::new(io::ErrorKind::TimedOut, "i/o timeout"));
            }
            {
                let mut w = lock(&dir.waiters);
                // SeqCst: pairs with the readiness bump of `seq` by the poller before it wakes
                // `waiters` (protocol step 3, module docs): a waiter that loads the old value is on
                // the list before the poller takes it.
                if dir.seq.load(Ordering::SeqCst) != seen {
                    break Ok(());
                }
                if !w.iter().any(|u| u.same_waiter(&me)) {
                    w.push(me.clone());
                }
            }
            let wake_at = match (deadline, foreign) {
                (Some(dl), true) => Some(dl.min(now + FOREIGN_RECHECK)),
                (Some(dl), false) => Some(dl),
                (None, true) => Some(now + FOREIGN_RECHECK),
                (None, false) => None,
            };
            match wake_at {
                Some(t) => park::park_until(WaitReason::IoWait, t),
                None => park::park(WaitReason::IoWait),
            }
            lock(&dir.waiters).retain(|u| !u.same_waiter(&me));
        };
        // SeqCst: the counts' other side (see `waiters`); going down late only costs a spare poll.
        poller.waiters.fetch_sub(1, Ordering::SeqCst);
        dir.nwait.fetch_sub(1, Ordering::SeqCst);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    fn tagged(pd: &'static PollDesc, tag: u64) -> u64 {
        (pd as *const PollDesc as u64) | ((tag & 0xffff) << ADDR_BITS)
    }

    const EVENTS: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

    /// An edge bumps the sequence of the right direction.
    #[test]
    fn edge_bumps_sequence() {
        let poller = Poller::new(Weak::new()).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let pd = PollDesc::alloc(a.as_raw_fd());
        let tag = pd.fdseq.load(Ordering::Relaxed);
        poller
            .ctl(libc::EPOLL_CTL_ADD, a.as_raw_fd(), EVENTS, tagged(pd, tag))
            .unwrap();
        poller.poll(Some(Duration::ZERO), false); // the initial EPOLLOUT edge
        let r0 = pd.seq(Dir::Read);
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        poller.poll(Some(Duration::from_secs(5)), false);
        assert_eq!(pd.seq(Dir::Read), r0 + 1);
        poller
            .ctl(libc::EPOLL_CTL_DEL, a.as_raw_fd(), 0, 0)
            .unwrap();
        pd.release();
    }

    /// Go issue 59545: an event carrying the tag of an earlier use of a descriptor is ignored.
    #[test]
    fn stale_tag_is_ignored() {
        let poller = Poller::new(Weak::new()).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let pd = PollDesc::alloc(a.as_raw_fd());
        let old = pd.fdseq.load(Ordering::Relaxed);
        // The descriptor is released and comes back for a new fd: its fdseq moved on.
        pd.fdseq.fetch_add(1, Ordering::Relaxed);
        // An event still tagged with the old value (one another M took from epoll before the
        // release) must not ready the new user.
        poller
            .ctl(libc::EPOLL_CTL_ADD, a.as_raw_fd(), EVENTS, tagged(pd, old))
            .unwrap();
        let (r0, w0) = (pd.seq(Dir::Read), pd.seq(Dir::Write));
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        poller.poll(Some(Duration::from_millis(100)), false);
        assert_eq!((pd.seq(Dir::Read), pd.seq(Dir::Write)), (r0, w0));
        poller
            .ctl(libc::EPOLL_CTL_DEL, a.as_raw_fd(), 0, 0)
            .unwrap();
        pd.release();
    }

    /// A break through the eventfd ends a blocking poll at once.
    #[test]
    fn wake_poller_breaks_blocking_poll() {
        let poller = Poller::new(Weak::new()).unwrap();
        let p2 = poller.clone();
        let t = std::thread::spawn(move || {
            let start = Instant::now();
            p2.poll(Some(Duration::from_secs(30)), false);
            start.elapsed()
        });
        std::thread::sleep(Duration::from_millis(20));
        poller.wake_poller();
        assert!(t.join().unwrap() < Duration::from_secs(10));
        assert!(poller.was_broken.load(Ordering::Relaxed));
        assert!(!poller.wake_sig.load(Ordering::Relaxed));
    }
}
