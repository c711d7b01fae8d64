//! Where requests go: the three LWA regions, or a custom origin for tests and proxies.
//!
//! An [`Endpoint`] is a host, a port and whether the connection is TLS. The paths are fixed
//! by the protocol ([`TOKEN_PATH`], [`CODE_PAIR_PATH`]) and appended to every endpoint,
//! custom ones included.
//!
//! Plain HTTP is allowed only to loopback hosts (`localhost`, `127.0.0.0/8`, `::1`): a
//! request carries a client secret or a refresh token, which must not cross a network in the
//! clear. The check lives here so every transport inherits it.
//!
//! ```
//! use lwa_core::endpoint::{Endpoint, Region};
//! use lwa_core::error::EndpointError;
//!
//! assert_eq!(Endpoint::region(Region::Eu).host(), "api.amazon.co.uk");
//!
//! let local = Endpoint::parse_origin("http://127.0.0.1:8080").unwrap();
//! assert_eq!((local.host(), local.port(), local.is_tls()), ("127.0.0.1", 8080, false));
//!
//! assert_eq!(
//!     Endpoint::parse_origin("http://api.amazon.com"),
//!     Err(EndpointError::PlainHttpNotLoopback)
//! );
//! ```

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::error::EndpointError;

/// Path of the token endpoint (authorization code, refresh, device-code poll).
pub const TOKEN_PATH: &str = "/auth/o2/token";
/// Path of the code-pair endpoint (code-based linking, step 1).
pub const CODE_PAIR_PATH: &str = "/auth/O2/create/codepair";

/// An LWA region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Region {
    /// North America, `api.amazon.com` (the default).
    #[default]
    Na,
    /// Europe, `api.amazon.co.uk`.
    Eu,
    /// Far East, `api.amazon.co.jp`.
    Fe,
}

impl Region {
    /// The region's API host.
    ///
    /// ```
    /// assert_eq!(lwa_core::endpoint::Region::Fe.host(), "api.amazon.co.jp");
    /// ```
    #[must_use]
    pub const fn host(self) -> &'static str {
        match self {
            Self::Na => "api.amazon.com",
            Self::Eu => "api.amazon.co.uk",
            Self::Fe => "api.amazon.co.jp",
        }
    }

    /// Parses `na`, `eu` or `fe` (any case).
    ///
    /// ```
    /// use lwa_core::endpoint::Region;
    /// assert_eq!(Region::from_name("EU"), Some(Region::Eu));
    /// assert_eq!(Region::from_name("us"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Na, Self::Eu, Self::Fe]
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }

    /// `na`, `eu` or `fe`.
    ///
    /// ```
    /// assert_eq!(lwa_core::endpoint::Region::Na.name(), "na");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Na => "na",
            Self::Eu => "eu",
            Self::Fe => "fe",
        }
    }
}

/// A host, port and transport security for LWA requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Endpoint<'a> {
    host: &'a str,
    port: u16,
    tls: bool,
    /// An IPv6 literal, bracketed in `Host` (known at construction: one test per endpoint,
    /// not one per request).
    ipv6: bool,
}

impl Endpoint<'static> {
    /// The HTTPS endpoint of a region, port 443.
    ///
    /// ```
    /// use lwa_core::endpoint::{Endpoint, Region};
    /// let e = Endpoint::region(Region::Na);
    /// assert_eq!((e.host(), e.port(), e.is_tls()), ("api.amazon.com", 443, true));
    /// ```
    #[must_use]
    pub const fn region(region: Region) -> Self {
        Self {
            host: region.host(),
            port: 443,
            tls: true,
            ipv6: false,
        }
    }
}

impl<'a> Endpoint<'a> {
    /// A custom endpoint. `host` is a DNS name, an IPv4 address or an IPv6 address without
    /// brackets. `tls: false` is refused unless the host is loopback.
    ///
    /// ```
    /// use lwa_core::endpoint::Endpoint;
    /// let e = Endpoint::new("::1", 8443, true).unwrap();
    /// assert_eq!(e.authority_is_default_port(), false);
    /// assert!(Endpoint::new("example.com", 80, false).is_err());
    /// ```
    pub fn new(host: &'a str, port: u16, tls: bool) -> Result<Self, EndpointError> {
        if port == 0 {
            return Err(EndpointError::InvalidPort);
        }
        if !valid_host(host) {
            return Err(EndpointError::InvalidHost);
        }
        if !tls && !is_loopback(host) {
            return Err(EndpointError::PlainHttpNotLoopback);
        }
        Ok(Self {
            host,
            port,
            tls,
            ipv6: host.contains(':'),
        })
    }

