//! The `select!` macro: parsing the case list and expanding it into [`Case`](super::select)
//! objects for the engine in `select.rs`.

/// Waits on several channel operations and performs exactly one (Go's `select`).
///
/// ```
/// use goroutines::{go, select, Chan};
///
/// let nums = Chan::new(0);
/// let quit = Chan::<()>::new(0);
/// let (tx, q) = (nums.clone(), quit.clone());
/// go(move || {
///     for i in 0..3 {
///         tx.send(i);
///     }
///     q.close();
/// });
/// let mut got = Vec::new();
/// loop {
///     select! {
///         recv(nums) -> v => got.push(v.unwrap()),
///         recv(quit) -> _ => break,
///     }
/// }
/// assert_eq!(got, [0, 1, 2]);
/// ```
///
/// Cases, separated by commas (optional after a block body):
/// - `recv(ch) -> pat => body`: receive from `ch`; `pat` binds an `Option<T>` (`None`: the
///   channel is closed and drained). `recv(ch) => body` ignores the value.
/// - `send(ch, value) => body`: send `value` on `ch`.
/// - `default => body`: taken if no other case is ready now; without it the select parks until
///   one is.
///
/// `ch` may be a [`Chan`](crate::Chan), a [`RecvChan`](crate::RecvChan) (in `recv`) or a
/// [`SendChan`](crate::SendChan) (in `send`), by value or by reference, or an `Option` of one:
/// `None` (like a nil channel) is never ready, which turns a case off. Channel and value
/// expressions are evaluated once, in source order, before anything else happens; a value whose
/// case is not chosen is dropped. Among the ready cases one is chosen uniformly at random.
/// `select! {}` parks forever. At most 32 cases; use [`Select`](crate::Select) for more, or
/// for a number known only at run time.
///
/// # Panics
/// "send on closed channel" if a `send` case is chosen on a closed channel, as in Go.
///
/// # Expansion
/// Without the macro, a select is the [`Select`](crate::Select) builder:
/// ```
/// use goroutines::{Chan, Select};
///
/// let (a, b) = (Chan::new(1), Chan::new(1));
/// a.send(1);
/// let mut sel = Select::new();
/// sel.recv(&a, |v| format!("a: {v:?}"));
/// sel.send(&b, 2, || "sent on b".to_string());
/// let what = sel.select(); // one of the two, at random: both are ready
/// assert!(what == "a: Some(1)" || what == "sent on b");
/// ```
/// The macro expands to the same engine without allocating: each case becomes a local case
/// object owning its value slot, the engine gets a slice of them and reports which one fired,
/// and then the chosen body runs with its value bound, outside any lock and outside any
/// closure (so `break`, `continue`, `return` and `?` work in bodies).
#[macro_export]
macro_rules! select {
    () => {
        $crate::chan::__private::block_no_cases()
    };
    ($($tokens:tt)+) => {
        $crate::__select_parse!(() ($($tokens)+))
    };
}

