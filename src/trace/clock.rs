//! Timestamps of trace events: cheap to read when recording, nanoseconds when written.
//!
//! Reading the clock is the largest single cost of recording an event (measured in a VM:
//! `Instant::now`, that is `clock_gettime` through the vDSO, ~50 ns; `lfence; rdtsc` ~16 ns).
//! So, like Go's tracer (`cputicks`), events carry raw CPU timestamp-counter ticks on x86-64
//! when the kernel itself keeps time with the TSC, which it does only when the TSC is invariant
//! and synchronized across CPUs; `stop` converts ticks to nanoseconds by a line through two
//! (ticks, `Instant`) pairs, the first taken when the process first traced and the second at
//! `stop`, so the fit gets better the longer the process runs. Elsewhere events carry
//! nanoseconds since the trace's start read from `Instant`.
//!
//! Ordering: an `lfence` before `rdtsc` keeps the read from running ahead of earlier loads (as
//! the kernel's `rdtsc_ordered` does), so a wake-up stamped before the woken goroutine is
//! queued reads a smaller time than the goroutine's start on another CPU, which dequeued it
//! after: the flow-matching rule in `chrome.rs` relies on that.

use std::sync::OnceLock;
use std::time::Instant;

/// The time base of one trace.
#[derive(Clone, Copy, Debug)]
pub(super) struct Clock {
    /// Read the TSC rather than `Instant`.
    tsc: bool,
    /// When the trace started, as ticks (if `tsc`) and as an `Instant`.
    start_ticks: u64,
    start: Instant,
}

impl Clock {
    /// A time base starting now.
    pub(super) fn start() -> Clock {
        let tsc = tsc_usable();
        let (start_ticks, start) = if tsc { pair() } else { (0, Instant::now()) };
        if tsc {
            FIRST.get_or_init(|| (start_ticks, start));
        }
        Clock {
            tsc,
            start_ticks,
            start,
        }
    }

    /// Now, in this clock's units (ticks or nanoseconds since the start).
    #[inline]
    pub(super) fn now(&self) -> u64 {
        if self.tsc {
            ticks()
        } else {
            nanos(self.start, Instant::now())
        }
    }

    /// A converter from this clock's readings to nanoseconds since the start, fitted now.
    pub(super) fn finish(&self) -> ToNanos {
        if !self.tsc {
            return ToNanos {
                start_ticks: 0,
                num: 1,
                den: 1,
            };
        }
        let (t1, i1) = pair();
        let &(t0, i0) = FIRST.get().unwrap_or(&(self.start_ticks, self.start));
        ToNanos {
            start_ticks: self.start_ticks,
            num: nanos(i0, i1).max(1) as u128,
            den: t1.saturating_sub(t0).max(1) as u128,
        }
    }
}

/// Converts readings of a [`Clock`] to nanoseconds since its start: `(t - start) * num / den`.
#[derive(Clone, Copy, Debug)]
pub(super) struct ToNanos {
    start_ticks: u64,
    num: u128,
    den: u128,
}

impl ToNanos {
    pub(super) fn nanos(&self, t: u64) -> u64 {
        let d = t.saturating_sub(self.start_ticks) as u128;
        (d * self.num / self.den).min(u64::MAX as u128) as u64
    }
}

/// The (ticks, `Instant`) pair of the first trace of the process, the fit's first point.
static FIRST: OnceLock<(u64, Instant)> = OnceLock::new();

fn nanos(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from)
        .as_nanos()
        .min(u64::MAX as u128) as u64
}

/// A tick count and an `Instant` read at (nearly) the same moment.
fn pair() -> (u64, Instant) {
    let a = ticks();
    let i = Instant::now();
    let b = ticks();
    (a + (b.saturating_sub(a)) / 2, i)
}

/// Whether the kernel keeps time with the TSC (so it is invariant and synchronized).
fn tsc_usable() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    *USABLE.get_or_init(|| {
        cfg!(target_arch = "x86_64")
            && std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .is_ok_and(|s| s.trim() == "tsc")
    })
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn ticks() -> u64 {
    // SAFETY: `lfence` (SSE2) and `rdtsc` are part of the x86-64 baseline, so the CPU has them;
    // neither touches memory.
    unsafe {
        std::arch::x86_64::_mm_lfence();
        std::arch::x86_64::_rdtsc()
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn ticks() -> u64 {
    0 // Never called: `tsc_usable` is false off x86-64.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_convert_to_nanoseconds_since_the_start() {
        let c = Clock::start();
        let a = c.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = c.now();
        let f = c.finish();
        let (a, b) = (f.nanos(a), f.nanos(b));
        assert!(a < 5_000_000, "{a}");
        let d = b - a;
        assert!(
            (19_000_000..200_000_000).contains(&d),
            "{d} ns for a 20 ms sleep"
        );
    }
}
