//! A blocking client: one lwa-core exchange over one TCP connection, TLS by rustls.
//!
//! Certificate and host-name verification are always on. Trust anchors are Mozilla's
//! (webpki-roots) plus any extra PEM CA certificates the caller adds; there is no way to turn
//! verification off. Plain `http://` is possible only to loopback hosts (lwa-core's
//! [`Endpoint`] refuses anything else), and only to the loopback addresses they resolve to:
//! a loopback-looking name that resolves elsewhere is [`Error::NotLoopback`]. Connect, read and write each time out (default
//! 10 s), and a whole exchange is bounded too (default 60 s, the reference SDK's request
//! timeout): resolving the name, connecting, the TLS handshake, writing the request and
//! reading the answer all end by that deadline, so neither a silent name server nor a
//! server that trickles bytes can hold a caller past it.
//!
//! TLS endpoints go through an HTTP proxy when one is set ([`ClientBuilder::proxy`]) or, by
//! default, when the environment names one (`HTTPS_PROXY` and the rest, as curl and reqwest
//! read them: see [`crate::proxy`]); TLS then runs end to end through a `CONNECT` tunnel,
//! with the same verification, and the proxy's part ends by the same deadline. Plain
//! `http://` never goes through a proxy.
//!
//! The client holds no protocol logic: it writes what the exchange emits and hands it what
//! the connection reads.
//!
//! ```no_run
//! use lwa_std::client::Client;
//! use lwa_std::core::endpoint::{Endpoint, Region};
//! use lwa_std::core::exchange::Outcome;
//! use lwa_std::core::request::Request;
//! use lwa_std::core::secret::Secret;
//!
//! let client = Client::new(&Endpoint::region(Region::Na))?;
//! let request = Request::Refresh {
//!     client_id: "amzn1.application-oa2-client.abc",
//!     refresh_token: Secret::new("Atzr|..."),
//!     client_secret: None,
//! };
//! let mut buf = [0u8; 8192];
//! match client.execute(&request, &mut buf)? {
//!     Outcome::Token(t) => println!("expires in {:?} s", t.expires_in),
//!     other => println!("{other:?}"),
//! }
//! # Ok::<(), lwa_std::client::Error>(())
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lwa_core::endpoint::Endpoint;
use lwa_core::error::{EmitError, EndpointError, ExchangeError};
use lwa_core::exchange::{Exchange, Options, Outcome, Step};
use lwa_core::http::Limits;
use lwa_core::request::{DEFAULT_USER_AGENT, Request};
use lwa_core::session::Failure;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::proxy::{EnvError, Proxy, TunnelError};

/// The rustls crypto provider lwa-std connects with: *ring*'s. It builds with a C compiler
/// alone (aws-lc-rs, rustls' default, needs CMake and, on some targets, NASM or Go). rustls
/// 0.23.48 deprecates it for its lack of post-quantum key exchange; whether LWA's hosts offer
/// one was not observed here, and the classic groups stay the ones every TLS 1.3 server must
/// offer. Tests that run servers of their own use it too, so that both ends match.
///
/// ```
/// let provider = lwa_std::client::crypto_provider();
/// assert!(!provider.cipher_suites.is_empty());
/// ```
#[must_use]
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    // The one place the deprecated provider is named: see above.
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

/// Default connect, read and write timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default bound on a whole exchange (the reference device SDK's request timeout).
pub const DEFAULT_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Buffer size that holds any LWA request and response (two 2048-byte tokens and their JSON).
pub const BUFFER_LEN: usize = 8 * 1024;

