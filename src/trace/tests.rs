//! White-box tests: the hooks called directly (as the scheduler calls them), the timeline
//! built from recorded and from made-up events, and the JSON text. (The JSON is parsed in
//! `tests/trace_json.rs`; the crate's own unit tests do not link a JSON parser, whose
//! `PartialEq` impls on integers would break type inference elsewhere in them.)
//!
//! Tracing is process-wide, and other unit tests of the crate may run goroutines meanwhile, so
//! these tests take `SERIAL` and use goroutine ids far above any real one; they look only at
//! their own goroutines.

use std::panic::Location;
use std::sync::Mutex;
use std::time::Duration;

use super::buffer::{Event, MAX_EVENTS, NO_P};
use super::chrome::{End, FlowKind, Lane, Meta, Queue, Slice, Timeline};
use super::*;
use crate::util::lock;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    lock(&SERIAL)
}

/// A goroutine id no real goroutine has.
fn gid(n: u64) -> u64 {
    (1 << 60) + n
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "goroutines-unit-{}-{name}.json",
        std::process::id()
    ))
}

fn site() -> &'static Location<'static> {
    Location::caller()
}

fn pause() {
    std::thread::sleep(Duration::from_micros(200));
}

/// Stops the running trace and returns its timeline, without writing the file.
fn stop_to_timeline() -> (Timeline, buffer::Finished) {
    let mut done = buffer::take_session(false).expect("a running trace");
    let tl = Timeline::build(&done.threads, done.end);
    done.threads.clear();
    (tl, done)
}

fn slices_of(tl: &Timeline, g: u64) -> Vec<&Slice> {
    tl.slices.iter().filter(|s| s.g == g).collect()
}

#[test]
fn hooks_without_a_trace_do_nothing() {
    let _s = serial();
    assert!(!is_enabled());
    go_create(gid(1), None, site(), None);
    go_start(gid(1), site(), Some(0), 0, 0);
    go_unpark(gid(2), Some(gid(1)));
    go_stop(gid(1), Some(0), StopReason::Exit);
    assert!(stop().is_err());
}

