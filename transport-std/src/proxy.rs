//! HTTPS through an HTTP proxy: the proxy's URL, the hosts that go around it, and the
//! `CONNECT` tunnel.
//!
//! A [`Proxy`] is an `http://` proxy, with an optional `user:password@` for Basic proxy
//! authentication. The client opens a TCP connection to it, asks for a tunnel with
//! `CONNECT host:443`, reads the proxy's answer, and then speaks TLS to LWA's host through
//! the tunnel, end to end, with the same verification as without a proxy: the proxy sees
//! the host name and port, the TLS records and nothing else (no token, no secret). Every
//! step (the proxy's name, the connect, writing `CONNECT`, the proxy's answer) ends by the
//! exchange's deadline. Plain `http://` endpoints (loopback only) never go through a proxy.
//!
//! The environment, as curl reads it: `https_proxy`, else `HTTPS_PROXY`, else `all_proxy`,
//! else `ALL_PROXY` (the lower-case name wins; an empty value counts as unset), and
//! `no_proxy`, else `NO_PROXY`, for the hosts that go around it ([`NoProxy`]). As in curl,
//! loopback hosts are not left out unless listed: `NO_PROXY=localhost,127.0.0.1,::1` does
//! that.
//!
//! ```
//! use lwa_std::proxy::{NoProxy, Proxy};
//!
//! let proxy: Proxy = "http://alice:s%40cret@proxy.corp.example:3128".parse()?;
//! assert_eq!(proxy.host(), "proxy.corp.example");
//! assert_eq!(proxy.port(), 3128);
//! assert_eq!(proxy.user(), Some("alice"));
//! // The password is never shown.
//! assert_eq!(proxy.to_string(), "http://alice:***@proxy.corp.example:3128");
//! assert!(!format!("{proxy:?}").contains("cret"));
//!
//! let proxy = proxy.with_no_proxy(NoProxy::parse(".internal.example, 10.0.0.0/8"));
//! assert!(proxy.is_used_for("api.amazon.com"));
//! assert!(!proxy.is_used_for("auth.internal.example"));
//! assert!(!proxy.is_used_for("10.1.2.3"));
//! # Ok::<(), lwa_std::proxy::ParseError>(())
//! ```
//!
//! Nothing here panics on any input: URLs, lists and proxy answers that cannot be read are
//! errors (or, in a `NO_PROXY` list, entries that match nothing).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::client::{BoundedTcp, Error};

/// The proxy port when the URL names none (curl's).
pub const DEFAULT_PORT: u16 = 1080;

/// The longest answer head read from a proxy (status line and headers).
pub const MAX_ANSWER_LEN: usize = 8 * 1024;

/// The most headers read in a proxy's answer.
const MAX_HEADERS: usize = 64;

/// The variables the proxy is read from, in order: the first one set and not empty wins.
pub const PROXY_VARIABLES: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];

/// The variables the hosts that go around the proxy are read from, in order.
pub const NO_PROXY_VARIABLES: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// Why a proxy URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The URL is empty.
    Empty,
    /// A scheme other than `http://` (`https://` and `socks5://` proxies are not supported).
    Scheme,
    /// A space, a control character or a non-ASCII character.
    Character,
    /// No host, or a host that is not a name or an IP address.
    Host,
    /// A port that is not a number from 1 to 65535.
    Port,
    /// A path, query or fragment after the host (only a trailing `/` is allowed).
    Path,
    /// `@` without a user name before it.
    User,
    /// A `%` not followed by two hex digits, or a user or password that is not UTF-8 once
    /// decoded.
    PercentEncoding,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty proxy URL",
            Self::Scheme => "only http:// proxies are supported",
            Self::Character => "a space, control or non-ASCII character in the proxy URL",
            Self::Host => "no valid host in the proxy URL",
            Self::Port => "the proxy port is not a number from 1 to 65535",
            Self::Path => "a path, query or fragment in the proxy URL (only host[:port] may follow http://)",
            Self::User => "an empty user name before @ in the proxy URL",
            Self::PercentEncoding => {
                "bad percent-encoding in the proxy URL's user or password (% must be followed by two hex digits, and the result be UTF-8)"
            }
        })
    }
}

impl std::error::Error for ParseError {}

/// A proxy variable that could not be read: which one, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvError {
    /// The variable (`HTTPS_PROXY`, say).
    pub variable: &'static str,
    /// What is wrong with its value (never shown: it may hold a password).
    pub error: ParseError,
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.error)
    }
}

