//! The three JSON bodies LWA answers with, read in one strict pass, in place.
//!
//! - [`TokenResponse`]: `access_token`, `refresh_token` (optional), `token_type`,
//!   `expires_in`.
//! - [`CodePairResponse`]: `device_code`, `user_code`, `verification_uri`, `expires_in`,
//!   `interval`.
//! - [`OAuthError`]: `error` (kept as text, and classified: [`ErrorCode::class`]) and
//!   `error_description`.
//!
//! Every body must be JSON as RFC 8259 has it, all of it, unknown members included: literals
//! spelled out, numbers in the JSON grammar, valid escapes, no raw control characters in
//! strings, valid UTF-8, nothing after the object. One pass checks that and reads the members
//! as it goes; string bytes are skipped a machine word at a time (16 bytes with the host
//! feature `fast`, which also puts a straight-line reader for the common flat answer in front
//! of the walk). serde-json-core, after the same strict check, is the independent reference
//! the property tests and fuzz targets hold both to (same values, same errors): the module
//! `json::reference`, behind the feature of that name.
//! Member order does not matter; unknown members of any JSON type are skipped; a member that
//! appears twice is an error; member names may be written with escapes. String escapes
//! (`\/`, `\u0041`, surrogate pairs) are decoded in place, inside the body buffer, so the
//! parsed values borrow the buffer and nothing is copied or allocated. Objects and arrays may
//! nest at most [`MAX_DEPTH`] deep (checked by the strict pass, which does not recurse, so a
//! hostile body cannot exhaust the stack). Tokens longer than [`MAX_TOKEN_LEN`] bytes are
//! refused.
//!
//! ```
//! use lwa_core::json::{parse_token, parse_oauth_error, ErrorClass};
//!
//! let mut body = *br#"{"access_token":"Atza|a\/b","token_type":"bearer","expires_in":3600,"scope":["x"]}"#;
//! let token = parse_token(&mut body).unwrap();
//! assert_eq!(token.access_token.expose(), "Atza|a/b");
//! assert_eq!(token.refresh_token, None);
//! assert_eq!(token.expires_in, Some(3600));
//!
//! let mut body = *br#"{"error":"invalid_grant","error_description":"gone"}"#;
//! let error = parse_oauth_error(&mut body).unwrap();
//! assert_eq!(error.code.class(), ErrorClass::InvalidGrant);
//! assert_eq!(error.description, Some("gone"));
//! ```

use core::fmt;

use crate::error::{BodyKind, JsonError, JsonErrorKind};
pub use crate::request::MAX_TOKEN_LEN;
use crate::secret::Secret;

#[cfg(feature = "fast")]
mod fast;
#[cfg(any(test, feature = "reference"))]
pub mod reference;
mod scan;
mod strict;

pub use crate::limits::MAX_DEPTH;

/// A successful token response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenResponse<'a> {
    /// The access token (`Atza|...`), at most [`MAX_TOKEN_LEN`] bytes.
    pub access_token: Secret<'a>,
    /// A new refresh token (`Atzr|...`), when the server sent one. When it did not, keep the
    /// one you have.
    pub refresh_token: Option<Secret<'a>>,
    /// The token type, `bearer` in practice.
    pub token_type: &'a str,
    /// Lifetime in seconds from when the request was sent, when the server said.
    pub expires_in: Option<u32>,
}

/// A successful code-pair response (code-based linking, step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePairResponse<'a> {
    /// The device code to poll with.
    pub device_code: Secret<'a>,
    /// The code the user types in.
    pub user_code: &'a str,
    /// Where the user types it.
    pub verification_uri: &'a str,
    /// Lifetime of the code pair in seconds.
    pub expires_in: u32,
    /// Seconds to wait between polls, when the server said.
    pub interval: Option<u32>,
}

/// An OAuth error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthError<'a> {
    /// The `error` code.
    pub code: ErrorCode<'a>,
    /// The `error_description`, when present.
    pub description: Option<&'a str>,
}

/// An OAuth `error` code: the ones LWA is known to send, and any other as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorCode<'a> {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `authorization_pending`
    AuthorizationPending,
    /// `slow_down`
    SlowDown,
    /// `invalid_code_pair`
    InvalidCodePair,
    /// `expired_token`
    ExpiredToken,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// `InvalidValue` (LWA's own, for a malformed parameter such as the client ID)
    InvalidValue,
    /// Any other code, as sent.
    Other(&'a str),
}

