//! The four LWA requests, written as complete HTTP/1.1 requests into a caller's buffer.
//!
//! A [`Request`] knows its size ([`Request::buffer_len`]) and writes itself
//! ([`Request::emit`]). A buffer that is too small yields
//! [`EmitError::BufferTooSmall`] with the exact size required; nothing is ever truncated.
//!
//! Layout of every request (header order fixed, `Connection: close` because one exchange is
//! one connection):
//!
//! ```text
//! POST /auth/o2/token HTTP/1.1
//! Host: api.amazon.com
//! Content-Type: application/x-www-form-urlencoded
//! Content-Length: 123
//! Accept: application/json
//! User-Agent: lwa/0.1.0
//! Connection: close
//!
//! grant_type=refresh_token&refresh_token=Atzr%7C...&client_id=...
//! ```
//!
//! ```
//! use lwa_core::endpoint::{Endpoint, Region};
//! use lwa_core::request::Request;
//! use lwa_core::secret::Secret;
//!
//! let request = Request::Refresh {
//!     client_id: "amzn1.application-oa2-client.abc",
//!     refresh_token: Secret::new("Atzr|xyz"),
//!     client_secret: None,
//! };
//! let endpoint = Endpoint::region(Region::Na);
//! let mut buf = [0u8; 512];
//! let n = request.emit(&endpoint, &mut buf).unwrap();
//! assert_eq!(n, request.buffer_len(&endpoint));
//! assert!(buf[..n].ends_with(b"\r\n\r\ngrant_type=refresh_token&refresh_token=Atzr%7Cxyz&client_id=amzn1.application-oa2-client.abc"));
//! ```

use crate::endpoint::{CODE_PAIR_PATH, Endpoint, TOKEN_PATH};
use crate::error::EmitError;
use crate::form::Cursor;
use crate::secret::Secret;

/// The `User-Agent` sent unless another is given.
pub const DEFAULT_USER_AGENT: &str = concat!("lwa/", env!("CARGO_PKG_VERSION"));

/// Longest client ID LWA issues, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 100;

/// Longest access or refresh token LWA issues, in bytes.
pub const MAX_TOKEN_LEN: usize = 2048;

/// How the client proves itself when trading an authorization code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth<'a> {
    /// A confidential client: its client secret.
    Secret(Secret<'a>),
    /// A public client (AVS companion app): the PKCE `code_verifier` whose challenge went into
    /// the authorization request; no secret.
    Pkce {
        /// The code verifier (see [`pkce`](crate::pkce)).
        code_verifier: Secret<'a>,
    },
}

/// What the answer to a request will be on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ResponseKind {
    /// A token response: `access_token`, `refresh_token`, ...
    Token,
    /// A code-pair response: `device_code`, `user_code`, ...
    CodePair,
}

/// One LWA request. The fields borrow the caller's data; nothing is copied until
/// [`emit`](Self::emit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request<'a> {
    /// Trade an authorization code (`grant_type=authorization_code`).
    AuthorizationCode {
        /// The product's client ID.
        client_id: &'a str,
        /// The authorization code from the redirect.
        code: Secret<'a>,
        /// The redirect URI used in the authorization request.
        redirect_uri: &'a str,
        /// Client secret, or PKCE code verifier.
        auth: ClientAuth<'a>,
    },
    /// Trade a refresh token for a new access token (`grant_type=refresh_token`).
    Refresh {
        /// The product's client ID.
        client_id: &'a str,
        /// The refresh token.
        refresh_token: Secret<'a>,
        /// The client secret, for clients that have one.
        client_secret: Option<Secret<'a>>,
    },
    /// Code-based linking, step 1: ask for a code pair (`response_type=device_code`,
    /// `scope=alexa:all`, `scope_data` naming the product and the device serial number).
    CodePair {
        /// The product's client ID.
        client_id: &'a str,
        /// The AVS product ID.
        product_id: &'a str,
        /// The device serial number (DSN).
        device_serial_number: &'a str,
    },
    /// Code-based linking, step 2: poll for the user's approval (`grant_type=device_code`).
    DeviceCode {
        /// The `device_code` from the code-pair response.
        device_code: Secret<'a>,
        /// The `user_code` from the code-pair response.
        user_code: &'a str,
    },
}