impl std::error::Error for EnvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Why a tunnel through a proxy could not be opened. [`Error::Proxy`] carries it with the
/// proxy's name (its password hidden).
#[derive(Debug)]
#[non_exhaustive]
pub enum TunnelError {
    /// The proxy's host name did not resolve.
    Resolve(io::Error),
    /// No connection to the proxy could be made.
    Connect(io::Error),
    /// The proxy did not answer (or the connection to it was not made) by the deadline.
    Timeout,
    /// Reading from or writing to the proxy failed.
    Io(io::Error),
    /// The proxy closed the connection before a whole answer.
    Closed,
    /// The proxy's answer is not an HTTP response.
    Malformed(httparse::Error),
    /// The proxy's answer head is longer than [`MAX_ANSWER_LEN`].
    TooLarge,
    /// The proxy refused the tunnel with this status (407 or 401: authentication required
    /// or wrong; 403: not allowed; 502: it could not reach the host; ...).
    Refused {
        /// The proxy's HTTP status.
        status: u16,
    },
    /// The proxy answered `CONNECT` with success, then closed the tunnel before the TLS
    /// handshake with the host finished.
    TunnelClosed,
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resolve(e) => write!(f, "cannot resolve its host: {e}"),
            Self::Connect(e) => write!(f, "cannot connect: {e}"),
            Self::Timeout => f.write_str("timed out before the tunnel was open"),
            Self::Io(e) => write!(f, "connection: {e}"),
            Self::Closed => f.write_str("closed the connection before answering CONNECT"),
            Self::Malformed(e) => write!(f, "its answer to CONNECT is not HTTP: {e}"),
            Self::TooLarge => write!(
                f,
                "its answer to CONNECT is longer than {MAX_ANSWER_LEN} bytes"
            ),
            Self::Refused { status } => {
                write!(f, "refused the tunnel: HTTP {status}")?;
                match status {
                    401 | 407 => f.write_str(
                        " (proxy authentication required or wrong: check the user and password in the proxy URL)",
                    ),
                    403 => f.write_str(" (forbidden: the proxy does not allow this host or port)"),
                    502 => f.write_str(" (bad gateway: the proxy could not reach the host)"),
                    504 => f.write_str(" (gateway timeout: the host did not answer the proxy)"),
                    _ => Ok(()),
                }
            }
            Self::TunnelClosed => {
                f.write_str("accepted the tunnel, then closed it before the TLS handshake finished")
            }
        }
    }
}

impl std::error::Error for TunnelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Resolve(e) | Self::Connect(e) | Self::Io(e) => Some(e),
            Self::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

/// A user and password for Basic proxy authentication, zeroized on drop.
#[derive(Clone)]
struct Credentials {
    /// The user as the URL wrote it (percent-encoded), for display.
    shown_user: String,
    user: Zeroizing<String>,
    password: Zeroizing<String>,
}

/// An `http://` proxy: host, port, optional credentials for Basic proxy authentication
/// (held zeroized), and the hosts that go around it. `Display` and `Debug` show
/// `http://user:***@host:port`, never the password.
///
/// ```
/// use lwa_std::proxy::Proxy;
/// let proxy = Proxy::parse("proxy.example:8080")?; // no scheme: http://
/// assert_eq!(proxy.to_string(), "http://proxy.example:8080");
/// assert_eq!(Proxy::parse("http://[::1]")?.to_string(), "http://[::1]:1080");
/// assert!(Proxy::parse("https://proxy.example").is_err());
/// # Ok::<(), lwa_std::proxy::ParseError>(())
/// ```
#[derive(Clone)]
pub struct Proxy {
    host: String,
    port: u16,
    credentials: Option<Credentials>,
    no_proxy: NoProxy,
}

