//! Configuration errors are clear and name what was wrong.

mod common;

use goroutines::Builder;

#[test]
fn builder_rejects_zero_procs() {
    let e = Builder::new().max_procs(0).build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("max_procs is 0"), "{e}");
}

#[test]
fn builder_rejects_bad_stack_sizes() {
    for bad in [0, 1024, 2 << 30] {
        let e = Builder::new().stack_size(bad).build().unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("stack_size is {bad} bytes")),
            "{e}"
        );
    }
}

fn child(var: &str, value: &str) -> String {
    let out =
        common::run_test_in_child("env_child", &[("GOROUTINES_TEST_CHILD", "1"), (var, value)]);
    assert!(!out.status.success(), "a bad {var} must fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run by the tests below in a child process whose environment holds a bad value.
#[test]
fn env_child() {
    if std::env::var_os("GOROUTINES_TEST_CHILD").is_none() {
        return;
    }
    goroutines::go(|| ()).join().unwrap();
}

#[test]
fn bad_gomaxprocs_is_a_clear_error() {
    for v in ["0", "abc", "-3", "99999"] {
        let err = child("GOMAXPROCS", v);
        assert!(
            err.contains(&format!("invalid GOMAXPROCS=\"{v}\"")),
            "{err}"
        );
    }
}

#[test]
fn bad_stack_size_is_a_clear_error() {
    for v in ["12", "lots", "5G", "2048M"] {
        let err = child("GOROUTINES_STACK_SIZE", v);
        assert!(
            err.contains(&format!("invalid GOROUTINES_STACK_SIZE=\"{v}\"")),
            "{err}"
        );
    }
}

#[test]
fn bad_goroutines_debug_is_a_clear_error() {
    for (v, why) in [
        ("schedtrace=soon", "must be a period in milliseconds"),
        ("gctrace=1", "unknown key"),
        ("sigquit=yes", "must be 0 or 1"),
    ] {
        let err = child("GOROUTINES_DEBUG", v);
        assert!(
            err.contains(&format!("invalid GOROUTINES_DEBUG=\"{v}\"")) && err.contains(why),
            "{err}"
        );
    }
}

#[test]
fn good_env_values_are_used() {
    if std::env::var_os("GOROUTINES_TEST_CHILD2").is_some() {
        assert_eq!(goroutines::max_procs(), 3);
        assert_eq!(goroutines::stats().stack_size, 128 * 1024);
        return;
    }
    let out = common::run_test_in_child(
        "good_env_values_are_used",
        &[
            ("GOROUTINES_TEST_CHILD2", "1"),
            ("GOMAXPROCS", "3"),
            ("GOROUTINES_STACK_SIZE", "128K"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
