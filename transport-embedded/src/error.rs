use core::fmt;

use lwa_core::error::{EmitError, ExchangeError};
use lwa_core::session::{Failure, SessionError};

/// Why an exchange over a stream failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error<E> {
    /// The stream failed.
    Io(E),
    /// The stream accepted no bytes (`write` returned 0).
    WriteZero,
    /// The request could not be written into the buffer.
    Request(EmitError),
    /// The answer was broken, too large, a redirect, or an error page.
    Exchange(ExchangeError),
}

impl<E> Error<E> {
    /// The session's view of this failure.
    ///
    /// ```
    /// use lwa_embedded::Error;
    /// use lwa_embedded::core::session::Failure;
    /// assert_eq!(Error::<()>::WriteZero.to_failure(), Failure::Transport);
    /// ```
    pub fn to_failure(&self) -> Failure {
        match self {
            Self::Io(_) | Self::WriteZero => Failure::Transport,
            Self::Request(e) => Failure::Request(*e),
            Self::Exchange(e) => Failure::Exchange(*e),
        }
    }
}

impl<E> From<ExchangeError> for Error<E> {
    fn from(e: ExchangeError) -> Self {
        Self::Exchange(e)
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "stream error: {e:?}"),
            Self::WriteZero => f.write_str("stream accepted no bytes"),
            Self::Request(e) => write!(f, "request: {e}"),
            Self::Exchange(e) => write!(f, "response: {e}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

/// Why a drive loop returned without an answer for the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DriveError<S> {
    /// Storing or deleting tokens failed. The session keeps them and retries after a delay
    /// on the next call.
    Store(S),
    /// The session was driven out of order (a bug in the driver).
    Session(SessionError),
}

impl<S: fmt::Debug> fmt::Display for DriveError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(e) => write!(f, "token store: {e:?}"),
            Self::Session(e) => write!(f, "session: {e}"),
        }
    }
}

impl<S: fmt::Debug> core::error::Error for DriveError<S> {}
