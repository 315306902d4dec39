//! `RwLock<T>`: Go's `sync.RWMutex` holding a value.
//!
//! The protocol (Go's): `reader_count` counts active and waiting readers; a writer first takes
//! the writer mutex `w` (so writers queue there, fairly), then subtracts `MAX_READERS`, which
//! makes `reader_count` negative and sends every later reader to park on `reader_sem`. The
//! readers that were active when the writer arrived are counted into `reader_wait`; the last of
//! them to leave releases `writer_sem`. Unlocking the writer adds `MAX_READERS` back, releases
//! `reader_sem` once per reader that queued meanwhile, and unlocks `w`. So a waiting writer
//! blocks new readers and is not starved by a stream of them, and the readers that queued behind
//! a writer all run before the next writer.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use super::mutex::RawMutex;
use super::sema::{semacquire, semrelease};
use crate::runtime::park::WaitReason;
use crate::util::fatal;

/// More than this many concurrent readers is not supported (Go's `rwmutexMaxReaders`).
const MAX_READERS: i32 = 1 << 30;

/// A reader-writer lock protecting a `T`: any number of readers or one writer, parking
/// goroutines (not threads) while they wait. Go's `sync.RWMutex`.
///
/// # Writer preference
/// A writer that is waiting blocks new readers, so a continuous stream of readers cannot starve
/// it; the readers that arrive meanwhile go next, before another writer. Hence a goroutine must
/// not take a read lock it already holds again (recursive read locking), as in Go: a writer
/// arriving in between deadlocks both.
///
/// # No poisoning
/// As with [`Mutex`](super::Mutex): a panic while holding a guard unlocks on unwind and the next
/// holder sees the value as the panicking code left it.
///
/// The uncontended `read` and its unlock are one atomic operation each.
///
/// ```
/// use goroutines::sync::RwLock;
/// use std::sync::Arc;
///
/// goroutines::run(|| {
///     let config = Arc::new(RwLock::new(String::from("v1")));
///     let readers: Vec<_> = (0..4)
///         .map(|_| {
///             let c = config.clone();
///             goroutines::go(move || c.read().len())
///         })
///         .collect();
///     *config.write() = String::from("v2");
///     for r in readers {
///         assert_eq!(r.join().unwrap(), 2);
///     }
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    /// Held by the writer that owns the lock or is waiting for readers to leave.
    w: RawMutex,
    /// Released by the last reader leaving ahead of a waiting writer.
    writer_sem: AtomicU32,
    /// Released once per reader that queued behind a writer, when that writer unlocks.
    reader_sem: AtomicU32,
    /// Readers holding or waiting for the lock, minus `MAX_READERS` while a writer holds or
    /// waits for it.
    reader_count: AtomicI32,
    /// Readers the waiting writer still waits for.
    reader_wait: AtomicI32,
    data: UnsafeCell<T>,
}

