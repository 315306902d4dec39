//! Goroutine-local storage: `goroutine_local!`, the goroutine's own `thread_local!`.
//!
//! A value declared with [`goroutine_local!`](crate::goroutine_local) belongs to the goroutine
//! that first touched it: it lives in the goroutine's record (`G::locals`), moves with the
//! goroutine wherever it runs, and is dropped when the goroutine ends, in the goroutine itself
//! (before its result reaches a joiner). On a plain OS thread the same declaration behaves as
//! `thread_local!`. This is the safe home for per-task state that code would otherwise keep in a
//! thread-local across a park (docs/soundness.md).
//!
//! Layout: every key gets a process-wide index on first use (`NEXT_KEY`); a goroutine's locals
//! are a vector of boxed values indexed by it, touched only by the goroutine itself, so no
//! access takes a lock. A value is boxed so that initialising another local (which may grow the
//! vector) never moves a value a caller borrows.
//!
//! Rejected: a hash map keyed by the key's address (a hash per access for nothing, since keys
//! are few and dense), and storing the values on the goroutine's stack (they must outlive any
//! frame).

use std::any::Any;
use std::cell::OnceCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::LocalKey;

use super::g;
use crate::util::fatal;

/// Key indices handed out so far (index 0 is never used: it marks "not assigned yet").
static NEXT_KEY: AtomicUsize = AtomicUsize::new(1);

/// A goroutine's values, indexed by key; see the module docs.
pub(crate) type Locals = Vec<Option<Box<dyn Any>>>;

/// A key declared with [`goroutine_local!`](crate::goroutine_local): the handle through which
/// a goroutine reaches its own value.
///
/// ```
/// use std::cell::Cell;
/// goroutines::goroutine_local!(static REQUESTS: Cell<u32> = const { Cell::new(0) });
///
/// goroutines::run(|| {
///     REQUESTS.with(|n| n.set(n.get() + 1));
///     goroutines::yield_now(); // the value stays with this goroutine wherever it runs
///     assert_eq!(REQUESTS.with(|n| n.get()), 1);
///     // Another goroutine has its own value.
///     assert_eq!(goroutines::go(|| REQUESTS.with(|n| n.get())).join().unwrap(), 0);
/// });
/// ```
pub struct GoroutineLocalKey<T: 'static> {
    index: AtomicUsize,
    init: fn() -> T,
    thread: &'static LocalKey<OnceCell<T>>,
}

impl<T: 'static> GoroutineLocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(thread: &'static LocalKey<OnceCell<T>>, init: fn() -> T) -> Self {
        GoroutineLocalKey {
            index: AtomicUsize::new(0),
            init,
            thread,
        }
    }

    fn index(&self) -> usize {
        let i = self.index.load(Ordering::Relaxed);
        if i != 0 {
            return i;
        }
        let new = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        // Relaxed: the index is a plain number; losing the race just wastes one.
        match self
            .index
            .compare_exchange(0, new, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => new,
            Err(cur) => cur,
        }
    }

    /// Calls `f` with the calling goroutine's value, initialising it first if this goroutine
    /// has not touched it yet. On a plain OS thread, the thread's value (as `thread_local!`).
    ///
    /// The reference stays valid across parks inside `f`: the value belongs to the goroutine.
    ///
    /// # Panics
    /// If the initialiser of this key touches the same key again (as `thread_local!`).
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let Some(g) = g::current() else {
            return self.thread.with(|c| f(c.get_or_init(self.init)));
        };
        let i = self.index();
        let mut ptr = lookup::<T>(&g, i);
        if ptr.is_null() {
            set_slot(&g, i, Box::new(Initializing));
            // Initialise with no borrow of the locals live: `init` may touch other keys.
            let v = (self.init)();
            set_slot(&g, i, Box::new(v));
            ptr = lookup::<T>(&g, i);
        }
        // SAFETY: `ptr` points into a box owned by this goroutine's locals, which is dropped only
        // when the goroutine ends (`destroy_current`, after its body returned) or never: no
        // `with` call is live then. The box does not move when the vector grows.
        f(unsafe { &*ptr })
    }
}

/// Marks a slot whose initialiser is running.
struct Initializing;

fn set_slot(g: &g::G, i: usize, v: Box<dyn Any>) {
    // SAFETY: only the goroutine itself touches its locals (`G::locals`); the borrow ends in
    // this function, and callers hold no reference into the vector (values are boxed).
    let locals = unsafe { &mut *g.locals.get() };
    if locals.len() <= i {
        locals.resize_with(i + 1, || None);
    }
    locals[i] = Some(v);
}

/// The value at index `i` of `g`'s locals, or null.
///
/// # Panics
/// If the slot's initialiser is running (it touched its own key).
fn lookup<T: 'static>(g: &g::G, i: usize) -> *const T {
    // SAFETY: only the goroutine itself touches its locals; the borrow ends in this function.
    let locals = unsafe { &*g.locals.get() };
    match locals.get(i) {
        Some(Some(b)) => match b.downcast_ref::<T>() {
            Some(v) => v as *const T,
            None if b.is::<Initializing>() => {
                panic!("goroutines: goroutine_local: the initializer of a goroutine-local touched it again")
            }
            None => fatal("a goroutine-local key's value has another type"),
        },
        _ => std::ptr::null(),
    }
}

/// Drops the calling goroutine's locals (when its body has returned). A destructor that
/// touches a goroutine-local initialises it again; those are dropped in a later round.
pub(crate) fn destroy_current() {
    let Some(g) = g::current() else { return };
    for _ in 0..8 {
        // SAFETY: only the goroutine itself touches its locals, and no `with` is live: its
        // body has returned.
        let locals = std::mem::take(unsafe { &mut *g.locals.get() });
        if locals.is_empty() {
            return;
        }
        drop(locals);
    }
}

/// Declares goroutine-local values: like `thread_local!`, but each goroutine has its own value,
/// which moves with it and is dropped when it ends. On a plain OS thread a thread's own value.
/// Accepts `const { ... }` initialisers as `thread_local!` does.
///
/// ```
/// use std::cell::RefCell;
/// goroutines::goroutine_local! {
///     /// The request being served by this goroutine.
///     static CURRENT: RefCell<String> = RefCell::new(String::new());
///     static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
/// }
///
/// goroutines::run(|| {
///     CURRENT.with(|c| c.borrow_mut().push_str("GET /"));
///     let ch = goroutines::Chan::new(1);
///     ch.send(());
///     ch.recv(); // parks: the borrow below is this goroutine's value still
///     assert_eq!(CURRENT.with(|c| c.borrow().clone()), "GET /");
///     assert_eq!(DEPTH.with(|d| d.get()), 0);
/// });
/// ```
#[macro_export]
macro_rules! goroutine_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
        $crate::goroutine_local!($(#[$attr])* $vis static $name: $t = $init; $($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }) => {
        $crate::goroutine_local!($(#[$attr])* $vis static $name: $t = $init;);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])*
        $vis static $name: $crate::runtime::GoroutineLocalKey<$t> = {
            fn __init() -> $t {
                $init
            }
            ::std::thread_local! {
                static __THREAD: ::std::cell::OnceCell<$t> = const { ::std::cell::OnceCell::new() };
            }
            $crate::runtime::GoroutineLocalKey::__new(&__THREAD, __init)
        };
        $crate::goroutine_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $crate::goroutine_local!($(#[$attr])* $vis static $name: $t = $init;);
    };
}
