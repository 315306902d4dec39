//! Goroutine stacks: slots carved out of large arenas, guard pages, pools and scavenging.
//!
//! A stack is one slot of an arena: `[guard page][stack bytes]`, the stack growing down from the
//! top of the slot towards the guard. Arenas are single anonymous mappings reserved with
//! `MAP_NORESERVE` and `MADV_NOHUGEPAGE`, so the kernel commits a page only when a goroutine first
//! touches it: a goroutine that used little stack costs about one page, and the stack grows by
//! itself up to the slot size.
//!
//! Guard pages. On Linux 6.13 and later, `madvise(MADV_GUARD_INSTALL)` turns the guard page into a
//! fault-on-access marker without splitting the mapping, so an arena of any number of slots stays
//! one mapping and a million stacks fit under the default `vm.max_map_count` of 65,530. On older
//! kernels the guard is `mprotect(PROT_NONE)`, which splits the mapping: each stack then costs two
//! mappings and the process can hold about 32,000 goroutines unless `vm.max_map_count` is raised.
//!
//! Pools. This allocator is process-wide and shared by every runtime (stacks may outlive a
//! runtime). A freed stack goes to a small per-P cache (see `p.rs`), then to a shared warm pool
//! that keeps its pages, so a burst of goroutines reuses stacks without a page fault. Memory goes
//! back to the kernel in the background, as Go's scavenger does: a scavenger thread, asleep while
//! the warm pool is small, wakes when it grows past [`WARM_POOL_MAX`] and gives back the memory
//! of the excess stacks that have stayed unused for [`SCAVENGE_AGE`], with `MADV_DONTNEED`, in
//! address-sorted batches so that runs of neighbouring slots (which a burst of goroutines tends
//! to leave) cost one system call each; they move to the cold pool. So resident memory shrinks
//! about a second after a burst, while a program that keeps spawning keeps reusing warm stacks
//! without faults. Allocation prefers warm stacks (no fault at all), then cold ones (one fault on
//! first touch), then fresh slots.
//!
//! Rejected: one `mmap` per stack (what `may` does: two mappings per stack with its guard, so
//! ENOMEM near 32,000 stacks), and Go's copying stacks (they need a compiler that knows where every
//! pointer into the stack is).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::util::lock;

/// `madvise` advice that installs a guard region (Linux 6.13), not yet in every libc release.
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// Stacks kept with their pages in the shared pool before memory is given back.
pub(crate) const WARM_POOL_MAX: usize = 1024;
/// Stacks one scavenging step takes out of the pool (the lock is not held while it works).
const SCAVENGE_BATCH: usize = 4096;
/// How long a stack beyond the warm pool's size stays unused before its memory is given back.
pub(crate) const SCAVENGE_AGE: Duration = Duration::from_secs(1);
/// Slots reserved per arena; arenas are added as goroutines grow in number.
const SLOTS_PER_ARENA: usize = 4096;

/// Smallest stack the builder accepts.
pub const MIN_STACK_SIZE: usize = 16 * 1024;
/// Largest stack the builder accepts.
pub const MAX_STACK_SIZE: usize = 1 << 30;
/// Default usable stack size of a goroutine.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// Rounds a requested stack size up to whole pages.
pub(crate) fn round_stack_size(bytes: usize) -> usize {
    let page = page_size();
    bytes.div_ceil(page) * page
}

/// One goroutine stack: owns its slot until dropped back into the pool with [`free`].
pub(crate) struct Stack {
    /// Lowest address of the slot: the guard page starts here.
    bottom: usize,
    /// Usable bytes above the guard page.
    size: usize,
    /// Whether its top page is resident (a stack freed by a goroutine, not since scavenged).
    /// A goroutine on an untouched stack takes a page fault on its first instruction.
    pub(crate) touched: bool,
}

impl Stack {
    /// Highest address of the stack (exclusive): where the stack pointer starts.
    pub(crate) fn top(&self) -> usize {
        self.bottom + page_size() + self.size
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

// SAFETY: `base` and `limit` describe a slot this `Stack` owns exclusively: `[bottom, top)` is
// mapped read-write above one guard page at `bottom`, both page aligned (so 16-byte aligned), and
// the slot is handed to no one else until the `Stack` is freed.
unsafe impl corosensei::stack::Stack for Stack {
    fn base(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.top()).expect("goroutines: fatal: null stack")
    }

    fn limit(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.bottom).expect("goroutines: fatal: null stack")
    }
}

