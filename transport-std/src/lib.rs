#![doc = include_str!("../README.md")]
//!
//! The `lwa` command is built from this crate (`src/bin/lwa.rs`, feature `cli`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub use lwa_core as core;

pub mod client;
pub mod driver;
#[cfg(feature = "mock")]
pub mod mock;
pub mod store;
