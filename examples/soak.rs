//! A soak: every part of the runtime at once, for a given number of seconds, checked.
//!
//! ```text
//! cargo run --release --example soak -- 60                     # or: tools/soak 60
//! GOMAXPROCS=4 cargo run --release --example soak -- 3600 --stall 30
//! ```
//!
//! Seven workloads run side by side until the time is up, each in rounds:
//! 1. spawn bursts: thousands of goroutines (some spawning a child, some through a `WaitGroup`),
//!    each returning a value the spawner checks;
//! 2. a channel pipeline: a producer, a buffered stage, workers that `select!` between the
//!    stage, a quit channel and a timeout, an unbuffered stage fed by `send_timeout`, and a sink
//!    that receives with `recv_timeout`;
//! 3. a bounded queue made of a `Mutex` and two `Cond`s, producers and consumers;
//! 4. timers: `Timer`s reset and stopped at random and raced in a `select!` against a channel,
//!    `after_func`s stopped at random, a `Ticker` reset and stopped;
//! 5. TCP echo over loopback: connections opened, used for a few hundred numbers and closed;
//! 6. `blocking` calls (sleeps and reads of /proc) returning values;
//! 7. goroutine dumps and `metrics()` taken while all of this runs.
//!
//! Every value a round sends is recorded in that round's ledger when it arrives: a value
//! received twice, or never, ends the program with `soak: FAIL` and status 1. Each after_func
//! whose `stop` returned false must run exactly once, and one whose `stop` returned true never.
//! Rounds are bounded, so the program's memory does not grow with the duration: a growth is a
//! leak.
//!
//! Resources (resident memory, open descriptors, OS threads) are printed at launch, after a
//! warm-up (the baseline: by then the stack arenas, the Ms that `blocking` needs and the
//! allocator's caches exist, and stay for the life of the process), and at the end, after every
//! workload has stopped. The end may exceed the baseline by at most `--slack-rss-mb` (64),
//! `--slack-fds` (8) and `--slack-threads` (8), or the program exits with status 1.
//!
//! A watchdog thread (a plain OS thread, outside the scheduler) checks every second that each
//! workload still makes progress. One that made none for `--stall` seconds (30) is a hang: the
//! watchdog prints which, the scheduler's metrics and a goroutine dump (taken on a helper thread,
//! given 20 s, so that a dump that itself hangs cannot hang the watchdog), and, with
//! `SOAK_GDB=1`, every OS thread's backtrace by gdb, and exits with status 2.
//!
//! Why an example and not a crate of its own under tools/: it builds with the library's own
//! dev-dependencies and profile, `cargo test` keeps it compiling, and `tools/soak` is a thin
//! script that builds and runs it.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::net::{TcpListener, TcpStream};
use goroutines::sync::{Cond, Mutex, WaitGroup};
use goroutines::time::{after, after_func, sleep, Ticker, Timer};
use goroutines::{blocking, go, select, Chan, RecvTimeoutError, SendTimeoutError};

/// Set when the time is up: workloads finish their round and return.
static STOP: AtomicBool = AtomicBool::new(false);

/// One workload's counters, read by the watchdog and the final report.
struct Work {
    name: &'static str,
    /// Bumped at every step; the watchdog's sign of life.
    progress: AtomicU64,
    /// Values checked (received exactly once, or returned right).
    checked: AtomicU64,
    /// Rounds completed.
    rounds: AtomicU64,
    /// The workload has returned; the watchdog stops watching it.
    done: AtomicBool,
}

impl Work {
    const fn new(name: &'static str) -> Work {
        Work {
            name,
            progress: AtomicU64::new(0),
            checked: AtomicU64::new(0),
            rounds: AtomicU64::new(0),
            done: AtomicBool::new(false),
        }
    }
    fn tick(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }
    fn checked(&self, n: u64) {
        self.checked.fetch_add(n, Ordering::Relaxed);
        self.tick();
    }
}

const SPAWN: usize = 0;
const PIPELINE: usize = 1;
const MUTEX: usize = 2;
const TIMERS: usize = 3;
const TCP: usize = 4;
const BLOCKING: usize = 5;
const DUMPS: usize = 6;
static WORKS: [Work; 7] = [
    Work::new("spawn bursts"),
    Work::new("channel pipeline"),
    Work::new("mutex/cond queue"),
    Work::new("timers"),
    Work::new("tcp echo"),
    Work::new("blocking"),
    Work::new("dumps"),
];