/// Why an exchange failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint was refused (plain `http://` to a non-loopback host, a bad host).
    Endpoint(EndpointError),
    /// A CA file could not be read or holds no certificate.
    CaFile {
        /// The file.
        path: String,
        /// What went wrong.
        error: io::Error,
    },
    /// The TLS configuration could not be built.
    TlsConfig(rustls::Error),
    /// The request could not be written (an empty client ID, say).
    Request(EmitError),
    /// The host name did not resolve.
    Resolve(io::Error),
    /// No connection could be made.
    Connect(io::Error),
    /// Plain `http://` to a loopback name that resolved to an address that is not loopback:
    /// nothing was sent.
    NotLoopback(IpAddr),
    /// Name resolution, connect, read or write took longer than the timeout, or the whole
    /// exchange did.
    Timeout,
    /// The TLS handshake or record layer failed: an untrusted certificate, a certificate
    /// for another host name, a protocol error.
    Tls(rustls::Error),
    /// Reading or writing failed.
    Io(io::Error),
    /// Plain `http://` reached a server that answered in TLS (a TLS port): use `https://`.
    TlsAnswer,
    /// The answer was broken, too large, a redirect, or an error page.
    Exchange(ExchangeError),
    /// A proxy variable of the environment is not a proxy URL: nothing was sent.
    ProxyEnv(EnvError),
    /// The tunnel through the proxy could not be opened, or closed before the TLS handshake
    /// finished: nothing was sent to the host.
    Proxy {
        /// The proxy, as `http://user:***@host:port` (the password never shown).
        proxy: String,
        /// What went wrong.
        error: TunnelError,
    },
}

impl Error {
    /// The session's view of this failure: everything but a request that cannot be written
    /// is worth retrying.
    ///
    /// ```
    /// use lwa_std::client::Error;
    /// use lwa_std::core::session::Failure;
    /// assert_eq!(Error::Timeout.to_failure(), Failure::Transport);
    /// ```
    #[must_use]
    pub fn to_failure(&self) -> Failure {
        match self {
            Self::Request(e) => Failure::Request(*e),
            Self::Exchange(e) => Failure::Exchange(*e),
            _ => Failure::Transport,
        }
    }

    /// Whether this is a configuration problem (endpoint, CA file, request) rather than a
    /// network or server one.
    ///
    /// ```
    /// use lwa_std::client::Error;
    /// assert!(!Error::Timeout.is_configuration());
    /// ```
    #[must_use]
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::Endpoint(_)
                | Self::CaFile { .. }
                | Self::TlsConfig(_)
                | Self::Request(_)
                | Self::NotLoopback(_)
                | Self::ProxyEnv(_)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Endpoint(e) => write!(f, "endpoint: {e}"),
            Self::CaFile { path, error } => write!(f, "CA file {path}: {error}"),
            Self::TlsConfig(e) => write!(f, "TLS configuration: {e}"),
            Self::Request(e) => write!(f, "request: {e}"),
            Self::Resolve(e) => write!(f, "cannot resolve host: {e}"),
            Self::Connect(e) => write!(f, "cannot connect: {e}"),
            Self::NotLoopback(ip) => write!(
                f,
                "plain http:// goes to loopback addresses only, and the host resolved to {ip}: refused"
            ),
            Self::Timeout => f.write_str("timed out"),
            Self::Tls(e) => write!(f, "TLS: {e}"),
            Self::Io(e) => write!(f, "connection: {e}"),
            Self::TlsAnswer => {
                f.write_str("the server answered in TLS, not plain HTTP: use an https:// endpoint")
            }
            Self::Exchange(e) => write!(f, "response: {e}"),
            Self::ProxyEnv(e) => write!(f, "proxy from the environment: {e}"),
            Self::Proxy { proxy, error } => write!(f, "proxy {proxy}: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Endpoint(e) => Some(e),
            Self::CaFile { error, .. } | Self::Resolve(error) | Self::Connect(error) => Some(error),
            Self::Io(e) => Some(e),
            Self::TlsConfig(e) | Self::Tls(e) => Some(e),
            Self::Request(e) => Some(e),
            Self::Exchange(e) => Some(e),
            Self::ProxyEnv(e) => Some(e),
            Self::Proxy { error, .. } => Some(error),
            Self::Timeout | Self::NotLoopback(_) | Self::TlsAnswer => None,
        }
    }
}

/// Settings for a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    host: String,
    port: u16,
    tls: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    timeout: Duration,
    exchange_timeout: Duration,
    user_agent: String,
    limits: Limits,
    proxy: ProxyChoice,
}

