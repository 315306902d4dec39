//! Backtraces of parked goroutines, taken from another thread (for goroutine dumps).
//!
//! A parked goroutine is a suspended coroutine: its stack is intact but no thread runs on it, so
//! neither `std::backtrace` nor libgcc's `_Unwind_Backtrace` can see it (both walk only the
//! calling thread's live stack). This module walks such a stack itself.
//!
//! # Protocol
//!
//! 1. Before it suspends, the goroutine records where it is: `G::switch_out` calls [`capture`],
//!    which is inlined into it and reads pc, sp and the frame pointer in one `asm!` block, so
//!    the three agree with the unwind info (CFI) at that pc. `switch_out`'s frame, and so every
//!    frame above it, stays live and unchanged until the goroutine is resumed.
//! 2. The dumper, holding the lock that keeps the goroutine parked, calls [`walk`] with those
//!    registers and the usable range of the goroutine's stack. Each step finds the frame
//!    description entry (FDE) for the pc in the `.eh_frame_hdr` search table of the object that
//!    contains it, evaluates the CFI row with `gimli`, computes the canonical frame address (CFA)
//!    from sp or the frame pointer, and reads the return address and the caller's frame pointer
//!    from the stack. A read outside the stack's range, a CFA that does not grow, a missing FDE
//!    or a zero pc ends the walk, so garbage registers give a short walk, never a fault.
//! 3. [`format_frames`] symbolizes the pcs with the `backtrace` crate (inlined frames expanded)
//!    and drops the runtime's own frames, printing Go-style `name(...)` / `\tfile:line` pairs.
//!
//! The loaded objects and their `.eh_frame_hdr`/`.eh_frame` sections come from
//! `dl_iterate_phdr` and are read in place from memory. The list is cached; it is rebuilt when the
//! loader's load/unload counters (`dlpi_adds`, `dlpi_subs`) change, so a library `dlopen`ed or
//! `dlclose`d between dumps is seen. A `dlclose` racing with a walk is not guarded against.
//!
//! # Rejected
//!
//! - Frame-pointer chains: Rust omits frame pointers in optimized builds (and so does std).
//! - `framehop`: built for profilers (Mach-O and PE unwind formats, its own caches), with more
//!   dependencies; for ELF `.eh_frame` it makes the same `gimli` calls made here. `gimli` is
//!   already built for `backtrace` (same version), so it costs nothing extra.
//! - `backtrace::trace`/libunwind: they start from the calling thread's own registers only.
//!
//! # Limitations
//!
//! Only x86_64 (rip, rsp, rbp) and aarch64 (pc, sp, x29; best effort, and without pointer
//! authentication) are supported; elsewhere [`capture`] returns zeros and walks are empty. Frames
//! whose CFA is a DWARF expression (hand-written assembly, stack realignment) end the walk, as
//! do objects without a `.eh_frame_hdr` search table. The walk allocates and takes locks: it is
//! not async-signal-safe. The first [`format_frames`] of a process loads the debug info
//! (about 0.1 s for a release test binary); later calls cost a few microseconds a frame.

use std::ffi::c_void;
use std::fmt::Write;
use std::ops::Range;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::{mem, ptr, slice};

use gimli::{
    BaseAddresses, CfaRule, EhFrame, EhFrameHdr, EndianSlice, NativeEndian, ParsedEhFrameHdr,
    Pointer, Register, RegisterRule, UnwindContext, UnwindSection,
};

/// Registers of a suspended frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Regs {
    pub(crate) pc: usize,
    pub(crate) sp: usize,
    pub(crate) bp: usize,
}