fn fail(msg: String) -> ! {
    eprintln!("soak: FAIL: {msg}");
    std::process::exit(1);
}

/// Which values of one round arrived, and how often.
struct Ledger {
    seen: Vec<AtomicU8>,
    what: &'static str,
}

impl Ledger {
    fn new(what: &'static str, n: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            seen: (0..n).map(|_| AtomicU8::new(0)).collect(),
            what,
        })
    }
    fn mark(&self, v: u64) {
        let Some(slot) = self.seen.get(v as usize) else {
            fail(format!("{}: received {v}, never sent", self.what));
        };
        if slot.fetch_add(1, Ordering::Relaxed) != 0 {
            fail(format!("{}: value {v} received twice", self.what));
        }
    }
    /// Every value arrived exactly once; returns how many.
    fn check(&self) -> u64 {
        for (v, s) in self.seen.iter().enumerate() {
            match s.load(Ordering::Relaxed) {
                1 => {}
                0 => fail(format!("{}: value {v} sent, never received", self.what)),
                n => fail(format!("{}: value {v} received {n} times", self.what)),
            }
        }
        self.seen.len() as u64
    }
}

/// xorshift64*, one per goroutine.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn stopping() -> bool {
    STOP.load(Ordering::Relaxed)
}

// ---- 1. spawn bursts ----

fn spawn_bursts() {
    let w = &WORKS[SPAWN];
    let mut rng = Rng::new(1);
    while !stopping() {
        let n = 500 + rng.below(2000) as usize;
        // Plain goroutines returning a value; every fourth spawns a child and returns its value.
        let hs: Vec<_> = (0..n as u64)
            .map(|i| {
                go(move || {
                    if i % 4 == 0 {
                        go(move || i * 3).join().unwrap()
                    } else {
                        i * 3
                    }
                })
            })
            .collect();
        for (i, h) in hs.into_iter().enumerate() {
            let v = h.join().unwrap();
            if v != i as u64 * 3 {
                fail(format!("spawn: goroutine {i} returned {v}"));
            }
        }
        w.checked(n as u64);
        // Detached goroutines counted through a WaitGroup.
        let wg = WaitGroup::new();
        let ledger = Ledger::new("spawn: waitgroup", n);
        for i in 0..n as u64 {
            let l = ledger.clone();
            wg.go(move || l.mark(i));
        }
        wg.wait();
        w.checked(ledger.check());
        w.rounds.fetch_add(1, Ordering::Relaxed);
    }
}

// ---- 2. channel pipeline ----