/// What an error code means for a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorClass {
    /// The user has not entered the code yet: keep polling.
    Pending,
    /// Polling too fast: lengthen the interval.
    SlowDown,
    /// The code pair expired: get a new one and show the new code.
    CodePairExpired,
    /// The grant (refresh token or code) is dead: sign in again.
    InvalidGrant,
    /// Client ID, secret or product setup is wrong: a person must fix the configuration.
    ClientMisconfigured,
    /// The server is in trouble: retry with backoff.
    Transient,
    /// A code not known here: treat as transient, but report it.
    Other,
}

const CODES: [(&str, ErrorCode<'static>); 13] = [
    ("invalid_request", ErrorCode::InvalidRequest),
    ("invalid_client", ErrorCode::InvalidClient),
    ("invalid_grant", ErrorCode::InvalidGrant),
    ("unauthorized_client", ErrorCode::UnauthorizedClient),
    ("unsupported_grant_type", ErrorCode::UnsupportedGrantType),
    ("invalid_scope", ErrorCode::InvalidScope),
    ("authorization_pending", ErrorCode::AuthorizationPending),
    ("slow_down", ErrorCode::SlowDown),
    ("invalid_code_pair", ErrorCode::InvalidCodePair),
    ("expired_token", ErrorCode::ExpiredToken),
    ("server_error", ErrorCode::ServerError),
    ("temporarily_unavailable", ErrorCode::TemporarilyUnavailable),
    ("InvalidValue", ErrorCode::InvalidValue),
];

impl<'a> ErrorCode<'a> {
    /// The code as LWA writes it (case-sensitive).
    ///
    /// ```
    /// use lwa_core::json::ErrorCode;
    /// assert_eq!(ErrorCode::parse("slow_down"), ErrorCode::SlowDown);
    /// assert_eq!(ErrorCode::parse("brand_new"), ErrorCode::Other("brand_new"));
    /// ```
    #[must_use]
    pub fn parse(code: &'a str) -> Self {
        CODES
            .iter()
            .find(|(text, _)| *text == code)
            .map_or(Self::Other(code), |&(_, known)| known)
    }

    /// The code as text.
    ///
    /// ```
    /// use lwa_core::json::ErrorCode;
    /// assert_eq!(ErrorCode::InvalidValue.as_str(), "InvalidValue");
    /// assert_eq!(ErrorCode::Other("x").as_str(), "x");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        if let Self::Other(code) = *self {
            return code;
        }
        CODES
            .iter()
            .find(|(_, known)| known == self)
            .map_or("", |(text, _)| text)
    }

    /// The same code without the borrow, for codes known here; `None` for
    /// [`Other`](Self::Other), whose text lives in the response buffer.
    ///
    /// ```
    /// use lwa_core::json::ErrorCode;
    /// let text = String::from("invalid_client");
    /// assert_eq!(ErrorCode::parse(&text).known(), Some(ErrorCode::InvalidClient));
    /// assert_eq!(ErrorCode::parse("new").known(), None);
    /// ```
    #[must_use]
    pub fn known(&self) -> Option<ErrorCode<'static>> {
        CODES
            .iter()
            .find(|(_, known)| known == self)
            .map(|&(_, known)| known)
    }

    /// What the code means for a device (see the protocol notes' table).
    ///
    /// ```
    /// use lwa_core::json::{ErrorClass, ErrorCode};
    /// assert_eq!(ErrorCode::InvalidClient.class(), ErrorClass::ClientMisconfigured);
    /// assert_eq!(ErrorCode::ExpiredToken.class(), ErrorClass::CodePairExpired);
    /// assert_eq!(ErrorCode::Other("new").class(), ErrorClass::Other);
    /// ```
    #[must_use]
    pub const fn class(&self) -> ErrorClass {
        match self {
            Self::AuthorizationPending => ErrorClass::Pending,
            Self::SlowDown => ErrorClass::SlowDown,
            Self::InvalidCodePair | Self::ExpiredToken => ErrorClass::CodePairExpired,
            Self::InvalidGrant => ErrorClass::InvalidGrant,
            Self::InvalidRequest
            | Self::InvalidClient
            | Self::UnauthorizedClient
            | Self::UnsupportedGrantType
            | Self::InvalidScope
            | Self::InvalidValue => ErrorClass::ClientMisconfigured,
            Self::ServerError | Self::TemporarilyUnavailable => ErrorClass::Transient,
            Self::Other(_) => ErrorClass::Other,
        }
    }
}