/// Where a client's proxy comes from.
#[derive(Debug, Clone)]
enum ProxyChoice {
    /// `HTTPS_PROXY` and the rest, read when the client is built.
    Environment,
    /// This one, or none.
    Set(Option<Proxy>),
}

impl ClientBuilder {
    /// Connect, read and write timeout (default 10 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bound on a whole exchange (default 60 s).
    #[must_use]
    pub fn exchange_timeout(mut self, timeout: Duration) -> Self {
        self.exchange_timeout = timeout;
        self
    }

    /// The `User-Agent` header.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The proxy TLS connections go through: `Some` for this one (going around it for the
    /// hosts its [`NoProxy`](crate::proxy::NoProxy) list names), `None` for none. Without
    /// this call, [`build`](Self::build) reads the environment (`https_proxy`,
    /// `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`, `no_proxy`, `NO_PROXY`), as curl and reqwest
    /// do; `proxy(None)` keeps the environment out. Plain `http://` endpoints never go
    /// through a proxy, whatever is set here.
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::{Endpoint, Region};
    /// use lwa_std::proxy::Proxy;
    /// let endpoint = Endpoint::region(Region::Na);
    /// let proxy = Proxy::parse("http://proxy.example:3128")?;
    /// let client = Client::builder(&endpoint).proxy(Some(proxy)).build()?;
    /// assert_eq!(client.proxy().map(|p| p.to_string()).as_deref(), Some("http://proxy.example:3128"));
    /// // No proxy, whatever the environment says:
    /// let direct = Client::builder(&endpoint).proxy(None).build()?;
    /// assert!(direct.proxy().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn proxy(mut self, proxy: Option<Proxy>) -> Self {
        self.proxy = ProxyChoice::Set(proxy);
        self
    }

    /// Trusts the CA certificates in a PEM file, in addition to the built-in roots.
    ///
    /// # Errors
    /// [`Error::CaFile`] if the file cannot be read or holds no certificate.
    pub fn add_ca_file(mut self, path: &Path) -> Result<Self, Error> {
        let fail = |error| Error::CaFile {
            path: path.display().to_string(),
            error,
        };
        let bytes = std::fs::read(path).map_err(fail)?;
        let added = self.add_ca_pem_bytes(&bytes).map_err(fail)?;
        if added == 0 {
            return Err(fail(io::Error::new(
                io::ErrorKind::InvalidData,
                "no PEM certificate in the file",
            )));
        }
        Ok(self)
    }

    /// Trusts the CA certificates in PEM text (a `&str` or bytes), in addition to the
    /// built-in roots: the look-alike's [`ca_pem`](https://docs.rs/lwa-mock), say.
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::Endpoint;
    /// let e = Endpoint::parse_origin("https://localhost:8443").unwrap();
    /// assert!(Client::builder(&e).add_ca_pem("not a certificate").is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::CaFile`] if the text holds no certificate or a malformed one.
    pub fn add_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        let pem = pem.as_ref();
        let fail = |error| Error::CaFile {
            path: "(PEM text)".into(),
            error,
        };
        let added = self.add_ca_pem_bytes(pem).map_err(fail)?;
        if added == 0 {
            return Err(fail(io::Error::new(
                io::ErrorKind::InvalidData,
                "no PEM certificate",
            )));
        }
        Ok(self)
    }

    fn add_ca_pem_bytes(&mut self, pem: &[u8]) -> io::Result<usize> {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert =
                cert.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            self.extra_roots.push(cert);
            added += 1;
        }
        Ok(added)
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Endpoint`] for a refused endpoint, [`Error::TlsConfig`] if a CA certificate is
    /// unusable, [`Error::ProxyEnv`] if the proxy is read from the environment and a
    /// variable is not a proxy URL.
    pub fn build(self) -> Result<Client, Error> {
        // Re-check through lwa-core: plain HTTP only to loopback.
        Endpoint::new(&self.host, self.port, self.tls).map_err(Error::Endpoint)?;
        // Plain HTTP never goes through a proxy (nor reads the environment for one).
        let proxy = match (self.tls, self.proxy) {
            (false, _) => None,
            (true, ProxyChoice::Set(proxy)) => proxy,
            (true, ProxyChoice::Environment) => Proxy::from_env().map_err(Error::ProxyEnv)?,
        }
        .filter(|p| p.is_used_for(&self.host));
        let tls_config = if self.tls {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            for cert in &self.extra_roots {
                roots.add(cert.clone()).map_err(Error::TlsConfig)?;
            }
            let provider = Arc::new(crypto_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(Error::TlsConfig)?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Some(Arc::new(config))
        } else {
            None
        };
        Ok(Client {
            host: self.host,
            port: self.port,
            tls: tls_config,
            timeout: self.timeout,
            exchange_timeout: self.exchange_timeout,
            user_agent: self.user_agent,
            limits: self.limits,
            proxy,
        })
    }
}

/// A blocking LWA client for one endpoint. Cheap to clone; holds no connection between
/// exchanges (each request is `Connection: close`).
#[derive(Clone)]
pub struct Client {
    host: String,
    port: u16,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
    exchange_timeout: Duration,
    user_agent: String,
    limits: Limits,
    proxy: Option<Proxy>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("timeout", &self.timeout)
            .field("proxy", &self.proxy.as_ref().map(ToString::to_string))
            .finish_non_exhaustive()
    }
}

/// A TCP connection whose every read and write ends by a deadline: each call gets the
/// per-operation timeout or the time left, whichever is shorter, and none starts once the
/// deadline has passed. rustls drives the handshake through it, so a server that trickles its
/// handshake or its answer a byte at a time cannot hold an exchange past the deadline. The
/// client connects through it; so may a caller that speaks TLS itself (`lwa probe` runs the
/// device's TLS code over it).
///
/// ```no_run
/// use std::io::Write as _;
/// use std::time::{Duration, Instant};
/// use lwa_std::client::BoundedTcp;
/// let deadline = Instant::now() + Duration::from_secs(30);
/// let mut tcp = BoundedTcp::connect("api.amazon.com", 443, Duration::from_secs(10), deadline)?;
/// tcp.write_all(b"...")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BoundedTcp {
    tcp: TcpStream,
    deadline: Instant,
    timeout: Duration,
}

