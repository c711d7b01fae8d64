#![no_std]
#![forbid(unsafe_code)]
#![warn(clippy::std_instead_of_core)]
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
#![doc = include_str!("../README.md")]

#[cfg(test)]
extern crate std;

/// lwa-core, the protocol core this crate drives: its types are the ones this crate takes and
/// returns (`Session`, `Endpoint`, `Secret`, ...).
#[doc(inline)]
pub use lwa_core as core;

#[cfg(feature = "async")]
pub mod asynch;
pub mod blocking;
mod error;
#[cfg(feature = "flash")]
pub mod flash;
#[cfg(feature = "embedded-tls")]
pub mod tls;

pub use error::{DriveError, Error};

/// Exchange buffer that holds any LWA request and response with two 2048-byte tokens
/// (a refresh request with a 2048-byte token is about 2.5 KiB; a token response with two
/// 2048-byte tokens about 4.6 KiB with its head).
pub const EXCHANGE_BUFFER_LEN: usize = 6 * 1024;

pub use lwa_core::session::Next;
