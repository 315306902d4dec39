//! Stack overflow detection: a SIGSEGV/SIGBUS handler that recognises a goroutine's guard page.
//!
//! Every goroutine stack has a guard page below it (`stack.rs`), and Rust's stack probes make a
//! function touch every page of a large frame in order, so an overflowing goroutine faults in its
//! guard page rather than writing past it. The handler runs on the M's alternate signal stack
//! (the goroutine's own stack is exhausted), checks whether the faulting address lies in a guard
//! page of a stack arena, and if so writes "goroutine N overflowed its S KiB stack" to stderr and
//! aborts. Any other fault is not ours: the previous handler (std's, which reports overflows of
//! OS-thread stacks) is put back and the faulting instruction re-runs under it.
//!
//! Everything the handler does is async-signal-safe: atomics, a thread-local read, `write(2)`,
//! `sigaction(2)` and `abort(3)`.

use std::mem::MaybeUninit;
use std::sync::Once;

use crate::runtime::stack::ARENA_RANGES;

static INSTALL: Once = Once::new();
static mut PREV_SEGV: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();
static mut PREV_BUS: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();

/// Installs the process-wide handler once.
pub(crate) fn install_handler() {
    INSTALL.call_once(|| {
        // SAFETY: the sigaction structs are fully initialised (zeroed, then fields set) before
        // use; PREV_* are written here once, inside `Once`, before the handler that reads them
        // can run.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(
                libc::SIGSEGV,
                &sa,
                (*std::ptr::addr_of_mut!(PREV_SEGV)).as_mut_ptr(),
            );
            libc::sigaction(
                libc::SIGBUS,
                &sa,
                (*std::ptr::addr_of_mut!(PREV_BUS)).as_mut_ptr(),
            );
        }
    });
}

/// Gives the calling M an alternate signal stack if it has none.
pub(crate) fn install_altstack() {
    const SIZE: usize = 64 * 1024;
    // SAFETY: querying the current alternate stack writes only into `old`.
    unsafe {
        let mut old: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(std::ptr::null(), &mut old) == 0
            && old.ss_flags & libc::SS_DISABLE == 0
            && old.ss_size >= 16 * 1024
        {
            return;
        }
        let mem = libc::mmap(
            std::ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if mem == libc::MAP_FAILED {
            return; // Overflows will then die by plain SIGSEGV, still never silently.
        }
        let st = libc::stack_t {
            ss_sp: mem,
            ss_flags: 0,
            ss_size: SIZE,
        };
        // The mapping is deliberately never freed: the M thread lives until the process exits or
        // its runtime shuts down, and an alternate stack must outlive every signal on the thread.
        libc::sigaltstack(&st, std::ptr::null_mut());
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers of SIGSEGV/SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(size) = ARENA_RANGES.guard_hit(addr) {
        let mut buf = [0u8; 160];
        let mut n = 0;
        let mut put = |s: &[u8]| {
            let k = s.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&s[..k]);
            n += k;
        };
        put(b"\ngoroutines: fatal: goroutine ");
        let mut num = [0u8; 20];
        let id = crate::runtime::g::current_id().map_or(0, |id| id.as_u64());
        put(fmt_u64(id, &mut num));
        put(b" overflowed its ");
        let mut num2 = [0u8; 20];
        if size % 1024 == 0 {
            put(fmt_u64((size / 1024) as u64, &mut num2));
            put(b" KiB stack\n");
        } else {
            put(fmt_u64(size as u64, &mut num2));
            put(b" byte stack\n");
        }
        // SAFETY: write(2) and abort(3) are async-signal-safe; `buf[..n]` is initialised.
        unsafe {
            libc::write(2, buf.as_ptr().cast(), n);
            libc::abort();
        }
    }
    // Not a goroutine's guard page: restore the previous disposition and return, so the fault
    // happens again and is handled as it would have been without us.
    // SAFETY: PREV_* were initialised by `install_handler` before this handler was installed.
    unsafe {
        let prev = if sig == libc::SIGBUS {
            (*std::ptr::addr_of!(PREV_BUS)).as_ptr()
        } else {
            (*std::ptr::addr_of!(PREV_SEGV)).as_ptr()
        };
        libc::sigaction(sig, prev, std::ptr::null_mut());
    }
}

fn fmt_u64(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}
