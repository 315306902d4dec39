//! A panic unwinds its goroutine only; join reports it, from goroutines and from OS threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goroutines::go;

#[goroutines::test]
fn panic_is_isolated_and_joined_with_its_payload() {
    let survivors = Arc::new(AtomicUsize::new(0));
    let seven = std::hint::black_box(7);
    let bad = go(move || -> u32 { panic!("boom {}", seven) });
    let good: Vec<_> = (0..100)
        .map(|_| {
            let s = survivors.clone();
            go(move || {
                goroutines::yield_now();
                s.fetch_add(1, Ordering::SeqCst)
            })
        })
        .collect();
    let err = bad.join().unwrap_err();
    assert_eq!(
        err.downcast_ref::<String>().map(String::as_str),
        Some("boom 7")
    );
    for g in good {
        g.join().unwrap();
    }
    assert_eq!(survivors.load(Ordering::SeqCst), 100);
}

#[goroutines::test]
fn panic_with_str_payload() {
    let err = go(|| panic!("static message")).join().unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"static message"));
}

#[test]
fn join_from_os_thread() {
    let h = go(|| {
        goroutines::yield_now();
        "done"
    });
    let t = std::thread::spawn(move || h.join().unwrap());
    assert_eq!(t.join().unwrap(), "done");
}

#[goroutines::test]
fn join_from_goroutine_parks() {
    let inner = go(|| {
        for _ in 0..100 {
            goroutines::yield_now();
        }
        5
    });
    let outer = go(move || inner.join().unwrap() + 1);
    assert_eq!(outer.join().unwrap(), 6);
}

#[goroutines::test]
fn is_finished_and_detach() {
    let h = go(|| 1);
    while !h.is_finished() {
        goroutines::yield_now();
    }
    assert_eq!(h.join().unwrap(), 1);
    // Dropping a handle detaches; the goroutine still runs.
    let flag = Arc::new(AtomicUsize::new(0));
    let f = flag.clone();
    drop(go(move || f.store(1, Ordering::SeqCst)));
    while flag.load(Ordering::SeqCst) == 0 {
        goroutines::yield_now();
    }
}

/// `run` resumes the main goroutine's panic in the caller.
#[test]
fn run_propagates_panic() {
    let rt = goroutines::Builder::new().build().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.run(|| panic!("main panicked"))
    }));
    assert!(r.is_err());
    // The runtime still works afterwards.
    assert_eq!(rt.run(|| 3), 3);
}

/// The panic report names the goroutine (checked in a child process to read its stderr).
#[test]
fn panic_message_names_the_goroutine() {
    if std::env::var_os("GOROUTINES_TEST_CHILD").is_some() {
        let h = go(|| panic!("child panic text"));
        let id = h.id();
        let _ = h.join();
        println!("ID={id}");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "panic_message_names_the_goroutine",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GOROUTINES_TEST_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = stdout
        .lines()
        .find_map(|l| l.split("ID=").nth(1))
        .unwrap_or_else(|| panic!("child printed no id: {stdout} {stderr}"))
        .trim()
        .to_string();
    assert!(
        stderr.contains(&format!("goroutine {id} panicked at"))
            && stderr.contains("child panic text"),
        "stderr: {stderr}"
    );
}
