//! One request and its response, sans I/O: bytes out, bytes in, a typed outcome.
//!
//! The states are types, so calls out of order do not compile:
//!
//! 1. [`Exchange::new`] writes the request into the caller's buffer.
//! 2. Write [`Exchange::poll_transmit`] to the connection (all of it), then call
//!    [`Exchange::handle_sent`]: the request bytes are dead and the same buffer receives the
//!    response.
//! 3. Read into [`Receiving::read_buf`] and report the count with
//!    [`Receiving::handle_read`] (or hand over bytes you already have with
//!    [`Receiving::handle_data`]). Each call answers [`Step::NeedMore`], giving the state
//!    back, or [`Step::Done`] with the [`Outcome`].
//! 4. At end of stream call [`Receiving::handle_eof`] instead: it ends the exchange.
//!
//! The outcome borrows the buffer; copy what you keep (the session does) before reusing it.
//! An OAuth error answer is an [`Outcome`], not an error: the server answered properly.
//! [`ExchangeError`] is for answers that are broken, cut short, too large, redirects, or
//! error statuses without an OAuth body.
//!
//! ```
//! use lwa_core::endpoint::{Endpoint, Region};
//! use lwa_core::exchange::{Exchange, Outcome, Step};
//! use lwa_core::request::Request;
//! use lwa_core::secret::Secret;
//!
//! let request = Request::Refresh {
//!     client_id: "amzn1.application-oa2-client.abc",
//!     refresh_token: Secret::new("Atzr|old"),
//!     client_secret: Some(Secret::new("s3cr3t")),
//! };
//! let mut buf = [0u8; 1024];
//! let exchange = Exchange::new(&Endpoint::region(Region::Na), &request, &mut buf).unwrap();
//! assert!(exchange.poll_transmit().starts_with(b"POST /auth/o2/token HTTP/1.1\r\n"));
//! // ... write exchange.poll_transmit() to the connection ...
//! let mut rx = exchange.handle_sent();
//!
//! let wire: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 94\r\n\r\n\
//!     {\"access_token\":\"Atza|new\",\"refresh_token\":\"Atzr|new\",\"token_type\":\"bearer\",\"expires_in\":3600}";
//! let mut incoming = wire.chunks(10); // the network delivers pieces
//! let outcome = loop {
//!     let piece = incoming.next().unwrap();
//!     let space = rx.read_buf().unwrap();
//!     space[..piece.len()].copy_from_slice(piece);
//!     match rx.handle_read(piece.len()).unwrap() {
//!         Step::NeedMore(next) => rx = next,
//!         Step::Done(outcome) => break outcome,
//!     }
//! };
//! let Outcome::Token(token) = outcome else { panic!() };
//! assert_eq!(token.access_token.expose(), "Atza|new");
//! assert_eq!(token.expires_in, Some(3600));
//! ```

use crate::endpoint::Endpoint;
use crate::error::{EmitError, ExchangeError};
use crate::http::{Limits, Response, ResponseReader, Status};
use crate::json::{self, CodePairResponse, OAuthError, TokenResponse};
use crate::request::{DEFAULT_USER_AGENT, Request, ResponseKind};

/// Settings of an exchange beyond the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options<'a> {
    /// The `User-Agent` header (visible ASCII and spaces).
    pub user_agent: &'a str,
    /// Response size limits.
    pub limits: Limits,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            user_agent: DEFAULT_USER_AGENT,
            limits: Limits::default(),
        }
    }
}

/// A successful end of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome<'buf> {
    /// Tokens (answer to an authorization code, refresh or device-code request).
    Token(TokenResponse<'buf>),
    /// A code pair (answer to a code-pair request).
    CodePair(CodePairResponse<'buf>),
    /// The server refused with an OAuth error.
    OAuthError {
        /// The HTTP status (400 or 401 in practice).
        status: u16,
        /// `Retry-After` in seconds, if sent.
        retry_after: Option<u32>,
        /// The error code and description.
        error: OAuthError<'buf>,
    },
}

/// An exchange whose request is written and waiting to be sent.
#[derive(Debug)]
pub struct Exchange<'buf> {
    buf: &'buf mut [u8],
    len: usize,
    kind: ResponseKind,
    limits: Limits,
}