impl Proxy {
    /// Parses `[http://][user[:password]@]host[:port][/]`: no scheme means `http://`, no
    /// port [`DEFAULT_PORT`], IPv6 addresses go in brackets, the user and password are
    /// percent-decoded (`%40` for `@`). The proxy has no [`NoProxy`] list
    /// ([`with_no_proxy`](Self::with_no_proxy) adds one).
    ///
    /// # Errors
    /// [`ParseError`] says what is wrong; it never repeats the URL, which may hold a
    /// password.
    pub fn parse(url: &str) -> Result<Self, ParseError> {
        if url.is_empty() {
            return Err(ParseError::Empty);
        }
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::Character);
        }
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => return Err(ParseError::Scheme),
            None => url,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(ParseError::Path);
        }
        let (userinfo, authority) = match rest.rsplit_once('@') {
            Some((userinfo, authority)) => (Some(userinfo), authority),
            None => (None, rest),
        };
        let credentials = userinfo.map(parse_userinfo).transpose()?;
        let (host, port) = parse_authority(authority)?;
        Ok(Self {
            host,
            port,
            credentials,
            no_proxy: NoProxy::default(),
        })
    }

    /// The proxy the environment names, as curl reads it (see the [module](self) docs),
    /// with the hosts of `no_proxy`/`NO_PROXY` going around it; `None` when no proxy
    /// variable is set.
    ///
    /// # Errors
    /// [`EnvError`] names the variable whose value is not a proxy URL.
    pub fn from_env() -> Result<Option<Self>, EnvError> {
        Self::from_vars(env_var)
    }

    /// [`from_env`](Self::from_env) with the variables looked up by `var`: a test's own
    /// environment, say.
    ///
    /// ```
    /// use lwa_std::proxy::Proxy;
    /// let vars = |name: &str| match name {
    ///     "HTTPS_PROXY" => Some("http://upper.example:3128".to_owned()),
    ///     "https_proxy" => Some("http://lower.example:3128".to_owned()),
    ///     "NO_PROXY" => Some("localhost".to_owned()),
    ///     _ => None,
    /// };
    /// let proxy = Proxy::from_vars(vars).unwrap().unwrap();
    /// assert_eq!(proxy.host(), "lower.example"); // lower-case wins, as in curl
    /// assert!(!proxy.is_used_for("localhost"));
    /// assert!(Proxy::from_vars(|_| None).unwrap().is_none());
    /// ```
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, EnvError> {
        let found = PROXY_VARIABLES
            .iter()
            .find_map(|&name| var(name).filter(|v| !v.is_empty()).map(|v| (name, v)));
        let Some((variable, value)) = found else {
            return Ok(None);
        };
        let value = Zeroizing::new(value);
        let proxy = Self::parse(&value).map_err(|error| EnvError { variable, error })?;
        Ok(Some(proxy.with_no_proxy(NoProxy::from_vars(var))))
    }

    /// This proxy with `no_proxy` as the hosts that go around it.
    #[must_use]
    pub fn with_no_proxy(mut self, no_proxy: NoProxy) -> Self {
        self.no_proxy = no_proxy;
        self
    }

    /// The proxy's host name or IP address (an IPv6 address without brackets).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name for Basic proxy authentication, percent-decoded.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.user.as_str())
    }

    /// The hosts that go around this proxy.
    #[must_use]
    pub fn no_proxy(&self) -> &NoProxy {
        &self.no_proxy
    }

    /// Whether a connection to `host` goes through this proxy: unless [`NoProxy`] lists it.
    #[must_use]
    pub fn is_used_for(&self, host: &str) -> bool {
        !self.no_proxy.matches(host)
    }

    /// Connects to the proxy and opens a tunnel to `host:port` with `CONNECT`, all by
    /// `deadline`, each read and write within `timeout`: the stream returned speaks to
    /// `host:port` through the proxy (the client runs TLS over it; so may a caller that
    /// speaks TLS itself). `user_agent` is sent to the proxy unless it holds control
    /// characters.
    ///
    /// ```no_run
    /// use std::time::{Duration, Instant};
    /// use lwa_std::proxy::Proxy;
    /// let proxy = Proxy::parse("http://proxy.example:3128")?;
    /// let deadline = Instant::now() + Duration::from_secs(30);
    /// let tunnel = proxy.connect("api.amazon.com", 443, "lwa", Duration::from_secs(10), deadline)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Proxy`] with the proxy's name (its password hidden) and what went wrong:
    /// the proxy cannot be reached, refuses (its status), answers garbage, closes, or does
    /// not answer by the deadline.
    pub fn connect(
        &self,
        host: &str,
        port: u16,
        user_agent: &str,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<BoundedTcp, Error> {
        let fail = |error| self.error(error);
        let mut tcp =
            BoundedTcp::connect(&self.host, self.port, timeout, deadline).map_err(|e| match e {
                Error::Resolve(e) => fail(TunnelError::Resolve(e)),
                Error::Connect(e) => fail(TunnelError::Connect(e)),
                Error::Timeout => fail(TunnelError::Timeout),
                other => other,
            })?;
        let request = self.connect_request(host, port, user_agent);
        tcp.write_all(&request)
            .and_then(|()| tcp.flush())
            .map_err(|e| fail(classify(e, deadline)))?;
        let status = read_answer(&mut tcp, deadline).map_err(fail)?;
        if !(200..300).contains(&status) {
            return Err(fail(TunnelError::Refused { status }));
        }
        Ok(tcp)
    }

    /// [`Error::Proxy`] for this proxy.
    pub(crate) fn error(&self, error: TunnelError) -> Error {
        Error::Proxy {
            proxy: self.to_string(),
            error,
        }
    }

    /// `CONNECT host:port`, with the credentials if any; zeroized on drop.
    fn connect_request(&self, host: &str, port: u16, user_agent: &str) -> Zeroizing<Vec<u8>> {
        let target = authority(host, port);
        let mut request = Zeroizing::new(Vec::with_capacity(256));
        let mut put = |s: &str| request.extend_from_slice(s.as_bytes());
        put("CONNECT ");
        put(&target);
        put(" HTTP/1.1\r\nHost: ");
        put(&target);
        put("\r\n");
        if !user_agent.is_empty() && !user_agent.bytes().any(|b| b.is_ascii_control()) {
            put("User-Agent: ");
            put(user_agent);
            put("\r\n");
        }
        if let Some(c) = &self.credentials {
            let pair = Zeroizing::new(format!("{}:{}", c.user.as_str(), c.password.as_str()));
            let encoded =
                Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
            put("Proxy-Authorization: Basic ");
            put(&encoded);
            put("\r\n");
        }
        put("\r\n");
        request
    }
}

