//! `#[goroutines::main]` and `#[goroutines::test]`: return types that are not `Send`, and the
//! test timeout that fails a stuck test with a goroutine dump instead of hanging.

use std::error::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use goroutines::Chan;

/// `main` may return `Result<(), Box<dyn Error>>`, whose error is not `Send` (this did not
/// compile: `run` needs `T: Send`). The result is reported on the main goroutine, as std does.
#[goroutines::main]
fn main_with_error() -> Result<(), Box<dyn Error>> {
    let n: i32 = "12".parse()?;
    assert_eq!(n, 12);
    let _not_send = Rc::new(n);
    Err("main's error".into())
}

#[goroutines::main]
fn main_ok() -> Result<(), Box<dyn Error>> {
    let _not_send = Rc::new(goroutines::current_id().expect("runs on a goroutine"));
    Ok(())
}

#[test]
fn main_attribute_accepts_a_result_that_is_not_send() {
    assert_eq!(main_ok(), ExitCode::SUCCESS);
    assert_eq!(main_with_error(), ExitCode::FAILURE);
}

/// A test may return a `Result` with a non-`Send` error too, and use `?`.
#[goroutines::test]
fn test_attribute_accepts_a_result() -> Result<(), Box<dyn Error>> {
    let v: u8 = "7".parse()?;
    let _not_send = Rc::new(v);
    assert_eq!(goroutines::go(move || v + 1).join().unwrap(), 8);
    Ok(())
}

/// A test that deadlocks fails after its timeout, with the timeout in the message.
#[goroutines::test(timeout = "200ms")]
#[should_panic(expected = "test timed out after 200ms")]
fn stuck_test_fails_after_its_timeout() {
    Chan::<()>::new(0).recv();
}

/// The body's own panic still reaches `should_panic`, timeout or not.
#[goroutines::test(timeout = "10s")]
#[should_panic(expected = "the body's own message")]
fn body_panic_is_the_test_panic() {
    panic!("the body's own message");
}

/// The timeout's message carries a dump of every goroutine: here the main goroutine blocked
/// in a receive and a helper blocked in a send.
#[test]
fn timeout_message_dumps_every_goroutine() {
    let r = catch_unwind(AssertUnwindSafe(|| {
        goroutines::__private::run_test(Some(Duration::from_millis(200)), || {
            let c = Chan::<u8>::new(0);
            let never = Chan::<u8>::new(0);
            let tx = never.clone();
            let _h = goroutines::go(move || tx.send(1));
            let _keep = never;
            c.recv();
        })
    }));
    let p = r.expect_err("the stuck body must fail the test");
    let msg = p
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| "<not a string>".into());
    assert!(msg.contains("test timed out after 200ms"), "{msg}");
    assert!(msg.contains("[chan receive"), "{msg}");
    assert!(msg.contains("[chan send"), "{msg}");
}
