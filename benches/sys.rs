//! Waiting on the rest of the system: files, processes, name resolution and any fd.
//!
//! Names follow Go's style, and Go's side is `bench/go/sys` (same names, same workloads), which
//! `bench/compare` runs beside these; the `impl=` variants put this crate beside the Rust
//! baselines it must beat or match on the same machine in the same run:
//!
//! - `FsMetadata`: `goroutines::fs::metadata` on a cached file (a `blocking`
//!   call on the goroutine's own M); `impl=std-goroutine`: std's `metadata` in a goroutine
//!   without the hand-off (the floor); `impl=std-thread`: std on a plain OS thread;
//!   `impl=thread-hop`: std's `metadata` sent to a helper thread and answered through a std
//!   channel (both sides plain threads), the hop `tokio::fs` and `spawn_blocking` make per
//!   call. Go's counterpart: `os.Stat` (`bench/go/sys`).
//! - `FsRead4K`: `fs::read` of a 4 KiB cached file.
//! - `ProcessSpawnWait`: spawn `true` and wait for it (pidfd in the netpoller).
//! - `LookupHost`: `net::lookup_host("localhost:80")` (getaddrinfo through `blocking`).
//! - `PollFdPipePingPong`: one byte each way between two goroutines over two pipes, each end a
//!   `PollFd` (parking in the netpoller on every round trip).

#[path = "harness/mod.rs"]
mod harness;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

use goroutines::net::PollFd;

fn cached_file(size: usize) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!(
        "goroutines-bench-sys-{}-{size}",
        std::process::id()
    ));
    std::fs::write(&p, vec![7u8; size]).unwrap();
    std::fs::read(&p).unwrap(); // into the page cache
    p
}

fn fs_metadata(n: u64) -> Option<Duration> {
    let p = cached_file(16);
    let start = Instant::now();
    for _ in 0..n {
        goroutines::fs::metadata(&p).unwrap();
    }
    Some(start.elapsed())
}

fn std_metadata_goroutine(n: u64) -> Option<Duration> {
    let p = cached_file(16);
    let start = Instant::now();
    for _ in 0..n {
        std::fs::metadata(&p).unwrap();
    }
    Some(start.elapsed())
}

fn std_metadata_thread(n: u64) -> Option<Duration> {
    let p = cached_file(16);
    std::thread::spawn(move || {
        let start = Instant::now();
        for _ in 0..n {
            std::fs::metadata(&p).unwrap();
        }
        Some(start.elapsed())
    })
    .join()
    .unwrap()
}

fn thread_hop_metadata(n: u64) -> Option<Duration> {
    let p = cached_file(16);
    // Both sides plain threads and std channels: the cost of the hop itself, not of this
    // crate's thread-to-goroutine wake-up.
    std::thread::spawn(move || {
        let (req_tx, req_rx) = std::sync::mpsc::channel::<std::path::PathBuf>();
        let (resp_tx, resp_rx) = std::sync::mpsc::channel::<std::fs::Metadata>();
        let t = std::thread::spawn(move || {
            for p in req_rx {
                resp_tx.send(std::fs::metadata(p).unwrap()).unwrap();
            }
        });
        let start = Instant::now();
        for _ in 0..n {
            req_tx.send(p.clone()).unwrap();
            resp_rx.recv().unwrap();
        }
        let took = start.elapsed();
        drop(req_tx);
        t.join().unwrap();
        Some(took)
    })
    .join()
    .unwrap()
}

fn fs_read_4k(n: u64) -> Option<Duration> {
    let p = cached_file(4096);
    let start = Instant::now();
    for _ in 0..n {
        assert_eq!(goroutines::fs::read(&p).unwrap().len(), 4096);
    }
    Some(start.elapsed())
}

fn process_spawn_wait(n: u64) -> Option<Duration> {
    let start = Instant::now();
    for _ in 0..n {
        assert!(goroutines::process::Command::new("true")
            .status()
            .unwrap()
            .success());
    }
    Some(start.elapsed())
}

fn std_process_spawn_wait(n: u64) -> Option<Duration> {
    let start = Instant::now();
    for _ in 0..n {
        assert!(std::process::Command::new("true")
            .status()
            .unwrap()
            .success());
    }
    Some(start.elapsed())
}

fn lookup_host(n: u64) -> Option<Duration> {
    let start = Instant::now();
    for _ in 0..n {
        assert!(goroutines::net::lookup_host("localhost:80")
            .unwrap()
            .next()
            .is_some());
    }
    Some(start.elapsed())
}

fn pipe() -> (PollFd<File>, PollFd<File>) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a writable array of two ints.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 returned two fresh fds that nothing else owns.
    let (r, w) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    (PollFd::new(r).unwrap(), PollFd::new(w).unwrap())
}

fn read1(p: &PollFd<File>) {
    let mut b = [0u8; 1];
    loop {
        match p.get_ref().read(&mut b) {
            Ok(1) => return,
            Ok(_) => panic!("end of file"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => p.readable().unwrap(),
            Err(e) => panic!("{e}"),
        }
    }
}

fn pollfd_ping_pong(n: u64) -> Option<Duration> {
    let (r1, w1) = pipe();
    let (r2, w2) = pipe();
    let echo = goroutines::go(move || {
        for _ in 0..n {
            read1(&r1);
            w2.get_ref().write_all(b"o").unwrap();
        }
    });
    let start = Instant::now();
    for _ in 0..n {
        w1.get_ref().write_all(b"i").unwrap();
        read1(&r2);
    }
    let took = start.elapsed();
    echo.join().unwrap();
    Some(took)
}

fn main() {
    goroutines::run(|| {
        let b = harness::Bencher::from_env();
        type Bench = (&'static str, fn(u64) -> Option<Duration>);
        let benches: [Bench; 9] = [
            ("FsMetadata", fs_metadata),
            ("FsMetadata/impl=std-goroutine", std_metadata_goroutine),
            ("FsMetadata/impl=std-thread", std_metadata_thread),
            ("FsMetadata/impl=thread-hop", thread_hop_metadata),
            ("FsRead4K", fs_read_4k),
            ("ProcessSpawnWait", process_spawn_wait),
            (
                "ProcessSpawnWait/impl=std-goroutine",
                std_process_spawn_wait,
            ),
            ("LookupHost", lookup_host),
            ("PollFdPipePingPong", pollfd_ping_pong),
        ];
        for (name, f) in benches {
            b.run(name, f);
        }
    });
}
