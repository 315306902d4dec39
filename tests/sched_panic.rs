//! A panic unwinds its goroutine only; join reports it, from goroutines and from OS threads.

mod common;

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
    let out = common::run_test_in_child(
        "panic_message_names_the_goroutine",
        &[("GOROUTINES_TEST_CHILD", "1")],
    );
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
    // Once: std's default hook is recognised and not called as well (it would name the thread).
    assert!(!stderr.contains("thread '"), "stderr: {stderr}");
}

/// Runs this test binary's test `name` alone in a child process with `env` set and returns
/// (exit status code, stdout, stderr).
fn child(name: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut env = env.to_vec();
    env.push(("GOROUTINES_TEST_CHILD", "1"));
    let out = common::run_test_in_child(name, &env);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn in_child() -> bool {
    std::env::var_os("GOROUTINES_TEST_CHILD").is_some()
}

/// A panic hook the program installed before the runtime started (an error reporter) is
/// called for goroutine panics, on the panicking goroutine. It used to be skipped: the
/// runtime's hook printed its own report and returned.
#[test]
fn hook_installed_before_the_runtime_sees_goroutine_panics() {
    if in_child() {
        std::panic::set_hook(Box::new(|info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .unwrap_or("?");
            println!("HOOK goroutine={:?} msg={msg}", goroutines::current_id());
        }));
        let rt = goroutines::Builder::new().max_procs(1).build().unwrap();
        let h = rt.go(|| panic!("reported"));
        let id = h.id();
        assert!(h.join().is_err());
        println!("ID={id}");
        return;
    }
    let (code, stdout, stderr) = child(
        "hook_installed_before_the_runtime_sees_goroutine_panics",
        &[],
    );
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let id = stdout
        .lines()
        .find_map(|l| l.split("ID=").nth(1).map(str::trim))
        .unwrap_or_else(|| panic!("no id: {stdout}"));
    assert!(
        stdout.contains(&format!(
            "HOOK goroutine=Some(GoroutineId({id})) msg=reported"
        )) || stdout.contains(&format!("HOOK goroutine=Some({id}) msg=reported")),
        "stdout: {stdout}\nstderr: {stderr}"
    );
}

/// `PanicPolicy::Abort`: a panic in a goroutine whose handle was dropped ends the process with
/// status 2 and names the goroutine, as Go's unrecovered panic does.
#[test]
fn abort_policy_ends_the_process_on_a_detached_panic() {
    if in_child() {
        let rt = goroutines::Builder::new()
            .max_procs(1)
            .panic_policy(goroutines::PanicPolicy::Abort)
            .build()
            .unwrap();
        rt.run(|| {
            let h = go(|| {
                goroutines::time::sleep(std::time::Duration::from_millis(20));
                panic!("detached boom")
            });
            println!("ID={}", h.id());
            drop(h);
            goroutines::time::sleep(std::time::Duration::from_secs(10));
        });
        println!("SURVIVED");
        return;
    }
    let (code, stdout, stderr) = child("abort_policy_ends_the_process_on_a_detached_panic", &[]);
    let id = stdout
        .lines()
        .find_map(|l| l.split("ID=").nth(1).map(str::trim))
        .unwrap_or("?");
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(!stdout.contains("SURVIVED"));
    assert!(stderr.contains("detached boom"), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!(
            "goroutine {id} panicked and was not joined (panic policy Abort)"
        )),
        "stderr: {stderr}"
    );
}

/// `GOROUTINES_DEBUG=panic=abort` sets the policy; a handle dropped after its goroutine
/// panicked ends the process too, while a joined panic is still the joiner's `Err` and a
/// panic caught inside the goroutine is no goroutine panic.
#[test]
fn abort_policy_from_env_joined_panics_still_return() {
    if in_child() {
        goroutines::run(|| {
            let caught = go(|| std::panic::catch_unwind(|| panic!("caught inside")).is_err());
            assert!(caught.join().unwrap());
            assert!(go(|| panic!("joined")).join().is_err());
            println!("JOINED OK");
            let h = go(|| panic!("dropped later"));
            while !h.is_finished() {
                goroutines::yield_now();
            }
            println!("ID={}", h.id());
            drop(h);
        });
        println!("SURVIVED");
        return;
    }
    let (code, stdout, stderr) = child(
        "abort_policy_from_env_joined_panics_still_return",
        &[("GOROUTINES_DEBUG", "panic=abort")],
    );
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("JOINED OK") && !stdout.contains("SURVIVED"),
        "stdout: {stdout}"
    );
    let id = stdout
        .lines()
        .find_map(|l| l.split("ID=").nth(1).map(str::trim))
        .unwrap_or("?");
    assert!(
        stderr.contains(&format!("goroutine {id} panicked and was not joined")),
        "stderr: {stderr}"
    );
}

/// Under the default policy a detached goroutine's panic ends only that goroutine.
#[goroutines::test]
fn report_policy_detached_panic_is_survived() {
    let h = go(|| panic!("detached, reported"));
    while !h.is_finished() {
        goroutines::yield_now();
    }
    drop(h);
    drop(go(|| panic!("detached before it ran")));
    goroutines::time::sleep(std::time::Duration::from_millis(5));
    assert_eq!(go(|| 1).join().unwrap(), 1);
}