/// The caller's own pc, sp and frame pointer (zeros on architectures other than x86_64 and
/// aarch64). Inlined, so the frame they describe is the caller's: `G::switch_out`, which stores
/// them and then suspends, keeping that frame live while the goroutine is parked.
#[inline(always)]
pub(crate) fn capture() -> Regs {
    let (pc, sp, bp): (usize, usize, usize);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads three registers into outputs; touches no memory, stack or flags.
    unsafe {
        std::arch::asm!(
            "lea {pc}, [rip]",
            "mov {sp}, rsp",
            "mov {bp}, rbp",
            pc = out(reg) pc, sp = out(reg) sp, bp = out(reg) bp,
            options(nomem, nostack, preserves_flags),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reads the pc, sp and frame-pointer (x29) registers into outputs; touches no
    // memory, stack or flags.
    unsafe {
        std::arch::asm!(
            "adr {pc}, .",
            "mov {sp}, sp",
            "mov {bp}, x29",
            pc = out(reg) pc, sp = out(reg) sp, bp = out(reg) bp,
            options(nomem, nostack, preserves_flags),
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        (pc, sp, bp) = (0, 0, 0);
    }
    Regs { pc, sp, bp }
}

/// DWARF numbers of the registers a walk tracks.
#[cfg(not(target_arch = "aarch64"))]
mod dwarf {
    use gimli::{Register, X86_64};
    pub(super) const SUPPORTED: bool = cfg!(target_arch = "x86_64");
    pub(super) const RA: Register = X86_64::RA;
    pub(super) const SP: Register = X86_64::RSP;
    pub(super) const FP: Register = X86_64::RBP;
}
#[cfg(target_arch = "aarch64")]
mod dwarf {
    use gimli::{AArch64, Register};
    pub(super) const SUPPORTED: bool = true;
    pub(super) const RA: Register = AArch64::X30;
    pub(super) const SP: Register = AArch64::SP;
    pub(super) const FP: Register = AArch64::X29;
}

/// Walks a stack from `regs` using the `.eh_frame` CFI of the loaded objects, reading memory only
/// inside `bounds` (the stack's usable range `[lo, hi)`), and there only at or above `regs.sp`;
/// any read outside ends the walk. Returns up to `max` program counters: `regs.pc` first, then
/// each caller's return address.
///
/// # Safety
/// The memory in `bounds` at and above `regs.sp` must be mapped and must not be written while
/// the walk runs.
pub(crate) unsafe fn walk(regs: Regs, bounds: Range<usize>, max: usize) -> Vec<usize> {
    let mut pcs = Vec::new();
    if regs.pc == 0 || max == 0 {
        return pcs;
    }
    pcs.push(regs.pc);
    if !dwarf::SUPPORTED || !bounds.contains(&regs.sp) {
        return pcs;
    }
    // Live frames lie at or above the stack pointer: what is below it is dead (and may include a
    // guard page that a caller's `bounds` did not exclude).
    let stack = regs.sp..bounds.end;
    let modules = modules();
    let mut ctx = UnwindContext::new();
    let mut frame = regs;
    while pcs.len() < max {
        // The first pc is where execution stopped; the others are return addresses, whose call
        // instruction (and so the CFI row that applies) lies just before them.
        let lookup = frame.pc - usize::from(pcs.len() > 1);
        let Some(module) = modules.find(lookup) else {
            break;
        };
        // SAFETY: `bounds` is mapped and unchanging, per our caller's contract.
        match unsafe { module.step(&mut ctx, frame, lookup, &stack) } {
            Some(caller) if caller.pc != 0 => {
                pcs.push(caller.pc);
                frame = caller;
            }
            _ => break,
        }
    }
    pcs
}

/// A loaded object's unwind tables, read in place from its mapped segments.
struct Module {
    /// The `PT_LOAD` segments, as mapped.
    segments: Vec<Range<usize>>,
    bases: BaseAddresses,
    hdr: ParsedEhFrameHdr<EndianSlice<'static, NativeEndian>>,
    eh_frame: EhFrame<EndianSlice<'static, NativeEndian>>,
}

/// The loaded objects with unwind tables, as of the loader generation `(dlpi_adds, dlpi_subs)`.
struct Modules(Option<(u64, u64)>, Vec<Module>);

/// The cache; a walk holds the lock throughout, so a rebuild never drops a module in use.
static MODULES: Mutex<Modules> = Mutex::new(Modules(None, Vec::new()));

/// The module list, rebuilt if objects were loaded or unloaded since it was built.
fn modules() -> MutexGuard<'static, Modules> {
    let mut cache = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    let mut now = Modules(None, Vec::new());
    let data = ptr::addr_of_mut!(now).cast();
    // SAFETY: the callback has dl_iterate_phdr's signature and `data` points to `now`.
    unsafe { libc::dl_iterate_phdr(Some(read_generation), data) };
    if now.0.is_none() || now.0 != cache.0 {
        // SAFETY: `add_module` has dl_iterate_phdr's signature, and `data` still points to
        // `now`, which nothing else borrows until the call returns.
        unsafe { libc::dl_iterate_phdr(Some(add_module), data) };
        *cache = now;
    }
    cache
}

impl Modules {
    fn find(&self, pc: usize) -> Option<&Module> {
        self.1
            .iter()
            .find(|m| m.segments.iter().any(|s| s.contains(&pc)))
    }
}

/// The loader's `(dlpi_adds, dlpi_subs)` counters, if this libc reports them.
fn generation(info: &libc::dl_phdr_info, size: usize) -> Option<(u64, u64)> {
    let needed = mem::offset_of!(libc::dl_phdr_info, dlpi_subs) + mem::size_of::<u64>();
    (size >= needed).then_some((info.dlpi_adds, info.dlpi_subs))
}

/// `dl_iterate_phdr` callback: records the generation, from the first object only.
unsafe extern "C" fn read_generation(
    info: *mut libc::dl_phdr_info,
    size: usize,
    data: *mut c_void,
) -> libc::c_int {
    // SAFETY: the loader passes a valid `info` of `size` bytes; `data` is the `Modules` that
    // `modules()` passed, not otherwise borrowed during the call.
    let (info, out) = unsafe { (&*info, &mut *data.cast::<Modules>()) };
    out.0 = generation(info, size);
    1
}

/// `dl_iterate_phdr` callback: adds the object's unwind tables, if it has a search table.
unsafe extern "C" fn add_module(
    info: *mut libc::dl_phdr_info,
    size: usize,
    data: *mut c_void,
) -> libc::c_int {
    // SAFETY: the loader passes a valid `info` of `size` bytes; `data` is the `Modules` that
    // `modules()` passed, not otherwise borrowed during the call.
    let (info, out) = unsafe { (&*info, &mut *data.cast::<Modules>()) };
    out.0 = generation(info, size);
    // SAFETY: the loader describes an object it has loaded, and `modules()` drops what this
    // returns once the loader generation changes.
    out.1.extend(unsafe { Module::new(info) });
    0
}

impl Module {
    /// The unwind tables of the object `info` describes, read in place.
    ///
    /// # Safety
    /// The object must stay loaded while the result is used.
    unsafe fn new(info: &libc::dl_phdr_info) -> Option<Module> {
        if info.dlpi_phdr.is_null() {
            return None;
        }
        // SAFETY: the loader's program header table has `dlpi_phnum` entries.
        let phdrs = unsafe { slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let base = info.dlpi_addr as usize;
        let segments: Vec<Range<usize>> = (phdrs.iter())
            .filter(|p| p.p_type == libc::PT_LOAD)
            .map(|p| base + p.p_vaddr as usize..base + p.p_vaddr as usize + p.p_memsz as usize)
            .collect();
        let hdr = phdrs.iter().find(|p| p.p_type == libc::PT_GNU_EH_FRAME)?;
        let (hdr_addr, hdr_len) = (base + hdr.p_vaddr as usize, hdr.p_memsz as usize);
        // SAFETY: PT_GNU_EH_FRAME lies in a mapped read-only segment, mapped while the object
        // is loaded.
        let hdr_bytes = unsafe { slice::from_raw_parts(hdr_addr as *const u8, hdr_len) };
        let bases = BaseAddresses::default().set_eh_frame_hdr(hdr_addr as u64);
        let word = mem::size_of::<usize>() as u8;
        let hdr = EhFrameHdr::new(hdr_bytes, NativeEndian)
            .parse(&bases, word)
            .ok()?;
        hdr.table()?; // no binary search table: we would have to scan `.eh_frame`
        let Pointer::Direct(eh) = hdr.eh_frame_ptr() else {
            return None;
        };
        // `.eh_frame` has no recorded length: let it run to the end of its segment.
        let eh = eh as usize;
        let end = segments.iter().find(|s| s.contains(&eh))?.end;
        // SAFETY: `[eh, end)` lies inside one PT_LOAD segment of the object (found just
        // above), mapped and readable while the object is loaded, which the MODULES lock
        // held by the walk guarantees.
        let eh_frame = EhFrame::new(
            unsafe { slice::from_raw_parts(eh as *const u8, end - eh) },
            NativeEndian,
        );
        let bases = bases.set_eh_frame(eh as u64);
        Some(Module {
            segments,
            bases,
            hdr,
            eh_frame,
        })
    }

    /// One unwind step from `frame`, whose CFI row is the one at `lookup`: the caller's
    /// registers, or `None` where the walk must end.
    ///
    /// # Safety
    /// As for [`walk`]: `stack` is mapped and not written meanwhile.
    unsafe fn step(
        &self,
        ctx: &mut UnwindContext<usize>,
        frame: Regs,
        lookup: usize,
        stack: &Range<usize>,
    ) -> Option<Regs> {
        let (table, cie) = (self.hdr.table()?, EhFrame::cie_from_offset);
        let row =
            (table.unwind_info_for_address(&self.eh_frame, &self.bases, ctx, lookup as u64, cie))
                .ok()?;
        let reg = |r: Register| match r {
            dwarf::SP => Some(frame.sp),
            dwarf::FP => Some(frame.bp),
            _ => None,
        };
        let CfaRule::RegisterAndOffset { register, offset } = *row.cfa() else {
            return None; // a DWARF expression
        };
        let cfa = reg(register)?.checked_add_signed(offset as isize)?;
        // The caller's frame lies above ours on the same stack, or we are lost.
        if cfa <= frame.sp || cfa > stack.end {
            return None;
        }
        let recover = |r: Register| match row.register(r) {
            // Registers the CFI does not mention keep their value (callee-saved by convention).
            None | Some(RegisterRule::SameValue) => reg(r),
            Some(RegisterRule::Offset(off)) => {
                let at = cfa.checked_add_signed(off as isize)?;
                if at < stack.start || at.checked_add(mem::size_of::<usize>())? > stack.end {
                    return None;
                }
                // SAFETY: `at` and the word after it lie in `stack`, which is mapped and
                // unchanging per our caller's contract; the word may be unaligned garbage.
                Some(unsafe { ptr::read_unaligned(at as *const usize) })
            }
            Some(RegisterRule::ValOffset(off)) => cfa.checked_add_signed(off as isize),
            Some(RegisterRule::Register(from)) => reg(from),
            // An `Undefined` return address marks the outermost frame; expressions are not
            // supported.
            Some(_) => None,
        };
        // On aarch64 a return address still in x30 (never captured) is unknown: that ends it too.
        let (pc, bp) = (recover(dwarf::RA)?, recover(dwarf::FP)?);
        Some(Regs { pc, sp: cfa, bp })
    }
}

/// One symbolic frame; an address with inlined calls yields several, innermost first.
struct Sym {
    name: Option<String>,
    location: Option<(String, u32)>,
    pc: usize,
}

/// Appends a Go-style rendering of `pcs` (as [`walk`] returns them: an exact pc, then return
/// addresses) to `out`: `name(...)` and `\tfile:line` per frame, `?? (0xADDR)` for what has no
/// symbol. The runtime's own frames are dropped: the park/switch path at the top and the
/// coroutine entry below the last user frame; if nothing is left, all frames are shown.
pub(crate) fn format_frames(pcs: &[usize], out: &mut String) {
    let mut frames = Vec::new();
    for (i, &pc) in pcs.iter().enumerate() {
        // `resolve` looks up `addr - 1`, as suits return addresses; the first pc is exact.
        let addr = if i == 0 { pc.wrapping_add(1) } else { pc };
        let before = frames.len();
        backtrace::resolve(addr as *mut c_void, |s| {
            // `{:#}` demangles without the hash suffix.
            let name = s.name().map(|n| format!("{n:#}"));
            let file = s.filename().map(|f| f.display().to_string());
            frames.push(Sym {
                name,
                location: file.zip(s.lineno()),
                pc,
            });
        });
        if frames.len() == before {
            frames.push(Sym {
                name: None,
                location: None,
                pc,
            });
        }
    }
    let user = user_frames(&frames);
    for f in if user.is_empty() { &frames[..] } else { user } {
        let _ = match (&f.name, &f.location) {
            (Some(name), Some((file, line))) => writeln!(out, "{name}(...)\n\t{file}:{line}"),
            (Some(name), None) => writeln!(out, "{name}(...)\n\t?? ({:#x})", f.pc),
            (None, _) => writeln!(out, "?? ({:#x})", f.pc),
        };
    }
}

/// The frames between the park/switch path on top and the coroutine entry at the bottom. Of
/// the library frames the goroutine parked in (`RawChan::recv_slow`, `Waiter::wait`, ...), only
/// the outermost is kept: the call the program made (`Chan::recv`), as Go hides `chanrecv`.
fn user_frames(frames: &[Sym]) -> &[Sym] {
    let is = |f: &Sym, path: fn(&str) -> bool| f.name.as_deref().is_some_and(path);
    let mut start = (frames.iter().position(|f| !is(f, is_switch_path))).unwrap_or(frames.len());
    while start + 1 < frames.len()
        && is(&frames[start], is_library)
        && is(&frames[start + 1], is_library)
    {
        start += 1;
    }
    let end = (frames
        .iter()
        .rposition(|f| f.name.is_some() && !is(f, is_entry_path)))
    .map_or(0, |i| i + 1);
    frames.get(start..end).unwrap_or(&[])
}

/// Frames of the park/switch path.
fn is_switch_path(name: &str) -> bool {
    under(name, &["goroutines::runtime::", "corosensei::"]) && !in_tests(name)
}

/// Frames of this crate, outside its white-box tests.
fn is_library(name: &str) -> bool {
    under(name, &["goroutines::"]) && !in_tests(name)
}

/// Whether a frame belongs to the runtime's own white-box tests, which count as user code
/// (judged by the path before any generic arguments, which v0 mangling shows).
fn in_tests(name: &str) -> bool {
    let path = name.trim_start_matches('<').split('<').next().unwrap_or("");
    path.contains("::tests::")
}

/// Frames of the coroutine entry: the switch path, the panic-catching glue under a goroutine,
/// and corosensei's assembly trampoline at the bottom of every coroutine stack.
fn is_entry_path(name: &str) -> bool {
    const GLUE: &[&str] = &[
        "std::panicking",
        "std::panic",
        "core::panic",
        "core::ops::function",
        "__rust_try",
        "stack_init_trampoline",
    ];
    is_switch_path(name) || under(name, GLUE)
}

/// Whether `name`, or either side of a `<Type as Trait>` in it, starts with one of `prefixes`.
fn under(name: &str, prefixes: &[&str]) -> bool {
    (name.split(" as ").map(|part| part.trim_start_matches('<')))
        .any(|part| prefixes.iter().any(|p| part.starts_with(p)))
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;
    use std::mem::MaybeUninit;

    use corosensei::stack::{DefaultStack, Stack};
    use corosensei::{Coroutine, CoroutineResult, Yielder};

    use super::*;

    /// The calling thread's stack, `[lo, hi)`.
    fn thread_stack() -> Range<usize> {
        let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
        let (mut addr, mut size) = (ptr::null_mut(), 0);
        // SAFETY: pthread_getattr_np initializes `attr` before it is read; destroyed once.
        let ok = unsafe {
            libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) == 0
                && libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size) == 0
                && libc::pthread_attr_destroy(attr.as_mut_ptr()) == 0
        };
        assert!(ok);
        addr as usize..addr as usize + size
    }

    #[track_caller]
    fn assert_in_order(text: &str, needles: &[&str]) {
        let mut at = 0;
        for n in needles {
            let Some(i) = text[at..].find(n) else {
                panic!("{n:?} missing (or out of order) in:\n{text}");
            };
            at += i + n.len();
        }
    }

    fn render(pcs: &[usize]) -> String {
        let mut out = String::new();
        format_frames(pcs, &mut out);
        out
    }

    #[inline(never)]
    fn thread_a() -> String {
        let s = thread_b();
        black_box(s) // not a tail call: this frame must stay on the stack
    }

    #[inline(never)]
    fn thread_b() -> String {
        black_box(thread_c())
    }

    #[inline(never)]
    fn thread_c() -> String {
        let regs = capture();
        // SAFETY: the walk reads only the frames above ours, which nothing writes meanwhile.
        render(&unsafe { walk(regs, thread_stack(), 64) })
    }

    #[test]
    fn walks_a_thread_stack() {
        let out = black_box(thread_a());
        let names = [
            "::thread_c(",
            "::thread_b(",
            "::thread_a(",
            "::walks_a_thread_stack(",
        ];
        assert_in_order(&out, &names);
        assert!(out.contains("traceback.rs:"), "no file:line in:\n{out}");
    }

    #[inline(never)]
    fn co_f1(y: &Yielder<(), Regs>) -> u32 {
        black_box(co_f2(y)) + 1
    }

    #[inline(never)]
    fn co_f2(y: &Yielder<(), Regs>) -> u32 {
        let regs = capture();
        y.suspend(regs);
        black_box(7)
    }

    #[test]
    fn walks_a_suspended_coroutine() {
        let stack = DefaultStack::new(64 * 1024).unwrap();
        let bounds = stack.limit().get()..stack.base().get();
        let mut co = Coroutine::with_stack(stack, |y: &Yielder<(), Regs>, ()| co_f1(y));
        let CoroutineResult::Yield(regs) = co.resume(()) else {
            panic!("coroutine returned without suspending");
        };
        assert!(bounds.contains(&regs.sp));
        // SAFETY: the coroutine is suspended: nothing runs on its stack until the next resume.
        let out = render(&unsafe { walk(regs, bounds, 64) });
        assert_in_order(
            &out,
            &["::co_f2(", "::co_f1(", "::walks_a_suspended_coroutine::"],
        );
        assert!(
            !out.contains("corosensei"),
            "coroutine entry not dropped:\n{out}"
        );
        assert!(matches!(co.resume(()), CoroutineResult::Return(8)));
    }

    #[test]
    fn bogus_registers_end_the_walk() {
        let here = capture();
        let (stack, data) = (thread_stack(), ptr::addr_of!(MODULES) as usize);
        let with = |pc, sp| Regs { pc, sp, bp: sp };
        // SAFETY: for all these walks, each range is this thread's stack or a live buffer of ours.
        unsafe {
            assert_eq!(
                walk(with(0, here.sp), stack.clone(), 64),
                Vec::<usize>::new()
            );
            assert_eq!(walk(here, stack.clone(), 0), Vec::<usize>::new());
            assert_eq!(walk(with(here.pc, stack.end), stack.clone(), 64), [here.pc]);
            assert_eq!(walk(with(here.pc, 8), stack.clone(), 64), [here.pc]);
            assert_eq!(walk(with(data, here.sp), stack.clone(), 64), [data]);
        }
        // A "stack" of junk that looks like code addresses and stack pointers.
        let mut junk = vec![0usize; 4096];
        let fake = junk.as_ptr() as usize..junk.as_ptr() as usize + 4096 * 8;
        let code = [
            here.pc,
            thread_c as *const () as usize,
            co_f2 as *const () as usize,
        ];
        for (i, w) in junk.iter_mut().enumerate() {
            let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            *w = [
                code[i / 3 % 3] + x % 64,
                fake.start + x % (fake.len() + 64),
                x,
            ][i % 3];
        }
        for (sp, pc) in (0..64).flat_map(|k| code.map(|pc| (fake.start + k * 40, pc + 9))) {
            // SAFETY: the range given, `fake`, is `junk`, a live buffer of ours; `walk` reads
            // only inside it, whatever words it finds there.
            let pcs = unsafe { walk(with(pc, sp), fake.clone(), 32) };
            assert!(pcs.len() <= 32 && pcs[0] == pc);
        }
        black_box(junk);
    }

    #[test]
    fn runtime_frames_are_dropped() {
        let names = [
            "corosensei::coroutine::Yielder<Input,Yield>::suspend",
            "goroutines::runtime::g::G::switch_out",
            "goroutines::chan::Chan<T>::recv",
            "",
            "app::worker",
            "<core::panic::unwind_safe::AssertUnwindSafe<F> as core::ops::function::FnOnce<()>>::call_once",
            "std::panicking::try::do_call",
            "__rust_try",
            "goroutines::runtime::spawn::{{closure}}",
            "<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once",
            "<corosensei::coroutine::Coroutine<_, _, _, _>>::with_stack_unchecked::coroutine_func::<(), u32, u32, goroutines::runtime::traceback::tests::x::{closure#0}>",
            "stack_init_trampoline",
            "",
        ];
        let frames: Vec<Sym> = (names.iter().enumerate())
            .map(|(pc, n)| Sym {
                name: Some(n.to_string()).filter(|n| !n.is_empty()),
                location: None,
                pc,
            })
            .collect();
        let kept: Vec<usize> = user_frames(&frames).iter().map(|f| f.pc).collect();
        assert_eq!(kept, [2, 3, 4]);
        assert!(user_frames(&frames[..2]).is_empty());
        assert_eq!(render(&[]), "");
    }
}