impl BoundedTcp {
    /// Resolves `host` (by the deadline: the system resolver runs on a thread of its own)
    /// and connects to the first of its addresses that answers on `port`, each step within
    /// `timeout` and all by `deadline`.
    ///
    /// # Errors
    /// [`Error::Resolve`], [`Error::Connect`] or [`Error::Timeout`].
    pub fn connect(
        host: &str,
        port: u16,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Self, Error> {
        Self::connect_to(host, port, timeout, deadline, |_| true)
    }

    /// [`connect`](Self::connect) to the addresses `accept` allows: the others are skipped,
    /// and [`Error::NotLoopback`] names one when none was allowed.
    fn connect_to(
        host: &str,
        port: u16,
        timeout: Duration,
        deadline: Instant,
        accept: impl Fn(IpAddr) -> bool,
    ) -> Result<Self, Error> {
        let addrs = resolve(host, port, timeout, deadline)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
        let mut refused_ip = None;
        for addr in addrs {
            if !accept(addr.ip()) {
                refused_ip = Some(addr.ip());
                continue;
            }
            let remaining = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or(Error::Timeout)?;
            match TcpStream::connect_timeout(&addr, timeout.min(remaining)) {
                Ok(tcp) => {
                    tcp.set_nodelay(true).map_err(Error::Io)?;
                    return Ok(Self {
                        tcp,
                        deadline,
                        timeout,
                    });
                }
                Err(e) => last = e,
            }
        }
        match refused_ip {
            Some(ip) if last.kind() == io::ErrorKind::NotFound => Err(Error::NotLoopback(ip)),
            _ if last.kind() == io::ErrorKind::TimedOut => Err(Error::Timeout),
            _ => Err(Error::Connect(last)),
        }
    }

    /// The time the next operation may take, or `TimedOut` once the deadline has passed.
    fn budget(&self) -> io::Result<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .map(|left| self.timeout.min(left))
            .ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))
    }
}