#[test]
fn start_twice_and_stop_twice_are_errors() {
    let _s = serial();
    let path = temp("twice");
    start(&path).unwrap();
    let err = start(temp("twice-2")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    stop().unwrap();
    let err = stop().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let _ = std::fs::remove_file(&path);
    assert!(!temp("twice-2").exists());
}

#[test]
fn start_reports_a_bad_path() {
    let _s = serial();
    let err = start("/nonexistent-dir/for/goroutines/trace.json").unwrap_err();
    assert!(err.to_string().contains("/nonexistent-dir"), "{err}");
    assert!(!is_enabled());
}

/// The scheduler's sequence for: G1 on P0 spawns G2 and wakes G3, then parks; G2 and G3 run
/// on P1 on another thread (which exits before `stop`).
#[test]
fn hooks_make_rows_slices_flows_and_counters() {
    let _s = serial();
    let path = temp("hooks");
    start(&path).unwrap();
    let (g1, g2, g3) = (gid(11), gid(12), gid(13));
    std::thread::spawn(move || {
        go_start(g1, site(), Some(0), 3, 1);
        pause();
        go_create(g2, Some(g1), site(), None);
        pause();
        go_unpark(g3, Some(g1));
        pause();
        go_stop(
            g1,
            Some(0),
            StopReason::Park(crate::runtime::WaitReason::ChanReceive.as_str()),
        );
    })
    .join()
    .unwrap();
    std::thread::spawn(move || {
        go_start(g2, site(), Some(1), 1, 0);
        pause();
        go_stop(g2, Some(1), StopReason::Exit);
        go_start(g3, site(), Some(1), 0, 0);
        pause();
        go_stop(g3, Some(1), StopReason::Yield);
    })
    .join()
    .unwrap();
    let (tl, done) = stop_to_timeline();
    let _ = std::fs::remove_file(&path);
    assert!(tl.nprocs >= 2);

    let s1 = slices_of(&tl, g1);
    assert_eq!(s1.len(), 1);
    assert_eq!(s1[0].lane, Lane::P(0));
    assert_eq!(
        s1[0].why,
        End::Stopped(StopReason::Park(
            crate::runtime::WaitReason::ChanReceive.as_str()
        ))
    );
    assert_eq!(s1[0].site.unwrap().file(), file!());
    assert!(s1[0].end - s1[0].start >= 600_000);
    let s2 = slices_of(&tl, g2);
    assert_eq!((s2.len(), s2[0].lane), (1, Lane::P(1)));
    assert_eq!(s2[0].why, End::Stopped(StopReason::Exit));
    let s3 = slices_of(&tl, g3);
    assert_eq!(s3[0].why, End::Stopped(StopReason::Yield));

    // A spawn arrow G1 -> G2 and a wake arrow G1 -> G3, each end inside its slice.
    let inside = |s: &Slice, ts: u64| s.start < ts && ts < s.end;
    for (kind, to) in [(FlowKind::Spawn, &s2), (FlowKind::Wake, &s3)] {
        let f: Vec<_> = tl
            .flows
            .iter()
            .filter(|f| f.kind == kind && f.from.0 == Lane::P(0) && inside(s1[0], f.from.1))
            .collect();
        assert_eq!(f.len(), 1, "{kind:?}");
        assert_eq!(f[0].to.0, Lane::P(1));
        assert!(inside(to[0], f[0].to.1), "{kind:?}");
    }

    // Counters: P0's local queue was 3 when G1 started.
    assert!(tl
        .counters
        .iter()
        .any(|c| c.queue == Queue::Local(0) && c.len == 3 && c.lane == Lane::P(0)));

    // The JSON text has the rows, the slice with its arguments, and the flow pair.
    let mut out = Vec::new();
    let meta = Meta {
        pid: 7,
        events: 10,
        dropped: 0,
        first_drop: None,
        end: done.end,
        names: Default::default(),
    };
    tl.write_json(&mut out, &meta).unwrap();
    let json = String::from_utf8(out).unwrap();
    assert!(json.starts_with("{\"displayTimeUnit\":\"ns\","));
    for row in ["P0", "P1"] {
        let m = format!("\"name\":\"thread_name\",\"args\":{{\"name\":\"{row}\"}}");
        assert!(json.contains(&m), "{row}");
    }
    let name = format!("\"name\":\"G{}\"", g1);
    let line = json.lines().find(|l| l.contains(&name)).unwrap();
    assert!(
        line.starts_with(",{\"ph\":\"X\",\"pid\":7,\"tid\":1,"),
        "{line}"
    );
    assert!(
        line.contains("\"spawn_site\":\"src/trace/tests.rs:"),
        "{line}"
    );
    assert!(
        line.contains("\"end\":\"park\",\"wait_reason\":\"chan receive\""),
        "{line}"
    );
    assert!(json.contains("\"ph\":\"s\"") && json.contains("\"ph\":\"f\",\"bp\":\"e\""));
    assert!(json.contains("\"name\":\"runq\",\"args\":{\"P0\":3}"));
    assert!(json.trim_end().ends_with("]}"));
}

/// A trace of a real runtime: the scheduler's calls come through.
#[test]
fn tracing_a_runtime_records_its_goroutines() {
    let _s = serial();
    let path = temp("runtime");
    start(&path).unwrap();
    let rt = crate::Builder::new().max_procs(2).build().unwrap();
    let ids: Vec<u64> = rt.run(|| {
        let hs: Vec<_> = (0..20u64).map(|i| crate::go(move || i)).collect();
        hs.into_iter()
            .map(|h| {
                let id = h.id().as_u64();
                h.join().unwrap();
                id
            })
            .collect()
    });
    let (tl, _) = stop_to_timeline();
    let _ = std::fs::remove_file(&path);
    for id in ids {
        let s: Vec<_> = tl.slices.iter().filter(|s| s.g == id).collect();
        assert!(!s.is_empty(), "no slice for goroutine {id}");
        let last = s.iter().max_by_key(|s| s.start).unwrap();
        assert_eq!(last.why, End::Stopped(StopReason::Exit));
        assert_eq!(s[0].site.unwrap().file(), file!());
    }
    assert!(tl.flows.iter().any(|f| f.kind == FlowKind::Spawn));
}

#[test]
fn the_cap_bounds_memory_stops_recording_and_is_reported() {
    let _s = serial();
    let path = temp("cap");
    start(&path).unwrap();
    let g = gid(21);
    for _ in 0..MAX_EVENTS {
        go_start(g, site(), Some(0), 0, 0);
        go_stop(g, Some(0), StopReason::Yield);
    }
    // Recording has stopped (the hooks' flag is off), but the trace is still there to write.
    assert!(!enabled());
    assert!(is_enabled());
    stop().unwrap();
    let json = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let meta = json.lines().nth(1).unwrap();
    assert!(meta.contains("\"truncated\":true"), "{meta}");
    let number = |key: &str| -> f64 {
        let at = meta.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
        let text: String = meta[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        text.parse().unwrap()
    };
    assert!(number("dropped_events") >= 1.0, "{meta}");
    assert!(number("events") <= MAX_EVENTS as f64, "{meta}");
    // The trace ends where recording stopped.
    assert_eq!(number("truncated_at_us"), number("duration_us"), "{meta}");
}

#[test]
fn a_cut_trace_leaves_out_later_events() {
    let a = vec![
        start_ev(100, 1, 0, 0),
        stop_ev(200, 1, 0),
        start_ev(300, 2, 0, 0),
        stop_ev(900, 2, 0),
    ];
    let tl = Timeline::build(&[vec![a]], 500);
    let got: Vec<_> = tl
        .slices
        .iter()
        .map(|s| (s.g, s.start, s.end, s.why))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 100, 200, End::Stopped(StopReason::Yield)),
            (2, 300, 500, End::StillRunning)
        ]
    );
    assert_eq!(tl.cut, 1);
}

