//! The timeline trace end to end: a program traced with `goroutines::trace`, the JSON parsed
//! and checked for what Perfetto's importer needs (rows, slices, flow pairs bound inside
//! slices, counters); the API's errors; `GOROUTINES_TRACE`; and `tools/trace_svg.py` (its own
//! unit tests, and rendering a real trace) when `python3` is there.
//!
//! Tracing is process-wide, so the tests of this file take `SERIAL`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use goroutines::{trace, Chan};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "goroutines-trace-{}-{name}.json",
        std::process::id()
    ))
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: bad JSON: {e}", path.display()))
}

fn events(v: &Value) -> &[Value] {
    v["traceEvents"].as_array().expect("a traceEvents array")
}

fn f64_of(e: &Value, key: &str) -> f64 {
    e[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {key} in {e}"))
}

/// Row names by thread id.
fn rows(v: &Value) -> HashMap<u64, String> {
    events(v)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            let name = e["args"]["name"].as_str().unwrap().to_string();
            (e["tid"].as_u64().unwrap(), name)
        })
        .collect()
}

/// Busy for about `d`, yielding now and then so both Ps get to run goroutines.
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        for _ in 0..1000 {
            std::hint::spin_loop();
        }
        goroutines::yield_now();
    }
}

/// A producer and a consumer over an unbuffered channel, and two busy goroutines, on a fresh
/// runtime with two Ps. Returns the ids of the goroutines it spawned.
fn producer_consumer() -> Vec<u64> {
    let rt = goroutines::Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let ch: Chan<u64> = Chan::new(0);
        let tx = ch.clone();
        let producer = goroutines::go(move || {
            for i in 0..200 {
                tx.send(i);
            }
            tx.close();
        });
        let consumer = goroutines::go(move || ch.iter().sum::<u64>());
        let busy: Vec<_> = (0..2)
            .map(|_| goroutines::go(|| spin(Duration::from_millis(20))))
            .collect();
        let mut ids = vec![producer.id().as_u64(), consumer.id().as_u64()];
        ids.extend(busy.iter().map(|h| h.id().as_u64()));
        producer.join().unwrap();
        assert_eq!(consumer.join().unwrap(), 199 * 200 / 2);
        for h in busy {
            h.join().unwrap();
        }
        ids
    })
}

/// Checks what Perfetto's JSON importer needs: complete events do not overlap on a row, and
/// each flow's start and end lie strictly inside a slice on their rows.
fn check_importable(v: &Value) {
    let mut by_tid: HashMap<u64, Vec<(f64, f64)>> = HashMap::new();
    for e in events(v).iter().filter(|e| e["ph"] == "X") {
        let (ts, dur) = (f64_of(e, "ts"), f64_of(e, "dur"));
        assert!(dur >= 0.0, "{e}");
        by_tid
            .entry(e["tid"].as_u64().unwrap())
            .or_default()
            .push((ts, ts + dur));
    }
    for (tid, list) in &mut by_tid {
        list.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for w in list.windows(2) {
            assert!(w[0].1 <= w[1].0 + 1e-9, "overlap on tid {tid}: {w:?}");
        }
    }
    let inside = |e: &Value| {
        let ts = f64_of(e, "ts");
        by_tid
            .get(&e["tid"].as_u64().unwrap())
            .is_some_and(|l| l.iter().any(|&(a, b)| a < ts && ts < b))
    };
    let mut ids: HashMap<u64, (u32, u32)> = HashMap::new();
    for e in events(v) {
        match e["ph"].as_str() {
            Some("s") => {
                assert!(inside(e), "flow start outside a slice: {e}");
                ids.entry(e["id"].as_u64().unwrap()).or_default().0 += 1;
            }
            Some("f") => {
                assert_eq!(e["bp"], "e", "{e}");
                assert!(inside(e), "flow end outside a slice: {e}");
                ids.entry(e["id"].as_u64().unwrap()).or_default().1 += 1;
            }
            _ => {}
        }
    }
    for (id, n) in ids {
        assert_eq!(n, (1, 1), "flow {id} needs one start and one end");
    }
}