/// The addresses of `host`, by the deadline. The system resolver cannot be interrupted, so
/// it runs on a thread of its own; past the deadline this fails with [`Error::Timeout`] and
/// the thread is left to finish the lookup and end.
fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
    deadline: Instant,
) -> Result<Vec<SocketAddr>, Error> {
    let budget = deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .map(|left| timeout.min(left))
        .ok_or(Error::Timeout)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let target = (host.to_owned(), port);
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("lwa-resolve".into())
        .spawn(move || {
            let found = target.to_socket_addrs().map(Iterator::collect);
            // Nobody listens any more after a timeout: nothing to do then.
            let _ = tx.send(found);
        })
        .map_err(Error::Resolve)?;
    match rx.recv_timeout(budget) {
        Ok(found) => found.map_err(Error::Resolve),
        Err(_) => Err(Error::Timeout),
    }
}

impl Read for BoundedTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.budget()?))?;
        self.tcp.read(buf)
    }
}

impl Write for BoundedTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.budget()?))?;
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

enum Connection {
    Plain(BoundedTcp),
    Tls(Box<StreamOwned<ClientConnection, BoundedTcp>>),
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

impl Client {
    /// A client for `endpoint` with the built-in trust anchors, default timeouts and, for
    /// TLS, the environment's proxy if it names one (`HTTPS_PROXY` and the rest: see
    /// [`ClientBuilder::proxy`], which keeps it out).
    ///
    /// # Errors
    /// As [`ClientBuilder::build`].
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::{Endpoint, Region};
    /// let client = Client::new(&Endpoint::region(Region::Eu)).unwrap();
    /// assert_eq!(client.endpoint().host(), "api.amazon.co.uk");
    /// ```
    pub fn new(endpoint: &Endpoint<'_>) -> Result<Self, Error> {
        Self::builder(endpoint).build()
    }

    /// Settings for a client of `endpoint`: the built-in trust anchors, default timeouts,
    /// and the environment's proxy unless [`ClientBuilder::proxy`] says otherwise.
    ///
    /// ```
    /// use std::time::Duration;
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::Endpoint;
    /// let e = Endpoint::parse_origin("http://127.0.0.1:8080").unwrap();
    /// let client = Client::builder(&e).timeout(Duration::from_secs(2)).build().unwrap();
    /// assert!(!client.endpoint().is_tls());
    /// ```
    #[must_use]
    pub fn builder(endpoint: &Endpoint<'_>) -> ClientBuilder {
        ClientBuilder {
            host: endpoint.host().to_owned(),
            port: endpoint.port(),
            tls: endpoint.is_tls(),
            extra_roots: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            exchange_timeout: DEFAULT_EXCHANGE_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            limits: Limits::default(),
            proxy: ProxyChoice::Environment,
        }
    }

    /// The endpoint requests go to.
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::{Endpoint, Region};
    /// let client = Client::new(&Endpoint::region(Region::Na)).unwrap();
    /// assert_eq!(client.endpoint().port(), 443);
    /// ```
    #[must_use]
    pub fn endpoint(&self) -> Endpoint<'_> {
        // The host was checked when the client was built.
        Endpoint::new(&self.host, self.port, self.tls.is_some())
            .unwrap_or(Endpoint::region(lwa_core::endpoint::Region::Na))
    }