/// One reserved mapping of `nslots` slots of `slot_size` bytes.
struct Arena {
    base: usize,
    slot_size: usize,
    nslots: usize,
    /// Slots handed out so far; the rest have never been touched.
    used: usize,
}

/// All stacks of one size.
struct Pool {
    size: usize,
    arenas: Vec<Arena>,
    /// Free stacks whose pages are still resident, oldest first, each with when it was freed.
    warm: Vec<(Stack, Instant)>,
    /// Free stacks whose memory has been given back.
    cold: Vec<Stack>,
}

static POOLS: Mutex<Vec<Pool>> = Mutex::new(Vec::new());
/// Whether `MADV_GUARD_INSTALL` works here; decided by the first arena.
static GUARD_ADVICE: OnceLock<bool> = OnceLock::new();
/// Address ranges of all arenas, for the overflow handler: (start, end, slot_size, size) packed.
pub(crate) static ARENA_RANGES: ArenaRanges = ArenaRanges::new();

/// A fixed table of arena ranges that a signal handler can read without locking.
pub(crate) struct ArenaRanges {
    len: AtomicUsize,
    entries: [[AtomicUsize; 3]; MAX_ARENAS],
}

/// Upper bound on arenas: 16,384 arenas of 4,096 slots is 67 million goroutines.
const MAX_ARENAS: usize = 16384;

impl ArenaRanges {
    const fn new() -> Self {
        #[allow(clippy::declare_interior_mutable_const)]
        const Z: [AtomicUsize; 3] = [
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        ];
        ArenaRanges {
            len: AtomicUsize::new(0),
            entries: [Z; MAX_ARENAS],
        }
    }

    /// Records an arena. Called with `POOLS` locked, so there is one writer at a time.
    fn push(&self, base: usize, end: usize, slot_size: usize) -> bool {
        let i = self.len.load(Ordering::Relaxed);
        if i == MAX_ARENAS {
            return false;
        }
        self.entries[i][0].store(base, Ordering::Relaxed);
        self.entries[i][1].store(end, Ordering::Relaxed);
        self.entries[i][2].store(slot_size, Ordering::Relaxed);
        // Release: pairs with the Acquire in `guard_hit`, so a reader that sees the new length
        // sees the entry's fields.
        self.len.store(i + 1, Ordering::Release);
        true
    }

    /// If `addr` lies in the guard page of some slot, that slot's usable size. Async-signal-safe.
    pub(crate) fn guard_hit(&self, addr: usize) -> Option<usize> {
        let n = self.len.load(Ordering::Acquire);
        let page = page_size_raw();
        for e in &self.entries[..n] {
            let (base, end, slot) = (
                e[0].load(Ordering::Relaxed),
                e[1].load(Ordering::Relaxed),
                e[2].load(Ordering::Relaxed),
            );
            if addr >= base && addr < end {
                let off = (addr - base) % slot;
                return if off < page { Some(slot - page) } else { None };
            }
        }
        None
    }
}

/// Page size without `OnceLock` initialisation, for the signal handler (the value is already set
/// by the time any arena exists).
fn page_size_raw() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let p = PAGE.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    let p = page_size();
    PAGE.store(p, Ordering::Relaxed);
    p
}

static GUARD_FALLBACK_WARNED: AtomicBool = AtomicBool::new(false);

