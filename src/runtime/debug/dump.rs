//! The goroutine dump: every goroutine with its state, wait reason, wait time, stack and spawn
//! site, in the shape of Go's tracebacks.
//!
//! ```text
//! goroutine 7 "conn 12" [chan receive, 2s]:
//! myapp::worker()
//!         src/main.rs:12
//! myapp::main::{{closure}}()
//!         src/main.rs:30
//! created by goroutine 1 at src/main.rs:29:9
//! ```
//!
//! The quoted name is there only for a goroutine named with `Goroutine::name`.
//!
//! Stacks are taken without stopping the program:
//! 1. The calling goroutine walks its own stack.
//! 2. A parked goroutine is held parked while its stack is walked: the dumper moves its park
//!    state from PARKED to INSPECTING (`G::begin_inspect`), so an `unpark` meanwhile leaves the
//!    wake-up to the dumper instead of resuming it, and the dumper readies it when done
//!    (`G::end_inspect`). The walk starts from the registers the goroutine saved in
//!    `G::switch_out` and reads only its own stack (`traceback.rs`). Symbols are resolved after
//!    the goroutine is let go.
//! 3. A goroutine that is running, runnable or inside `blocking` may change its stack at any
//!    moment; it is printed without a stack, as Go prints a goroutine running on another thread.

use std::fmt::Write as _;
use std::time::Duration;

use super::traceback;
use crate::runtime::g::{self, GStatus, G};
use crate::runtime::park::WaitReason;
use crate::runtime::sched::Sched;

/// Most frames printed per goroutine (Go prints 100).
const MAX_FRAMES: usize = 100;

/// The dump of every goroutine of `sched`, in id order.
pub(crate) fn dump_sched(sched: &Sched) -> String {
    let me = g::current_id();
    // One instant for every wait time, however long resolving symbols takes along the way.
    let now = g::coarse_nanos();
    let mut out = String::new();
    for g in sched.allgs.snapshot() {
        if g.status() == GStatus::Dead {
            continue;
        }
        write_goroutine(&mut out, &g, me == Some(g.id()), now);
        out.push('\n');
    }
    out
}

/// `goroutine 7 [chan receive, 2s, locked to thread]:` and what follows it.
fn write_goroutine(out: &mut String, gp: &g::GRef, is_caller: bool, now: u64) {
    let status = gp.status();
    let mut head = match status {
        GStatus::Waiting if gp.wait_reason() == WaitReason::Zero => "waiting".to_string(),
        GStatus::Waiting => gp.wait_reason().as_str().to_string(),
        s => s.as_str().to_string(),
    };
    if status == GStatus::Waiting {
        if let Some(w) = format_wait(gp.waited(now)) {
            head.push_str(", ");
            head.push_str(&w);
        }
    }
    if !gp
        .locked_m
        .load(std::sync::atomic::Ordering::Relaxed)
        .is_null()
    {
        head.push_str(", locked to thread");
    }
    match &gp.name {
        // A named goroutine: `{:?}` quotes the name and escapes quotes and newlines in it.
        Some(name) => {
            let _ = writeln!(out, "goroutine {} {name:?} [{head}]:", gp.id());
        }
        None => {
            let _ = writeln!(out, "goroutine {} [{head}]:", gp.id());
        }
    }
    match stack_of(gp, is_caller) {
        Ok(pcs) => traceback::format_frames(&pcs, out),
        Err(why) => {
            let _ = writeln!(out, "{why}");
        }
    }
    write_created_by(out, gp);
}

/// The return addresses on `gp`'s stack, or why there are none.
fn stack_of(gp: &g::GRef, is_caller: bool) -> Result<Vec<usize>, &'static str> {
    if is_caller {
        let regs = traceback::capture();
        // SAFETY: the range is the calling goroutine's own stack, mapped while it runs; the
        // walk reads the frames above `regs.sp`, which do not change until this function
        // returns, and its own frames lie below `regs.sp`.
        return Ok(unsafe { traceback::walk(regs, gp.stack_bounds(), MAX_FRAMES) });
    }
    match gp.status() {
        GStatus::Waiting => {}
        GStatus::Runnable => return Err("\tgoroutine runnable; stack unavailable"),
        _ => return Err("\tgoroutine running on other thread; stack unavailable"),
    }
    if !gp.begin_inspect() {
        // Woken between the two reads: it is runnable or running now.
        return Err("\tgoroutine woke during the dump; stack unavailable");
    }
    // SAFETY: the goroutine is parked and held so by INSPECTING (module docs), so nobody
    // resumes it, and its stack, which its coroutine owns until it finishes, stays mapped until
    // `end_inspect`. The walk reads only frame linkage (saved registers and return addresses);
    // the one thing others write on a parked goroutine's stack is a channel waiter record (a
    // local variable of its `recv`/`send`/`select` frame), never that linkage. `saved_regs` are
    // ordered before this by `begin_inspect`.
    let pcs = unsafe { traceback::walk(gp.saved_regs(), gp.stack_bounds(), MAX_FRAMES) };
    if gp.end_inspect() {
        crate::runtime::park::ready(gp.clone());
    }
    Ok(pcs)
}

fn write_created_by(out: &mut String, gp: &G) {
    let site = gp.spawn_site;
    if gp.parent == 0 {
        let _ = writeln!(
            out,
            "created by a plain thread at {}:{}:{}",
            site.file(),
            site.line(),
            site.column()
        );
    } else {
        let _ = writeln!(
            out,
            "created by goroutine {} at {}:{}:{}",
            gp.parent,
            site.file(),
            site.line(),
            site.column()
        );
    }
}

/// Go prints "N minutes" from one minute on; shorter waits are shown too, in ms or s.
fn format_wait(d: Duration) -> Option<String> {
    let ms = d.as_millis();
    Some(match ms {
        0 => return None,
        1..=999 => format!("{ms}ms"),
        1000..=59_999 => format!("{}s", ms / 1000),
        _ if ms < 120_000 => "1 minutes".to_string(),
        _ => format!("{} minutes", ms / 60_000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_times_read_like_go() {
        assert_eq!(format_wait(Duration::ZERO), None);
        assert_eq!(format_wait(Duration::from_millis(5)).unwrap(), "5ms");
        assert_eq!(format_wait(Duration::from_millis(2500)).unwrap(), "2s");
        assert_eq!(format_wait(Duration::from_secs(61)).unwrap(), "1 minutes");
        assert_eq!(format_wait(Duration::from_secs(180)).unwrap(), "3 minutes");
    }
}