#[test]
fn the_environment_variable_traces_once() {
    let _s = serial();
    // Not set: nothing happens.
    if std::env::var_os("GOROUTINES_TRACE").is_none() {
        start_from_env();
        assert!(!is_enabled());
        stop_from_env();
    }
    // A trace started by the program is not stopped by `stop_from_env`.
    let path = temp("env");
    start(&path).unwrap();
    stop_from_env();
    assert!(is_enabled());
    stop().unwrap();
    let _ = std::fs::remove_file(&path);
}

// ---- the timeline, from made-up events ----

fn start_ev(ts: u64, g: u64, p: u32, local: u32) -> Event {
    Event::Start {
        ts,
        g,
        site: Location::caller(),
        p,
        local,
        global: 0,
    }
}

fn stop_ev(ts: u64, g: u64, p: u32) -> Event {
    Event::Stop {
        ts,
        g,
        p,
        why: StopReason::Yield,
    }
}

#[test]
fn a_run_that_loses_its_p_continues_on_a_no_p_row() {
    // Thread A: G1 on P0 from 100 to 1000, but its P went to thread B, which ran G2 on P0
    // from 400 to 600; thread C ran G3 without a P from 500 to 700.
    let a = vec![start_ev(100, 1, 0, 0), stop_ev(1000, 1, NO_P)];
    let b = vec![start_ev(400, 2, 0, 0), stop_ev(600, 2, 0)];
    let c = vec![start_ev(500, 3, NO_P, 0), stop_ev(700, 3, NO_P)];
    let tl = Timeline::build(&[vec![a], vec![b], vec![c]], 2000);
    let got: Vec<_> = tl
        .slices
        .iter()
        .map(|s| (s.g, s.lane, s.start, s.end, s.off_p))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, Lane::P(0), 100, 400, false),
            (2, Lane::P(0), 400, 600, false),
            (1, Lane::NoP(0), 400, 1000, true),
            (3, Lane::NoP(1), 500, 700, true),
        ]
    );
    assert_eq!((tl.nprocs, tl.nop_lanes), (1, 2));
}