    /// Parses an origin, `scheme://host[:port]`, with an optional trailing `/`. IPv6 hosts
    /// go in brackets (`https://[::1]:8443`). Default ports: 443 for `https`, 80 for `http`.
    ///
    /// ```
    /// use lwa_core::endpoint::Endpoint;
    /// let e = Endpoint::parse_origin("https://[::1]:8443/").unwrap();
    /// assert_eq!((e.host(), e.port(), e.is_tls()), ("::1", 8443, true));
    /// let e = Endpoint::parse_origin("HTTPS://api.amazon.com").unwrap();
    /// assert_eq!(e.port(), 443);
    /// assert!(Endpoint::parse_origin("https://api.amazon.com/auth/o2/token").is_err());
    /// ```
    pub fn parse_origin(origin: &'a str) -> Result<Self, EndpointError> {
        let (scheme, rest) = origin
            .split_once("://")
            .ok_or(EndpointError::UnsupportedScheme)?;
        let tls = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Err(EndpointError::UnsupportedScheme);
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(EndpointError::NotAnOrigin);
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or(EndpointError::InvalidHost)?;
            if host.parse::<Ipv6Addr>().is_err() {
                return Err(EndpointError::InvalidHost);
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(EndpointError::NotAnOrigin)?),
            };
            (host, port)
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            None => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some(p) => parse_port(p)?,
        };
        Self::new(host, port, tls)
    }

    /// The host (IPv6 without brackets).
    ///
    /// ```
    /// assert_eq!(lwa_core::endpoint::Endpoint::parse_origin("https://a.b").unwrap().host(), "a.b");
    /// ```
    #[must_use]
    pub const fn host(&self) -> &'a str {
        self.host
    }

    /// The TCP port.
    ///
    /// ```
    /// assert_eq!(lwa_core::endpoint::Endpoint::parse_origin("https://a.b:1").unwrap().port(), 1);
    /// ```
    #[must_use]
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Whether the transport must speak TLS (with certificate and host-name verification).
    ///
    /// ```
    /// assert!(lwa_core::endpoint::Endpoint::parse_origin("https://a.b").unwrap().is_tls());
    /// ```
    #[must_use]
    pub const fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the port is the scheme's default (then `Host` carries no port).
    ///
    /// ```
    /// use lwa_core::endpoint::{Endpoint, Region};
    /// assert!(Endpoint::region(Region::Na).authority_is_default_port());
    /// ```
    #[must_use]
    pub const fn authority_is_default_port(&self) -> bool {
        self.port == if self.tls { 443 } else { 80 }
    }

    /// Whether the host is a loopback name or address.
    ///
    /// ```
    /// assert!(lwa_core::endpoint::Endpoint::parse_origin("http://localhost:1").unwrap().is_loopback());
    /// ```
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        is_loopback(self.host)
    }

    /// Writes the `Host` header value: the host (IPv6 in brackets) and `:port` unless it is
    /// the default one. Returns the bytes written, or `None` if `out` is too short.
    pub(crate) fn write_authority(&self, out: &mut crate::form::Cursor<'_>) {
        let v6 = self.ipv6;
        if v6 {
            out.put(b"[");
        }
        out.put(self.host.as_bytes());
        if v6 {
            out.put(b"]");
        }
        if !self.authority_is_default_port() {
            out.put(b":");
            out.put_decimal(usize::from(self.port));
        }
    }
}

/// The origin, `scheme://host[:port]`: the scheme and host in lower case, IPv6 in brackets,
/// the port only when it is not the scheme's default. Two endpoints that reach the same
/// server print the same text, and [`Endpoint::parse_origin`] reads it back.
///
/// ```
/// use lwa_core::endpoint::{Endpoint, Region};
/// assert_eq!(Endpoint::region(Region::Eu).to_string(), "https://api.amazon.co.uk");
/// let e = Endpoint::parse_origin("HTTP://LocalHost:8080/").unwrap();
/// assert_eq!(e.to_string(), "http://localhost:8080");
/// assert_eq!(Endpoint::parse_origin("https://[::1]:443").unwrap().to_string(), "https://[::1]");
/// ```
impl core::fmt::Display for Endpoint<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write as _;
        f.write_str(if self.tls { "https://" } else { "http://" })?;
        if self.ipv6 {
            f.write_char('[')?;
        }
        for c in self.host.chars() {
            f.write_char(c.to_ascii_lowercase())?;
        }
        if self.ipv6 {
            f.write_char(']')?;
        }
        if !self.authority_is_default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