#[test]
fn a_traced_program_has_rows_slices_flows_and_counters() {
    let _s = serial();
    let path = temp("prodcons");
    // Which Ps run goroutines is the scheduler's choice; both nearly always do, but try a few
    // times before calling a trace without a P1 row a failure.
    let mut tries = 0;
    let (v, ids) = loop {
        tries += 1;
        trace::start(&path).unwrap();
        assert!(trace::is_enabled());
        let ids = producer_consumer();
        trace::stop().unwrap();
        assert!(!trace::is_enabled());
        let v = read(&path);
        if rows(&v).values().any(|r| r == "P1") || tries == 5 {
            break (v, ids);
        }
    };
    let _ = std::fs::remove_file(&path);
    assert_eq!(v["displayTimeUnit"], "ns");
    assert_eq!(v["otherData"]["truncated"], false);

    let rows = rows(&v);
    let names: Vec<&str> = rows.values().map(String::as_str).collect();
    assert!(
        names.contains(&"P0") && names.contains(&"P1"),
        "rows: {names:?}"
    );
    let pid = events(&v)[0]["pid"].as_u64().unwrap();
    assert_eq!(pid, std::process::id() as u64);

    for id in &ids {
        let name = format!("G{id}");
        let slices: Vec<&Value> = events(&v)
            .iter()
            .filter(|e| e["ph"] == "X" && e["name"] == name.as_str())
            .collect();
        assert!(!slices.is_empty(), "no slice for {name}");
        for s in &slices {
            assert_eq!(s["pid"], pid);
            assert!(rows.contains_key(&s["tid"].as_u64().unwrap()), "{s}");
            assert_eq!(s["args"]["goroutine"], *id);
            let site = s["args"]["spawn_site"].as_str().unwrap();
            assert!(site.starts_with("tests/trace_json.rs:"), "{site}");
        }
        let last = slices
            .iter()
            .max_by(|a, b| f64_of(a, "ts").total_cmp(&f64_of(b, "ts")))
            .unwrap();
        assert_eq!(last["args"]["end"], "exit", "{name}");
    }
    // The consumer parks in "chan receive" (or the producer in "chan send") at least once.
    assert!(events(&v).iter().any(|e| e["ph"] == "X"
        && e["args"]["end"] == "park"
        && (e["args"]["wait_reason"] == "chan receive"
            || e["args"]["wait_reason"] == "chan send")));

    // Flows: matching pairs, wake-ups among them, bound inside slices.
    let starts: Vec<u64> = events(&v)
        .iter()
        .filter(|e| e["ph"] == "s")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert!(events(&v).iter().any(|e| e["ph"] == "f"
        && e["name"] == "wake"
        && starts.contains(&e["id"].as_u64().unwrap())));
    check_importable(&v);

    // Counters: local queues of Ps (whichever P queued goroutines: the scheduler's choice)
    // and the global queue.
    let counters: Vec<&Value> = events(&v).iter().filter(|e| e["ph"] == "C").collect();
    assert!(counters.iter().any(|e| e["name"] == "runq"
        && e["args"]
            .as_object()
            .is_some_and(|a| a.iter().any(|(k, n)| k.starts_with('P') && n.is_u64()))));
    assert!(counters.iter().any(|e| e["args"]["global"].is_u64()));
}

/// Goroutines that lose their P (long `blocking` calls, which sysmon hands off), sleep, spawn
/// and talk over channels on four Ps: the trace stays importable.
#[test]
fn a_busy_program_stays_importable() {
    let _s = serial();
    let path = temp("busy");
    trace::start(&path).unwrap();
    let rt = goroutines::Builder::new().max_procs(4).build().unwrap();
    rt.run(|| {
        let ch: Chan<u32> = Chan::new(8);
        let hs: Vec<_> = (0..16u32)
            .map(|i| {
                let ch = ch.clone();
                goroutines::go(move || {
                    for j in 0..20 {
                        match (i + j) % 4 {
                            0 => goroutines::blocking(|| {
                                std::thread::sleep(Duration::from_micros(300))
                            }),
                            1 => goroutines::time::sleep(Duration::from_micros(100)),
                            2 => goroutines::go(move || j).join().map(drop).unwrap(),
                            _ => spin(Duration::from_micros(50)),
                        }
                        ch.send(i);
                    }
                })
            })
            .collect();
        let mut n = 0;
        while n < 16 * 20 {
            ch.recv().unwrap();
            n += 1;
        }
        for h in hs {
            h.join().unwrap();
        }
    });
    trace::stop().unwrap();
    let v = read(&path);
    let _ = std::fs::remove_file(&path);
    check_importable(&v);
    let slices = events(&v).iter().filter(|e| e["ph"] == "X").count();
    assert!(slices > 16 * 20, "{slices} slices");
}

#[test]
fn start_twice_and_stop_without_start_are_errors() {
    let _s = serial();
    let err = trace::stop().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("no trace is running"), "{err}");

    let path = temp("twice");
    trace::start(&path).unwrap();
    let err = trace::start(temp("twice-other")).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    trace::stop().unwrap();
    assert!(trace::stop().is_err());
    let v = read(&path);
    let _ = std::fs::remove_file(&path);
    assert!(events(&v).iter().any(|e| e["name"] == "process_name"));

    let err = trace::start("/nonexistent-dir/trace.json").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(!trace::is_enabled());
}

