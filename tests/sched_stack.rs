//! Stacks: overflow is reported and ends the process; stacks are reused; deep recursion within
//! the stack works.

mod common;

use goroutines::go;

fn recurse(n: u64, buf: &mut [u8; 512]) -> u64 {
    buf[n as usize % 512] = n as u8;
    if n == 0 {
        return buf[0] as u64;
    }
    let mut inner = [0u8; 512];
    recurse(n - 1, &mut inner) + std::hint::black_box(buf[1]) as u64
}

#[goroutines::test]
fn deep_recursion_within_the_stack() {
    // About 100 KiB of frames in a 256 KiB default stack.
    let h = go(|| recurse(150, &mut [0u8; 512]));
    h.join().unwrap();
}

#[test]
fn overflow_is_reported_with_goroutine_and_size() {
    if std::env::var_os("GOROUTINES_TEST_CHILD").is_some() {
        let rt = goroutines::Builder::new()
            .stack_size(64 * 1024)
            .build()
            .unwrap();
        let h = rt.go(|| {
            // Printed (and flushed, a line at a time) before the overflow ends the process.
            println!("ID={}", goroutines::current_id().unwrap());
            recurse(u64::MAX, &mut [0u8; 512])
        });
        let _ = h.join();
        unreachable!("the overflow ends the process");
    }
    let out = common::run_test_in_child(
        "overflow_is_reported_with_goroutine_and_size",
        &[("GOROUTINES_TEST_CHILD", "1")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child must die");
    let id = stdout
        .lines()
        .find_map(|l| l.split("ID=").nth(1))
        .unwrap_or_else(|| panic!("child printed no id: {stdout} {stderr}"))
        .trim()
        .to_string();
    assert!(
        stderr.contains(&format!(
            "goroutines: fatal: goroutine {id} overflowed its 64 KiB stack"
        )),
        "stderr: {stderr}"
    );
}

/// A segfault that is not a stack overflow is not reported as one.
#[test]
fn other_faults_are_not_overflows() {
    if std::env::var_os("GOROUTINES_TEST_CHILD").is_some() {
        let h = go(|| {
            // SAFETY: deliberately invalid: this child process is meant to die by SIGSEGV.
            unsafe { std::ptr::write_volatile(16 as *mut u64, 1) };
        });
        let _ = h.join();
        return;
    }
    let out = common::run_test_in_child(
        "other_faults_are_not_overflows",
        &[("GOROUTINES_TEST_CHILD", "1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stderr.contains("overflowed"), "stderr: {stderr}");
}

/// Stacks of finished goroutines are reused: many short goroutines in sequence do not grow the
/// address space reserved for stacks. Checked in a child process, where no other test's
/// goroutines share the (process-wide) arenas.
#[test]
fn stacks_are_reused() {
    if std::env::var_os("GOROUTINES_TEST_CHILD").is_some() {
        goroutines::run(|| {
            let touch = || std::hint::black_box([1u8; 2048])[7];
            for _ in 0..100 {
                go(touch).join().unwrap();
            }
            let before = goroutines::metrics().stack_reserved_bytes;
            assert!(before > 0);
            for _ in 0..20_000 {
                go(touch).join().unwrap();
            }
            let after = goroutines::metrics().stack_reserved_bytes;
            assert_eq!(
                after, before,
                "20,000 goroutines in sequence grew the stack reservation"
            );
        });
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "stacks_are_reused",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GOROUTINES_TEST_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
