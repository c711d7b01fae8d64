//! Error types, one enum per concern, each with a short lowercase `Display`.
//!
//! | concern | type | raised by |
//! |---|---|---|
//! | a fixed-capacity copy would not fit | [`CapacityError`] | [`SecretBuf`](crate::secret::SecretBuf) |
//! | writing a request | [`EmitError`] | [`Request::emit`](crate::request::Request::emit) |
//! | an origin or host | [`EndpointError`] | [`Endpoint`](crate::endpoint::Endpoint) |
//! | HTTP framing of the response | [`HttpError`] | [`http`](crate::http) |
//! | the JSON body | [`JsonError`] | [`json`](crate::json) |
//! | a whole exchange | [`ExchangeError`] | [`exchange`](crate::exchange) |
//! | PKCE input | [`PkceError`] | [`pkce`](crate::pkce) |
//!
//! All are `Copy`, implement [`core::error::Error`], and never contain secret values.

use core::fmt;

/// A value does not fit a fixed-capacity buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CapacityError {
    /// Bytes the value needs.
    pub required: usize,
    /// Bytes the buffer holds at most.
    pub capacity: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "value needs {} bytes but the buffer holds {}",
            self.required, self.capacity
        )
    }
}

impl core::error::Error for CapacityError {}

/// A request could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EmitError {
    /// The output buffer is too small; nothing usable was written. Retry with a buffer of at
    /// least `required` bytes.
    BufferTooSmall {
        /// Size the whole request needs.
        required: usize,
    },
    /// A required parameter is empty.
    EmptyParameter {
        /// The parameter's name on the wire (`client_id`, `code`, ...).
        name: &'static str,
    },
    /// A parameter holds characters it may not (a `User-Agent` with a line break, ...).
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// A parameter is longer than LWA accepts.
    ParameterTooLong {
        /// The parameter's name on the wire.
        name: &'static str,
        /// The most bytes allowed.
        max: usize,
    },
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { required } => {
                write!(f, "request buffer too small: {required} bytes required")
            }
            Self::EmptyParameter { name } => write!(f, "parameter `{name}` is empty"),
            Self::InvalidParameter { name } => {
                write!(f, "parameter `{name}` holds characters it may not")
            }
            Self::ParameterTooLong { name, max } => {
                write!(f, "parameter `{name}` is longer than {max} bytes")
            }
        }
    }
}

impl core::error::Error for EmitError {}

/// An origin, host or port was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EndpointError {
    /// The scheme is neither `https` nor `http`.
    UnsupportedScheme,
    /// The origin has a path, query, fragment or user info; only `scheme://host[:port]` is
    /// accepted.
    NotAnOrigin,
    /// The host is empty or has characters a host name or IP literal cannot have.
    InvalidHost,
    /// The port is not a number from 1 to 65535.
    InvalidPort,
    /// Plain `http://` was asked for a host that is not a loopback address. Tokens and
    /// secrets travel in the clear over plain HTTP, so it is only allowed to this machine.
    PlainHttpNotLoopback,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnsupportedScheme => "unsupported scheme: use https:// (or http:// to loopback)",
            Self::NotAnOrigin => "not an origin: expected scheme://host[:port] and nothing more",
            Self::InvalidHost => "invalid host",
            Self::InvalidPort => "invalid port: expected 1 to 65535",
            Self::PlainHttpNotLoopback => {
                "plain http:// is refused for hosts other than loopback: use https://"
            }
        })
    }
}

impl core::error::Error for EndpointError {}

/// What was wrong with the syntax of a response head (from httparse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HeadSyntax {
    /// Invalid byte in a header name.
    HeaderName,
    /// Invalid byte in a header value.
    HeaderValue,
    /// Invalid line ending.
    NewLine,
    /// Invalid status code or reason phrase.
    Status,
    /// Invalid byte where a token is required.
    Token,
    /// Not an `HTTP/1.x` response.
    Version,
    /// A trailer field continued on the next line (obsolete line folding, RFC 9112 5.2).
    /// Folded fields in the head are unfolded; in trailers, which lwa does not read, they
    /// are refused.
    ObsFold,
}