impl<'buf> Exchange<'buf> {
    /// Writes `request` for `endpoint` into `buf` with default [`Options`].
    ///
    /// # Errors
    /// [`EmitError`], e.g. [`EmitError::BufferTooSmall`] with the size required.
    ///
    /// ```
    /// use lwa_core::endpoint::{Endpoint, Region};
    /// use lwa_core::error::EmitError;
    /// use lwa_core::exchange::Exchange;
    /// use lwa_core::request::Request;
    /// use lwa_core::secret::Secret;
    /// let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// let mut small = [0u8; 10];
    /// let err = Exchange::new(&Endpoint::region(Region::Na), &r, &mut small).unwrap_err();
    /// assert!(matches!(err, EmitError::BufferTooSmall { required } if required > 10));
    /// ```
    pub fn new(
        endpoint: &Endpoint<'_>,
        request: &Request<'_>,
        buf: &'buf mut [u8],
    ) -> Result<Self, EmitError> {
        Self::with_options(endpoint, request, &Options::default(), buf)
    }

    /// Writes `request` for `endpoint` into `buf` with the given [`Options`].
    ///
    /// # Errors
    /// [`EmitError`].
    ///
    /// ```
    /// use lwa_core::endpoint::{Endpoint, Region};
    /// use lwa_core::exchange::{Exchange, Options};
    /// use lwa_core::request::Request;
    /// use lwa_core::secret::Secret;
    /// let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// let options = Options { user_agent: "speaker/1.0", ..Options::default() };
    /// let mut buf = [0u8; 512];
    /// let x = Exchange::with_options(&Endpoint::region(Region::Na), &r, &options, &mut buf).unwrap();
    /// assert!(x.poll_transmit().windows(23).any(|w| w == b"User-Agent: speaker/1.0"));
    /// ```
    pub fn with_options(
        endpoint: &Endpoint<'_>,
        request: &Request<'_>,
        options: &Options<'_>,
        buf: &'buf mut [u8],
    ) -> Result<Self, EmitError> {
        let len = request.emit_with_user_agent(endpoint, options.user_agent, buf)?;
        Ok(Self {
            buf,
            len,
            kind: request.response_kind(),
            limits: options.limits,
        })
    }

    /// The request bytes to write, all of them, before [`handle_sent`](Self::handle_sent).
    ///
    /// ```
    /// # use lwa_core::{endpoint::*, exchange::*, request::*, secret::Secret};
    /// # let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// # let mut buf = [0u8; 512];
    /// let x = Exchange::new(&Endpoint::region(Region::Na), &r, &mut buf).unwrap();
    /// assert!(x.poll_transmit().ends_with(b"grant_type=device_code&device_code=d&user_code=U"));
    /// ```
    #[must_use]
    pub fn poll_transmit(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The request has been written in full: start receiving the response in the same
    /// buffer.
    ///
    /// ```
    /// # use lwa_core::{endpoint::*, exchange::*, request::*, secret::Secret};
    /// # let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// # let mut buf = [0u8; 512];
    /// let x = Exchange::new(&Endpoint::region(Region::Na), &r, &mut buf).unwrap();
    /// let mut rx = x.handle_sent();
    /// assert_eq!(rx.read_buf().unwrap().len(), 512);
    /// ```
    #[must_use]
    pub fn handle_sent(self) -> Receiving<'buf> {
        Receiving {
            reader: ResponseReader::new(self.buf, self.limits),
            kind: self.kind,
        }
    }
}

/// An exchange waiting for (more of) its response.
#[derive(Debug)]
pub struct Receiving<'buf> {
    reader: ResponseReader<'buf>,
    kind: ResponseKind,
}

