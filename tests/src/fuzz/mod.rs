//! The fuzz targets' checks, shared by `tests/fuzz` (libFuzzer drives them with generated
//! inputs) and the `fuzz_inputs` test (CI replays every seed and every input that once failed).
//! Each `check` panics when an invariant breaks: that is how libFuzzer notices.

// A check harness: a panic is the failure report, and the inputs are the harness's own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::missing_panics_doc
)]

pub mod json;
pub mod request;
pub mod response;