fn pipeline() {
    let w = &WORKS[PIPELINE];
    let mut round = 0u64;
    while !stopping() {
        round += 1;
        let n = 20_000;
        let ledger = Ledger::new("pipeline", n);
        let stage1 = Chan::<u64>::new(64);
        let stage2 = Chan::<u64>::new(0);
        let quit = Chan::<()>::new(0);
        let timeouts = Arc::new(AtomicU64::new(0));
        let tx = stage1.clone();
        let producer = go(move || {
            for v in 0..n as u64 {
                tx.send(v);
            }
            tx.close();
        });
        let workers = WaitGroup::new();
        for k in 0..4u64 {
            let (rx, tx, quit, timeouts) = (
                stage1.clone(),
                stage2.clone(),
                quit.clone(),
                timeouts.clone(),
            );
            workers.go(move || loop {
                let v = select! {
                    recv(rx) -> v => match v {
                        Some(v) => v,
                        None => return,
                    },
                    recv(quit) -> _ => fail(format!("pipeline worker {k}: quit before the end")),
                    recv(after(Duration::from_millis(20))) -> _ => {
                        timeouts.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                let mut v = v;
                loop {
                    match tx.send_timeout(v, Duration::from_millis(5)) {
                        Ok(()) => break,
                        Err(SendTimeoutError::Timeout(back)) => {
                            timeouts.fetch_add(1, Ordering::Relaxed);
                            v = back;
                        }
                        Err(SendTimeoutError::Closed(_)) => {
                            fail("pipeline: stage 2 closed early".into())
                        }
                    }
                }
            });
        }
        let closer = {
            let stage2 = stage2.clone();
            go(move || {
                workers.wait();
                stage2.close();
            })
        };
        let l = ledger.clone();
        let rx = stage2.clone();
        let sink = go(move || {
            let mut got = 0u64;
            loop {
                match rx.recv_timeout(Duration::from_millis(7)) {
                    Ok(v) => {
                        l.mark(v);
                        got += 1;
                        if got % 1024 == 0 {
                            WORKS[PIPELINE].tick();
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Closed) => return got,
                }
            }
        });
        producer.join().unwrap();
        closer.join().unwrap();
        let got = sink.join().unwrap();
        if got != n as u64 {
            fail(format!("pipeline round {round}: sink got {got} of {n}"));
        }
        // A quit channel nobody closed: still empty.
        if quit.try_recv().is_ok() {
            fail("pipeline: a value on the quit channel".into());
        }
        w.checked(ledger.check());
        w.rounds.fetch_add(1, Ordering::Relaxed);
    }
}

// ---- 3. mutex/cond bounded queue ----

struct BoundedQueue {
    q: Mutex<VecDeque<u64>>,
    not_empty: Cond,
    not_full: Cond,
    cap: usize,
}

impl BoundedQueue {
    fn push(&self, v: u64) {
        let mut q = self.q.lock();
        while q.len() == self.cap {
            q = self.not_full.wait(q);
        }
        q.push_back(v);
        drop(q);
        self.not_empty.signal();
    }
    fn pop(&self) -> u64 {
        let mut q = self.q.lock();
        loop {
            if let Some(v) = q.pop_front() {
                drop(q);
                self.not_full.signal();
                return v;
            }
            q = self.not_empty.wait(q);
        }
    }
}

fn mutex_cond() {
    let w = &WORKS[MUTEX];
    while !stopping() {
        let (producers, consumers, per) = (4u64, 4u64, 5_000u64);
        let n = producers * per;
        let ledger = Ledger::new("mutex/cond", n as usize);
        let q = Arc::new(BoundedQueue {
            q: Mutex::new(VecDeque::new()),
            not_empty: Cond::new(),
            not_full: Cond::new(),
            cap: 16,
        });
        // A counter under a contended lock, checked at the end.
        let counter = Arc::new(Mutex::new(0u64));
        let wg = WaitGroup::new();
        for p in 0..producers {
            let (q, counter) = (q.clone(), counter.clone());
            wg.go(move || {
                for i in 0..per {
                    q.push(p * per + i);
                    *counter.lock() += 1;
                }
            });
        }
        // Each consumer takes an equal share; u64::MAX is never sent.
        for _ in 0..consumers {
            let (q, l, counter) = (q.clone(), ledger.clone(), counter.clone());
            wg.go(move || {
                for i in 0..n / consumers {
                    l.mark(q.pop());
                    *counter.lock() += 1;
                    if i % 512 == 0 {
                        WORKS[MUTEX].tick();
                    }
                }
            });
        }
        wg.wait();
        let c = *counter.lock();
        if c != 2 * n {
            fail(format!("mutex: counter {c}, expected {}", 2 * n));
        }
        w.checked(ledger.check());
        w.rounds.fetch_add(1, Ordering::Relaxed);
    }
}

// ---- 4. timers ----

fn timers() {
    let w = &WORKS[TIMERS];
    let mut rng = Rng::new(4);
    while !stopping() {
        // Channel timers, reset or stopped at random, raced against a channel.
        let wg = WaitGroup::new();
        for k in 0..8u64 {
            wg.go(move || {
                let mut rng = Rng::new(100 + k);
                let other = Chan::<u64>::new(1);
                for i in 0..50u64 {
                    let t = Timer::new(Duration::from_micros(rng.below(3000)));
                    match rng.below(4) {
                        0 => {
                            t.stop();
                            if t.chan().try_recv().is_ok() {
                                fail("timers: a value received after Stop".into());
                            }
                        }
                        1 => {
                            t.reset(Duration::from_micros(rng.below(2000)));
                            t.chan().recv().expect("a timer's channel is never closed");
                        }
                        _ => {
                            if rng.below(2) == 0 {
                                other.send(i);
                            }
                            select! {
                                recv(t.chan()) -> v => { v.expect("open"); }
                                recv(other) -> v => {
                                    if v != Some(i) {
                                        fail(format!("timers: other channel gave {v:?}, sent {i}"));
                                    }
                                }
                            }
                            t.stop();
                            let _ = other.try_recv();
                            if t.chan().try_recv().is_ok() {
                                fail("timers: a value received after Stop".into());
                            }
                        }
                    }
                    WORKS[TIMERS].tick();
                }
            });
        }
        // after_func: a stopped one never runs, every other one runs exactly once.
        let n = 500;
        let ran = Ledger::new("after_func", n);
        let mut must_run = Vec::new();
        let ts: Vec<_> = (0..n as u64)
            .map(|i| {
                let r = ran.clone();
                after_func(Duration::from_micros(rng.below(5000)), move || r.mark(i))
            })
            .collect();
        for (i, t) in ts.iter().enumerate() {
            if rng.below(2) == 0 && t.stop() {
                continue;
            }
            must_run.push(i);
        }
        // Wait for the ones not stopped (the watchdog bounds this wait).
        loop {
            let done = must_run
                .iter()
                .filter(|&&i| ran.seen[i].load(Ordering::Relaxed) != 0)
                .count();
            if done == must_run.len() {
                break;
            }
            sleep(Duration::from_millis(1));
        }
        sleep(Duration::from_millis(6)); // past every deadline: a stopped one would have run
        for (i, s) in ran.seen.iter().enumerate() {
            let times = s.load(Ordering::Relaxed);
            let want = u8::from(must_run.binary_search(&i).is_ok());
            if times != want {
                fail(format!(
                    "after_func {i}: ran {times} times, expected {want}"
                ));
            }
        }
        w.checked(n as u64);
        // A ticker, reset and stopped.
        let tk = Ticker::new(Duration::from_micros(500));
        for _ in 0..5 {
            tk.chan().recv().expect("ticks");
        }
        tk.reset(Duration::from_millis(1));
        for _ in 0..3 {
            tk.chan().recv().expect("ticks");
        }
        tk.stop();
        if tk.chan().try_recv().is_ok() {
            fail("ticker: a tick received after Stop".into());
        }
        wg.wait();
        w.checked(8 * 50 + 8);
        w.rounds.fetch_add(1, Ordering::Relaxed);
    }
}

// ---- 5. TCP echo ----

fn echo_server(l: TcpListener) {
    loop {
        let (mut c, _) = match l.accept() {
            Ok(x) => x,
            Err(e) => fail(format!("tcp: accept: {e}")),
        };
        if stopping() {
            return;
        }
        go(move || {
            let mut buf = [0u8; 4096];
            loop {
                match c.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if let Err(e) = c.write_all(&buf[..n]) {
                            fail(format!("tcp server: write: {e}"));
                        }
                    }
                    Err(e) => fail(format!("tcp server: read: {e}")),
                }
            }
        });
    }
}

fn tcp_echo() {
    let w = &WORKS[TCP];
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| fail(format!("tcp: bind: {e}")));
    let addr: SocketAddr = l.local_addr().unwrap();
    let server = go(move || echo_server(l));
    while !stopping() {
        let clients = 8u64;
        let per = 300u64;
        let ledger = Ledger::new("tcp echo", (clients * per) as usize);
        let wg = WaitGroup::new();
        for k in 0..clients {
            let l = ledger.clone();
            wg.go(move || {
                let mut c =
                    TcpStream::connect(addr).unwrap_or_else(|e| fail(format!("tcp: connect: {e}")));
                c.set_nodelay(true).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut rng = Rng::new(k + 7);
                let mut next = 0u64;
                while next < per {
                    // A batch of 1 to 16 numbers, echoed back in order.
                    let batch = (1 + rng.below(16)).min(per - next);
                    let mut out = Vec::with_capacity(8 * batch as usize);
                    for i in next..next + batch {
                        out.extend_from_slice(&(k * per + i).to_le_bytes());
                    }
                    c.write_all(&out)
                        .unwrap_or_else(|e| fail(format!("tcp client: write: {e}")));
                    let mut back = vec![0u8; out.len()];
                    c.read_exact(&mut back).unwrap_or_else(|e| {
                        hang(format!("tcp client {k}: read of an echo: {e} (loopback!)"))
                    });
                    for chunk in back.chunks_exact(8) {
                        l.mark(u64::from_le_bytes(chunk.try_into().unwrap()));
                    }
                    next += batch;
                    WORKS[TCP].tick();
                }
            });
        }
        wg.wait();
        w.checked(ledger.check());
        w.rounds.fetch_add(1, Ordering::Relaxed);
    }
    // Wake the accept loop so that it sees STOP.
    drop(TcpStream::connect(addr));
    server.join().unwrap();
}