impl Request<'_> {
    /// The path the request is sent to.
    ///
    /// ```
    /// use lwa_core::request::Request;
    /// let r = Request::CodePair { client_id: "c", product_id: "p", device_serial_number: "1" };
    /// assert_eq!(r.path(), "/auth/O2/create/codepair");
    /// ```
    #[must_use]
    pub const fn path(&self) -> &'static str {
        match self {
            Self::CodePair { .. } => CODE_PAIR_PATH,
            _ => TOKEN_PATH,
        }
    }

    /// What a successful answer holds.
    ///
    /// ```
    /// use lwa_core::request::{Request, ResponseKind};
    /// use lwa_core::secret::Secret;
    /// let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// assert_eq!(r.response_kind(), ResponseKind::Token);
    /// ```
    #[must_use]
    pub const fn response_kind(&self) -> ResponseKind {
        match self {
            Self::CodePair { .. } => ResponseKind::CodePair,
            _ => ResponseKind::Token,
        }
    }

    /// Exact size of the request [`emit`](Self::emit) writes, with the default `User-Agent`.
    ///
    /// ```
    /// use lwa_core::endpoint::{Endpoint, Region};
    /// use lwa_core::request::Request;
    /// use lwa_core::secret::Secret;
    /// let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// let e = Endpoint::region(Region::Na);
    /// let mut buf = [0u8; 512];
    /// assert_eq!(r.buffer_len(&e), r.emit(&e, &mut buf).unwrap());
    /// ```
    #[must_use]
    pub fn buffer_len(&self, endpoint: &Endpoint<'_>) -> usize {
        self.buffer_len_with_user_agent(endpoint, DEFAULT_USER_AGENT)
    }

    /// Exact size of the request with the given `User-Agent`.
    ///
    /// ```
    /// use lwa_core::endpoint::{Endpoint, Region};
    /// use lwa_core::request::Request;
    /// use lwa_core::secret::Secret;
    /// let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// let e = Endpoint::region(Region::Na);
    /// assert_eq!(r.buffer_len_with_user_agent(&e, "ab"), r.buffer_len_with_user_agent(&e, "a") + 1);
    /// ```
    #[must_use]
    pub fn buffer_len_with_user_agent(&self, endpoint: &Endpoint<'_>, user_agent: &str) -> usize {
        let body_len = self.body_len();
        self.head_len(endpoint, user_agent, body_len) + body_len
    }

    /// Length of the form body (one counting pass, no encoding).
    fn body_len(&self) -> usize {
        let mut counter = Cursor::new(&mut []);
        self.write_body(&mut counter);
        counter.pos()
    }

    fn head_len(&self, endpoint: &Endpoint<'_>, user_agent: &str, body_len: usize) -> usize {
        let mut counter = Cursor::new(&mut []);
        self.write_head(&mut counter, endpoint, user_agent, body_len);
        counter.pos()
    }

    /// Writes the whole request into `buf` and returns its length.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] with the size required; [`EmitError::EmptyParameter`] or
    /// [`EmitError::ParameterTooLong`] for a parameter LWA would refuse.
    ///
    /// ```
    /// use lwa_core::endpoint::{Endpoint, Region};
    /// use lwa_core::error::EmitError;
    /// use lwa_core::request::Request;
    /// use lwa_core::secret::Secret;
    /// let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// let e = Endpoint::region(Region::Na);
    /// let mut small = [0u8; 16];
    /// assert_eq!(r.emit(&e, &mut small), Err(EmitError::BufferTooSmall { required: r.buffer_len(&e) }));
    /// ```
    pub fn emit(&self, endpoint: &Endpoint<'_>, buf: &mut [u8]) -> Result<usize, EmitError> {
        self.emit_with_user_agent(endpoint, DEFAULT_USER_AGENT, buf)
    }

    /// [`emit`](Self::emit) with another `User-Agent` (visible ASCII and spaces only).
    ///
    /// ```
    /// use lwa_core::endpoint::{Endpoint, Region};
    /// use lwa_core::error::EmitError;
    /// use lwa_core::request::Request;
    /// use lwa_core::secret::Secret;
    /// let r = Request::DeviceCode { device_code: Secret::new("d"), user_code: "U" };
    /// let e = Endpoint::region(Region::Na);
    /// let mut buf = [0u8; 512];
    /// assert!(r.emit_with_user_agent(&e, "my-speaker/2.1", &mut buf).is_ok());
    /// assert_eq!(
    ///     r.emit_with_user_agent(&e, "x\r\nEvil: 1", &mut buf),
    ///     Err(EmitError::InvalidParameter { name: "User-Agent" })
    /// );
    /// ```
    pub fn emit_with_user_agent(
        &self,
        endpoint: &Endpoint<'_>,
        user_agent: &str,
        buf: &mut [u8],
    ) -> Result<usize, EmitError> {
        self.validate()?;
        if user_agent.is_empty() || !user_agent.bytes().all(|b| matches!(b, b' '..=b'~')) {
            return Err(EmitError::InvalidParameter { name: "User-Agent" });
        }
        #[cfg(feature = "fast")]
        if let Some(result) = self.emit_body_first(endpoint, user_agent, buf) {
            return result;
        }
        let body_len = self.body_len();
        let required = self.head_len(endpoint, user_agent, body_len) + body_len;
        if required > buf.len() {
            return Err(EmitError::BufferTooSmall { required });
        }
        let mut cursor = Cursor::new(buf);
        self.write_head(&mut cursor, endpoint, user_agent, body_len);
        self.write_body(&mut cursor);
        cursor
            .finish()
            .map_err(|required| EmitError::BufferTooSmall { required })
    }

    /// One pass over the values instead of two (feature `fast`): the head is written with a
    /// four-digit placeholder for `Content-Length` and the body straight after it; once the
    /// body's length is known, the rest of the request moves to fit the real digits (one
    /// `memmove`, cheaper than counting the encoded length beforehand) and the digits are
    /// written. `None` when the placeholder made the request too long for `buf` but the real
    /// one may fit: the two-pass path decides.
    ///
    /// Measured need, for a second way of writing a request: without it a refresh (request
    /// and answer, `tests/examples/profile_refresh` under callgrind) takes 10 279 instructions
    /// on x86-64 instead of 8 239, 25% more.
    #[cfg(feature = "fast")]
    fn emit_body_first(
        &self,
        endpoint: &Endpoint<'_>,
        user_agent: &str,
        buf: &mut [u8],
    ) -> Option<Result<usize, EmitError>> {
        /// Placeholder digits.
        const GUESS: &[u8] = b"0000";
        let mut c = Cursor::new(buf);
        self.write_head_start(&mut c, endpoint);
        let digits_at = c.pos();
        c.put(GUESS);
        write_head_end(&mut c, user_agent);
        let body_start = c.pos();
        self.write_body(&mut c);
        let written = c.pos();
        let body_len = written - body_start;
        let digits = decimal_len(body_len);
        let required = written - GUESS.len() + digits;
        if required > buf.len() {
            return Some(Err(EmitError::BufferTooSmall { required }));
        }
        if written > buf.len() {
            return None;
        }
        buf.copy_within(digits_at + GUESS.len()..written, digits_at + digits);
        let mut length = Cursor::new(buf.get_mut(digits_at..digits_at + digits)?);
        length.put_decimal(body_len);
        Some(match length.finish() {
            Ok(n) if n == digits => Ok(required),
            _ => Err(EmitError::BufferTooSmall { required }),
        })
    }

    fn validate(&self) -> Result<(), EmitError> {
        fn non_empty(name: &'static str, v: &str) -> Result<(), EmitError> {
            if v.is_empty() {
                Err(EmitError::EmptyParameter { name })
            } else {
                Ok(())
            }
        }
        fn client_id(v: &str) -> Result<(), EmitError> {
            non_empty("client_id", v)?;
            if v.len() > MAX_CLIENT_ID_LEN {
                return Err(EmitError::ParameterTooLong {
                    name: "client_id",
                    max: MAX_CLIENT_ID_LEN,
                });
            }
            Ok(())
        }
        match self {
            Self::AuthorizationCode {
                client_id: id,
                code,
                redirect_uri,
                auth,
            } => {
                client_id(id)?;
                non_empty("code", code.expose())?;
                non_empty("redirect_uri", redirect_uri)?;
                match auth {
                    ClientAuth::Secret(s) => non_empty("client_secret", s.expose()),
                    ClientAuth::Pkce { code_verifier } => {
                        non_empty("code_verifier", code_verifier.expose())
                    }
                }
            }
            Self::Refresh {
                client_id: id,
                refresh_token,
                client_secret,
            } => {
                client_id(id)?;
                non_empty("refresh_token", refresh_token.expose())?;
                if refresh_token.len() > MAX_TOKEN_LEN {
                    return Err(EmitError::ParameterTooLong {
                        name: "refresh_token",
                        max: MAX_TOKEN_LEN,
                    });
                }
                match client_secret {
                    Some(s) => non_empty("client_secret", s.expose()),
                    None => Ok(()),
                }
            }
            Self::CodePair {
                client_id: id,
                product_id,
                device_serial_number,
            } => {
                client_id(id)?;
                non_empty("productID", product_id)?;
                non_empty("deviceSerialNumber", device_serial_number)
            }
            Self::DeviceCode {
                device_code,
                user_code,
            } => {
                non_empty("device_code", device_code.expose())?;
                non_empty("user_code", user_code)
            }
        }
    }

    /// Writes (or, with an empty cursor, measures) the request line and headers.
    fn write_head(
        &self,
        c: &mut Cursor<'_>,
        endpoint: &Endpoint<'_>,
        user_agent: &str,
        body_len: usize,
    ) {
        self.write_head_start(c, endpoint);
        c.put_decimal(body_len);
        write_head_end(c, user_agent);
    }

    /// The head up to the `Content-Length` value.
    fn write_head_start(&self, c: &mut Cursor<'_>, endpoint: &Endpoint<'_>) {
        c.put(b"POST ");
        c.put(self.path().as_bytes());
        c.put(b" HTTP/1.1\r\nHost: ");
        endpoint.write_authority(c);
        c.put(b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ");
    }

    /// Writes (or, with an empty cursor, measures) the form body.
    fn write_body(&self, c: &mut Cursor<'_>) {
        match *self {
            Self::AuthorizationCode {
                client_id,
                code,
                redirect_uri,
                auth,
            } => {
                c.put(b"grant_type=authorization_code");
                c.put_field(b"&code=", code.expose().as_bytes());
                c.put_field(b"&redirect_uri=", redirect_uri.as_bytes());
                c.put_field(b"&client_id=", client_id.as_bytes());
                match auth {
                    ClientAuth::Secret(s) => {
                        c.put_field(b"&client_secret=", s.expose().as_bytes());
                    }
                    ClientAuth::Pkce { code_verifier } => {
                        c.put_field(b"&code_verifier=", code_verifier.expose().as_bytes());
                    }
                }
            }
            Self::Refresh {
                client_id,
                refresh_token,
                client_secret,
            } => {
                c.put(b"grant_type=refresh_token");
                c.put_field(b"&refresh_token=", refresh_token.expose().as_bytes());
                c.put_field(b"&client_id=", client_id.as_bytes());
                if let Some(s) = client_secret {
                    c.put_field(b"&client_secret=", s.expose().as_bytes());
                }
            }
            Self::CodePair {
                client_id,
                product_id,
                device_serial_number,
            } => {
                c.put(b"response_type=device_code");
                c.put_field(b"&client_id=", client_id.as_bytes());
                c.put(b"&scope=alexa%3Aall");
                c.put(b"&scope_data=");
                put_scope_data(c, product_id, device_serial_number);
            }
            Self::DeviceCode {
                device_code,
                user_code,
            } => {
                c.put(b"grant_type=device_code");
                c.put_field(b"&device_code=", device_code.expose().as_bytes());
                c.put_field(b"&user_code=", user_code.as_bytes());
            }
        }
    }
}

