//! From recorded events to a timeline, and the timeline as Chrome Trace Event JSON.
//!
//! [`Timeline::build`] works offline, after the trace has stopped, so that the hooks stay cheap:
//! 1. **Runs.** Each thread's events are replayed in order: a `Start` opens a run of a goroutine
//!    on that thread, the matching `Stop` closes it. A `Stop` with no `Start` (the goroutine was
//!    running when the trace started) begins at the thread's previous event or at 0; a `Start`
//!    never stopped ends at the end of the trace.
//! 2. **Lanes.** A run is drawn on the row of the P it started on. A goroutine can lose its P
//!    while it runs (sysmon retakes it from a `blocking` call or a hog) and another M may start
//!    goroutines on that P meanwhile, which would overlap on the P's row: so each run is clipped
//!    at the start of the next run on its P, and the rest of it is drawn on a "no P" row, as are
//!    runs that started without a P. "No P" rows are packed greedily ("no P", "no P 2", ...) so
//!    that no two slices on one row overlap, as Perfetto's importer requires of complete events.
//! 3. **Flows.** An `Unpark` (or `Create`) recorded while the waker (or parent) ran on that thread
//!    becomes an arrow from the waker's slice, at that moment, to the first slice of the woken
//!    goroutine that starts at or after it. (The scheduler records the wake-up before it makes the
//!    goroutine runnable, so that run is the one the wake-up caused.) Both ends are placed a few
//!    nanoseconds inside their slices, since Perfetto binds a flow end to the slice that encloses
//!    it and would miss a slice that starts at the very same timestamp.
//! 4. **Counters.** Each `Start` samples its P's local run-queue length and the global queue
//!    length; repeated values are left out.
//!
//! The JSON is written by hand (the crate has no JSON dependency): pid = this process, one
//! thread id per row (P index + 1, since Perfetto treats thread id 0 as the idle task; "no P"
//! rows from 100000), named by `thread_name` metadata events; timestamps in microseconds with
//! three decimals, so nanoseconds survive exactly.

use std::collections::BTreeMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::panic::Location;

use super::buffer::{Event, NO_P};
use super::StopReason;

/// Maps keyed by goroutine ids and the like: a multiplicative hash (FxHash's), since
/// SipHash's protection against chosen keys is not needed here and it showed in profiles.
type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Thread id of the first "no P" row.
const NO_P_TID: u64 = 100_000;
/// How far inside its slice a flow end is placed, at most (see the module docs).
const FLOW_INSET: u64 = 10;

/// A row of the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Lane {
    /// The row of P number `n`.
    P(u32),
    /// The `n`th row of goroutines running without a P.
    NoP(u32),
}

impl Lane {
    fn tid(self) -> u64 {
        match self {
            Lane::P(n) => n as u64 + 1,
            Lane::NoP(n) => NO_P_TID + n as u64,
        }
    }

    fn name(self) -> String {
        match self {
            Lane::P(n) => format!("P{n}"),
            Lane::NoP(0) => "no P".to_string(),
            Lane::NoP(n) => format!("no P {}", n + 1),
        }
    }

    fn sort_index(self) -> u64 {
        self.tid()
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    Stopped(StopReason),
    /// Still running when the trace stopped.
    StillRunning,
    /// The thread started another goroutine without stopping this one (not expected).
    Unknown,
}

/// One goroutine's time on one thread, before it is cut into slices.
struct Run {
    g: u64,
    site: Option<&'static Location<'static>>,
    p: u32,
    start: u64,
    end: u64,
    why: End,
}

/// A complete event: part or all of one run, on one row.
#[derive(Debug)]
pub(super) struct Slice {
    pub(super) g: u64,
    pub(super) site: Option<&'static Location<'static>>,
    pub(super) lane: Lane,
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) why: End,
    /// Drawn off its P's row: the goroutine ran on after its P went to another M, or without one.
    pub(super) off_p: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FlowKind {
    Wake,
    Spawn,
}

impl FlowKind {
    fn name(self) -> &'static str {
        match self {
            FlowKind::Wake => "wake",
            FlowKind::Spawn => "spawn",
        }
    }
}

/// An arrow from one slice to another.
#[derive(Debug)]
pub(super) struct Flow {
    pub(super) id: u64,
    pub(super) kind: FlowKind,
    pub(super) from: (Lane, u64),
    pub(super) to: (Lane, u64),
}

/// Whose queue a counter sample measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Queue {
    Local(u32),
    Global,
}

/// A run-queue length at a moment, sampled on the row of the P that looked.
#[derive(Debug)]
pub(super) struct Counter {
    pub(super) ts: u64,
    pub(super) lane: Lane,
    pub(super) queue: Queue,
    pub(super) len: u32,
}