impl fmt::Display for ErrorCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for OAuthError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description {
            Some(d) if !d.is_empty() => write!(f, "{}: {d}", self.code),
            _ => write!(f, "{}", self.code),
        }
    }
}

/// Reads a token response from `body`, decoding string escapes in place.
///
/// # Errors
/// A [`JsonError`] naming the member and what was wrong.
///
/// ```
/// use lwa_core::error::JsonErrorKind;
/// let mut body = *br#"{"token_type":"bearer"}"#;
/// let err = lwa_core::json::parse_token(&mut body).unwrap_err();
/// assert_eq!((err.member, err.kind), (Some("access_token"), JsonErrorKind::MissingMember));
/// ```
pub fn parse_token(body: &mut [u8]) -> Result<TokenResponse<'_>, JsonError> {
    parse_token_with(body, Path::Walk)
}

fn parse_token_with(body: &mut [u8], path: Path) -> Result<TokenResponse<'_>, JsonError> {
    const MEMBERS: [Member; 4] = [
        Member::string("access_token", Some(MAX_TOKEN_LEN)),
        Member::optional_string("refresh_token", Some(MAX_TOKEN_LEN)),
        Member::string("token_type", None),
        Member::optional_number("expires_in"),
    ];
    let mut v = [Value::Absent; 4];
    parse_members(body, BodyKind::Token, &MEMBERS, &mut v, path)?;
    let [access, refresh, token_type, expires_in] = v;
    Ok(TokenResponse {
        access_token: Secret::new(access.text()),
        refresh_token: refresh.opt_text().map(Secret::new),
        token_type: token_type.text(),
        expires_in: expires_in.number(),
    })
}

/// Reads a code-pair response from `body`.
///
/// # Errors
/// A [`JsonError`] naming the member and what was wrong.
///
/// ```
/// let mut body = *br#"{"device_code":"d","user_code":"U","verification_uri":"https://amazon.com/us/code","expires_in":600}"#;
/// let pair = lwa_core::json::parse_code_pair(&mut body).unwrap();
/// assert_eq!((pair.user_code, pair.interval), ("U", None));
/// ```
pub fn parse_code_pair(body: &mut [u8]) -> Result<CodePairResponse<'_>, JsonError> {
    parse_code_pair_with(body, Path::Walk)
}

fn parse_code_pair_with(body: &mut [u8], path: Path) -> Result<CodePairResponse<'_>, JsonError> {
    const MEMBERS: [Member; 5] = [
        Member::string("device_code", None),
        Member::string("user_code", None),
        Member::string("verification_uri", None),
        Member::number("expires_in"),
        Member::optional_number("interval"),
    ];
    let mut v = [Value::Absent; 5];
    parse_members(body, BodyKind::CodePair, &MEMBERS, &mut v, path)?;
    let [device_code, user_code, uri, expires_in, interval] = v;
    Ok(CodePairResponse {
        device_code: Secret::new(device_code.text()),
        user_code: user_code.text(),
        verification_uri: uri.text(),
        expires_in: expires_in.number().unwrap_or(0),
        interval: interval.number(),
    })
}

/// Reads an OAuth error response from `body`.
///
/// # Errors
/// A [`JsonError`] when the body is not a JSON object with a string `error`.
///
/// ```
/// let mut body = *br#"{"error":"slow_down"}"#;
/// let e = lwa_core::json::parse_oauth_error(&mut body).unwrap();
/// assert_eq!(e.to_string(), "slow_down");
/// ```
pub fn parse_oauth_error(body: &mut [u8]) -> Result<OAuthError<'_>, JsonError> {
    parse_oauth_error_with(body, Path::Walk)
}

fn parse_oauth_error_with(body: &mut [u8], path: Path) -> Result<OAuthError<'_>, JsonError> {
    const MEMBERS: [Member; 2] = [
        Member::string("error", None),
        Member::optional_string("error_description", None),
    ];
    let mut v = [Value::Absent; 2];
    parse_members(body, BodyKind::OAuthError, &MEMBERS, &mut v, path)?;
    let [code, description] = v;
    Ok(OAuthError {
        code: ErrorCode::parse(code.text()),
        description: description.opt_text(),
    })
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    U32,
}

