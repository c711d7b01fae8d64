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

#[cfg(feature = "fast")]
mod blocks;
mod bytes;
pub mod endpoint;
pub mod error;
pub mod exchange;
pub mod form;
pub mod http;
pub mod json;
pub mod limits;
pub mod pkce;
pub mod request;
pub mod secret;
pub mod session;
