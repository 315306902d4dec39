//! Fault (issue 16, item 3c): the process at its descriptor limit, for real (`RLIMIT_NOFILE`
//! lowered, the free descriptors filled). `accept` returns EMFILE to its caller, both when it
//! is called with a connection pending and when it was parked and a connection arrives; while
//! the process sits at the limit with unaccepted connections the netpoller does not spin (the
//! process uses almost no CPU); and once a descriptor is free the pending connection is
//! accepted and works. Runs in a child process: the limit is the whole process's.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use goroutines::net::{TcpListener, TcpStream};
use goroutines::{go, Builder};

const CHILD: &str = "FAULT_FD_LIMIT_CHILD";

/// User plus system CPU time of the whole process.
fn cpu_time() -> Duration {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a writable rusage that getrusage fills.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    assert_eq!(r, 0, "getrusage: {}", std::io::Error::last_os_error());
    // SAFETY: getrusage succeeded, so it initialised `ru`.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn set_nofile(soft: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = soft;
    // SAFETY: `lim` is a valid rlimit; lowering the soft limit needs no privilege.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(r, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

fn highest_open_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap()
}

fn child() {
    let rt = Builder::new().max_procs(2).build().unwrap();
    rt.run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let l2 = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr2 = l2.local_addr().unwrap();
        // A connection in use, with a reader parked on it: the netpoller exists and waits.
        let mut c0 = TcpStream::connect(addr).unwrap();
        let (s0, _) = l.accept().unwrap();
        let reader = go(move || {
            let mut b = [0u8; 1];
            (&s0).read_exact(&mut b).unwrap();
            b[0]
        });
        // A goroutine parked in accept on the second listener.
        // It gives the listener back, so that its descriptor stays taken.
        let parked_accept = go(move || {
            let r = l2.accept().map(|_| ());
            (l2, r)
        });
        while goroutines::metrics().netpoll_waiters < 2 {
            goroutines::yield_now();
        }
        // One connection pending on the first listener, not accepted.
        let _pending = TcpStream::connect(addr).unwrap();
        // The limit: a few descriptors above those open, then fill all but one.
        set_nofile(highest_open_fd() + 8);
        let mut filler = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => filler.push(f),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                    break;
                }
            }
        }
        drop(filler.pop());
        // The last descriptor goes to a client of the second listener: its parked accept
        // wakes, and accept4 finds no descriptor for the server's side.
        let _c2 = TcpStream::connect(addr2).unwrap();
        let (_l2, r2) = parked_accept.join().unwrap();
        let e2 = r2.expect_err("accept at the limit");
        assert_eq!(e2.raw_os_error(), Some(libc::EMFILE), "{e2}");
        // The first listener's caller gets the error at once.
        let e = l.accept().expect_err("accept at the limit");
        assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
        // At the limit, with two connections that no one can accept and goroutines parked on
        // the network and on a timer: the process must be idle, not spinning on a readiness it
        // cannot act on.
        let wall = Duration::from_secs(2);
        let (c, t) = (cpu_time(), Instant::now());
        goroutines::time::sleep(wall);
        let (cpu, wall) = (cpu_time() - c, t.elapsed());
        println!("child: at the fd limit, {cpu:?} of CPU in {wall:?}");
        assert!(
            cpu < wall / 4,
            "the process spun at the fd limit: {cpu:?} of CPU in {wall:?}"
        );
        // A descriptor free again: the pending connection is accepted and works.
        drop(filler.pop());
        let (mut s1, _) = l.accept().expect("accept once a descriptor is free");
        s1.write_all(b"k").unwrap();
        c0.write_all(b"z").unwrap();
        assert_eq!(reader.join().unwrap(), b'z');
    });
    println!("child: ok");
}

#[test]
fn accept_at_the_fd_limit_returns_emfile_without_spinning() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let out = common::run_test_in_child_within(
        "accept_at_the_fd_limit_returns_emfile_without_spinning",
        &[(CHILD, "1")],
        120,
    )
    .expect("the child hung at the fd limit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child: ok"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in stdout
        .lines()
        .filter(|l| l.starts_with("child: at the fd limit"))
    {
        eprintln!("{line}");
    }
}