#[test]
fn runs_cut_by_the_trace_are_completed() {
    // G1 was running when the trace started; G2 still runs when it stops.
    let a = vec![stop_ev(300, 1, 1), start_ev(400, 2, 1, 0)];
    let tl = Timeline::build(&[vec![a]], 900);
    let got: Vec<_> = tl
        .slices
        .iter()
        .map(|s| (s.g, s.lane, s.start, s.end, s.why))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, Lane::P(1), 0, 300, End::Stopped(StopReason::Yield)),
            (2, Lane::P(1), 400, 900, End::StillRunning),
        ]
    );
    assert_eq!(tl.nprocs, 2);
}

#[test]
fn a_wake_up_points_at_the_next_run_of_the_woken_goroutine() {
    // G2 ran before the wake-up (100..200) and after it (600..700); only the later run is the
    // arrow's target. A wake-up by a plain thread (by = 0) gets no arrow.
    let a = vec![
        start_ev(300, 1, 0, 0),
        Event::Unpark {
            ts: 400,
            g: 2,
            by: 1,
        },
        Event::Unpark {
            ts: 450,
            g: 3,
            by: 0,
        },
        stop_ev(500, 1, 0),
    ];
    let b = vec![
        start_ev(100, 2, 1, 0),
        stop_ev(200, 2, 1),
        start_ev(600, 2, 1, 0),
        stop_ev(700, 2, 1),
    ];
    let tl = Timeline::build(&[vec![a], vec![b]], 1000);
    assert_eq!(tl.flows.len(), 1);
    let f = &tl.flows[0];
    assert_eq!(f.kind, FlowKind::Wake);
    assert_eq!(f.from, (Lane::P(0), 400));
    assert_eq!(f.to, (Lane::P(1), 610));
    assert_eq!(tl.unbound_flows, 1);
}

#[test]
fn flow_ends_stay_inside_their_slices() {
    // A wake-up as the waker's last act, 1 ns before it stops: the arrow starts inside.
    let a = vec![
        start_ev(100, 1, 0, 0),
        Event::Unpark {
            ts: 199,
            g: 2,
            by: 1,
        },
        stop_ev(200, 1, 0),
    ];
    let b = vec![start_ev(250, 2, 1, 0), stop_ev(260, 2, 1)];
    let tl = Timeline::build(&[vec![a], vec![b]], 300);
    assert_eq!(tl.flows.len(), 1);
    let f = &tl.flows[0];
    assert!(f.from.1 > 100 && f.from.1 < 200, "{f:?}");
    assert!(f.to.1 > 250 && f.to.1 < 260, "{f:?}");
}

#[test]
fn repeated_counter_values_are_left_out() {
    let a = vec![
        start_ev(100, 1, 0, 5),
        stop_ev(200, 1, 0),
        start_ev(300, 2, 0, 5),
        stop_ev(400, 2, 0),
        start_ev(500, 3, 0, 4),
        stop_ev(600, 3, 0),
    ];
    let tl = Timeline::build(&[vec![a]], 700);
    let local: Vec<_> = tl
        .counters
        .iter()
        .filter(|c| c.queue == Queue::Local(0))
        .map(|c| (c.ts, c.len))
        .collect();
    assert_eq!(local, vec![(100, 5), (500, 4)]);
    let global = tl
        .counters
        .iter()
        .filter(|c| c.queue == Queue::Global)
        .count();
    assert_eq!(global, 1);
}

#[test]
fn json_strings_are_escaped() {
    let mut out = Vec::new();
    super::chrome::write_str(&mut out, "a\"b\\c\nd").unwrap();
    let s = String::from_utf8(out).unwrap();
    assert_eq!(s, r#""a\"b\\c\u000ad""#);
}
