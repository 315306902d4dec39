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
//! and
//! ```ignore
//! #[goroutines::test]
//! fn t() { /* body */ }
//! ```
//! to
//! ```ignore
//! #[test]
//! fn t() {
//!     let rt = ::goroutines::Builder::new().build().expect("goroutines: cannot build a test runtime");
//!     rt.run(move || { /* body */ })
//! }
//! ```
//! so each test runs as the main goroutine of a fresh runtime configured from the environment
//! (`GOMAXPROCS`, `GOROUTINES_STACK_SIZE`).

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, ItemFn};

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
        sig,
        block,
    } = f;
    quote! {
        #(#attrs)*
        #vis #sig {
            ::goroutines::run(move || #block)
        }
    }
    .into()
}

/// Makes a test body the main goroutine of a fresh runtime built from the environment.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(proc_macro2::Span::call_site(), "#[goroutines::test] takes no arguments; configure with GOMAXPROCS or goroutines::Builder").to_compile_error().into();
    }
    let f = parse_macro_input!(item as ItemFn);
    if let Err(e) = check(&f, "test") {
        return e.to_compile_error().into();
    }
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = f;
    quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis #sig {
            let rt = ::goroutines::Builder::new().build().expect("goroutines: cannot build a test runtime");
            rt.run(move || #block)
        }
    }
    .into()
}