impl HeadSyntax {
    /// Maps httparse's error (`TooManyHeaders` is reported as [`HttpError::TooManyHeaders`]).
    pub(crate) fn from_httparse(e: httparse::Error) -> HttpError {
        HttpError::InvalidHead(match e {
            httparse::Error::HeaderName => Self::HeaderName,
            httparse::Error::HeaderValue => Self::HeaderValue,
            httparse::Error::NewLine => Self::NewLine,
            httparse::Error::Status => Self::Status,
            httparse::Error::Token => Self::Token,
            httparse::Error::Version => Self::Version,
            httparse::Error::TooManyHeaders => return HttpError::TooManyHeaders,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::HeaderName => "invalid header name",
            Self::HeaderValue => "invalid header value",
            Self::NewLine => "invalid line ending",
            Self::Status => "invalid status line",
            Self::Token => "invalid token",
            Self::Version => "not an HTTP/1.x response",
            Self::ObsFold => "obsolete line folding in a trailer field",
        }
    }
}

/// The response's HTTP framing was wrong, too large, or cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HttpError {
    /// The status line or a header is malformed.
    InvalidHead(HeadSyntax),
    /// More header fields than [`MAX_HEADERS`](crate::limits::MAX_HEADERS).
    TooManyHeaders,
    /// The response head (with any 1xx interim heads before it) exceeds the limit.
    HeadTooLarge {
        /// Bytes allowed: the configured limit or the buffer, whichever is smaller.
        limit: usize,
    },
    /// The body exceeds the limit.
    BodyTooLarge {
        /// Bytes allowed: the configured limit or what the buffer can hold, whichever is
        /// smaller.
        limit: usize,
    },
    /// `Content-Length` is not a number, or two of them disagree.
    InvalidContentLength,
    /// A chunk-size line, or the CRLF after a chunk, is malformed.
    InvalidChunk,
    /// Chunked framing, a chunk-size line (with its extensions) or the trailers, does not fit
    /// in the buffer after the body decoded so far: the buffer is too small for the answer,
    /// although the body itself may fit.
    FramingTooLarge {
        /// Bytes the buffer had left after the decoded body.
        room: usize,
    },
    /// A `Transfer-Encoding` other than `chunked` (alone or last) that cannot be decoded.
    UnsupportedTransferEncoding,
    /// A `Content-Encoding` other than `identity` (the request asks for none).
    UnsupportedContentEncoding,
    /// A 3xx answer. Redirects are never followed: the request body holds secrets.
    Redirect {
        /// The status code.
        status: u16,
    },
    /// A status that makes no sense for this request (101 Switching Protocols).
    UnexpectedStatus {
        /// The status code.
        status: u16,
    },
    /// The connection ended before the response was complete.
    Truncated,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHead(s) => write!(f, "malformed response head: {}", s.as_str()),
            Self::TooManyHeaders => write!(
                f,
                "response has more than {} header fields",
                crate::limits::MAX_HEADERS
            ),
            Self::HeadTooLarge { limit } => {
                write!(f, "response head larger than {limit} bytes")
            }
            Self::BodyTooLarge { limit } => {
                write!(f, "response body larger than {limit} bytes")
            }
            Self::InvalidContentLength => f.write_str("invalid content-length"),
            Self::InvalidChunk => f.write_str("malformed chunked encoding"),
            Self::FramingTooLarge { room } => write!(
                f,
                "a chunk-size line or the trailers do not fit in the {room} bytes the buffer has left after the body"
            ),
            Self::UnsupportedTransferEncoding => f.write_str("unsupported transfer-encoding"),
            Self::UnsupportedContentEncoding => f.write_str("unsupported content-encoding"),
            Self::Redirect { status } => {
                write!(
                    f,
                    "redirect (HTTP {status}) refused: redirects are never followed"
                )
            }
            Self::UnexpectedStatus { status } => write!(f, "unexpected HTTP status {status}"),
            Self::Truncated => f.write_str("connection closed before the response was complete"),
        }
    }
}

impl core::error::Error for HttpError {}

/// Which JSON document was being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BodyKind {
    /// A token response (`access_token`, ...).
    Token,
    /// A code-pair response (`device_code`, `user_code`, ...).
    CodePair,
    /// An OAuth error response (`error`, `error_description`).
    OAuthError,
}

impl BodyKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token response",
            Self::CodePair => "code-pair response",
            Self::OAuthError => "error response",
        }
    }
}