/// Everything the JSON shows.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    pub(super) slices: Vec<Slice>,
    pub(super) flows: Vec<Flow>,
    pub(super) counters: Vec<Counter>,
    /// Rows P0 .. P(nprocs - 1).
    pub(super) nprocs: u32,
    /// Rows "no P" ...
    pub(super) nop_lanes: u32,
    /// Wake-ups and spawns with no arrow (not by a goroutine, or never followed by a run).
    pub(super) unbound_flows: u64,
    /// Events left out because they came after `end` (the trace was cut at the event cap).
    pub(super) cut: u64,
}

impl Timeline {
    /// Builds the timeline from each thread's events (in chunks, in the order the thread
    /// recorded them); `end` is the trace's last instant: later events are left out.
    pub(super) fn build(threads: &[Vec<Vec<Event>>], end: u64) -> Timeline {
        let mut tl = Timeline::default();
        let mut runs: Vec<Run> = Vec::new();
        // Flow sources: (run, when, target goroutine, kind).
        let mut outs: Vec<(usize, u64, u64, FlowKind)> = Vec::new();
        let mut sites: HashMap<u64, &'static Location<'static>> = HashMap::default();
        let mut samples: Vec<(u64, u32, u32, u32)> = Vec::new();
        let mut max_p: Option<u32> = None;
        let mut see_p = |p: u32| {
            if p != NO_P {
                max_p = Some(max_p.map_or(p, |m| m.max(p)));
            }
        };

        // 1. Runs, per thread.
        for chunks in threads {
            let mut open: Option<usize> = None;
            let mut last_ts = 0;
            for ev in chunks.iter().flatten() {
                let (Event::Create { ts, .. }
                | Event::Start { ts, .. }
                | Event::Stop { ts, .. }
                | Event::Unpark { ts, .. }) = *ev;
                if ts > end {
                    tl.cut += 1;
                    continue;
                }
                match *ev {
                    Event::Create {
                        ts,
                        g,
                        parent,
                        site,
                    } => {
                        sites.insert(g, site);
                        match open {
                            Some(r) if parent != 0 && runs[r].g == parent => {
                                outs.push((r, ts, g, FlowKind::Spawn))
                            }
                            _ => tl.unbound_flows += 1,
                        }
                        last_ts = ts;
                    }
                    Event::Unpark { ts, g, by } => {
                        match open {
                            Some(r) if by != 0 && runs[r].g == by => {
                                outs.push((r, ts, g, FlowKind::Wake))
                            }
                            _ => tl.unbound_flows += 1,
                        }
                        last_ts = ts;
                    }
                    Event::Start {
                        ts,
                        g,
                        site,
                        p,
                        local,
                        global,
                    } => {
                        if let Some(r) = open.take() {
                            runs[r].end = ts;
                            runs[r].why = End::Unknown;
                        }
                        see_p(p);
                        open = Some(runs.len());
                        runs.push(Run {
                            g,
                            site: Some(site),
                            p,
                            start: ts,
                            end,
                            why: End::StillRunning,
                        });
                        if p != NO_P {
                            samples.push((ts, p, local, global));
                        }
                        last_ts = ts;
                    }
                    Event::Stop { ts, g, p, why } => {
                        match open.take() {
                            Some(r) if runs[r].g == g => {
                                runs[r].end = ts;
                                runs[r].why = End::Stopped(why);
                            }
                            other => {
                                // Running since before the trace (or an unexpected sequence).
                                if let Some(r) = other {
                                    runs[r].end = ts;
                                    runs[r].why = End::Unknown;
                                }
                                see_p(p);
                                runs.push(Run {
                                    g,
                                    site: None,
                                    p,
                                    start: last_ts.min(ts),
                                    end: ts,
                                    why: End::Stopped(why),
                                });
                            }
                        }
                        last_ts = ts;
                    }
                }
            }
        }
        for r in &mut runs {
            if r.site.is_none() {
                r.site = sites.get(&r.g).copied();
            }
            r.end = r.end.max(r.start);
        }
        tl.nprocs = max_p.map_or(0, |m| m + 1);

        // 2. Lanes: each run becomes one slice, or two if it overlaps the next run on its P.
        let mut parts: Vec<[Option<usize>; 2]> = vec![[None, None]; runs.len()];
        let mut by_p: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        let mut off: Vec<(usize, u64)> = Vec::new(); // (run, from when) for the "no P" rows
        for (i, r) in runs.iter().enumerate() {
            if r.p == NO_P {
                off.push((i, r.start));
            } else {
                by_p.entry(r.p).or_default().push(i);
            }
        }
        for (&p, list) in by_p.iter_mut() {
            list.sort_by_key(|&i| (runs[i].start, runs[i].end));
            for k in 0..list.len() {
                let r = &runs[list[k]];
                let mut cut = r.end;
                if let Some(&next) = list.get(k + 1) {
                    if runs[next].start < r.end {
                        cut = runs[next].start;
                        off.push((list[k], cut));
                    }
                }
                if cut > r.start || cut == r.end {
                    parts[list[k]][0] = Some(tl.slices.len());
                    tl.slices.push(Slice {
                        g: r.g,
                        site: r.site,
                        lane: Lane::P(p),
                        start: r.start,
                        end: cut,
                        why: r.why,
                        off_p: false,
                    });
                }
            }
        }
        off.sort_by_key(|&(i, from)| (from, runs[i].end));
        let mut lane_end: Vec<u64> = Vec::new();
        for (i, from) in off {
            let r = &runs[i];
            let lane = match lane_end.iter().position(|&e| e <= from) {
                Some(l) => l,
                None => {
                    lane_end.push(0);
                    lane_end.len() - 1
                }
            };
            lane_end[lane] = r.end;
            parts[i][1] = Some(tl.slices.len());
            tl.slices.push(Slice {
                g: r.g,
                site: r.site,
                lane: Lane::NoP(lane as u32),
                start: from,
                end: r.end,
                why: r.why,
                off_p: true,
            });
        }
        tl.nop_lanes = lane_end.len() as u32;

        // 3. Flows: from the waker's slice to the woken goroutine's next run.
        let mut by_g: HashMap<u64, Vec<usize>> = HashMap::default();
        for (i, r) in runs.iter().enumerate() {
            by_g.entry(r.g).or_default().push(i);
        }
        for list in by_g.values_mut() {
            list.sort_by_key(|&i| runs[i].start);
        }
        outs.sort_by_key(|&(_, ts, _, _)| ts);
        for (r, ts, target, kind) in outs {
            let src = match parts[r] {
                [Some(a), Some(b)] => Some(if ts >= tl.slices[b].start { b } else { a }),
                [a, b] => a.or(b),
            };
            let dst = by_g.get(&target).and_then(|list| {
                let k = list.partition_point(|&i| runs[i].start < ts);
                list.get(k).and_then(|&i| parts[i][0].or(parts[i][1]))
            });
            let (Some(src), Some(dst)) = (src, dst) else {
                tl.unbound_flows += 1;
                continue;
            };
            let (s, d) = (&tl.slices[src], &tl.slices[dst]);
            let (si, di) = (inset(s), inset(d));
            let from = ts.clamp(s.start + si, s.end.saturating_sub(si).max(s.start + si));
            let to = d.start + di;
            if si < 2 || di < 2 || to <= from {
                tl.unbound_flows += 1;
                continue;
            }
            tl.flows.push(Flow {
                id: tl.flows.len() as u64 + 1,
                kind,
                from: (s.lane, from),
                to: (d.lane, to),
            });
        }

        // 4. Counters, without repeats.
        samples.sort_by_key(|s| s.0);
        let mut last: HashMap<Queue, u32> = HashMap::default();
        for (ts, p, local, global) in samples {
            for (queue, len) in [(Queue::Local(p), local), (Queue::Global, global)] {
                if last.insert(queue, len) != Some(len) {
                    tl.counters.push(Counter {
                        ts,
                        lane: Lane::P(p),
                        queue,
                        len,
                    });
                }
            }
        }
        tl.slices.sort_by_key(|s| (s.lane, s.start));
        tl
    }

