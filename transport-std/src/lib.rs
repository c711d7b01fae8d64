#![doc = include_str!("../README.md")]
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

/// lwa-core, the protocol core this crate drives: its types are the ones this crate takes and
/// returns (`Session`, `Endpoint`, `Secret`, ...).
#[doc(inline)]
pub use lwa_core as core;

pub mod client;
pub mod driver;
pub mod proxy;
pub mod store;