/// What was wrong with a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JsonErrorKind {
    /// Not JSON, or not a JSON object where one is needed.
    Syntax,
    /// The JSON text ends in the middle of a value.
    Eof,
    /// Text after the end of the object.
    TrailingCharacters,
    /// A member has the wrong JSON type (a number where a string belongs, ...).
    InvalidType,
    /// A number is malformed, negative, or too large.
    InvalidNumber,
    /// A string has an invalid escape sequence or is not UTF-8.
    InvalidString,
    /// Objects and arrays nest deeper than [`MAX_DEPTH`](crate::limits::MAX_DEPTH).
    TooDeep,
    /// A required member is missing.
    MissingMember,
    /// A member appears twice.
    DuplicateMember,
    /// A string is longer than the protocol allows.
    TooLong {
        /// The most bytes allowed.
        max: usize,
    },
}

/// A JSON body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct JsonError {
    /// The document being read.
    pub body: BodyKind,
    /// The member where it went wrong, when known.
    pub member: Option<&'static str>,
    /// What went wrong.
    pub kind: JsonErrorKind,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.body.as_str())?;
        if let Some(member) = self.member {
            write!(f, ": member `{member}`")?;
        }
        match self.kind {
            JsonErrorKind::Syntax => f.write_str(": invalid JSON"),
            JsonErrorKind::Eof => f.write_str(": JSON ends too early"),
            JsonErrorKind::TrailingCharacters => f.write_str(": text after the JSON object"),
            JsonErrorKind::InvalidType => f.write_str(": wrong JSON type"),
            JsonErrorKind::InvalidNumber => f.write_str(": invalid number"),
            JsonErrorKind::InvalidString => f.write_str(": invalid string escape or UTF-8"),
            JsonErrorKind::TooDeep => {
                write!(
                    f,
                    ": nested deeper than {} levels",
                    crate::limits::MAX_DEPTH
                )
            }
            JsonErrorKind::MissingMember => f.write_str(": missing"),
            JsonErrorKind::DuplicateMember => f.write_str(": appears twice"),
            JsonErrorKind::TooLong { max } => write!(f, ": longer than {max} bytes"),
        }
    }
}

impl core::error::Error for JsonError {}

/// An exchange ended without a usable answer.
///
/// An OAuth error answer (`{"error":"invalid_grant",...}`) is *not* an `ExchangeError`: it is
/// a well-formed answer, [`Outcome::OAuthError`](crate::exchange::Outcome::OAuthError).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ExchangeError {
    /// The HTTP framing was wrong, too large, a redirect, or cut short.
    Http(HttpError),
    /// A success (2xx) body that is not the expected JSON.
    Json(JsonError),
    /// A non-2xx status without an OAuth error body (an HTML error page, an empty 503).
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After` in seconds, when the server sent the delta-seconds form.
        retry_after: Option<u32>,
    },
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(e) => fmt::Display::fmt(e, f),
            Self::Json(e) => fmt::Display::fmt(e, f),
            Self::Status {
                status,
                retry_after: Some(s),
            } => write!(
                f,
                "HTTP status {status} without an OAuth error body (retry after {s} s)"
            ),
            Self::Status { status, .. } => {
                write!(f, "HTTP status {status} without an OAuth error body")
            }
        }
    }
}

impl core::error::Error for ExchangeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            Self::Json(e) => Some(e),
            Self::Status { .. } => None,
        }
    }
}

impl From<HttpError> for ExchangeError {
    fn from(e: HttpError) -> Self {
        Self::Http(e)
    }
}

impl From<JsonError> for ExchangeError {
    fn from(e: JsonError) -> Self {
        Self::Json(e)
    }
}

/// PKCE input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PkceError {
    /// A code verifier must be 43 to 128 characters long.
    InvalidLength {
        /// The length given.
        len: usize,
    },
    /// A code verifier may hold only `A-Z a-z 0-9 - . _ ~`.
    InvalidCharacter,
    /// Random input must be 32 to 96 bytes (giving 43 to 128 characters).
    InvalidEntropy {
        /// The number of random bytes given.
        len: usize,
    },
}

impl fmt::Display for PkceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLength { len } => {
                write!(
                    f,
                    "code verifier is {len} characters: 43 to 128 are allowed"
                )
            }
            Self::InvalidCharacter => {
                f.write_str("code verifier may hold only A-Z a-z 0-9 - . _ ~")
            }
            Self::InvalidEntropy { len } => {
                write!(f, "{len} random bytes given: 32 to 96 are needed")
            }
        }
    }
}

impl core::error::Error for PkceError {}
