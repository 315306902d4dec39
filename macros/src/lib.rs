//! `#[goroutines::main]` and `#[goroutines::test]`.
//!
//! ```ignore
//! #[goroutines::main]
//! fn main() { /* body */ }
//! ```
//! expands to
//! ```ignore
//! fn main() { ::goroutines::run(move || { /* body */ }) }
//! ```
//! and a `main` with a return type, such as `fn main() -> Result<(), Box<dyn Error>>`, to
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     ::goroutines::run(move || {
//!         let body = move || -> Result<(), Box<dyn Error>> { /* body */ };
//!         std::process::Termination::report(body())
//!     })
//! }
//! ```
//! The result is reported on the main goroutine (std's "Error: ..." for an `Err`), and only the
//! `ExitCode` crosses back to the main thread: the result itself need not be `Send`.
//!
//! ```ignore
//! #[goroutines::test]
//! fn t() { /* body */ }
//! ```
//! expands to
//! ```ignore
//! #[test]
//! fn t() {
//!     ::goroutines::__private::run_test(std::time::Duration::from_secs(60), move || { /* body */ });
//! }
//! ```
//! `run_test` runs the body as the main goroutine of a fresh runtime configured from the
//! environment (`GOMAXPROCS`, `GOROUTINES_STACK_SIZE`), and fails the test with a dump of every
//! goroutine if it has not finished after the timeout: 60 seconds, or as given by
//! `#[goroutines::test(timeout = "10s")]` (units `ms`, `s`, `m`; `timeout = "off"` waits
//! forever). A test with a return type returns its `ExitCode` as `main` does.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, ItemFn, ReturnType};

fn check(f: &ItemFn, what: &str) -> Result<(), syn::Error> {
    if f.sig.asyncness.is_some() {
        return Err(syn::Error::new_spanned(
            f.sig.fn_token,
            format!(
                "#[goroutines::{what}] functions are not async: goroutines block in plain style"
            ),
        ));
    }
    if !f.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &f.sig.inputs,
            format!("#[goroutines::{what}] functions take no arguments"),
        ));
    }
    Ok(())
}

/// Runs `main` as the main goroutine of the default runtime: `fn main() { goroutines::run(move || body) }`.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(proc_macro2::Span::call_site(), "#[goroutines::main] takes no arguments; configure with GOMAXPROCS or goroutines::Builder").to_compile_error().into();
    }
    let f = parse_macro_input!(item as ItemFn);
    if let Err(e) = check(&f, "main") {
        return e.to_compile_error().into();
    }
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = f;
    let ReturnType::Type(_, ret) = sig.output.clone() else {
        return quote! {
            #(#attrs)*
            #vis #sig {
                ::goroutines::run(move || #block)
            }
        }
        .into();
    };
    sig.output = syn::parse_quote!(-> ::std::process::ExitCode);
    quote! {
        #(#attrs)*
        #vis #sig {
            ::goroutines::run(move || {
                let body = move || -> #ret #block;
                ::std::process::Termination::report(body())
            })
        }
    }
    .into()
}

/// `timeout = "10s"` (or "500ms", "2m", "off") as milliseconds; `None` for "off".
fn parse_timeout(attr: TokenStream) -> Result<Option<u64>, syn::Error> {
    let default = Some(60_000);
    if attr.is_empty() {
        return Ok(default);
    }
    let nv: syn::MetaNameValue = syn::parse(attr)?;
    if !nv.path.is_ident("timeout") {
        return Err(syn::Error::new_spanned(
            &nv.path,
            "#[goroutines::test] takes only `timeout = \"10s\"`; configure the runtime with GOMAXPROCS or goroutines::Builder",
        ));
    }
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(lit),
        ..
    }) = &nv.value
    else {
        return Err(syn::Error::new_spanned(
            &nv.value,
            "timeout must be a string such as \"10s\", \"500ms\", \"2m\" or \"off\"",
        ));
    };
    let text = lit.value();
    let t = text.trim();
    if t == "off" {
        return Ok(None);
    }
    let bad = || {
        syn::Error::new_spanned(
            lit,
            format!("invalid timeout {text:?}: expected a whole number with ms, s or m (\"10s\"), or \"off\""),
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" | "min" => n.checked_mul(60_000),
        _ => None,
    };
    match ms {
        Some(ms) if ms > 0 => Ok(Some(ms)),
        _ => Err(bad()),
    }
}

/// Makes a test body the main goroutine of a fresh runtime built from the environment, failing
/// the test with a goroutine dump after a timeout (60 s, or `#[goroutines::test(timeout = "10s")]`).
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let timeout = match parse_timeout(attr) {
        Ok(t) => t,
        Err(e) => return e.to_compile_error().into(),
    };
    let timeout = match timeout {
        Some(ms) => quote!(::core::option::Option::Some(::std::time::Duration::from_millis(#ms))),
        None => quote!(::core::option::Option::None),
    };
    let f = parse_macro_input!(item as ItemFn);
    if let Err(e) = check(&f, "test") {
        return e.to_compile_error().into();
    }
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = f;
    let ReturnType::Type(_, ret) = sig.output.clone() else {
        return quote! {
            #[::core::prelude::v1::test]
            #(#attrs)*
            #vis #sig {
                let _ = ::goroutines::__private::run_test(#timeout, move || #block);
            }
        }
        .into();
    };
    sig.output = syn::parse_quote!(-> ::std::process::ExitCode);
    quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis #sig {
            ::goroutines::__private::run_test(#timeout, move || -> #ret #block)
        }
    }
    .into()
}
