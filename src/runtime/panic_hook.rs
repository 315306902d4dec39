//! The panic hook: a goroutine's panic is reported as std reports a thread's, naming the
//! goroutine instead of the M's thread it happened to run on.
//!
//! Installed once, when the first runtime is built. It keeps the hook the program had: a hook of
//! the program's own is called for goroutine panics too (on the panicking goroutine, so
//! `current_id` names it); only std's default hook is replaced, for goroutines. Rejected:
//! printing from `catch_unwind` at goroutine exit, which would lose the backtrace (the stack is
//! gone by then) and report panics that a goroutine caught itself.

use std::panic;
use std::sync::Once;

use super::g;

/// Reports a goroutine's panic as std reports a thread's, naming the goroutine, or hands it to
/// the hook the program installed before the runtime started.
///
/// std's default hook would name the M's thread, so a goroutine's panic is printed here instead.
/// A hook of the program's own (an error reporter, a logger) is called for goroutine panics as
/// for any other, running on the panicking goroutine, so `current_id` names it; it does its own
/// reporting, and this one prints nothing more. Hooks installed after the runtime started
/// replace this one, as `set_hook` always does.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        // `take_hook` left std's default hook in place: take it too, to recognise it in `prev`.
        let default = panic::take_hook();
        let prev_is_default = is_same_hook(&*prev, &*default);
        drop(default);
        panic::set_hook(Box::new(move |info| {
            let Some(gp) = g::current() else { return prev(info) };
            if !prev_is_default {
                drop(gp);
                return prev(info);
            }
            let id = match &gp.name {
                Some(name) => format!("{} {name:?}", gp.id()),
                None => gp.id().to_string(),
            };
            drop(gp);
            let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                *s
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.as_str()
            } else {
                "Box<dyn Any>"
            };
            let loc = info.location().map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
            let bt = std::backtrace::Backtrace::capture();
            let text = if bt.status() == std::backtrace::BacktraceStatus::Captured {
                format!("goroutine {id} panicked{loc}:\n{msg}\nstack backtrace:\n{bt}\n")
            } else {
                format!("goroutine {id} panicked{loc}:\n{msg}\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n")
            };
            eprint!("{text}");
        }));
    });
}

/// Whether two boxed hooks are the same function: std boxes its default hook, a zero-sized fn
/// item, with one vtable, so two boxes of it have equal addresses and vtables. A program's hook
/// has a vtable of its own (its call function differs). Should the compiler ever duplicate
/// std's vtable, the default hook is merely not recognised and called as a program's hook
/// would be (the report then names the M's thread instead of the goroutine), never the reverse.
/// (Generic so as not to name the hook's argument type, which changed name in Rust 1.81.)
#[allow(ambiguous_wide_pointer_comparisons)]
fn is_same_hook<H: ?Sized>(a: &H, b: &H) -> bool {
    std::mem::size_of_val(a) == 0 && std::ptr::eq(a as *const H, b as *const H)
}