impl Arena {
    fn reserve(size: usize) -> io::Result<Arena> {
        let page = page_size_raw();
        let slot_size = size + page;
        let nslots = SLOTS_PER_ARENA.min((64usize << 30) / slot_size).max(1);
        let len = slot_size * nslots;
        let reserve_error = |e: io::Error| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "goroutines: out of memory for goroutine stacks: cannot reserve {} MiB of \
                     address space: {e}",
                    len >> 20
                ),
            )
        };
        if let Some(e) = crate::fault::arena_mmap(size) {
            return Err(reserve_error(e));
        }
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
        // existing memory.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(reserve_error(io::Error::last_os_error()));
        }
        let base = base as usize;
        // SAFETY: [base, base+len) is the mapping just made; the advice only affects how it is
        // backed. Failure (no THP support) is harmless.
        unsafe { libc::madvise(base as *mut _, len, libc::MADV_NOHUGEPAGE) };
        if !ARENA_RANGES.push(base, base + len, slot_size) {
            // SAFETY: unmapping the mapping made above, which nothing references yet.
            unsafe { libc::munmap(base as *mut _, len) };
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "goroutines: too many stack arenas",
            ));
        }
        Ok(Arena {
            base,
            slot_size,
            nslots,
            used: 0,
        })
    }

    /// Hands out the next never-used slot, installing its guard page.
    fn take(&mut self, size: usize) -> io::Result<Option<Stack>> {
        if self.used == self.nslots {
            return Ok(None);
        }
        let bottom = self.base + self.used * self.slot_size;
        install_guard(bottom)?;
        self.used += 1;
        Ok(Some(Stack {
            bottom,
            size,
            touched: false,
        }))
    }
}

fn install_guard(addr: usize) -> io::Result<()> {
    let page = page_size_raw();
    let use_advice = *GUARD_ADVICE.get_or_init(|| {
        // SAFETY: `addr` is the first page of a slot of an arena we own and that nothing uses.
        unsafe { libc::madvise(addr as *mut _, page, MADV_GUARD_INSTALL) == 0 }
    });
    if use_advice {
        // SAFETY: `addr` is the first page of a slot of an arena we own and that nothing uses;
        // madvise takes no pointer it dereferences, and installing a guard on a page already
        // guarded (the probe) is a no-op.
        if unsafe { libc::madvise(addr as *mut _, page, MADV_GUARD_INSTALL) } == 0 {
            return Ok(());
        }
        return Err(stack_error("madvise(MADV_GUARD_INSTALL)"));
    }
    if !GUARD_FALLBACK_WARNED.swap(true, Ordering::Relaxed)
        && std::env::var_os("GOROUTINES_QUIET").is_none()
    {
        // Not an error: the program works, with a lower ceiling on goroutines.
        eprintln!(
            "goroutines: this kernel lacks MADV_GUARD_INSTALL (Linux 6.13); guard pages use \
             mprotect, two mappings per stack, so vm.max_map_count limits live goroutines"
        );
    }
    // SAFETY: the page is the guard page of a slot we own; nothing lives there.
    if unsafe { libc::mprotect(addr as *mut _, page, libc::PROT_NONE) } == 0 {
        Ok(())
    } else {
        Err(stack_error("mprotect of a guard page"))
    }
}

fn stack_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    let hint = if e.raw_os_error() == Some(libc::ENOMEM) {
        " (the process may have hit vm.max_map_count or its memory limit)"
    } else {
        ""
    };
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("goroutines: cannot make a goroutine stack: {what} failed: {e}{hint}"),
    )
}

fn pool_for(pools: &mut Vec<Pool>, size: usize) -> &mut Pool {
    if let Some(i) = pools.iter().position(|p| p.size == size) {
        return &mut pools[i];
    }
    pools.push(Pool {
        size,
        arenas: Vec::new(),
        warm: Vec::new(),
        cold: Vec::new(),
    });
    pools.last_mut().unwrap()
}