/// The head after the `Content-Length` value.
fn write_head_end(c: &mut Cursor<'_>, user_agent: &str) {
    c.put(b"\r\nAccept: application/json\r\nUser-Agent: ");
    c.put(user_agent.as_bytes());
    c.put(b"\r\nConnection: close\r\n\r\n");
}

/// Digits of `n` in decimal.
#[cfg(feature = "fast")]
const fn decimal_len(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

/// The JSON text around the two strings, in serialization order.
const SCOPE_JSON_PARTS: [&[u8]; 3] = [
    b"{\"alexa:all\":{\"productID\":",
    b",\"productInstanceAttributes\":{\"deviceSerialNumber\":",
    b"}}}",
];

/// Writes `scope_data`: its JSON, form-encoded piece by piece through the cursor (which
/// also counts it), with no scratch buffer and no limit beyond the caller's buffer.
fn put_scope_data(c: &mut Cursor<'_>, product_id: &str, serial: &str) {
    let [open, middle, close] = SCOPE_JSON_PARTS;
    c.put_encoded(open);
    for (value, after) in [(product_id, middle), (serial, close)] {
        c.put_encoded(b"\"");
        for &b in value.as_bytes() {
            c.put_encoded(json_escaped(b, &mut [0; 6]));
        }
        c.put_encoded(b"\"");
        c.put_encoded(after);
    }
}

/// The byte `b` of a UTF-8 string as it stands inside a JSON string, escaped as
/// serde-json-core escapes (a test compares the two): `\"`, `\\`, the five short escapes,
/// `\u00XX` for the other control characters, every other byte as it is (so multi-byte
/// characters pass through whole).
fn json_escaped(b: u8, buf: &mut [u8; 6]) -> &[u8] {
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        b'\t' => b't',
        b'\n' => b'n',
        0x0C => b'f',
        b'\r' => b'r',
        0..0x20 => {
            let [_, high, low] = crate::form::percent_encoded(b);
            *buf = [b'\\', b'u', b'0', b'0', high, low];
            return buf;
        }
        _ => {
            buf[0] = b;
            return buf.get(..1).unwrap_or_default();
        }
    };
    *buf = [b'\\', short, 0, 0, 0, 0];
    buf.get(..2).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Region;

    const CLIENT_ID: &str = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";

    fn emit(r: &Request<'_>, e: &Endpoint<'_>) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 4096];
        let n = r.emit(e, &mut buf).unwrap();
        assert_eq!(n, r.buffer_len(e));
        // Every smaller buffer is refused with the exact size.
        for small in [0, 1, n / 2, n - 1] {
            let mut b = std::vec![0u8; small];
            assert_eq!(
                r.emit(e, &mut b),
                Err(EmitError::BufferTooSmall { required: n })
            );
        }
        buf[..n].to_vec()
    }

    fn expect(r: &Request<'_>, head: &str, body: &str) {
        let e = Endpoint::region(Region::Na);
        let want = std::format!(
            "POST {} HTTP/1.1\r\nHost: {head}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nAccept: application/json\r\nUser-Agent: {DEFAULT_USER_AGENT}\r\nConnection: close\r\n\r\n{body}",
            r.path(),
            body.len()
        );
        assert_eq!(core::str::from_utf8(&emit(r, &e)).unwrap(), want);
    }

    #[test]
    fn refresh_vector() {
        expect(
            &Request::Refresh {
                client_id: CLIENT_ID,
                refresh_token: Secret::new("Atzr|IwEBIA-_.~ +/="),
                client_secret: Some(Secret::new("s3cr3t&=%")),
            },
            "api.amazon.com",
            "grant_type=refresh_token&refresh_token=Atzr%7CIwEBIA-_.~%20%2B%2F%3D&client_id=amzn1.application-oa2-client.0123456789abcdef0123456789abcdef&client_secret=s3cr3t%26%3D%25",
        );
    }

    #[test]
    fn refresh_without_secret() {
        expect(
            &Request::Refresh {
                client_id: "c",
                refresh_token: Secret::new("Atzr|x"),
                client_secret: None,
            },
            "api.amazon.com",
            "grant_type=refresh_token&refresh_token=Atzr%7Cx&client_id=c",
        );
    }

    #[test]
    fn code_pair_vector() {
        expect(
            &Request::CodePair {
                client_id: CLIENT_ID,
                product_id: "my_device",
                device_serial_number: "12345",
            },
            "api.amazon.com",
            "response_type=device_code&client_id=amzn1.application-oa2-client.0123456789abcdef0123456789abcdef&scope=alexa%3Aall&scope_data=%7B%22alexa%3Aall%22%3A%7B%22productID%22%3A%22my_device%22%2C%22productInstanceAttributes%22%3A%7B%22deviceSerialNumber%22%3A%2212345%22%7D%7D%7D",
        );
    }

    #[test]
    fn code_pair_escapes_json_then_form() {
        // `"` -> `\"` -> `%5C%22`; newline -> `\n` -> `%5Cn`; U+0001 -> `\u0001` -> `%5Cu0001`.
        expect(
            &Request::CodePair {
                client_id: "c",
                product_id: "a\"b",
                device_serial_number: "x\n\u{1}é",
            },
            "api.amazon.com",
            "response_type=device_code&client_id=c&scope=alexa%3Aall&scope_data=%7B%22alexa%3Aall%22%3A%7B%22productID%22%3A%22a%5C%22b%22%2C%22productInstanceAttributes%22%3A%7B%22deviceSerialNumber%22%3A%22x%5Cn%5Cu0001%C3%A9%22%7D%7D%7D",
        );
    }

    #[test]
    fn authorization_code_with_secret() {
        expect(
            &Request::AuthorizationCode {
                client_id: "c",
                code: Secret::new("ANdNAVhyhqirUelHGEHA"),
                redirect_uri: "https://localhost:8443/cb?x=1",
                auth: ClientAuth::Secret(Secret::new("s")),
            },
            "api.amazon.com",
            "grant_type=authorization_code&code=ANdNAVhyhqirUelHGEHA&redirect_uri=https%3A%2F%2Flocalhost%3A8443%2Fcb%3Fx%3D1&client_id=c&client_secret=s",
        );
    }

    #[test]
    fn authorization_code_with_pkce() {
        expect(
            &Request::AuthorizationCode {
                client_id: "c",
                code: Secret::new("code"),
                redirect_uri: "amzn://cb",
                auth: ClientAuth::Pkce {
                    code_verifier: Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                },
            },
            "api.amazon.com",
            "grant_type=authorization_code&code=code&redirect_uri=amzn%3A%2F%2Fcb&client_id=c&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        );
    }

    #[test]
    fn device_code_poll() {
        expect(
            &Request::DeviceCode {
                device_code: Secret::new("d1e4836b-2799-4294-9379-0025b37ec06c"),
                user_code: "BEYHYS",
            },
            "api.amazon.com",
            "grant_type=device_code&device_code=d1e4836b-2799-4294-9379-0025b37ec06c&user_code=BEYHYS",
        );
    }

    #[test]
    fn host_header_carries_non_default_port_and_brackets() {
        let r = Request::DeviceCode {
            device_code: Secret::new("d"),
            user_code: "u",
        };
        for (origin, host) in [
            ("https://[::1]:8443", "Host: [::1]:8443\r\n"),
            ("http://127.0.0.1:80", "Host: 127.0.0.1\r\n"),
            ("http://localhost:8080", "Host: localhost:8080\r\n"),
            ("https://api.amazon.co.jp", "Host: api.amazon.co.jp\r\n"),
        ] {
            let e = Endpoint::parse_origin(origin).unwrap();
            let bytes = emit(&r, &e);
            let text = core::str::from_utf8(&bytes).unwrap();
            assert!(text.contains(host), "{origin}: {text}");
        }
    }

    /// Bodies around every change in the number of `Content-Length` digits, in buffers from
    /// one byte short to roomy: the bytes never depend on the buffer, and one byte short is
    /// always `BufferTooSmall` with the exact size. With the feature `fast` this covers the
    /// body-first path, its fallback (body did not fit where it was first written) and the
    /// moves in both directions.
    #[test]
    fn any_body_length_in_any_buffer() {
        let e = Endpoint::region(Region::Na);
        let mut reference = std::vec![0u8; 40_000];
        let mut buf = std::vec![0u8; 40_000];
        for raw in [
            1, 2, 8, 9, 10, 11, 98, 99, 100, 101, 998, 999, 1000, 1001, 2048, 3333,
        ] {
            for pipes in [0, raw / 3, raw] {
                let token: std::string::String = (0..raw)
                    .map(|i| if i < pipes { '|' } else { 'a' })
                    .collect();
                let r = Request::Refresh {
                    client_id: CLIENT_ID,
                    refresh_token: Secret::new(&token),
                    client_secret: (raw % 2 == 0).then(|| Secret::new("s")),
                };
                if raw > MAX_TOKEN_LEN {
                    assert!(r.emit(&e, &mut buf).is_err());
                    continue;
                }
                let required = r.buffer_len(&e);
                assert_eq!(r.emit(&e, &mut reference), Ok(required));
                let head = core::str::from_utf8(&reference[..required]).unwrap();
                let body_len = required - head.find("\r\n\r\n").unwrap() - 4;
                assert!(head.contains(&std::format!("Content-Length: {body_len}\r\n")));
                for len in [
                    required - 1,
                    required,
                    required + 1,
                    required + 3,
                    required + 40,
                ] {
                    buf.fill(0xEE);
                    let got = r.emit(&e, &mut buf[..len]);
                    if len < required {
                        assert_eq!(got, Err(EmitError::BufferTooSmall { required }), "{raw}");
                    } else {
                        assert_eq!(got, Ok(required), "raw {raw} pipes {pipes} len {len}");
                        assert_eq!(&buf[..required], &reference[..required]);
                    }
                }
            }
        }
    }

    #[test]
    fn invalid_parameters() {
        let e = Endpoint::region(Region::Na);
        let mut buf = [0u8; 1024];
        let long_id = "x".repeat(101);
        let long_token = std::format!("Atzr|{}", "y".repeat(2044));
        let cases = [
            (
                Request::Refresh {
                    client_id: "",
                    refresh_token: Secret::new("t"),
                    client_secret: None,
                },
                EmitError::EmptyParameter { name: "client_id" },
            ),
            (
                Request::Refresh {
                    client_id: &long_id,
                    refresh_token: Secret::new("t"),
                    client_secret: None,
                },
                EmitError::ParameterTooLong {
                    name: "client_id",
                    max: 100,
                },
            ),
            (
                Request::Refresh {
                    client_id: "c",
                    refresh_token: Secret::new(&long_token),
                    client_secret: None,
                },
                EmitError::ParameterTooLong {
                    name: "refresh_token",
                    max: 2048,
                },
            ),
            (
                Request::Refresh {
                    client_id: "c",
                    refresh_token: Secret::new("t"),
                    client_secret: Some(Secret::new("")),
                },
                EmitError::EmptyParameter {
                    name: "client_secret",
                },
            ),
            (
                Request::DeviceCode {
                    device_code: Secret::new("d"),
                    user_code: "",
                },
                EmitError::EmptyParameter { name: "user_code" },
            ),
            (
                Request::CodePair {
                    client_id: "c",
                    product_id: "",
                    device_serial_number: "1",
                },
                EmitError::EmptyParameter { name: "productID" },
            ),
            (
                Request::AuthorizationCode {
                    client_id: "c",
                    code: Secret::new("x"),
                    redirect_uri: "",
                    auth: ClientAuth::Secret(Secret::new("s")),
                },
                EmitError::EmptyParameter {
                    name: "redirect_uri",
                },
            ),
        ];
        for (r, want) in cases {
            assert_eq!(r.emit(&e, &mut buf), Err(want));
        }
    }

    /// The scope data as serde-json-core serializes it: the reference for lwa's writer.
    #[derive(serde::Serialize)]
    struct ScopeData<'a> {
        #[serde(rename = "alexa:all")]
        alexa_all: AlexaAll<'a>,
    }

    #[derive(serde::Serialize)]
    struct AlexaAll<'a> {
        #[serde(rename = "productID")]
        product_id: &'a str,
        #[serde(rename = "productInstanceAttributes")]
        attributes: Attributes<'a>,
    }

    #[derive(serde::Serialize)]
    struct Attributes<'a> {
        #[serde(rename = "deviceSerialNumber")]
        device_serial_number: &'a str,
    }

    #[test]
    fn scope_json_is_byte_for_byte_serde_json_core() {
        let every_control: std::string::String = (0u8..0x20).map(char::from).collect();
        let values = [
            "",
            "my_device",
            "a\"b\\c/",
            "é€😀\u{7f}",
            "\u{8}\t\n\u{c}\r/<>",
            every_control.as_str(),
        ];
        for product_id in values {
            for serial in values {
                let reference = ScopeData {
                    alexa_all: AlexaAll {
                        product_id,
                        attributes: Attributes {
                            device_serial_number: serial,
                        },
                    },
                };
                let mut json = [0u8; 512];
                let n = serde_json_core::to_slice(&reference, &mut json).unwrap();
                let mut want = [0u8; 2048];
                let want_len = crate::form::encode(&json[..n], &mut want).unwrap();
                let mut buf = [0u8; 2048];
                let mut c = Cursor::new(&mut buf);
                put_scope_data(&mut c, product_id, serial);
                assert_eq!(c.finish(), Ok(want_len));
                assert_eq!(
                    &buf[..want_len],
                    &want[..want_len],
                    "{product_id:?} {serial:?}"
                );
                // Counting alone gives the same length.
                let mut counter = Cursor::new(&mut []);
                put_scope_data(&mut counter, product_id, serial);
                assert_eq!(counter.pos(), want_len);
            }
        }
    }
}