/// What a read led to.
#[derive(Debug)]
#[must_use]
pub enum Step<'buf> {
    /// More bytes are needed: read again into this state's [`Receiving::read_buf`].
    NeedMore(Receiving<'buf>),
    /// The response is complete.
    Done(Outcome<'buf>),
}

impl<'buf> Receiving<'buf> {
    /// Where to read the next bytes into. Never empty.
    ///
    /// # Errors
    /// [`ExchangeError::Http`] with `HeadTooLarge`, `BodyTooLarge` or `FramingTooLarge` when
    /// the buffer is full.
    ///
    /// ```
    /// # use lwa_core::{endpoint::*, exchange::*, request::*, secret::Secret};
    /// # let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// # let mut buf = [0u8; 512];
    /// let mut rx = Exchange::new(&Endpoint::region(Region::Na), &r, &mut buf).unwrap().handle_sent();
    /// assert!(!rx.read_buf().unwrap().is_empty());
    /// ```
    pub fn read_buf(&mut self) -> Result<&mut [u8], ExchangeError> {
        self.reader.read_buf().map_err(ExchangeError::Http)
    }

    /// Takes the `n` bytes just read into [`read_buf`](Self::read_buf).
    ///
    /// # Errors
    /// [`ExchangeError`] for a broken, oversized or redirecting response, or a success body
    /// that is not the expected JSON.
    ///
    /// ```
    /// # use lwa_core::{endpoint::*, exchange::*, request::*, secret::Secret};
    /// # let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// # let mut buf = [0u8; 512];
    /// let mut rx = Exchange::new(&Endpoint::region(Region::Na), &r, &mut buf).unwrap().handle_sent();
    /// rx.read_buf().unwrap()[..5].copy_from_slice(b"HTTP/");
    /// assert!(matches!(rx.handle_read(5), Ok(Step::NeedMore(_))));
    /// ```
    pub fn handle_read(mut self, n: usize) -> Result<Step<'buf>, ExchangeError> {
        match self.reader.handle_read(n)? {
            Status::Partial => Ok(Step::NeedMore(self)),
            Status::Complete => self.finish().map(Step::Done),
        }
    }

    /// Takes bytes that are already in another buffer (a TLS library's plaintext, a test
    /// vector), copying them in as space allows.
    ///
    /// # Errors
    /// As [`handle_read`](Self::handle_read), and `HeadTooLarge`/`BodyTooLarge`/`FramingTooLarge` when `data`
    /// does not fit.
    ///
    /// ```
    /// # use lwa_core::{endpoint::*, exchange::*, request::*, secret::Secret};
    /// # let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// # let mut buf = [0u8; 512];
    /// let rx = Exchange::new(&Endpoint::region(Region::Na), &r, &mut buf).unwrap().handle_sent();
    /// let wire = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\n\r\n{\"error\":\"invalid_grant\"}";
    /// let Ok(Step::Done(Outcome::OAuthError { status, error, .. })) = rx.handle_data(wire) else { panic!() };
    /// assert_eq!((status, error.code.as_str()), (400, "invalid_grant"));
    /// ```
    pub fn handle_data(mut self, mut data: &[u8]) -> Result<Step<'buf>, ExchangeError> {
        loop {
            if data.is_empty() {
                return Ok(Step::NeedMore(self));
            }
            let space = self.read_buf()?;
            let n = space.len().min(data.len());
            let (now, later) = data.split_at(n);
            if let Some(dst) = space.get_mut(..n) {
                dst.copy_from_slice(now);
            }
            data = later;
            match self.handle_read(n)? {
                Step::NeedMore(next) => self = next,
                done @ Step::Done(_) => return Ok(done),
            }
        }
    }

    /// The connection ended. Completes a response delimited by the end of the connection;
    /// otherwise the response was cut short.
    ///
    /// # Errors
    /// [`ExchangeError::Http`] with `Truncated` if the response was incomplete, or any error
    /// the completed response has.
    ///
    /// ```
    /// # use lwa_core::{endpoint::*, exchange::*, request::*, secret::Secret, error::*};
    /// # let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// # let mut buf = [0u8; 512];
    /// let rx = Exchange::new(&Endpoint::region(Region::Na), &r, &mut buf).unwrap().handle_sent();
    /// assert_eq!(rx.handle_eof(), Err(ExchangeError::Http(HttpError::Truncated)));
    /// ```
    pub fn handle_eof(mut self) -> Result<Outcome<'buf>, ExchangeError> {
        match self.reader.handle_eof()? {
            Status::Complete => self.finish(),
            // `handle_eof` never answers Partial; stay total anyway.
            Status::Partial => Err(ExchangeError::Http(crate::error::HttpError::Truncated)),
        }
    }

    fn finish(self) -> Result<Outcome<'buf>, ExchangeError> {
        let kind = self.kind;
        let response = self
            .reader
            .into_response()
            .ok_or(ExchangeError::Http(crate::error::HttpError::Truncated))?;
        classify(response, kind)
    }
}

/// Turns a complete response into an outcome: 2xx bodies are the expected success JSON;
/// other statuses are OAuth errors if their body is one, plain status errors otherwise.
fn classify(response: Response<'_>, kind: ResponseKind) -> Result<Outcome<'_>, ExchangeError> {
    let Response {
        status,
        retry_after,
        body,
        ..
    } = response;
    if (200..300).contains(&status) {
        return match kind {
            ResponseKind::Token => Ok(Outcome::Token(json::parse_token(body)?)),
            ResponseKind::CodePair => Ok(Outcome::CodePair(json::parse_code_pair(body)?)),
        };
    }
    match json::parse_oauth_error(body) {
        Ok(error) => Ok(Outcome::OAuthError {
            status,
            retry_after,
            error,
        }),
        Err(_) => Err(ExchangeError::Status {
            status,
            retry_after,
        }),
    }
}