/// Takes stacks of `size` bytes (a whole number of pages) from the shared pool into `out`, up to
/// `want` of them, at least one unless an error is returned.
pub(crate) fn alloc_batch(size: usize, want: usize, out: &mut Vec<Stack>) -> io::Result<()> {
    let mut pools = lock(&POOLS);
    let pool = pool_for(&mut pools, size);
    let mut n = 0;
    while n < want {
        if let Some(s) = pool.warm.pop().map(|(s, _)| s).or_else(|| pool.cold.pop()) {
            out.push(s);
            n += 1;
            continue;
        }
        let stack = match pool.arenas.last_mut() {
            Some(a) => a.take(size),
            None => Ok(None),
        };
        match stack {
            Ok(Some(s)) => {
                out.push(s);
                n += 1;
            }
            Ok(None) => match Arena::reserve(size) {
                Ok(a) => pool.arenas.push(a),
                Err(e) if n == 0 => return Err(e),
                Err(_) => break,
            },
            Err(e) if n == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(())
}

/// Bytes of address space reserved for stacks (every arena), and bytes of it resident in
/// memory, for `metrics()`. Residency is asked of the kernel (`mincore`) for the slots ever
/// handed out, so the call costs time in proportion to the stacks in use.
pub(crate) fn memory() -> (usize, usize) {
    let mut ranges = Vec::new();
    let mut reserved = 0;
    {
        let pools = lock(&POOLS);
        for a in pools.iter().flat_map(|p| p.arenas.iter()) {
            reserved += a.slot_size * a.nslots;
            ranges.push((a.base, a.slot_size * a.used));
        }
    }
    let page = page_size();
    let mut vec = vec![0u8; 1 << 16];
    let mut resident = 0;
    for (base, len) in ranges {
        let mut off = 0;
        while off < len {
            let n = ((len - off) / page).min(vec.len());
            // SAFETY: `[base + off, base + off + n pages)` lies inside an arena mapping, which
            // is never unmapped, and `vec` has room for one byte per page.
            let r = unsafe {
                libc::mincore(
                    (base + off) as *mut libc::c_void,
                    n * page,
                    vec.as_mut_ptr().cast(),
                )
            };
            if r == 0 {
                resident += vec[..n].iter().filter(|&&b| b & 1 != 0).count() * page;
            }
            off += n * page;
        }
    }
    (reserved, resident)
}

/// Returns stacks to the shared warm pool, and wakes the scavenger if a pool grew too big.
///
/// A batch may mix sizes (a P's cache holds stacks of every size its goroutines asked for with
/// `Goroutine::stack_size`): each stack goes to the pool of its own size, since a pool hands
/// out its stacks as stacks of the pool's size.
pub(crate) fn free_batch(stacks: impl IntoIterator<Item = Stack>) {
    let mut pools = lock(&POOLS);
    let now = Instant::now();
    let mut over = false;
    // Consecutive stacks of one size (the usual case: all of them) share one pool lookup.
    let mut cur: Option<usize> = None;
    for s in stacks {
        let i = match cur {
            Some(i) if pools[i].size == s.size => i,
            _ => {
                let size = s.size;
                pool_for(&mut pools, size);
                pools
                    .iter()
                    .position(|p| p.size == size)
                    .expect("pool just made")
            }
        };
        cur = Some(i);
        pools[i].warm.push((s, now));
        over |= pools[i].warm.len() > WARM_POOL_MAX;
    }
    if over {
        drop(pools);
        wake_scavenger();
    }
}

static SCAVENGER_STARTED: std::sync::Once = std::sync::Once::new();
static SCAVENGER_WORK: Condvar = Condvar::new();
static SCAVENGER_PENDING: Mutex<bool> = Mutex::new(false);

fn wake_scavenger() {
    SCAVENGER_STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("goroutines-scavenger".into())
            .spawn(scavenger);
        // Without the thread, memory is simply not given back: not worth failing a spawn over.
        if spawned.is_ok() {
            // It lives as long as the process.
            std::mem::forget(crate::util::AuxThread::start());
        }
    });
    let mut pending = lock(&SCAVENGER_PENDING);
    if !*pending {
        *pending = true;
        SCAVENGER_WORK.notify_one();
    }
}