/// A member a document reads.
#[derive(Clone, Copy)]
struct Member {
    name: &'static str,
    kind: Kind,
    required: bool,
    max_len: Option<usize>,
}

impl Member {
    const fn string(name: &'static str, max_len: Option<usize>) -> Self {
        Self {
            name,
            kind: Kind::Str,
            required: true,
            max_len,
        }
    }
    const fn optional_string(name: &'static str, max_len: Option<usize>) -> Self {
        Self {
            required: false,
            ..Self::string(name, max_len)
        }
    }
    const fn number(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::U32,
            required: true,
            max_len: None,
        }
    }
    const fn optional_number(name: &'static str) -> Self {
        Self {
            required: false,
            ..Self::number(name)
        }
    }
}

/// Where a member's value is, during parsing: strings as byte ranges of the body, and
/// whether they hold escapes still to decode.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Absent,
    Null,
    Str {
        start: usize,
        len: usize,
        escaped: bool,
    },
    U32(u32),
}

/// A known member's value as the strict walk found it, checked against the type the member
/// needs: a string, or an unsigned integer in `u32` range (`0` or `[1-9][0-9]*`; any other
/// number, `-1` or `3.6e3`, is an invalid one); `null` for either.
///
/// Inlined into its one caller: returned through memory, the slot cost a store-forwarding
/// stall per member on a host (measured with perf).
#[inline(always)]
fn read_value(body: &[u8], kind: Kind, found: strict::Found) -> Result<Slot, JsonErrorKind> {
    match (kind, found) {
        (_, strict::Found::Null) => Ok(Slot::Null),
        (
            Kind::Str,
            strict::Found::Str {
                start,
                len,
                escaped,
            },
        ) => Ok(Slot::Str {
            start,
            len,
            escaped,
        }),
        (Kind::U32, strict::Found::Number { start, end }) => {
            let digits = body.get(start..end).ok_or(JsonErrorKind::InvalidNumber)?;
            if digits.len() > 1 && digits.first() == Some(&b'0') {
                return Err(JsonErrorKind::InvalidNumber);
            }
            digits
                .iter()
                .try_fold(0u32, |n, &d| {
                    if !d.is_ascii_digit() {
                        return None;
                    }
                    n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
                })
                .map(Slot::U32)
                .ok_or(JsonErrorKind::InvalidNumber)
        }
        _ => Err(JsonErrorKind::InvalidType),
    }
}

/// A member's value once parsed.
#[derive(Clone, Copy)]
enum Value<'a> {
    Absent,
    Str(&'a str),
    U32(u32),
}

impl<'a> Value<'a> {
    fn text(self) -> &'a str {
        self.opt_text().unwrap_or_default()
    }
    fn opt_text(self) -> Option<&'a str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
    fn number(self) -> Option<u32> {
        match self {
            Self::U32(n) => Some(n),
            _ => None,
        }
    }
}

