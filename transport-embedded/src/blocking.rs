//! Blocking drivers over [`embedded_io::Read`] + [`embedded_io::Write`].
//!
//! [`run_exchange`] carries one lwa-core exchange over a stream the application opened (a
//! TLS stream, or a modem that terminates TLS itself). [`Driver`] runs a whole
//! [`Session`]: it opens a connection per request through [`Connect`], stores tokens
//! through a [`TokenStore`], and hands back only what needs the application ([`Next`]).
//! The `asynch` module (feature `async`) mirrors this one line for line.
//!
//! ```
//! use lwa_embedded::blocking::run_exchange;
//! use lwa_embedded::core::endpoint::{Endpoint, Region};
//! use lwa_embedded::core::exchange::{Exchange, Outcome};
//! use lwa_embedded::core::request::Request;
//! use lwa_embedded::core::secret::Secret;
//!
//! // A stand-in for a TLS stream: reads come from a recorded answer, writes are kept.
//! struct Recorded<'a> { answer: &'a [u8], sent: usize }
//! impl embedded_io::ErrorType for Recorded<'_> { type Error = core::convert::Infallible; }
//! impl embedded_io::Read for Recorded<'_> {
//!     fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
//!         let n = buf.len().min(self.answer.len());
//!         buf[..n].copy_from_slice(&self.answer[..n]);
//!         self.answer = &self.answer[n..];
//!         Ok(n)
//!     }
//! }
//! impl embedded_io::Write for Recorded<'_> {
//!     fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> { self.sent += buf.len(); Ok(buf.len()) }
//!     fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
//! }
//!
//! let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 90\r\n\r\n{\"access_token\":\"Atza|a\",\"refresh_token\":\"Atzr|b\",\"token_type\":\"bearer\",\"expires_in\":3600}";
//! let mut io = Recorded { answer, sent: 0 };
//! let request = Request::Refresh { client_id: "c", refresh_token: Secret::new("Atzr|b"), client_secret: None };
//! let mut buf = [0u8; lwa_embedded::EXCHANGE_BUFFER_LEN];
//! let exchange = Exchange::new(&Endpoint::region(Region::Na), &request, &mut buf).unwrap();
//! let Outcome::Token(token) = run_exchange(&mut io, exchange).unwrap() else { panic!() };
//! assert_eq!(token.access_token.expose(), "Atza|a");
//! ```

use embedded_io::{Read, Write};
use lwa_core::endpoint::Endpoint;
use lwa_core::exchange::{Exchange, Outcome, Step};
use lwa_core::session::{Action, Failure, Instant, Session, TokenStore};

use crate::{DriveError, Error, Next};

/// Writes the exchange's request to `io`, then reads until the response is complete or the
/// stream ends.
///
/// # Errors
/// [`Error::Io`] from the stream, [`Error::WriteZero`], or [`Error::Exchange`].
pub fn run_exchange<'b, T: Read + Write>(
    io: &mut T,
    exchange: Exchange<'b>,
) -> Result<Outcome<'b>, Error<T::Error>> {
    write_all(io, exchange.poll_transmit())?;
    io.flush().map_err(Error::Io)?;
    let mut rx = exchange.handle_sent();
    loop {
        let space = rx.read_buf()?;
        let n = io.read(space).map_err(Error::Io)?;
        if n == 0 {
            return Ok(rx.handle_eof()?);
        }
        match rx.handle_read(n)? {
            Step::NeedMore(next) => rx = next,
            Step::Done(outcome) => return Ok(outcome),
        }
    }
}

/// `write_all` without embedded-io's panic on a zero-length write.
fn write_all<T: Write>(io: &mut T, mut data: &[u8]) -> Result<(), Error<T::Error>> {
    while !data.is_empty() {
        match io.write(data).map_err(Error::Io)? {
            0 => return Err(Error::WriteZero),
            n => data = data.get(n..).unwrap_or_default(),
        }
    }
    Ok(())
}

/// Opens a connection to an endpoint: a TCP socket with TLS on top (see
/// `tls` module, feature `embedded-tls`), or a modem's TLS socket.
pub trait Connect {
    /// The open connection; it may borrow the connector (its TLS record buffers, say).
    type Connection<'c>: Read + Write
    where
        Self: 'c;
    /// Why a connection could not be opened.
    type Error;

    /// Opens a connection to `endpoint` (TLS when `endpoint.is_tls()`).
    ///
    /// # Errors
    /// Whatever keeps the connection from opening; the session retries after a delay.
    fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<Self::Connection<'_>, Self::Error>;
}

/// Runs a [`Session`] with a connector, a token store, a clock and a random source. See the
/// [module docs](self).
#[derive(Debug)]
pub struct Driver<C, S, K, R> {
    /// Opens connections.
    pub connector: C,
    /// Keeps the tokens across restarts.
    pub store: S,
    /// Monotonic time.
    pub clock: K,
    /// Random values for retry delays.
    pub random: R,
}

impl<C, S, K, R> Driver<C, S, K, R>
where
    C: Connect,
    S: TokenStore,
    K: FnMut() -> Instant,
    R: FnMut() -> u32,
{
    /// Carries out the session's requests and stores until it needs the application.
    ///
    /// Failed connections and exchanges are handed to the session, which schedules a retry
    /// ([`Next::Wait`]). `buf` carries each request and response
    /// ([`EXCHANGE_BUFFER_LEN`](crate::EXCHANGE_BUFFER_LEN) bytes are enough).
    ///
    /// # Errors
    /// [`DriveError::Store`] when the store fails (call again to retry).
    pub fn drive<'s>(
        &mut self,
        session: &'s mut Session<'_>,
        endpoint: &Endpoint<'_>,
        buf: &mut [u8],
    ) -> Result<Next<'s>, DriveError<S::Error>> {
        let halt = loop {
            let now = (self.clock)();
            let action = session.poll(now);
            if let Some(halt) = action.halt() {
                break halt;
            }
            match action {
                // Stopped at above.
                Action::Ready(_)
                | Action::Wait(_)
                | Action::ShowCode { .. }
                | Action::SignIn
                | Action::Stopped(_) => {}
                Action::Send(request) => {
                    let result = match Exchange::new(endpoint, &request, buf) {
                        Err(e) => Err(Failure::Request(e)),
                        Ok(exchange) => match self.connector.connect(endpoint) {
                            Err(_) => Err(Failure::Transport),
                            Ok(mut conn) => {
                                run_exchange(&mut conn, exchange).map_err(|e| e.to_failure())
                            }
                        },
                    };
                    let arrived = (self.clock)();
                    let random = (self.random)();
                    session
                        .handle_response(now, arrived, result, random)
                        .map_err(DriveError::Session)?;
                }
                Action::Persist(tokens) => {
                    let result = self.store.store(&tokens);
                    self.finish_store(session, result)?;
                }
                Action::Forget => {
                    let result = self.store.forget();
                    self.finish_store(session, result)?;
                }
            }
        };
        let now = (self.clock)();
        Ok(session.answer(halt, now))
    }

    fn finish_store(
        &mut self,
        session: &mut Session<'_>,
        result: Result<(), S::Error>,
    ) -> Result<(), DriveError<S::Error>> {
        let now = (self.clock)();
        let random = (self.random)();
        session
            .handle_persisted(now, result.is_ok(), random)
            .map_err(DriveError::Session)?;
        result.map_err(DriveError::Store)
    }
}