/// The scavenger thread: sleeps until the warm pool outgrows its cap, then returns the memory of
/// stacks unused for `SCAVENGE_AGE`, until the pool is back under the cap.
fn scavenger() {
    loop {
        {
            let mut pending = lock(&SCAVENGER_PENDING);
            while !*pending {
                pending = SCAVENGER_WORK
                    .wait(pending)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        loop {
            std::thread::sleep(SCAVENGE_AGE / 4);
            if !scavenge_once(SCAVENGE_AGE) {
                break;
            }
        }
        // Sleep again unless a free came in meanwhile (it set `pending` again).
        let mut pending = lock(&SCAVENGER_PENDING);
        *pending = false;
        let sizes: Vec<usize> = crate::util::lock(&POOLS)
            .iter()
            .filter(|p| p.warm.len() > WARM_POOL_MAX)
            .map(|p| p.size)
            .collect();
        if !sizes.is_empty() {
            *pending = true;
        }
    }
}

/// One pass over all pools: gives back the memory of excess warm stacks older than `age`.
/// Returns whether any pool still holds more than `WARM_POOL_MAX` warm stacks.
pub(crate) fn scavenge_once(age: Duration) -> bool {
    let sizes: Vec<usize> = crate::util::lock(&POOLS).iter().map(|p| p.size).collect();
    let mut over = false;
    for size in sizes {
        loop {
            let now = Instant::now();
            let mut batch = {
                let mut pools = lock(&POOLS);
                let pool = pool_for(&mut pools, size);
                let excess = pool.warm.len().saturating_sub(WARM_POOL_MAX);
                // The oldest frees sit at the front; the newest (cache-warm) stay for reuse.
                let old =
                    pool.warm[..excess].partition_point(|(_, t)| now.duration_since(*t) >= age);
                let n = old.min(SCAVENGE_BATCH);
                if n == 0 {
                    over |= excess > 0;
                    break;
                }
                pool.warm.drain(..n).map(|(s, _)| s).collect::<Vec<_>>()
            };
            release_memory(&mut batch, size);
            let mut pools = lock(&POOLS);
            pool_for(&mut pools, size).cold.append(&mut batch);
        }
    }
    over
}

/// `MADV_DONTNEED` over the given free stacks, one call per run of neighbouring slots.
fn release_memory(stacks: &mut [Stack], size: usize) {
    let page = page_size_raw();
    let slot = size + page;
    stacks.sort_unstable_by_key(|s| s.bottom);
    let mut i = 0;
    while i < stacks.len() {
        let mut j = i + 1;
        while j < stacks.len() && stacks[j].bottom == stacks[j - 1].bottom + slot {
            j += 1;
        }
        // From above the lowest guard page to the top of the last slot. Guard markers in between
        // survive MADV_DONTNEED (as do PROT_NONE guards), so they need no care.
        let from = stacks[i].bottom + page;
        let to = stacks[j - 1].bottom + slot;
        // SAFETY: [from, to) covers only free slots handed to us (and guard pages between them):
        // no goroutine runs on them and their contents are dead.
        unsafe { libc::madvise(from as *mut _, to - from, libc::MADV_DONTNEED) };
        i = j;
    }
    for s in stacks.iter_mut() {
        s.touched = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_reuse() {
        let size = round_stack_size(64 * 1024);
        let mut v = Vec::new();
        alloc_batch(size, 3, &mut v).unwrap();
        assert_eq!(v.len(), 3);
        for s in &v {
            assert_eq!(s.top() - s.bottom, size + page_size());
            // The top page is writable.
            // SAFETY: the byte lies in the usable part of a stack we own.
            unsafe { *((s.top() - 1) as *mut u8) = 1 };
            assert_eq!(ARENA_RANGES.guard_hit(s.bottom + 8), Some(size));
            assert_eq!(ARENA_RANGES.guard_hit(s.top() - 8), None);
        }
        let bottoms: Vec<usize> = v.iter().map(|s| s.bottom).collect();
        free_batch(v);
        let mut w = Vec::new();
        alloc_batch(size, 3, &mut w).unwrap();
        let mut again: Vec<usize> = w.iter().map(|s| s.bottom).collect();
        again.sort();
        let mut b = bottoms.clone();
        b.sort();
        assert_eq!(again, b, "freed stacks are reused first");
        free_batch(w);
    }

    /// A batch of stacks of two sizes goes back to two pools: each stack is handed out again
    /// only as a stack of its own size.
    #[test]
    fn free_batch_files_each_stack_under_its_size() {
        let small = round_stack_size(24 * 1024);
        let big = round_stack_size(40 * 1024);
        let mut v = Vec::new();
        alloc_batch(small, 1, &mut v).unwrap();
        alloc_batch(big, 1, &mut v).unwrap();
        let (s_bottom, b_bottom) = (v[0].bottom, v[1].bottom);
        free_batch(v);
        let mut w = Vec::new();
        alloc_batch(big, 1, &mut w).unwrap();
        alloc_batch(small, 1, &mut w).unwrap();
        assert_eq!((w[0].bottom, w[0].size), (b_bottom, big));
        assert_eq!((w[1].bottom, w[1].size), (s_bottom, small));
        for s in &w {
            assert_eq!(ARENA_RANGES.guard_hit(s.top() - s.size - 8), Some(s.size));
        }
        free_batch(w);
    }
}