/// Parses `body` as a JSON object holding `members`, decodes escaped strings in place, and
/// fills `values` in the order of `members`. One non-generic function for the three
/// documents keeps the code small on devices.
fn parse_members<'a>(
    body: &'a mut [u8],
    kind: BodyKind,
    members: &[Member],
    values: &mut [Value<'a>],
    path: Path,
) -> Result<(), JsonError> {
    let fail = |member: Option<&'static str>, kind_: JsonErrorKind| JsonError {
        body: kind,
        member,
        kind: kind_,
    };
    let mut slots = [Slot::Absent; MAX_MEMBERS];
    let slots = slots
        .get_mut(..members.len())
        .ok_or(fail(None, JsonErrorKind::Syntax))?;
    // The member a malformed byte is in, if it is a known one.
    let named = |broken: strict::Broken| {
        let member = broken.key.and_then(|(start, len)| {
            let raw = body.get(start..start + len)?;
            members
                .iter()
                .find(|m| name_is(raw, m.name))
                .map(|m| m.name)
        });
        fail(member, broken.kind)
    };
    // The host's straight-line reader for the common flat answer, when it can.
    #[cfg(feature = "fast")]
    let path = if path == Path::Walk && fast::scan(body, members, slots) {
        Path::Fast
    } else {
        slots.fill(Slot::Absent);
        path
    };
    match path {
        #[cfg(feature = "fast")]
        Path::Fast => {}
        Path::Walk => {
            // One pass: the strict walk hands over each top-level member; the first member
            // with a wrong type or a second appearance is the error, unless a malformed byte
            // comes later (the walk's error wins, as on the reference path).
            let mut first_error = None;
            strict::walk(body, |(start, len, escaped), found| {
                let Some(raw) = body.get(start..start + len) else {
                    return;
                };
                let Some(i) = members.iter().position(|m| {
                    if escaped {
                        name_is(raw, m.name)
                    } else {
                        raw == m.name.as_bytes()
                    }
                }) else {
                    return;
                };
                let (Some(member), Some(slot)) = (members.get(i), slots.get_mut(i)) else {
                    return;
                };
                if first_error.is_some() {
                    return;
                }
                let value = if *slot == Slot::Absent {
                    read_value(body, member.kind, found)
                } else {
                    Err(JsonErrorKind::DuplicateMember)
                };
                match value {
                    Ok(value) => *slot = value,
                    Err(kind_) => first_error = Some(fail(Some(member.name), kind_)),
                }
            })
            .map_err(named)?;
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        #[cfg(any(test, feature = "reference"))]
        Path::Reference => {
            strict::check(body).map_err(named)?;
            reference::read(body, members, slots).map_err(|(member, kind_)| fail(member, kind_))?;
        }
    }

    // Required members, and escapes decoded in place.
    for (member, slot) in members.iter().zip(slots.iter_mut()) {
        match *slot {
            Slot::Absent | Slot::Null if member.required => {
                return Err(fail(Some(member.name), JsonErrorKind::MissingMember));
            }
            Slot::Str {
                start,
                len,
                escaped,
            } => {
                let span = body
                    .get_mut(start..start.saturating_add(len))
                    .ok_or(fail(Some(member.name), JsonErrorKind::Syntax))?;
                let len = if escaped {
                    unescape_in_place(span)
                        .ok_or(fail(Some(member.name), JsonErrorKind::InvalidString))?
                } else {
                    len
                };
                if let Some(max) = member.max_len
                    && len > max
                {
                    return Err(fail(Some(member.name), JsonErrorKind::TooLong { max }));
                }
                *slot = Slot::Str {
                    start,
                    len,
                    escaped: false,
                };
            }
            _ => {}
        }
    }

    let body: &'a [u8] = body;
    for ((member, slot), value) in members.iter().zip(slots.iter()).zip(values.iter_mut()) {
        *value = match *slot {
            Slot::Absent | Slot::Null => Value::Absent,
            Slot::U32(n) => Value::U32(n),
            Slot::Str { start, len, .. } => Value::Str(
                body.get(start..start.saturating_add(len))
                    .and_then(|b| core::str::from_utf8(b).ok())
                    .ok_or(fail(Some(member.name), JsonErrorKind::InvalidString))?,
            ),
        };
    }
    Ok(())
}

/// Which parser reads a document.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// The host fast path's result (feature `fast`): the document was a flat object of plain
    /// values, read.
    #[cfg(feature = "fast")]
    Fast,
    /// The strict walk, reading the members as it goes: what every target uses, and what the
    /// host uses for anything but the common flat answer.
    Walk,
    /// The strict check, then serde-json-core: the independent reference the property tests
    /// and fuzz targets compare the walk with (feature `reference`).
    #[cfg(any(test, feature = "reference"))]
    Reference,
}

/// Most members any document reads.
const MAX_MEMBERS: usize = 5;

/// Whether the raw (possibly escaped) key `raw` is `name`: `"refresh\u005ftoken"` is
/// `refresh_token`. Keys are read undecoded.
fn name_is(raw: &[u8], name: &str) -> bool {
    let mut name = name.as_bytes();
    if raw == name {
        return true;
    }
    let mut raw = raw;
    while let Some(&first) = raw.first() {
        let rest = if first == b'\\' {
            let Some((ch, used)) = decode_escape(raw) else {
                return false;
            };
            let mut utf8 = [0u8; 4];
            let Some(rest) = name.strip_prefix(ch.encode_utf8(&mut utf8).as_bytes()) else {
                return false;
            };
            raw = raw.get(used..).unwrap_or_default();
            rest
        } else {
            let Some(rest) = name.strip_prefix(&[first]) else {
                return false;
            };
            raw = raw.get(1..).unwrap_or_default();
            rest
        };
        name = rest;
    }
    name.is_empty()
}