    /// Writes the timeline as a Chrome Trace Event JSON object.
    pub(super) fn write_json(&self, w: &mut impl Write, meta: &Meta) -> io::Result<()> {
        let pid = meta.pid;
        writeln!(w, "{{\"displayTimeUnit\":\"ns\",")?;
        write!(
            w,
            "\"otherData\":{{\"producer\":\"goroutines {}\",\"events\":{},\
             \"dropped_events\":{},\"truncated\":{},\"max_events\":{}",
            env!("CARGO_PKG_VERSION"),
            meta.events,
            meta.dropped,
            meta.dropped > 0,
            super::buffer::MAX_EVENTS
        )?;
        if let Some(t) = meta.first_drop {
            write!(w, ",\"truncated_at_us\":{}", Us(t))?;
        }
        writeln!(w, ",\"duration_us\":{}}},", Us(meta.end))?;
        writeln!(w, "\"traceEvents\":[")?;
        writeln!(
            w,
            "{{\"ph\":\"M\",\"pid\":{pid},\"name\":\"process_name\",\"args\":{{\"name\":\"goroutines\"}}}}"
        )?;
        let lanes = (0..self.nprocs)
            .map(Lane::P)
            .chain((0..self.nop_lanes).map(Lane::NoP));
        for lane in lanes {
            let tid = lane.tid();
            writeln!(
                w,
                ",{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"name\":\"thread_name\",\"args\":{{\"name\":\"{}\"}}}}",
                lane.name()
            )?;
            writeln!(
                w,
                ",{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}}}}}",
                lane.sort_index()
            )?;
        }
        // Each spawn site as JSON text, made once per site rather than once per slice.
        let mut site_text: HashMap<usize, Vec<u8>> = HashMap::default();
        for s in &self.slices {
            write!(
                w,
                ",{{\"ph\":\"X\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"dur\":{},\"name\":",
                s.lane.tid(),
                Us(s.start),
                Us(s.end - s.start),
            )?;
            // A goroutine named with `Goroutine::name` shows as `G17 conn 12`.
            match meta.names.get(&s.g) {
                Some(name) => {
                    write_str(w, &format!("G{} {name}", s.g))?;
                    write!(
                        w,
                        ",\"cat\":\"goroutine\",\"args\":{{\"goroutine\":{},\"goroutine_name\":",
                        s.g
                    )?;
                    write_str(w, name)?;
                    write!(w, ",\"spawn_site\":")?;
                }
                None => write!(
                    w,
                    "\"G{}\",\"cat\":\"goroutine\",\"args\":{{\"goroutine\":{},\"spawn_site\":",
                    s.g, s.g
                )?,
            }
            match s.site {
                Some(l) => {
                    w.write_all(site_text.entry(l as *const _ as usize).or_insert_with(|| {
                        let mut text = Vec::new();
                        let site = format!("{}:{}:{}", l.file(), l.line(), l.column());
                        write_str(&mut text, &site).expect("writing to a Vec");
                        text
                    }))?
                }
                None => write!(w, "\"unknown\"")?,
            }
            let (end, reason) = match s.why {
                End::Stopped(StopReason::Yield) => ("yield", None),
                End::Stopped(StopReason::Park(r)) => ("park", Some(r)),
                End::Stopped(StopReason::Exit) => ("exit", None),
                End::Stopped(StopReason::Preempted) => ("preempted", None),
                End::StillRunning => ("running at trace end", None),
                End::Unknown => ("unknown", None),
            };
            write!(w, ",\"end\":\"{end}\"")?;
            if let Some(r) = reason {
                write!(w, ",\"wait_reason\":")?;
                write_str(w, r)?;
            }
            if s.off_p {
                write!(w, ",\"off_p\":true")?;
            }
            writeln!(w, "}}}}")?;
        }
        for f in &self.flows {
            let name = f.kind.name();
            writeln!(
                w,
                ",{{\"ph\":\"s\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"id\":{},\"cat\":\"goroutines\",\"name\":\"{name}\"}}",
                f.from.0.tid(),
                Us(f.from.1),
                f.id
            )?;
            writeln!(
                w,
                ",{{\"ph\":\"f\",\"bp\":\"e\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"id\":{},\"cat\":\"goroutines\",\"name\":\"{name}\"}}",
                f.to.0.tid(),
                Us(f.to.1),
                f.id
            )?;
        }
        for c in &self.counters {
            let key = match c.queue {
                Queue::Local(p) => format!("P{p}"),
                Queue::Global => "global".to_string(),
            };
            writeln!(
                w,
                ",{{\"ph\":\"C\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"name\":\"runq\",\"args\":{{\"{key}\":{}}}}}",
                c.lane.tid(),
                Us(c.ts),
                c.len
            )?;
        }
        writeln!(w, "]}}")
    }
}

/// What the JSON says about the trace as a whole.
pub(super) struct Meta {
    pub(super) pid: u32,
    pub(super) events: usize,
    pub(super) dropped: u64,
    pub(super) first_drop: Option<u64>,
    pub(super) end: u64,
    /// Names of the goroutines named with `Goroutine::name`, by id.
    pub(super) names: std::collections::HashMap<u64, std::sync::Arc<str>>,
}

/// How far inside a slice its flow ends go: `FLOW_INSET`, or a quarter of a short slice.
fn inset(s: &Slice) -> u64 {
    FLOW_INSET.min((s.end - s.start) / 4)
}

/// Nanoseconds shown as microseconds with three decimals.
struct Us(u64);

impl std::fmt::Display for Us {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// Writes `s` as a JSON string.
pub(super) fn write_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        return w.write_all(b"\"");
    }
    w.write_all(b"\"")?;
    for c in s.chars() {
        match c {
            '"' => w.write_all(b"\\\"")?,
            '\\' => w.write_all(b"\\\\")?,
            c if (c as u32) < 0x20 => write!(w, "\\u{:04x}", c as u32)?,
            c => write!(w, "{c}")?,
        }
    }
    w.write_all(b"\"")
}
