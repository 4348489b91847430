//! End-to-end tests across the crates live in `tests/`; this library only
//! compiles the README's Rust examples as doc tests.

/// The README's examples, compiled (and, where they can, run) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
