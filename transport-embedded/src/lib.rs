#![no_std]
#![forbid(unsafe_code)]
#![warn(clippy::std_instead_of_core)]
//! lwa-embedded: carries lwa-core's exchanges over any `embedded-io` stream, for devices.
//!
//! The drivers run [`lwa_core`]'s exchanges on a stream the application opened; this crate
//! re-exports it so that one dependency is enough.

pub use lwa_core as core;