// ---- 6. blocking ----

fn blocking_calls() {
    let w = &WORKS[BLOCKING];
    while !stopping() {
        let hs: Vec<_> = (0..16u64)
            .map(|i| {
                go(move || {
                    let slept = blocking(move || {
                        std::thread::sleep(Duration::from_micros(200 + 100 * (i % 8)));
                        i * 7
                    });
                    let stat = blocking(|| std::fs::read_to_string("/proc/self/stat"))
                        .unwrap_or_else(|e| fail(format!("blocking: read /proc/self/stat: {e}")));
                    if !stat.contains("soak") {
                        fail(format!("blocking: /proc/self/stat reads {stat:?}"));
                    }
                    slept
                })
            })
            .collect();
        for (i, h) in hs.into_iter().enumerate() {
            let v = h.join().unwrap();
            if v != i as u64 * 7 {
                fail(format!("blocking: call {i} returned {v}"));
            }
        }
        w.checked(16);
        w.rounds.fetch_add(1, Ordering::Relaxed);
    }
}

// ---- 7. dumps ----

fn dumps() {
    let w = &WORKS[DUMPS];
    while !stopping() {
        let d = goroutines::dump();
        if !d.contains("goroutine ") || !d.contains("[running]") {
            fail(format!("dump without goroutines: {d:.300}"));
        }
        let m = goroutines::metrics();
        if m.goroutines == 0 {
            fail("metrics: no goroutines".into());
        }
        w.checked(1);
        w.rounds.fetch_add(1, Ordering::Relaxed);
        sleep(Duration::from_millis(200));
    }
}