fn parse_port(p: &str) -> Result<u16, EndpointError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EndpointError::InvalidPort);
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(EndpointError::InvalidPort),
        Ok(n) => Ok(n),
    }
}

/// A DNS name (letters, digits, `-`, `.`, `_`), or an IP literal. Nothing that could break out
/// of a `Host` header.
fn valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    if host.contains(':') {
        return host.parse::<Ipv6Addr>().is_ok();
    }
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// `localhost` (and names below `.localhost`, RFC 6761), `127.0.0.0/8` and `::1`.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(dot) = host.len().checked_sub(".localhost".len())
        && host
            .get(dot..)
            .is_some_and(|s| s.eq_ignore_ascii_case(".localhost"))
    {
        return true;
    }
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return v4.is_loopback();
    }
    host.parse::<Ipv6Addr>().is_ok_and(|v6| v6.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Result<(&'static str, u16, bool), EndpointError>;

    #[test]
    fn origins() {
        let cases: &[(&str, Parsed)] = &[
            ("https://api.amazon.com", Ok(("api.amazon.com", 443, true))),
            ("https://api.amazon.com/", Ok(("api.amazon.com", 443, true))),
            (
                "https://api.amazon.com:8443",
                Ok(("api.amazon.com", 8443, true)),
            ),
            ("http://localhost", Ok(("localhost", 80, false))),
            (
                "http://device.localhost:81",
                Ok(("device.localhost", 81, false)),
            ),
            ("http://127.1.2.3:9", Ok(("127.1.2.3", 9, false))),
            ("http://[::1]:9", Ok(("::1", 9, false))),
            ("https://[2001:db8::1]", Ok(("2001:db8::1", 443, true))),
            ("http://10.0.0.1", Err(EndpointError::PlainHttpNotLoopback)),
            ("http://[::2]", Err(EndpointError::PlainHttpNotLoopback)),
            (
                "http://localhost.evil.com",
                Err(EndpointError::PlainHttpNotLoopback),
            ),
            ("ftp://x", Err(EndpointError::UnsupportedScheme)),
            ("api.amazon.com", Err(EndpointError::UnsupportedScheme)),
            ("https://a/b", Err(EndpointError::NotAnOrigin)),
            ("https://u@a", Err(EndpointError::NotAnOrigin)),
            ("https://a?x", Err(EndpointError::NotAnOrigin)),
            ("https://a:0", Err(EndpointError::InvalidPort)),
            ("https://a:65536", Err(EndpointError::InvalidPort)),
            ("https://a:", Err(EndpointError::InvalidPort)),
            ("https://a:+1", Err(EndpointError::InvalidPort)),
            ("https://", Err(EndpointError::InvalidHost)),
            ("https://a b", Err(EndpointError::InvalidHost)),
            ("https://a\r\nX-y", Err(EndpointError::InvalidHost)),
            ("https://a\r\nX: y", Err(EndpointError::InvalidPort)),
            ("https://[::1", Err(EndpointError::InvalidHost)),
            ("https://[zz]", Err(EndpointError::InvalidHost)),
            ("https://[::1]x", Err(EndpointError::NotAnOrigin)),
        ];
        for (origin, want) in cases {
            let got = Endpoint::parse_origin(origin).map(|e| (e.host(), e.port(), e.is_tls()));
            assert_eq!(&got, want, "{origin}");
        }
    }

    #[test]
    fn regions() {
        assert_eq!(Endpoint::region(Region::Na).host(), "api.amazon.com");
        assert_eq!(Endpoint::region(Region::Eu).host(), "api.amazon.co.uk");
        assert_eq!(Endpoint::region(Region::Fe).host(), "api.amazon.co.jp");
        assert_eq!(Region::default(), Region::Na);
        assert_eq!(Region::from_name("fe"), Some(Region::Fe));
    }
}