/// Normalizes the cases of `select!` into `(recv (ch) (pat) {body})`, `(send (ch) (v) {body})`
/// and `(default {body})`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // All parsed: generate, with a supply of fresh names for the cases.
    (($($cases:tt)*) ()) => {
        $crate::__select_gen!(
            [__c0 __c1 __c2 __c3 __c4 __c5 __c6 __c7 __c8 __c9 __c10 __c11 __c12 __c13 __c14
             __c15 __c16 __c17 __c18 __c19 __c20 __c21 __c22 __c23 __c24 __c25 __c26 __c27
             __c28 __c29 __c30 __c31]
            [] [] [] []
            $($cases)*
        )
    };

    // recv(ch) -> pat => body
    (($($c:tt)*) (recv($ch:expr) -> $p:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (recv ($ch) ($p) $body)) ($($rest)*))
    };
    (($($c:tt)*) (recv($ch:expr) -> $p:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (recv ($ch) ($p) $body)) ($($rest)*))
    };
    (($($c:tt)*) (recv($ch:expr) -> $p:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (recv ($ch) ($p) { $body })) ($($rest)*))
    };
    (($($c:tt)*) (recv($ch:expr) -> $p:pat => $body:expr)) => {
        $crate::__select_parse!(($($c)* (recv ($ch) ($p) { $body })) ())
    };
    // recv(ch) => body
    (($($c:tt)*) (recv($ch:expr) => $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)*) (recv($ch) -> _ => $($rest)*))
    };

    // send(ch, value) => body
    (($($c:tt)*) (send($ch:expr, $v:expr) => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (send ($ch) ($v) $body)) ($($rest)*))
    };
    (($($c:tt)*) (send($ch:expr, $v:expr) => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (send ($ch) ($v) $body)) ($($rest)*))
    };
    (($($c:tt)*) (send($ch:expr, $v:expr) => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (send ($ch) ($v) { $body })) ($($rest)*))
    };
    (($($c:tt)*) (send($ch:expr, $v:expr) => $body:expr)) => {
        $crate::__select_parse!(($($c)* (send ($ch) ($v) { $body })) ())
    };

    // default => body
    (($($c:tt)*) (default => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (default $body)) ($($rest)*))
    };
    (($($c:tt)*) (default => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (default $body)) ($($rest)*))
    };
    (($($c:tt)*) (default => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(($($c)* (default { $body })) ($($rest)*))
    };
    (($($c:tt)*) (default => $body:expr)) => {
        $crate::__select_parse!(($($c)* (default { $body })) ())
    };

    (($($c:tt)*) ($($rest:tt)+)) => {
        ::core::compile_error!(
            "select!: expected `recv(ch) -> v => body`, `send(ch, value) => body` or `default => body`"
        )
    };
}

/// Expands normalized cases: `[free names] [declarations] [case names] [if-else arms]
/// [default body] cases...`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_gen {
    // Done, without default: block until a case fires.
    ([$($free:ident)*] [$($decl:tt)*] [$($case:ident)*] [$($arm:tt)*] []) => {{
        $($decl)*
        $crate::chan::__private::select(
            &[$(&$case as &dyn $crate::chan::__private::Case),*],
            true,
        );
        $(let $case = $case.finish();)*
        $($arm)* { $crate::chan::__private::unreachable() }
    }};
    // Done, with default.
    ([$($free:ident)*] [$($decl:tt)*] [$($case:ident)*] [$($arm:tt)*] [$dbody:block]) => {{
        $($decl)*
        $crate::chan::__private::select(
            &[$(&$case as &dyn $crate::chan::__private::Case),*],
            false,
        );
        $(let $case = $case.finish();)*
        $($arm)* $dbody
    }};

    ([$c:ident $($free:ident)*] [$($decl:tt)*] [$($case:ident)*] [$($arm:tt)*] [$($def:tt)*]
        (recv ($ch:expr) ($p:pat) $body:block) $($rest:tt)*) => {
        $crate::__select_gen!(
            [$($free)*]
            [$($decl)* let $c = &$ch; let $c = $crate::chan::__private::RecvCase::new($c);]
            [$($case)* $c]
            [$($arm)* if $c.0 { let $p = $c.1; $body } else]
            [$($def)*]
            $($rest)*
        )
    };
    ([$c:ident $($free:ident)*] [$($decl:tt)*] [$($case:ident)*] [$($arm:tt)*] [$($def:tt)*]
        (send ($ch:expr) ($v:expr) $body:block) $($rest:tt)*) => {
        $crate::__select_gen!(
            [$($free)*]
            [$($decl)* let $c = &$ch; let $c = $crate::chan::__private::SendCase::new($c, $v);]
            [$($case)* $c]
            [$($arm)* if $c.0 { $body } else]
            [$($def)*]
            $($rest)*
        )
    };
    ([$($free:ident)*] [$($decl:tt)*] [$($case:ident)*] [$($arm:tt)*] []
        (default $body:block) $($rest:tt)*) => {
        $crate::__select_gen!(
            [$($free)*] [$($decl)*] [$($case)*] [$($arm)*] [$body] $($rest)*
        )
    };
    ([$($free:ident)*] [$($decl:tt)*] [$($case:ident)*] [$($arm:tt)*] [$($def:tt)+]
        (default $body:block) $($rest:tt)*) => {
        ::core::compile_error!("select!: more than one `default` case")
    };
    ([] [$($decl:tt)*] [$($case:ident)*] [$($arm:tt)*] [$($def:tt)*] $($rest:tt)+) => {
        ::core::compile_error!("select!: more than 32 cases; use goroutines::Select")
    };
}