// ---- resources, watchdog, main ----

#[derive(Clone, Copy)]
struct Resources {
    rss_kib: u64,
    fds: usize,
    threads: u64,
}

fn resources() -> Resources {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // read_dir holds one descriptor of its own while it lists.
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count().saturating_sub(1));
    Resources {
        rss_kib: field("VmRSS:"),
        fds,
        threads: field("Threads:"),
    }
}

fn print_resources(when: &str, r: Resources) {
    println!(
        "soak: {when:<8} rss {:>7.1} MiB  fds {:>4}  threads {:>3}",
        r.rss_kib as f64 / 1024.0,
        r.fds,
        r.threads
    );
}

fn watchdog(stall: u64) {
    std::thread::Builder::new()
        .name("soak-watchdog".into())
        .spawn(move || {
            let mut last: Vec<(u64, Instant)> = WORKS.iter().map(|_| (0, Instant::now())).collect();
            loop {
                std::thread::sleep(Duration::from_secs(1));
                for (w, (seen, at)) in WORKS.iter().zip(last.iter_mut()) {
                    let p = w.progress.load(Ordering::Relaxed);
                    if p != *seen || w.done.load(Ordering::Relaxed) {
                        *seen = p;
                        *at = Instant::now();
                    } else if at.elapsed() >= Duration::from_secs(stall) {
                        hang(format!("{} made no progress for {stall} s", w.name));
                    }
                }
            }
        })
        .expect("soak: cannot start the watchdog thread");
}

/// Reports a hang (or an operation that timed out when it should not have, which is a hang
/// that a deadline ended) with everything known about the scheduler, and exits with status 2.
fn hang(why: String) -> ! {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    ONCE.call_once(|| first = true);
    if !first {
        // Another thread is reporting already; let it finish.
        loop {
            std::thread::park();
        }
    }
    eprintln!("soak: HANG: {why}");
    for w in &WORKS {
        eprintln!(
            "soak:   {:<17} progress {:>10} rounds {:>7} done {}",
            w.name,
            w.progress.load(Ordering::Relaxed),
            w.rounds.load(Ordering::Relaxed),
            w.done.load(Ordering::Relaxed)
        );
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("soak-dump".into())
        .spawn(move || {
            let m = goroutines::metrics();
            let _ = tx.send(format!("{m:#?}"));
            let _ = tx.send(goroutines::dump());
        });
    for what in ["metrics", "goroutine dump"] {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(text) => eprintln!("soak: {what}:\n{text}"),
            Err(_) => {
                eprintln!("soak: the {what} did not finish in 20 s");
                break;
            }
        }
    }
    if std::env::var_os("SOAK_GDB").is_some() {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("gdb")
            .args(["-p", &pid, "-batch", "-ex", "thread apply all bt"])
            .status();
    }
    std::process::exit(2);
}