impl FromStr for Proxy {
    type Err = ParseError;
    fn from_str(url: &str) -> Result<Self, ParseError> {
        Self::parse(url)
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("http://")?;
        if let Some(c) = &self.credentials {
            write!(f, "{}:***@", c.shown_user)?;
        }
        f.write_str(&authority(&self.host, self.port))
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.to_string())
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// `host:port`, an IPv6 address in brackets.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A variable of the process's environment; one that is not Unicode is kept as something
/// that is no proxy URL, so that it is refused rather than ignored.
fn env_var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// `user[:password]`, percent-decoded.
fn parse_userinfo(userinfo: &str) -> Result<Credentials, ParseError> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    if user.is_empty() {
        return Err(ParseError::User);
    }
    let decode = |s: &str| -> Result<Zeroizing<String>, ParseError> {
        let decoded = percent_encoding_rfc3986::percent_decode_str(s)
            .map_err(|_| ParseError::PercentEncoding)?
            .decode_utf8()
            .map_err(|_| ParseError::PercentEncoding)?;
        Ok(Zeroizing::new(decoded.into_owned()))
    };
    Ok(Credentials {
        shown_user: user.to_owned(),
        user: decode(user)?,
        password: decode(password)?,
    })
}

/// `host[:port]` or `[v6][:port]`.
fn parse_authority(authority: &str) -> Result<(String, u16), ParseError> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (v6, after) = bracketed.split_once(']').ok_or(ParseError::Host)?;
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(ParseError::Host);
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(ParseError::Host)?),
        };
        (v6, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let name_ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    if host.is_empty() || !name_ok || host.starts_with(['.', '-']) {
        return Err(ParseError::Host);
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or(ParseError::Port)?,
        Some(_) => return Err(ParseError::Port),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// An I/O error while tunnelling: a timeout, or something else.
fn classify(e: io::Error, deadline: Instant) -> TunnelError {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) || Instant::now() >= deadline
    {
        TunnelError::Timeout
    } else {
        TunnelError::Io(e)
    }
}

/// Reads the proxy's answer head, a byte at a time so that nothing of the tunnel is read
/// with it, and returns its status. Each line end is parsed by httparse, so garbage is
/// refused at its first line; an end of input before a whole head is [`TunnelError::Closed`]
/// (or [`TunnelError::Malformed`] when what came is not HTTP). A success's body is not read:
/// the tunnel starts after the head.
pub(crate) fn read_answer(r: &mut impl Read, deadline: Instant) -> Result<u16, TunnelError> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    loop {
        let n = match r.read(&mut byte) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(classify(e, deadline)),
        };
        if n == 0 {
            return match parse_head(&head)? {
                Some(status) => Ok(status),
                None => Err(TunnelError::Closed),
            };
        }
        if head.len() >= MAX_ANSWER_LEN {
            return Err(TunnelError::TooLarge);
        }
        head.extend_from_slice(&byte);
        if byte == [b'\n']
            && let Some(status) = parse_head(&head)?
        {
            return Ok(status);
        }
    }
}