    /// The proxy this client's exchanges go through, if any: the one set or read from the
    /// environment, unless its `NO_PROXY` list names the endpoint's host; never one for
    /// plain `http://`.
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::Endpoint;
    /// use lwa_std::proxy::{NoProxy, Proxy};
    /// let proxy = Proxy::parse("proxy.example:3128")?.with_no_proxy(NoProxy::parse("localhost"));
    /// let local = Endpoint::parse_origin("https://localhost:8443")?;
    /// let client = Client::builder(&local).proxy(Some(proxy.clone())).build()?;
    /// assert!(client.proxy().is_none());
    /// let plain = Endpoint::parse_origin("http://127.0.0.1:8080")?;
    /// assert!(Client::builder(&plain).proxy(Some(proxy)).build()?.proxy().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// Runs one exchange: connects, writes the request, reads the answer into `buf`.
    ///
    /// `buf` carries the request out and the response in; [`BUFFER_LEN`] bytes are enough
    /// for any LWA exchange.
    ///
    /// # Errors
    /// [`Error`] for anything but an answer: OAuth errors are an [`Outcome`].
    pub fn execute<'b>(
        &self,
        request: &Request<'_>,
        buf: &'b mut [u8],
    ) -> Result<Outcome<'b>, Error> {
        let deadline = Instant::now() + self.exchange_timeout;
        let endpoint = self.endpoint();
        let options = Options {
            user_agent: &self.user_agent,
            limits: self.limits,
        };
        let exchange =
            Exchange::with_options(&endpoint, request, &options, buf).map_err(Error::Request)?;
        let mut conn = self.connect(deadline)?;
        conn.write_all(exchange.poll_transmit())
            .and_then(|()| conn.flush())
            .map_err(|e| io_error(e, deadline))?;
        let mut rx = exchange.handle_sent();
        let mut first = self.tls.is_none();
        loop {
            let space = rx.read_buf().map_err(Error::Exchange)?;
            let n = match conn.read(space) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A TLS peer that closes without close_notify: the framing (and, for a body
                // delimited by the close, the JSON) still tells whether the answer is whole.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(io_error(e, deadline)),
            };
            if n == 0 {
                return rx.handle_eof().map_err(Error::Exchange);
            }
            if first && space.get(..n).is_some_and(is_tls_record) {
                return Err(Error::TlsAnswer);
            }
            first = false;
            match rx.handle_read(n).map_err(Error::Exchange)? {
                Step::NeedMore(next) => rx = next,
                Step::Done(outcome) => return Ok(outcome),
            }
        }
    }

    fn connect(&self, deadline: Instant) -> Result<Connection, Error> {
        // A loopback name proves nothing: without TLS, only a loopback address keeps the
        // secrets on this host.
        let plain = self.tls.is_none();
        let tcp = match &self.proxy {
            // Only TLS endpoints have a proxy (see `build`).
            Some(proxy) => proxy.connect(
                &self.host,
                self.port,
                &self.user_agent,
                self.timeout,
                deadline,
            )?,
            None => BoundedTcp::connect_to(&self.host, self.port, self.timeout, deadline, |ip| {
                !plain || ip.to_canonical().is_loopback()
            })?,
        };
        let Some(config) = &self.tls else {
            return Ok(Connection::Plain(tcp));
        };
        let name = ServerName::try_from(self.host.clone())
            .map_err(|_| Error::Endpoint(EndpointError::InvalidHost))?;
        let conn = ClientConnection::new(Arc::clone(config), name).map_err(Error::Tls)?;
        let mut stream = StreamOwned::new(conn, tcp);
        // Handshake now, so certificate problems surface as TLS errors before any secret
        // is written. Every read and write in it ends by the deadline (see `Bounded`).
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .map_err(|e| match &self.proxy {
                    // The host cannot have closed: the proxy did, or made it look so. A
                    // close with our ClientHello unread arrives as a reset, by timing.
                    Some(proxy)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::UnexpectedEof
                                | io::ErrorKind::ConnectionReset
                                | io::ErrorKind::ConnectionAborted
                                | io::ErrorKind::BrokenPipe
                        ) =>
                    {
                        proxy.error(TunnelError::TunnelClosed)
                    }
                    _ => io_error(e, deadline),
                })?;
        }
        Ok(Connection::Tls(Box::new(stream)))
    }
}

/// Whether `bytes`, the first a plain-HTTP exchange read, begin a TLS record: an alert or a
/// handshake (content type 21 or 22) of version 3.x, which no HTTP/1.x status line does.
fn is_tls_record(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 0x03, ..])
}

/// Sorts an I/O error: timeouts, TLS errors carried inside I/O errors, the rest.
fn io_error(e: io::Error, deadline: Instant) -> Error {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) || Instant::now() >= deadline
    {
        return Error::Timeout;
    }
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    match tls {
        Some(t) => Error::Tls(t),
        None => Error::Io(e),
    }
}
