//! lwa-std: Login-with-Amazon tokens for std hosts.
//!
//! - [`client`]: one lwa-core exchange over a blocking `TcpStream`, TLS by rustls with
//!   certificate and host-name checks always on, timeouts on connect, read and write, and
//!   every phase of an exchange (the TLS handshake included) ended by its deadline.
//! - [`store`]: a crash-safe JSON token store (atomic replace, mode 0600, a lock for
//!   writers, lock-free reads; no symbolic link followed, no stale temporary file kept).
//! - [`driver`]: runs lwa-core's session (refresh ahead, retries, code-based linking) with
//!   the client, the store, the system clock and sleeping, with an optional retry limit;
//!   [`Driver::open`](driver::Driver::open) opens it from a token store in one call and
//!   saves what it hands out; one-shot runs make a single request.
//! - [`mock`] (feature `mock`, on by default): a local LWA look-alike over HTTP or HTTPS.
//!
//! The `lwa` command is built from this crate (`src/bin/lwa.rs`).
//!
//! TLS uses rustls with the *ring* crypto provider: it builds with a C compiler alone (no
//! CMake, no Go, no NASM), which keeps the build working on every host and in CI, and it is
//! the provider rustls itself tests most; the protocols are TLS 1.2 and 1.3.

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