/// The status of a whole answer head, `None` while it is partial.
fn parse_head(head: &[u8]) -> Result<Option<u16>, TunnelError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(head) {
        Ok(httparse::Status::Complete(_)) => Ok(response.code),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(TunnelError::Malformed(e)),
    }
}

/// The hosts that go around the proxy, as curl reads `NO_PROXY`: a comma-separated list of
/// host names (each matching itself and its subdomains; a leading `.` or `*.` changes
/// nothing), IP addresses, CIDR ranges (`10.0.0.0/8`, `fd00::/8`), or `*` for every host.
/// Names match without regard to case or a trailing dot; IP addresses and ranges match hosts
/// written as IP addresses only (no name is resolved to check); IPv6 addresses may be in
/// brackets. An entry with a port, or one that is none of these, matches nothing. Loopback
/// hosts are not left out unless listed.
///
/// ```
/// use lwa_std::proxy::NoProxy;
/// let list = NoProxy::parse("example.com, .corp.example, 192.168.0.0/16, ::1");
/// assert!(list.matches("example.com"));
/// assert!(list.matches("API.Example.com."));
/// assert!(!list.matches("notexample.com"));
/// assert!(list.matches("corp.example"));
/// assert!(list.matches("192.168.4.20"));
/// assert!(list.matches("::1"));
/// assert!(!list.matches("127.0.0.1"));
/// assert!(NoProxy::parse("*").matches("api.amazon.com"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Name(String),
    Ip(IpAddr),
    Net(IpAddr, u8),
}

impl NoProxy {
    /// Reads a list (see the type's docs). Never fails: an entry that cannot be read matches
    /// nothing.
    #[must_use]
    pub fn parse(list: &str) -> Self {
        let mut out = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                out.all = true;
                continue;
            }
            if let Some(rule) = Rule::parse(entry) {
                out.rules.push(rule);
            }
        }
        out
    }

    /// `no_proxy`, else `NO_PROXY`, of the process's environment; empty when neither is set.
    #[must_use]
    pub fn from_env() -> Self {
        Self::from_vars(env_var)
    }

    /// [`from_env`](Self::from_env) with the variables looked up by `var`.
    #[must_use]
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        NO_PROXY_VARIABLES
            .iter()
            .find_map(|&name| var(name).filter(|v| !v.is_empty()))
            .map_or_else(Self::default, |list| Self::parse(&list))
    }

    /// Whether `host` (a name or an IP address, IPv6 with or without brackets) goes around
    /// the proxy.
    #[must_use]
    pub fn matches(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&host);
        let ip = host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        self.rules.iter().any(|rule| match (rule, ip) {
            (Rule::Ip(want), Some(ip)) => *want == ip,
            (Rule::Net(net, bits), Some(ip)) => in_net(ip, *net, *bits),
            (Rule::Name(name), None) => {
                host == name
                    || host
                        .strip_suffix(name.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            _ => false,
        })
    }

    /// Whether the list is empty (every host goes through the proxy).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.all && self.rules.is_empty()
    }
}

impl Rule {
    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.to_ascii_lowercase();
        if let Some((ip, bits)) = entry.split_once('/') {
            let ip = unbracket(ip).parse::<IpAddr>().ok()?.to_canonical();
            let bits: u8 = bits.parse().ok()?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            return (bits <= max).then_some(Self::Net(ip, bits));
        }
        if let Ok(ip) = unbracket(&entry).parse::<IpAddr>() {
            return Some(Self::Ip(ip.to_canonical()));
        }
        let name = entry
            .strip_prefix("*.")
            .or_else(|| entry.strip_prefix('.'))
            .unwrap_or(&entry)
            .trim_end_matches('.');
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        ok.then(|| Self::Name(name.to_owned()))
    }
}

fn unbracket(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s)
}