struct Args {
    secs: u64,
    stall: u64,
    slack_rss_mb: u64,
    slack_fds: usize,
    slack_threads: u64,
}

fn parse_args() -> Args {
    let usage = || -> ! {
        eprintln!(
            "usage: soak SECONDS [--stall S] [--slack-rss-mb MB] [--slack-fds N] [--slack-threads N]"
        );
        std::process::exit(64);
    };
    let mut a = Args {
        secs: 0,
        stall: 30,
        slack_rss_mb: 64,
        slack_fds: 8,
        slack_threads: 8,
    };
    let mut it = std::env::args().skip(1);
    let mut secs = None;
    while let Some(arg) = it.next() {
        let mut num = || -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--stall" => a.stall = num(),
            "--slack-rss-mb" => a.slack_rss_mb = num(),
            "--slack-fds" => a.slack_fds = num() as usize,
            "--slack-threads" => a.slack_threads = num(),
            s => secs = Some(s.parse().unwrap_or_else(|_| usage())),
        }
    }
    a.secs = secs.unwrap_or_else(|| usage());
    a
}

fn main() {
    let args = parse_args();
    let launch = resources();
    print_resources("launch", launch);
    watchdog(args.stall);
    let start = Instant::now();
    let duration = Duration::from_secs(args.secs);
    // The baseline is taken once every workload has run for a while: a sixth of the run, at
    // least 2 s and at most 60 s.
    let warmup = (duration / 6).clamp(Duration::from_secs(2), Duration::from_secs(60));
    let (baseline, end) = goroutines::run(move || {
        let works: [fn(); 7] = [
            spawn_bursts,
            pipeline,
            mutex_cond,
            timers,
            tcp_echo,
            blocking_calls,
            dumps,
        ];
        let hs: Vec<_> = works
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                go(move || {
                    f();
                    WORKS[i].done.store(true, Ordering::Relaxed);
                })
            })
            .collect();
        sleep(warmup.min(duration));
        let baseline = resources();
        print_resources("baseline", baseline);
        let mut report = Instant::now();
        while start.elapsed() < duration {
            sleep(Duration::from_secs(1).min(duration.saturating_sub(start.elapsed())));
            if report.elapsed() >= Duration::from_secs(60) {
                report = Instant::now();
                let r = resources();
                println!(
                    "soak: {:>6} s   rss {:.1} MiB fds {} threads {} goroutines {}",
                    start.elapsed().as_secs(),
                    r.rss_kib as f64 / 1024.0,
                    r.fds,
                    r.threads,
                    goroutines::num_goroutine()
                );
            }
        }
        STOP.store(true, Ordering::Relaxed);
        for h in hs {
            h.join().unwrap();
        }
        // Let the stacks of the finished goroutines go back to the pools.
        sleep(Duration::from_millis(200));
        (baseline, resources())
    });
    print_resources("end", end);
    println!(
        "soak: {} s at GOMAXPROCS={}",
        start.elapsed().as_secs(),
        goroutines::max_procs()
    );
    for w in &WORKS {
        println!(
            "soak:   {:<17} {:>8} rounds {:>12} values checked",
            w.name,
            w.rounds.load(Ordering::Relaxed),
            w.checked.load(Ordering::Relaxed)
        );
        if w.rounds.load(Ordering::Relaxed) == 0 {
            fail(format!("{}: not one round completed", w.name));
        }
    }
    let mut grew = Vec::new();
    if end.rss_kib > baseline.rss_kib + args.slack_rss_mb * 1024 {
        grew.push(format!(
            "resident memory {} -> {} KiB (slack {} MiB)",
            baseline.rss_kib, end.rss_kib, args.slack_rss_mb
        ));
    }
    if end.fds > baseline.fds + args.slack_fds {
        grew.push(format!(
            "descriptors {} -> {} (slack {})",
            baseline.fds, end.fds, args.slack_fds
        ));
    }
    if end.threads > baseline.threads + args.slack_threads {
        grew.push(format!(
            "threads {} -> {} (slack {})",
            baseline.threads, end.threads, args.slack_threads
        ));
    }
    if !grew.is_empty() {
        fail(format!("grew beyond the slack: {}", grew.join("; ")));
    }
    println!("soak: PASS");
}
