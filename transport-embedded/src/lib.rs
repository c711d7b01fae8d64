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

use lwa_core::secret::Secret;
use lwa_core::session::{Instant, StopReason};

/// Exchange buffer that holds any LWA request and response with two 2048-byte tokens
/// (a refresh request with a 2048-byte token is about 2.5 KiB; a token response with two
/// 2048-byte tokens about 4.6 KiB with its head).
pub const EXCHANGE_BUFFER_LEN: usize = 6 * 1024;

/// What a driver hands back to the application: everything that needs the application's
/// hands (a token to use, time to wait, a code to show, a person, a fix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Next<'s> {
    /// A valid access token.
    Ready(Secret<'s>),
    /// Nothing to do before this instant; call the driver again then.
    Wait(Instant),
    /// Show the user this code and where to enter it; call the driver again.
    ShowCode {
        /// The code.
        user_code: &'s str,
        /// Where to enter it.
        verification_uri: &'s str,
        /// When it expires (a new one is shown then).
        expires_at: Instant,
    },
    /// A person must sign in with an authorization code
    /// ([`Session::authorization_code`](lwa_core::session::Session::authorization_code)).
    SignIn,
    /// LWA refused the configuration; nothing more will be sent.
    Stopped(StopReason),
}

/// What ended a drive loop, before the session is borrowed again for the answer.
#[derive(Clone, Copy)]
enum Halt {
    Ready,
    Wait(Instant),
    ShowCode,
    SignIn,
    Stopped(StopReason),
}

impl Halt {
    /// Turns the halt into the application's answer, borrowing the session.
    fn answer<'s>(self, session: &'s lwa_core::session::Session<'_>, now: Instant) -> Next<'s> {
        match self {
            Self::Ready => match session.access_token(now) {
                Some(token) => Next::Ready(token),
                None => Next::Wait(now),
            },
            Self::Wait(t) => Next::Wait(t),
            Self::ShowCode => match session.linking_code() {
                Some((user_code, verification_uri, expires_at)) => Next::ShowCode {
                    user_code,
                    verification_uri,
                    expires_at,
                },
                None => Next::Wait(now),
            },
            Self::SignIn => Next::SignIn,
            Self::Stopped(r) => Next::Stopped(r),
        }
    }
}