/// Whether `ip` is in `net/bits` (both canonical: IPv4-mapped IPv6 as IPv4).
fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Host, port, and user and password if any.
    type Parsed = (String, u16, Option<(String, String)>);

    fn parsed(url: &str) -> Result<Parsed, ParseError> {
        Proxy::parse(url).map(|p| {
            let creds = p
                .credentials
                .as_ref()
                .map(|c| (c.user.to_string(), c.password.to_string()));
            (p.host, p.port, creds)
        })
    }

    #[test]
    fn proxy_urls() {
        let some = |h: &str, p: u16| Ok((h.to_owned(), p, None));
        let creds = |h: &str, p: u16, u: &str, pw: &str| {
            Ok((h.to_owned(), p, Some((u.to_owned(), pw.to_owned()))))
        };
        let cases: &[(&str, Result<_, ParseError>)] = &[
            ("http://proxy:3128", some("proxy", 3128)),
            ("HTTP://Proxy.Example:3128/", some("proxy.example", 3128)),
            ("proxy.example", some("proxy.example", 1080)),
            ("10.0.0.1:8080", some("10.0.0.1", 8080)),
            ("http://[::1]:3128", some("::1", 3128)),
            ("http://[::1]", some("::1", 1080)),
            ("http://u:p@h:1", creds("h", 1, "u", "p")),
            ("http://u@h:1", creds("h", 1, "u", "")),
            ("http://u:@h:1", creds("h", 1, "u", "")),
            ("http://a%40b:p%3Aw%25@h:1", creds("h", 1, "a@b", "p:w%")),
            ("http://u:p@ss@h:1", creds("h", 1, "u", "p@ss")),
            ("http://u:%E2%82%AC@h:1", creds("h", 1, "u", "\u{20ac}")),
            ("", Err(ParseError::Empty)),
            ("https://proxy:443", Err(ParseError::Scheme)),
            ("socks5://proxy:1080", Err(ParseError::Scheme)),
            ("http://proxy:3128/path", Err(ParseError::Path)),
            ("http://proxy:3128?x", Err(ParseError::Path)),
            ("http://proxy:3128#x", Err(ParseError::Path)),
            ("http://pro xy:3128", Err(ParseError::Character)),
            ("http://proxy:3128\r\n", Err(ParseError::Character)),
            ("http://pr\u{f6}xy", Err(ParseError::Character)),
            ("http://", Err(ParseError::Host)),
            ("http://:3128", Err(ParseError::Host)),
            ("http://-x:3128", Err(ParseError::Host)),
            ("http://[::1", Err(ParseError::Host)),
            ("http://[zz]:1", Err(ParseError::Host)),
            ("http://[::1]x", Err(ParseError::Host)),
            ("http://h:", Err(ParseError::Port)),
            ("http://h:0", Err(ParseError::Port)),
            ("http://h:65536", Err(ParseError::Port)),
            ("http://h:+80", Err(ParseError::Port)),
            ("http://h:1:2", Err(ParseError::Port)),
            ("http://@h:1", Err(ParseError::User)),
            ("http://:pw@h:1", Err(ParseError::User)),
            ("http://u:p%zz@h:1", Err(ParseError::PercentEncoding)),
            ("http://u:p%4@h:1", Err(ParseError::PercentEncoding)),
            ("http://u:%FF@h:1", Err(ParseError::PercentEncoding)),
        ];
        for (url, want) in cases {
            assert_eq!(&parsed(url), want, "{url:?}");
        }
    }

    #[test]
    fn the_password_is_never_shown() {
        let p = Proxy::parse("http://al%20ice:hunter2@proxy:3128").unwrap();
        assert_eq!(p.to_string(), "http://al%20ice:***@proxy:3128");
        assert_eq!(p.user(), Some("al ice"));
        let debug = format!("{p:?}");
        assert_eq!(
            debug,
            "Proxy { url: \"http://al%20ice:***@proxy:3128\", no_proxy: NoProxy { all: false, rules: [] } }"
        );
        let e = p.error(TunnelError::Refused { status: 407 });
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!format!("{e:?}").contains("hunter2"));
        // A parse error never repeats the URL.
        let e = Proxy::parse("http://u:hunter2@h:99999").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the proxy port is not a number from 1 to 65535"
        );
    }

    #[test]
    fn the_connect_request() {
        let p = Proxy::parse("http://Aladdin:open%20sesame@proxy:3128").unwrap();
        let req = p.connect_request("api.amazon.com", 443, "lwa/0.1");
        assert_eq!(
            &req[..],
            b"CONNECT api.amazon.com:443 HTTP/1.1\r\nHost: api.amazon.com:443\r\n\
              User-Agent: lwa/0.1\r\n\
              Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        let p = Proxy::parse("proxy").unwrap();
        assert_eq!(
            &p.connect_request("::1", 8443, "a\r\nX-Injected: 1")[..],
            b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"
        );
    }

    #[test]
    fn the_environment_as_curl_reads_it() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let host = |pairs| Proxy::from_vars(env(pairs)).map(|p| p.map(|p| p.host));
        assert_eq!(host(&[]), Ok(None));
        assert_eq!(host(&[("HTTPS_PROXY", "")]), Ok(None));
        assert_eq!(host(&[("HTTP_PROXY", "h")]), Ok(None));
        assert_eq!(host(&[("ALL_PROXY", "a")]), Ok(Some("a".into())));
        assert_eq!(
            host(&[("ALL_PROXY", "a"), ("all_proxy", "b")]),
            Ok(Some("b".into()))
        );
        assert_eq!(
            host(&[("all_proxy", "b"), ("HTTPS_PROXY", "c")]),
            Ok(Some("c".into()))
        );
        assert_eq!(
            host(&[("HTTPS_PROXY", "c"), ("https_proxy", "d")]),
            Ok(Some("d".into()))
        );
        assert_eq!(
            host(&[("https_proxy", ""), ("HTTPS_PROXY", "c")]),
            Ok(Some("c".into()))
        );
        let e = host(&[("HTTPS_PROXY", "socks5://u:pw@h")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "HTTPS_PROXY: only http:// proxies are supported"
        );
        let p = Proxy::from_vars(env(&[
            ("HTTPS_PROXY", "h"),
            ("NO_PROXY", "upper.example"),
            ("no_proxy", "lower.example"),
        ]))
        .unwrap()
        .unwrap();
        assert!(p.is_used_for("upper.example"));
        assert!(!p.is_used_for("lower.example"));
        assert!(NoProxy::from_vars(env(&[("no_proxy", "")])).is_empty());
    }

    #[test]
    fn no_proxy_lists() {
        let list = NoProxy::parse(
            " example.com ,.dot.example,*.star.example, 10.0.0.0/8,192.168.1.1, \
             [fd00::1], fe80::/10, localhost., bad/99, 10.0.0.0/33, with.port:8080, ,",
        );
        let yes = [
            "example.com",
            "EXAMPLE.COM",
            "example.com.",
            "a.b.example.com",
            "dot.example",
            "x.dot.example",
            "star.example",
            "x.star.example",
            "10.255.0.1",
            "192.168.1.1",
            "::ffff:10.1.1.1",
            "fd00::1",
            "[fd00::1]",
            "fe80::abcd",
            "localhost",
        ];
        let no = [
            "notexample.com",
            "example.com.evil",
            "com",
            "11.0.0.1",
            "192.168.1.2",
            "fd00::2",
            "127.0.0.1",
            "::1",
            "with.port",
            "bad",
            "",
        ];
        for h in yes {
            assert!(list.matches(h), "{h}");
        }
        for h in no {
            assert!(!list.matches(h), "{h}");
        }
        assert!(NoProxy::parse("a, *").matches("anything"));
        assert!(NoProxy::parse("0.0.0.0/0").matches("8.8.8.8"));
        assert!(!NoProxy::parse("0.0.0.0/0").matches("::2"));
        assert!(NoProxy::parse("::/0").matches("::2"));
        assert!(NoProxy::parse("").is_empty());
        assert!(NoProxy::parse(" , ").is_empty());
    }

    /// Answers, whole and split at every byte.
    #[test]
    fn proxy_answers() {
        struct Chunks<'a>(Vec<&'a [u8]>);
        impl Read for Chunks<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some(first) = self.0.first_mut() else {
                    return Ok(0);
                };
                let n = first.len().min(buf.len());
                buf[..n].copy_from_slice(&first[..n]);
                *first = &first[n..];
                if first.is_empty() {
                    self.0.remove(0);
                }
                Ok(n)
            }
        }
        let far = Instant::now() + Duration::from_secs(3600);
        let answer = |bytes: &[u8]| {
            let whole = read_answer(&mut Chunks(vec![bytes]), far);
            for at in 0..bytes.len() {
                let (a, b) = bytes.split_at(at);
                let chunks = [a, b].into_iter().filter(|c| !c.is_empty()).collect();
                let split = read_answer(&mut Chunks(chunks), far);
                assert_eq!(format!("{split:?}"), format!("{whole:?}"), "split at {at}");
            }
            whole
        };
        let ok = b"HTTP/1.1 200 Connection established\r\n\r\n";
        assert_eq!(answer(ok).unwrap(), 200);
        assert_eq!(answer(b"HTTP/1.0 200 OK\r\nVia: x\r\n\r\n").unwrap(), 200);
        assert_eq!(
            answer(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n<html>")
                .unwrap(),
            407
        );
        // Nothing after the head is read: it belongs to the tunnel.
        let mut after = Chunks(vec![b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03"]);
        assert_eq!(read_answer(&mut after, far).unwrap(), 200);
        assert_eq!(after.0, [b"\x16\x03\x03"]);
        assert!(matches!(answer(b""), Err(TunnelError::Closed)));
        assert!(matches!(
            answer(b"HTTP/1.1 200 OK\r\n"),
            Err(TunnelError::Closed)
        ));
        assert!(matches!(
            answer(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
            Err(TunnelError::Malformed(httparse::Error::Version))
        ));
        assert!(matches!(
            answer(b"garbage"),
            Err(TunnelError::Malformed(httparse::Error::Version))
        ));
        assert!(matches!(
            answer(b"HTTP/1.1 2x0 OK\r\n\r\n"),
            Err(TunnelError::Malformed(httparse::Error::Status))
        ));
        let long = [
            b"HTTP/1.1 200 OK\r\nX: ".as_slice(),
            &[b'a'; MAX_ANSWER_LEN],
        ]
        .concat();
        assert!(matches!(
            read_answer(&mut Chunks(vec![&long]), far),
            Err(TunnelError::TooLarge)
        ));
        let timed_out = io::Error::from(io::ErrorKind::TimedOut);
        struct Failing(Option<io::Error>);
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(self.0.take().unwrap_or_else(|| io::ErrorKind::Other.into()))
            }
        }
        assert!(matches!(
            read_answer(&mut Failing(Some(timed_out)), far),
            Err(TunnelError::Timeout)
        ));
        assert!(matches!(
            read_answer(&mut Failing(None), far),
            Err(TunnelError::Io(_))
        ));
    }

    /// Nothing panics on any input: 200 000 strings over the characters that matter to the
    /// parsers (a deterministic xorshift), as URLs, lists, hosts and answers.
    #[test]
    fn nothing_panics_on_any_input() {
        const ALPHABET: &[u8] = b"htp:/@[]%.*,-_ 019afAF\r\n\t\xc3\xa9HTP/1.2";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let far = Instant::now() + Duration::from_secs(3600);
        let (mut parsed, mut answered) = (0, 0);
        for _ in 0..200_000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            let urls = [
                text.to_string(),
                format!("http://{text}"),
                format!("http://u:{text}@h:1"),
            ];
            for url in &urls {
                if let Ok(p) = Proxy::parse(url) {
                    parsed += 1;
                    // What parses displays as a URL that parses to the same proxy.
                    let again = Proxy::parse(&p.to_string().replace("***", "x")).unwrap();
                    assert_eq!(
                        (again.host(), again.port()),
                        (p.host(), p.port()),
                        "{url:?}"
                    );
                }
            }
            let list = NoProxy::parse(&text);
            let _ = list.matches(&text);
            let _ = NoProxy::parse("a.b, 10.0.0.0/8, ::1/128").matches(&text);
            let status = format!("HTTP/1.1 {} ", 100 + next() % 500);
            let answer = [status.as_bytes(), &bytes, b"\r\n\r\n"].concat();
            if read_answer(&mut answer.as_slice(), far).is_ok() {
                answered += 1;
            }
            let _ = read_answer(&mut bytes.as_slice(), far);
        }
        // The inputs reached past the first checks.
        assert!(parsed > 1000, "{parsed}");
        assert!(answered > 1000, "{answered}");
    }

    #[test]
    fn refusals_say_what_the_status_means() {
        let p = Proxy::parse("http://u:pw@proxy:3128").unwrap();
        let text = |status| p.error(TunnelError::Refused { status }).to_string();
        assert_eq!(
            text(407),
            "proxy http://u:***@proxy:3128: refused the tunnel: HTTP 407 (proxy \
             authentication required or wrong: check the user and password in the proxy URL)"
        );
        assert_eq!(
            text(403),
            "proxy http://u:***@proxy:3128: refused the tunnel: HTTP 403 (forbidden: \
             the proxy does not allow this host or port)"
        );
        assert_eq!(
            text(502),
            "proxy http://u:***@proxy:3128: refused the tunnel: HTTP 502 (bad \
             gateway: the proxy could not reach the host)"
        );
        assert_eq!(
            text(500),
            "proxy http://u:***@proxy:3128: refused the tunnel: HTTP 500"
        );
    }
}