/// Decodes JSON string escapes in place; returns the decoded length, or `None` for an
/// invalid escape. Decoded text is never longer than the escaped text, so writing trails
/// reading.
///
/// The escapes are decoded here rather than by serde-json-core's `EscapedStr`: that one
/// refuses UTF-16 surrogate pairs (`\uD83D\uDE00`, valid JSON for characters outside the
/// BMP) and works on `&str` windows, and this byte-level decoder is also smaller on devices.
fn unescape_in_place(span: &mut [u8]) -> Option<usize> {
    let mut read = 0;
    let mut write = 0;
    while read < span.len() {
        let rest = span.get(read..)?;
        let plain = rest.iter().position(|&b| b == b'\\').unwrap_or(rest.len());
        crate::bytes::move_down(span, read, write, plain);
        read += plain;
        write += plain;
        if read == span.len() {
            break;
        }
        let (ch, used) = decode_escape(span.get(read..)?)?;
        let mut utf8 = [0u8; 4];
        let encoded = ch.encode_utf8(&mut utf8).as_bytes();
        span.get_mut(write..write + encoded.len())?
            .copy_from_slice(encoded);
        read += used;
        write += encoded.len();
    }
    Some(write)
}

/// Decodes the escape at the start of `s` (which starts with `\`): the character and the
/// bytes it used. A `\u` high surrogate must be followed by a `\u` low one.
fn decode_escape(s: &[u8]) -> Option<(char, usize)> {
    let simple = match *s.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(s.get(2..6)?)?;
            if !(0xD800..0xE000).contains(&high) {
                return Some((char::from_u32(high)?, 6));
            }
            if high >= 0xDC00 || s.get(6..8)? != b"\\u" {
                return None;
            }
            let low = hex4(s.get(8..12)?)?;
            if !(0xDC00..0xE000).contains(&low) {
                return None;
            }
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            return Some((char::from_u32(code)?, 12));
        }
        _ => return None,
    };
    Some((simple, 2))
}

