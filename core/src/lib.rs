#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! lwa-core (placeholder docs replaced below)

#[cfg(test)]
extern crate std;

pub mod endpoint;
pub mod error;
pub mod form;
pub mod http;
pub mod json;
pub mod request;
pub mod secret;
