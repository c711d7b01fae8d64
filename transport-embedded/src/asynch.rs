//! Async drivers over [`embedded_io_async::Read`] + [`embedded_io_async::Write`].
//!
//! [`run_exchange`] carries one lwa-core exchange over a stream the application opened (a
//! TLS stream, or a modem that terminates TLS itself). [`Driver`] runs a whole
//! [`Session`]: it opens a connection per request through [`Connect`], stores tokens
//! through a [`TokenStore`], and hands back only what needs the application ([`Next`]).
//! It mirrors [`blocking`](crate::blocking) line for line.
//!
//! ```
//! use lwa_embedded::asynch::run_exchange;
//! use lwa_embedded::core::endpoint::{Endpoint, Region};
//! use lwa_embedded::core::exchange::{Exchange, Outcome};
//! use lwa_embedded::core::request::Request;
//! use lwa_embedded::core::secret::Secret;
//!
//! // A stand-in for an async TLS stream: reads come from a recorded answer.
//! struct Recorded<'a> { answer: &'a [u8] }
//! impl embedded_io_async::ErrorType for Recorded<'_> { type Error = core::convert::Infallible; }
//! impl embedded_io_async::Read for Recorded<'_> {
//!     async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
//!         let n = buf.len().min(self.answer.len());
//!         buf[..n].copy_from_slice(&self.answer[..n]);
//!         self.answer = &self.answer[n..];
//!         Ok(n)
//!     }
//! }
//! impl embedded_io_async::Write for Recorded<'_> {
//!     async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> { Ok(buf.len()) }
//!     async fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
//! }
//!
//! let answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\n\r\n{\"error\":\"invalid_grant\"}";
//! let mut io = Recorded { answer };
//! let request = Request::Refresh { client_id: "c", refresh_token: Secret::new("Atzr|b"), client_secret: None };
//! let mut buf = [0u8; lwa_embedded::EXCHANGE_BUFFER_LEN];
//! let exchange = Exchange::new(&Endpoint::region(Region::Na), &request, &mut buf).unwrap();
//! let outcome = pollster::block_on(run_exchange(&mut io, exchange)).unwrap();
//! assert!(matches!(outcome, Outcome::OAuthError { status: 400, .. }));
//! ```

use embedded_io_async::{Read, Write};
use lwa_core::endpoint::Endpoint;
use lwa_core::exchange::{Exchange, Outcome, Step};
use lwa_core::session::{Action, Failure, Instant, Session, Tokens};

use crate::{DriveError, Error, Next};

/// Writes the exchange's request to `io`, then reads until the response is complete or the
/// stream ends.
///
/// # Errors
/// [`Error::Io`] from the stream, [`Error::WriteZero`], or [`Error::Exchange`].
pub async fn run_exchange<'b, T: Read + Write>(
    io: &mut T,
    exchange: Exchange<'b>,
) -> Result<Outcome<'b>, Error<T::Error>> {
    write_all(io, exchange.poll_transmit()).await?;
    io.flush().await.map_err(Error::Io)?;
    let mut rx = exchange.handle_sent();
    loop {
        let space = rx.read_buf()?;
        let n = io.read(space).await.map_err(Error::Io)?;
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
async fn write_all<T: Write>(io: &mut T, mut data: &[u8]) -> Result<(), Error<T::Error>> {
    while !data.is_empty() {
        match io.write(data).await.map_err(Error::Io)? {
            0 => return Err(Error::WriteZero),
            n => data = data.get(n..).unwrap_or_default(),
        }
    }
    Ok(())
}

/// Durable storage for the async driver: lwa-core's
/// [`TokenStore`](lwa_core::session::TokenStore) with calls that may wait (a flash chip
/// erasing a page). Every blocking store is one, as it is; [`AsyncFlashStore`] (feature
/// `flash`) is one of its own.
///
/// [`AsyncFlashStore`]: https://docs.rs/lwa-embedded/latest/lwa_embedded/flash/struct.AsyncFlashStore.html
///
/// ```
/// use lwa_embedded::asynch::TokenStore;
/// use lwa_embedded::core::secret::Secret;
/// use lwa_embedded::core::session::Tokens;
///
/// struct Count(u32);
/// impl lwa_embedded::core::session::TokenStore for Count {
///     type Error = ();
///     fn store(&mut self, _: &Tokens<'_>) -> Result<(), ()> { self.0 += 1; Ok(()) }
///     fn forget(&mut self) -> Result<(), ()> { Ok(()) }
/// }
/// let mut store = Count(0);
/// let tokens = Tokens { refresh_token: Secret::new("Atzr|1"), access_token: None };
/// pollster::block_on(TokenStore::store(&mut store, &tokens)).unwrap();
/// assert_eq!(store.0, 1);
/// ```
// The driver is generic over the store and awaits it where it runs; no `Send` bound is wanted
// on single-threaded executors.
#[allow(async_fn_in_trait)]
pub trait TokenStore {
    /// Why a store or delete failed.
    type Error;

    /// Replaces the stored tokens. On error the previously stored ones must stay intact.
    ///
    /// # Errors
    /// Whatever the storage reports.
    async fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), Self::Error>;

    /// Deletes the stored tokens.
    ///
    /// # Errors
    /// Whatever the storage reports.
    async fn forget(&mut self) -> Result<(), Self::Error>;
}

impl<T: lwa_core::session::TokenStore> TokenStore for T {
    type Error = T::Error;

    async fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), Self::Error> {
        lwa_core::session::TokenStore::store(self, tokens)
    }

    async fn forget(&mut self) -> Result<(), Self::Error> {
        lwa_core::session::TokenStore::forget(self)
    }
}

/// Opens a connection to an endpoint: a TCP socket with TLS on top (see
/// `tls` module, feature `embedded-tls`), or a modem's TLS socket.
// Device executors (embassy and the like) run on one thread and need no `Send` bound on the
// returned future.
#[allow(async_fn_in_trait)]
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
    async fn connect(
        &mut self,
        endpoint: &Endpoint<'_>,
    ) -> Result<Self::Connection<'_>, Self::Error>;
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
    pub async fn drive<'s>(
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
                        Ok(exchange) => match self.connector.connect(endpoint).await {
                            Err(_) => Err(Failure::Transport),
                            Ok(mut conn) => run_exchange(&mut conn, exchange)
                                .await
                                .map_err(|e| e.to_failure()),
                        },
                    };
                    let arrived = (self.clock)();
                    let random = (self.random)();
                    session
                        .handle_response(now, arrived, result, random)
                        .map_err(DriveError::Session)?;
                }
                Action::Persist(tokens) => {
                    let result = self.store.store(&tokens).await;
                    self.finish_store(session, result)?;
                }
                Action::Forget => {
                    let result = self.store.forget().await;
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