// SAFETY: a writer gets `&mut T` on its own thread (needs `T: Send`); readers share `&T` across
// threads (needs `T: Sync`). Same bounds as `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: through `&RwLock<T>` one thread at a time may get `&mut T` (a write lock: `T: Send`,
// since that thread may not be the one that made `T`) and many may hold `&T` at once (read
// locks: `T: Sync`). Same bounds as `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`; usable in a `static`.
    ///
    /// ```
    /// static TABLE: goroutines::sync::RwLock<Vec<u32>> = goroutines::sync::RwLock::new(Vec::new());
    /// TABLE.write().push(1);
    /// assert_eq!(TABLE.read()[0], 1);
    /// ```
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            w: RawMutex::new(),
            writer_sem: AtomicU32::new(0),
            reader_sem: AtomicU32::new(0),
            reader_count: AtomicI32::new(0),
            reader_wait: AtomicI32::new(0),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns its value.
    ///
    /// ```
    /// assert_eq!(goroutines::sync::RwLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading (Go's `RLock`), parking while a writer holds or waits for the lock.
    ///
    /// ```
    /// let l = goroutines::sync::RwLock::new(5);
    /// let (a, b) = (l.read(), l.read()); // readers share
    /// assert_eq!(*a + *b, 10);
    /// ```
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        // Acquire: pairs with the writer's Release in `write_unlock`.
        if self.reader_count.fetch_add(1, Ordering::Acquire) + 1 < 0 {
            // A writer is pending: wait for it to unlock, which releases us.
            semacquire(&self.reader_sem, false, WaitReason::SyncRWMutexRLock);
        }
        RwLockReadGuard::new(self)
    }

    /// Locks for reading if no writer holds or waits for the lock (Go's `TryRLock`).
    ///
    /// ```
    /// let l = goroutines::sync::RwLock::new(());
    /// let w = l.write();
    /// assert!(l.try_read().is_none());
    /// drop(w);
    /// assert!(l.try_read().is_some());
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let mut c = self.reader_count.load(Ordering::Relaxed);
        loop {
            if c < 0 {
                return None;
            }
            // Acquire: pairs with the Release of the writer's unlock (adding `MAX_READERS`
            // back), so the writer's writes are visible to this reader.
            match self.reader_count.compare_exchange_weak(
                c,
                c + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(RwLockReadGuard::new(self)),
                Err(cur) => c = cur,
            }
        }
    }

    #[inline]
    fn read_unlock(&self) {
        // Release: pairs with the writer's AcqRel subtraction in `write`, so our reads finish
        // before the writer's writes.
        let r = self.reader_count.fetch_sub(1, Ordering::Release) - 1;
        if r < 0 {
            self.read_unlock_slow(r);
        }
    }

    #[cold]
    fn read_unlock_slow(&self, r: i32) {
        if r + 1 == 0 || r + 1 == -MAX_READERS {
            fatal("sync: RUnlock of unlocked RWMutex");
        }
        // A writer is pending; the last reader it waits for wakes it. AcqRel: the writer's
        // `reader_wait` add and ours are ordered on this word.
        if self.reader_wait.fetch_sub(1, Ordering::AcqRel) - 1 == 0 {
            semrelease(&self.writer_sem, false);
        }
    }

    /// Locks for writing (Go's `Lock`), parking until no reader or writer holds the lock. New
    /// readers wait behind a pending writer.
    ///
    /// ```
    /// let l = goroutines::sync::RwLock::new(vec![]);
    /// l.write().push(1);
    /// assert_eq!(*l.read(), [1]);
    /// ```
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        // First, resolve competition with other writers.
        self.w.lock(WaitReason::SyncRWMutexLock);
        // Announce the pending writer to readers. AcqRel: Acquire pairs with the Release of
        // readers leaving (`read_unlock`).
        let r = self.reader_count.fetch_sub(MAX_READERS, Ordering::AcqRel);
        // Wait for the active readers, if any. AcqRel: pairs with the readers' AcqRel decrement
        // in `read_unlock_slow`; a result of zero means they all left, and Acquire makes their
        // reads happen before our writes without the semaphore.
        if r != 0 && self.reader_wait.fetch_add(r, Ordering::AcqRel) + r != 0 {
            semacquire(&self.writer_sem, false, WaitReason::SyncRWMutexLock);
        }
        RwLockWriteGuard::new(self)
    }

    /// Locks for writing if the lock is entirely free (Go's `TryLock`).
    ///
    /// ```
    /// let l = goroutines::sync::RwLock::new(0);
    /// let r = l.read();
    /// assert!(l.try_write().is_none());
    /// drop(r);
    /// *l.try_write().unwrap() += 1;
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        if !self.w.try_lock() {
            return None;
        }
        // Acquire: as in `write`.
        if self
            .reader_count
            .compare_exchange(0, -MAX_READERS, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: we locked `w` just above.
            unsafe { self.w.unlock() };
            return None;
        }
        Some(RwLockWriteGuard::new(self))
    }

    fn write_unlock(&self) {
        // Announce to readers there is no active writer. Release: pairs with the Acquire of the
        // readers' `fetch_add` in `read`.
        let r = self.reader_count.fetch_add(MAX_READERS, Ordering::Release) + MAX_READERS;
        if r >= MAX_READERS {
            fatal("sync: Unlock of unlocked RWMutex");
        }
        // Unblock the readers that queued meanwhile.
        for _ in 0..r {
            semrelease(&self.reader_sem, false);
        }
        // Allow other writers to proceed.
        // SAFETY: `w` was locked by the `write` or `try_write` whose guard is being dropped.
        unsafe { self.w.unlock() };
    }

    /// A mutable reference to the value; no locking is needed since the borrow is exclusive.
    ///
    /// ```
    /// let mut l = goroutines::sync::RwLock::new(1);
    /// *l.get_mut() += 1;
    /// assert_eq!(*l.read(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Shared access to the value of a read-locked [`RwLock`]; unlocks when dropped.
///
/// ```
/// let l = goroutines::sync::RwLock::new("value");
/// let g = l.read();
/// assert_eq!(*g, "value");
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _marker: PhantomData<*const T>,
}

// SAFETY: a read guard gives only `&T`, on whichever thread holds it: `T: Sync` suffices for
// both moving and sharing it. Read unlock from another thread is fine (no owner recorded).
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: a shared `&RwLockReadGuard` gives only `&T` as well, so `T: Sync` is again enough.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    fn new(lock: &'a RwLock<T>) -> Self {
        RwLockReadGuard {
            lock,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold a read lock: no writer has `&mut T` meanwhile.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to the value of a write-locked [`RwLock`]; unlocks when dropped.
///
/// ```
/// let l = goroutines::sync::RwLock::new(1);
/// let mut g = l.write();
/// *g = 2;
/// drop(g);
/// assert_eq!(*l.read(), 2);
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _marker: PhantomData<*mut T>,
}

// SAFETY: the guard gives `&mut T` wherever it is: moving it needs `T: Send`.
unsafe impl<T: ?Sized + Send> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: a shared write guard gives only `&T`: sharing it needs `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    fn new(lock: &'a RwLock<T>) -> Self {
        RwLockWriteGuard {
            lock,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the write lock: no one else accesses the value.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the write lock, and `&mut self` makes this access exclusive.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