fn hex4(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |acc, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u32::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(
        json: &str,
    ) -> Result<
        (
            std::string::String,
            Option<std::string::String>,
            std::string::String,
            Option<u32>,
        ),
        JsonError,
    > {
        let mut body = json.as_bytes().to_vec();
        let t = parse_token(&mut body)?;
        Ok((
            t.access_token.expose().into(),
            t.refresh_token.map(|r| r.expose().into()),
            t.token_type.into(),
            t.expires_in,
        ))
    }

    fn token_err(json: &str) -> (Option<&'static str>, JsonErrorKind) {
        let e = token(json).unwrap_err();
        assert_eq!(e.body, BodyKind::Token);
        (e.member, e.kind)
    }

    #[test]
    fn members_in_any_order_unknowns_skipped() {
        let got = token(r#" {"scope":{"a":[1,2,{"b":null}]},"expires_in":3600,"n":-1.5e3,"t":true,"f":false,"z":null,"token_type":"bearer","refresh_token":"Atzr|r","access_token":"Atza|a","arr":[]} "#).unwrap();
        assert_eq!(
            got,
            (
                "Atza|a".into(),
                Some("Atzr|r".into()),
                "bearer".into(),
                Some(3600)
            )
        );
    }

    #[test]
    fn null_refresh_token_is_absent() {
        let got = token(
            r#"{"access_token":"a","refresh_token":null,"token_type":"bearer","expires_in":1}"#,
        )
        .unwrap();
        assert_eq!(got.1, None);
    }

    #[test]
    fn escapes_decoded_in_place() {
        let got = token(r#"{"access_token":"Atza|a\/b\u0041\"\\\n\t😀\ud83d\ude00é","token_type":"be\u0061rer"}"#).unwrap();
        assert_eq!(got.0, "Atza|a/bA\"\\\n\t😀😀é");
        assert_eq!(got.2, "bearer");
    }

    #[test]
    fn errors_name_the_member() {
        assert_eq!(
            token_err(r#"{"token_type":"bearer"}"#),
            (Some("access_token"), JsonErrorKind::MissingMember)
        );
        assert_eq!(
            token_err(r#"{"access_token":null,"token_type":"x"}"#),
            (Some("access_token"), JsonErrorKind::MissingMember)
        );
        assert_eq!(
            token_err(r#"{"access_token":"a","access_token":"b","token_type":"x"}"#),
            (Some("access_token"), JsonErrorKind::DuplicateMember)
        );
        assert_eq!(
            token_err(r#"{"access_token":1,"token_type":"x"}"#),
            (Some("access_token"), JsonErrorKind::InvalidType)
        );
        assert_eq!(
            token_err(r#"{"access_token":"a","token_type":"x","expires_in":"3600"}"#),
            (Some("expires_in"), JsonErrorKind::InvalidType)
        );
        assert_eq!(
            token_err(r#"{"access_token":"a","token_type":"x","expires_in":-1}"#).1,
            JsonErrorKind::InvalidNumber
        );
        assert_eq!(
            token_err(r#"{"access_token":"a","token_type":"x","expires_in":99999999999}"#).1,
            JsonErrorKind::InvalidNumber
        );
        assert_eq!(
            token_err(r#"{"access_token":"a\x","token_type":"x"}"#),
            (Some("access_token"), JsonErrorKind::InvalidString)
        );
        assert_eq!(
            token_err(r#"{"access_token":"\ud83d","token_type":"x"}"#),
            (Some("access_token"), JsonErrorKind::InvalidString)
        );
        assert_eq!(
            token_err(r#"{"access_token":"a","token_type":"x"} x"#),
            (None, JsonErrorKind::TrailingCharacters)
        );
        assert_eq!(
            token_err(r#"{"access_token":"a","#),
            (None, JsonErrorKind::Eof)
        );
        assert_eq!(
            token_err(r#"["access_token"]"#),
            (None, JsonErrorKind::InvalidType)
        );
        assert_eq!(token_err(""), (None, JsonErrorKind::Eof));
        assert_eq!(token_err("<html>"), (None, JsonErrorKind::InvalidType));
    }

    #[test]
    fn token_length_limit() {
        let ok = std::format!(
            r#"{{"access_token":"{}","token_type":"x"}}"#,
            "a".repeat(2048)
        );
        assert_eq!(token(&ok).unwrap().0.len(), 2048);
        let long = std::format!(
            r#"{{"access_token":"{}","token_type":"x"}}"#,
            "a".repeat(2049)
        );
        assert_eq!(
            token_err(&long),
            (Some("access_token"), JsonErrorKind::TooLong { max: 2048 })
        );
        // The limit applies to the decoded text: 2048 characters written as 4096 bytes fit.
        let escaped = std::format!(
            r#"{{"access_token":"{}","token_type":"x"}}"#,
            "\\/".repeat(2048)
        );
        assert_eq!(token(&escaped).unwrap().0.len(), 2048);
    }

    #[test]
    fn depth_limit() {
        let deep = |n: usize| {
            std::format!(
                r#"{{"access_token":"a","token_type":"x","s":{}{}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert!(token(&deep(MAX_DEPTH - 1)).is_ok());
        assert_eq!(token_err(&deep(MAX_DEPTH)), (None, JsonErrorKind::TooDeep));
        assert_eq!(token_err(&deep(100_000)), (None, JsonErrorKind::TooDeep));
        // Brackets inside strings do not count.
        let in_string = std::format!(
            r#"{{"access_token":"{}","token_type":"x"}}"#,
            "[".repeat(100)
        );
        assert!(token(&in_string).is_ok());
    }

    /// Found by fuzzing: brackets inside a skipped scalar were counted by the depth check of
    /// the reference path only.
    #[test]
    fn both_paths_refuse_the_same_bracket_heavy_junk() {
        let doc = std::format!(r#"{{"x":+{}1,"device_code":"d"}}"#, "[".repeat(40));
        let fast = parse_code_pair(&mut doc.clone().into_bytes()).map(|_| ());
        let reference = reference::parse_code_pair(&mut doc.into_bytes()).map(|_| ());
        assert_eq!(fast, reference);
        // `+` cannot start a JSON value: refused before any bracket is counted.
        assert_eq!(fast.unwrap_err().kind, JsonErrorKind::Syntax);
    }

    /// Each malformed answer is an error on both paths, the same error (issue found by
    /// differential testing: serde-json-core skips unknown members leniently).
    #[test]
    fn malformed_json_in_skipped_members_is_refused() {
        use JsonErrorKind::*;
        let cases: [(&[u8], Option<&str>, JsonErrorKind); 9] = [
            (
                br#"{"access_token":"Atza|a","token_type":"bearer","expires_in":3600,"x":tru e}"#,
                None,
                Syntax,
            ),
            (
                br#"{"access_token":"a","token_type":"b","x":NaN}"#,
                None,
                Syntax,
            ),
            (
                br#"{"access_token":"a","token_type":"b","x":01}"#,
                None,
                InvalidNumber,
            ),
            (
                br#"{"access_token":"a","token_type":"b","x":+1}"#,
                None,
                Syntax,
            ),
            (
                b"{\"access_token\":\"a\",\"token_type\":\"b\",\"x\":\"\xff\"}",
                None,
                InvalidString,
            ),
            (
                br#"{"access_token":"a","token_type":"b","x":"\q"}"#,
                None,
                InvalidString,
            ),
            (
                b"{\"access_token\":\"Atza|a\x01\",\"token_type\":\"b\"}",
                Some("access_token"),
                InvalidString,
            ),
            (
                b"{\"access_token\":\"a\",\"token_type\":\"b\",\"x\":\"\t\"}",
                None,
                InvalidString,
            ),
            (
                br#"{"access_token":"a","token_type":"b","expires_in":3.6e3}"#,
                Some("expires_in"),
                InvalidNumber,
            ),
        ];
        for (doc, member, kind) in cases {
            let text = std::string::String::from_utf8_lossy(doc);
            let got = parse_token(&mut doc.to_vec()).map(drop).unwrap_err();
            assert_eq!((got.member, got.kind), (member, kind), "{text}");
            let reference = reference::parse_token(&mut doc.to_vec()).map(drop);
            assert_eq!(reference, Err(got), "{text}");
        }
        let junk = br#"{"junk": tru e 12x ,"error":"invalid_client"}"#;
        assert_eq!(
            parse_oauth_error(&mut junk.to_vec())
                .map(drop)
                .unwrap_err()
                .kind,
            Syntax
        );
    }

    /// `"refresh\u005ftoken"` is `refresh_token`: a rotated token written that way is kept.
    #[test]
    fn member_names_are_matched_after_decoding() {
        let doc = r#"{"access_token":"Atza|a","token_type":"bearer","refresh\u005ftoken":"Atzr|r","\u0065xpires_in":60}"#;
        let got = token(doc).unwrap();
        assert_eq!(got.1.as_deref(), Some("Atzr|r"));
        assert_eq!(got.3, Some(60));
        assert!(name_is(br"a\u0062c", "abc"));
        assert!(!name_is(br"a\u0062", "abc"));
        assert!(!name_is(br"a\q", "a"));
        assert!(!name_is(b"abcd", "abc"));
    }

    #[test]
    fn code_pair() {
        let mut body = br#"{"device_code":"d1e4836b","expires_in":600,"interval":30,"user_code":"BEYHYS","verification_uri":"https://amazon.com/us/code"}"#.to_vec();
        let p = parse_code_pair(&mut body).unwrap();
        assert_eq!(p.device_code.expose(), "d1e4836b");
        assert_eq!(
            (p.user_code, p.verification_uri, p.expires_in, p.interval),
            ("BEYHYS", "https://amazon.com/us/code", 600, Some(30))
        );
        let mut body = br#"{"device_code":"d","user_code":"U","verification_uri":"v"}"#.to_vec();
        let e = parse_code_pair(&mut body).unwrap_err();
        assert_eq!(
            (e.body, e.member, e.kind),
            (
                BodyKind::CodePair,
                Some("expires_in"),
                JsonErrorKind::MissingMember
            )
        );
    }

    #[test]
    fn error_codes_round_trip() {
        for (text, code) in CODES {
            assert_eq!(ErrorCode::parse(text), code);
            assert_eq!(code.as_str(), text);
        }
        assert_eq!(
            ErrorCode::parse("INVALID_GRANT"),
            ErrorCode::Other("INVALID_GRANT")
        );
    }

    #[test]
    fn display() {
        let e = JsonError {
            body: BodyKind::Token,
            member: Some("expires_in"),
            kind: JsonErrorKind::InvalidType,
        };
        assert_eq!(
            std::format!("{e}"),
            "token response: member `expires_in`: wrong JSON type"
        );
        let mut body = br#"{"error_description":"The request has an invalid grant parameter : refresh_token","error":"invalid_grant"}"#.to_vec();
        let o = parse_oauth_error(&mut body).unwrap();
        assert_eq!(
            std::format!("{o}"),
            "invalid_grant: The request has an invalid grant parameter : refresh_token"
        );
    }
}
