//! Deadlock detection, SIGQUIT dumps and schedtrace, each program run as a child process.
//!
//! A plain `main` (`harness = false`): under libtest the harness's own threads would count as
//! threads outside the runtime, and the detector rightly stays quiet while such threads exist.
//! The parent re-runs this binary with `GOROUTINES_TEST_CASE=<name>` for each program.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use goroutines::chan::Chan;
use goroutines::{go, select};

const DEADLOCK: &str = "fatal error: all goroutines are asleep - deadlock!";

fn main() {
    if let Ok(case) = std::env::var("GOROUTINES_TEST_CASE") {
        child(&case);
        return;
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let tests: &[(&str, fn())] = &[
        (
            "deadlock_unbuffered_send_in_main",
            deadlock_unbuffered_send_in_main,
        ),
        (
            "deadlock_two_goroutines_wait_on_each_other",
            deadlock_two_goroutines_wait_on_each_other,
        ),
        (
            "deadlock_select_without_ready_case",
            deadlock_select_without_ready_case,
        ),
        ("deadlock_empty_select", deadlock_empty_select),
        ("no_alarm_during_a_long_sleep", no_alarm_during_a_long_sleep),
        (
            "no_alarm_while_a_peer_answers_later",
            no_alarm_while_a_peer_answers_later,
        ),
        (
            "no_alarm_while_a_plain_thread_sends_later",
            no_alarm_while_a_plain_thread_sends_later,
        ),
        ("no_alarm_during_blocking", no_alarm_during_blocking),
        ("detection_can_be_turned_off", detection_can_be_turned_off),
        (
            "sigquit_dumps_every_goroutine",
            sigquit_dumps_every_goroutine,
        ),
        ("schedtrace_lines_parse", schedtrace_lines_parse),
        ("scheddetail_lines_parse", scheddetail_lines_parse),
    ];
    let mut ran = 0;
    for (name, f) in tests {
        if !filter.is_empty() && !filter.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        print!("test {name} ... ");
        f();
        println!("ok");
        ran += 1;
    }
    println!("\ntest result: ok. {ran} passed");
}

// ---- the programs, run in the child ----

fn child(case: &str) {
    match case {
        "unbuffered_send" => goroutines::run(|| Chan::<i32>::new(0).send(1)),
        "two_wait" => goroutines::run(|| {
            let (a, b) = (Chan::<i32>::new(0), Chan::<i32>::new(0));
            let (a2, b2) = (a.clone(), b.clone());
            let h1 = go(move || {
                let v = a2.recv(); // waits for the other, which waits for us
                b2.send(v.unwrap_or(0));
            });
            let h2 = go(move || {
                let v = b.recv();
                a.send(v.unwrap_or(0));
            });
            h1.join().unwrap();
            h2.join().unwrap();
        }),
        "select_no_ready" => goroutines::run(|| {
            let (c, d) = (Chan::<i32>::new(0), Chan::<i32>::new(1));
            let _keep = (c.clone(), d.clone());
            select! {
                recv(c) -> v => println!("{v:?}"),
                recv(d) -> v => println!("{v:?}"),
            }
        }),
        "empty_select" => goroutines::run(|| {
            select! {}
        }),
        "long_sleep" => goroutines::run(|| {
            let c = Chan::<i32>::new(0);
            let c2 = c.clone();
            go(move || {
                goroutines::time::sleep(Duration::from_millis(300));
                c2.send(7);
            });
            assert_eq!(c.recv(), Some(7));
            println!("done");
        }),
        "peer_later" => goroutines::run(|| {
            let l = goroutines::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            // The peer is another process: nothing in this one could wake us.
            let mut peer = Command::new(std::env::current_exe().unwrap())
                .env("GOROUTINES_TEST_CASE", "peer")
                .env("PEER_ADDR", addr.to_string())
                .spawn()
                .unwrap();
            let (mut s, _) = l.accept().unwrap();
            let mut buf = String::new();
            s.read_to_string(&mut buf).unwrap();
            assert_eq!(buf, "hello later");
            goroutines::blocking(|| peer.wait()).unwrap();
            println!("done");
        }),
        "peer" => {
            std::thread::sleep(Duration::from_millis(300));
            let mut s = std::net::TcpStream::connect(std::env::var("PEER_ADDR").unwrap()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            std::io::Write::write_all(&mut s, b"hello later").unwrap();
        }
        "plain_thread" => goroutines::run(|| {
            let c = Chan::<i32>::new(0);
            let c2 = c.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                c2.send(9);
            });
            assert_eq!(c.recv(), Some(9));
            println!("done");
        }),
        "blocking" => goroutines::run(|| {
            goroutines::blocking(|| std::thread::sleep(Duration::from_millis(300)));
            println!("done");
        }),
        "off" => {
            let rt = goroutines::Builder::new()
                .detect_deadlock(false)
                .build()
                .unwrap();
            rt.run(|| {
                println!("blocking forever");
                Chan::<i32>::new(0).recv()
            });
        }
        "sigquit" => goroutines::run(|| {
            let c = Chan::<i32>::new(0);
            for _ in 0..3 {
                let c = c.clone();
                go(move || c.recv());
            }
            // Say "ready" once all four, main included, are parked.
            go(|| {
                while goroutines::metrics().waiting < 4 {
                    goroutines::yield_now();
                }
                println!("ready");
            });
            // A pending timer: not a deadlock, so only the signal ends us.
            goroutines::time::sleep(Duration::from_secs(30));
        }),
        "schedtrace" => goroutines::run(|| {
            let deadline = Instant::now() + Duration::from_millis(400);
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    go(move || {
                        while Instant::now() < deadline {
                            goroutines::yield_now();
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }),
        other => panic!("unknown GOROUTINES_TEST_CASE {other}"),
    }
}

// ---- the checks, in the parent ----

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs case `case` with extra environment; kills it after `limit` (a hang is a failure unless
/// `may_hang`, in which case `code` is None).
fn run_case(case: &str, env: &[(&str, &str)], limit: Duration, may_hang: bool) -> Out {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("GOROUTINES_TEST_CASE", case)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    if code.is_none() && !may_hang {
        panic!("case {case} hung for {limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    }
    Out {
        code,
        stdout,
        stderr,
    }
}

fn expect_deadlock(case: &str) -> String {
    let o = run_case(case, &[], Duration::from_secs(30), false);
    assert_eq!(
        o.code,
        Some(2),
        "case {case}: want exit status 2\nstderr:\n{}",
        o.stderr
    );
    assert!(
        o.stderr.starts_with(&format!("{DEADLOCK}\n\n")),
        "case {case}: want Go's message first\nstderr:\n{}",
        o.stderr
    );
    o.stderr
}

fn expect_clean(case: &str) {
    let o = run_case(case, &[], Duration::from_secs(30), false);
    assert!(
        o.code == Some(0) && o.stdout.contains("done") && !o.stderr.contains(DEADLOCK),
        "case {case}: want a clean exit\nstatus {:?}\nstdout:\n{}\nstderr:\n{}",
        o.code,
        o.stdout,
        o.stderr
    );
}

fn deadlock_unbuffered_send_in_main() {
    let err = expect_deadlock("unbuffered_send");
    assert!(
        err.contains("goroutine ") && err.contains(" [chan send"),
        "{err}"
    );
    assert!(
        err.contains("created by a plain thread at tests/sched_deadlock.rs:"),
        "{err}"
    );
    // The stack names the program's own function (the main goroutine's closure in `child`).
    assert!(err.contains("sched_deadlock::child"), "{err}");
}

fn deadlock_two_goroutines_wait_on_each_other() {
    let err = expect_deadlock("two_wait");
    assert_eq!(err.matches(" [chan receive").count(), 2, "{err}");
    assert!(err.contains(" [join"), "{err}");
    assert_eq!(err.matches("created by goroutine ").count(), 2, "{err}");
}

fn deadlock_select_without_ready_case() {
    let err = expect_deadlock("select_no_ready");
    assert!(err.contains(" [select"), "{err}");
}

fn deadlock_empty_select() {
    let err = expect_deadlock("empty_select");
    assert!(err.contains(" [select (no cases)"), "{err}");
}

fn no_alarm_during_a_long_sleep() {
    expect_clean("long_sleep");
}

fn no_alarm_while_a_peer_answers_later() {
    expect_clean("peer_later");
}

fn no_alarm_while_a_plain_thread_sends_later() {
    expect_clean("plain_thread");
}

fn no_alarm_during_blocking() {
    expect_clean("blocking");
}

fn detection_can_be_turned_off() {
    let o = run_case("off", &[], Duration::from_millis(1500), true);
    assert_eq!(o.code, None, "must still be blocked\nstderr:\n{}", o.stderr);
    assert!(o.stdout.contains("blocking forever") && !o.stderr.contains(DEADLOCK));
    let o = run_case(
        "unbuffered_send",
        &[("GOROUTINES_DEBUG", "deadlock=0")],
        Duration::from_millis(1500),
        true,
    );
    assert_eq!(
        o.code, None,
        "GOROUTINES_DEBUG=deadlock=0 must turn it off\n{}",
        o.stderr
    );
}

fn sigquit_dumps_every_goroutine() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("GOROUTINES_TEST_CASE", "sigquit")
        .env("GOROUTINES_DEBUG", "sigquit=1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) }, 0);
    let st = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(err.starts_with("SIGQUIT: quit\n"), "{err}");
    assert_eq!(err.matches(" [chan receive").count(), 3, "{err}");
    assert!(err.contains(" [sleep"), "{err}");
}

fn schedtrace_lines_parse() {
    let o = run_case(
        "schedtrace",
        &[("GOROUTINES_DEBUG", "schedtrace=50")],
        Duration::from_secs(30),
        false,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let lines: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("SCHED "))
        .collect();
    assert!(
        lines.len() >= 3,
        "want a line every 50 ms over 400 ms:\n{}",
        o.stderr
    );
    for l in lines {
        parse_sched_line(l);
    }
}

/// `SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 needspinning=0
/// idlethreads=2 runqueue=3 [ 12 4 ] schedticks=[ 771 802 ]`
fn parse_sched_line(l: &str) {
    let rest = l.strip_prefix("SCHED ").unwrap();
    let (ms, rest) = rest.split_once("ms: ").unwrap_or_else(|| panic!("{l}"));
    ms.parse::<u64>().unwrap();
    let (fields, queues) = rest.split_once(" [ ").unwrap_or_else(|| panic!("{l}"));
    let mut procs = 0;
    let names: Vec<&str> = fields
        .split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("{kv} in {l}"));
            let n = v.parse::<usize>().unwrap_or_else(|_| panic!("{kv} in {l}"));
            if k == "gomaxprocs" {
                procs = n;
            }
            k
        })
        .collect();
    assert_eq!(
        names,
        [
            "gomaxprocs",
            "idleprocs",
            "threads",
            "spinningthreads",
            "needspinning",
            "idlethreads",
            "runqueue"
        ],
        "{l}"
    );
    let (locals, ticks) = queues
        .split_once(" ] schedticks=[ ")
        .unwrap_or_else(|| panic!("{l}"));
    assert_eq!(
        locals
            .split(' ')
            .map(|n| n.parse::<usize>().unwrap())
            .collect::<Vec<_>>()
            .len(),
        procs,
        "{l}"
    );
    let ticks = ticks.strip_suffix(" ]").unwrap_or_else(|| panic!("{l}"));
    assert_eq!(
        ticks
            .split(' ')
            .map(|n| n.parse::<u64>().unwrap())
            .collect::<Vec<_>>()
            .len(),
        procs,
        "{l}"
    );
}

fn scheddetail_lines_parse() {
    let o = run_case(
        "schedtrace",
        &[("GOROUTINES_DEBUG", "schedtrace=50,scheddetail=1")],
        Duration::from_secs(30),
        false,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let sched = o.stderr.lines().filter(|l| l.starts_with("SCHED ")).count();
    assert!(sched >= 3, "{}", o.stderr);
    assert!(o
        .stderr
        .lines()
        .any(|l| l.ends_with("gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0")));
    for l in o.stderr.lines().filter(|l| l.starts_with("  ")) {
        let l = l.trim_start();
        let ok = (l.starts_with('P') && l.contains(": status=") && l.contains(" schedtick="))
            || (l.starts_with('M') && l.contains(": p=") && l.contains(" curg="))
            || (l.starts_with('G') && l.contains(": status=") && l.contains(" lockedm="));
        assert!(ok, "unexpected detail line {l:?}");
    }
    assert!(
        o.stderr
            .lines()
            .any(|l| l.starts_with("  G1") || l.starts_with("  G")),
        "{}",
        o.stderr
    );
}