/// The child half of `the_environment_variable_traces_a_run`: run with GOROUTINES_TRACE set.
#[test]
#[ignore = "run by the_environment_variable_traces_a_run"]
fn env_child() {
    if std::env::var_os("GOROUTINES_TRACE").is_none() {
        return;
    }
    let rt = goroutines::Builder::new().max_procs(2).build().unwrap();
    assert!(trace::is_enabled());
    let h = rt.run(|| {
        let h = goroutines::go(|| 1);
        let id = h.id().as_u64();
        assert_eq!(h.join().unwrap(), 1);
        id
    });
    assert!(
        !trace::is_enabled(),
        "written when the top-level run returned"
    );
    println!("child goroutine {h}");
}

#[test]
fn the_environment_variable_traces_a_run() {
    let _s = serial();
    let path = temp("env");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "env_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GOROUTINES_TRACE", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id: u64 = stdout
        .lines()
        .find_map(|l| l.split("child goroutine ").nth(1))
        .unwrap_or_else(|| panic!("child said: {stdout}"))
        .trim()
        .parse()
        .unwrap();
    let v = read(&path);
    let _ = std::fs::remove_file(&path);
    let name = format!("G{id}");
    assert!(events(&v)
        .iter()
        .any(|e| e["ph"] == "X" && e["name"] == name.as_str()));
    check_importable(&v);

    // A path that cannot be created: a message, and the program runs on.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "env_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GOROUTINES_TRACE", "/nonexistent-dir/trace.json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("goroutines: GOROUTINES_TRACE=/nonexistent-dir/trace.json: "),
        "{stderr}"
    );
    assert!(!out.status.success(), "the child asserts the trace runs");
}

fn python3() -> Option<()> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 is not installed");
    }
    ok.then_some(())
}

#[test]
fn the_svg_tool_passes_its_tests() {
    if python3().is_none() {
        return;
    }
    let out = Command::new("python3")
        .arg("tools/test_trace_svg.py")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_svg_tool_renders_a_real_trace() {
    if python3().is_none() {
        return;
    }
    let _s = serial();
    let path = temp("svg");
    trace::start(&path).unwrap();
    let ids = producer_consumer();
    trace::stop().unwrap();
    let svg = path.with_extension("svg");
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/trace_svg.py"))
        .arg(&path)
        .arg("-o")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&svg);
    assert!(
        text.starts_with("<svg "),
        "{}",
        &text[..100.min(text.len())]
    );
    assert!(text.contains(">P0</text>"));
    assert!(text.contains(&format!("G{} tests/trace_json.rs:", ids[0])));
}

/// A goroutine named with `Goroutine::name` is labelled with its name in the trace: its slices
/// read `G17 conn 12` and carry the name as an argument; unnamed ones stay `G18`.
#[test]
fn named_goroutine_in_trace() {
    let _s = serial();
    let path = temp("named");
    let rt = goroutines::Builder::new().max_procs(2).build().unwrap();
    trace::start(&path).unwrap();
    let (named, plain) = rt.run(|| {
        let n = goroutines::Goroutine::new()
            .name("conn \"12\"")
            .spawn(|| spin(Duration::from_millis(2)))
            .unwrap();
        let p = goroutines::go(|| spin(Duration::from_millis(2)));
        let ids = (n.id().as_u64(), p.id().as_u64());
        n.join().unwrap();
        p.join().unwrap();
        ids
    });
    trace::stop().unwrap();
    let v = read(&path);
    let _ = std::fs::remove_file(&path);
    let slices: Vec<&Value> = events(&v).iter().filter(|e| e["ph"] == "X").collect();
    let of = |g: u64| -> Vec<&Value> {
        slices
            .iter()
            .copied()
            .filter(|e| e["args"]["goroutine"].as_u64() == Some(g))
            .collect()
    };
    let n = of(named);
    assert!(!n.is_empty(), "no slice of goroutine {named}");
    for e in &n {
        assert_eq!(e["name"], format!("G{named} conn \"12\""), "{e}");
        assert_eq!(e["args"]["goroutine_name"], "conn \"12\"", "{e}");
    }
    let p = of(plain);
    assert!(!p.is_empty(), "no slice of goroutine {plain}");
    for e in &p {
        assert_eq!(e["name"], format!("G{plain}"), "{e}");
        assert!(e["args"].get("goroutine_name").is_none(), "{e}");
    }
}
