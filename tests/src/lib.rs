// A helper crate for tests: a missing vector file is a broken checkout, and panicking says so.
#![allow(clippy::panic)]

//! Shared helpers for lwa's cross-crate tests, property tests and benchmarks.
//!
//! The public LWA test vectors live in `tests/vectors/` (copied from the protocol notes; a
//! test checks the copy against the originals when they are present beside the repository).

use std::path::PathBuf;

pub mod alloc;
pub mod fixture;
pub mod fuzz;

/// Folder of the test vectors.
#[must_use]
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Reads one vector file, e.g. `token-ok.http`.
///
/// # Panics
/// If the file is missing: the vectors are part of the repository.
#[must_use]
pub fn vector(name: &str) -> Vec<u8> {
    let path = vectors_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The top-level README's examples, run as doctests (with the host crates).
#[cfg(all(doctest, feature = "host"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
