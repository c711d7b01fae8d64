//! lwa-std: carries lwa-core's exchanges over blocking std sockets with TLS, for hosts.
//!
//! The blocking client, the token store, the local LWA look-alike and the `lwa` command are
//! built on [`lwa_core`]; this crate re-exports it so that one dependency is enough.

pub use lwa_core as core;
