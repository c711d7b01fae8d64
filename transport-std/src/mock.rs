//! A local LWA look-alike, HTTP or HTTPS on loopback, for testing firmware and scripts
//! without an Amazon account.
//!
//! It speaks LWA's token and code-pair endpoints with LWA's parameters, answers and errors:
//!
//! | request | answer |
//! |---|---|
//! | `POST /auth/o2/token` `grant_type=authorization_code` | tokens; an unknown or reused code, a wrong `redirect_uri` or PKCE verifier: `invalid_grant` |
//! | `POST /auth/o2/token` `grant_type=refresh_token` | tokens (the refresh token rotated if configured); unknown or revoked: `invalid_grant` |
//! | `POST /auth/O2/create/codepair` | a code pair (`device_code`, `user_code`, `verification_uri`, `expires_in`, `interval`) |
//! | `POST /auth/o2/token` `grant_type=device_code` | `authorization_pending` until approved, `slow_down` when polled faster than `interval`, `expired_token` after expiry, then tokens |
//! | wrong client ID or secret | `invalid_client` (401) |
//! | missing parameter | `invalid_request`; unknown grant: `unsupported_grant_type` |
//!
//! and endpoints of its own, standing in for the person at the browser and for a test
//! harness (parameters in the query string or, for `POST`, a form body):
//!
//! | request | answer |
//! |---|---|
//! | `GET` or `POST /mock/approve?user_code=CODE` | approves a device code (this is the `verification_uri` it hands out): `{"approved":true}` |
//! | `POST /mock/authorize` with `redirect_uri` (and `code_challenge` for PKCE) | `{"code":"..."}`, an authorization code |
//! | `POST /mock/revoke` | revokes every refresh token (the user removed the device): `{"revoked":N}` |
//! | `POST /mock/rotate?on=1` or `?on=0` | turns refresh-token rotation on or off: `{"rotate":true}` or `{"rotate":false}` |
//! | `GET /mock/stats` | `{"requests":N}`: requests to LWA's endpoints (token and code pair) so far, whatever their answer; the `/mock/` ones are not counted |
//!
//! Tokens look like LWA's (`Atza|IwEB...`, `Atzr|IwEB...`, about 370 characters).
//! Over HTTPS it presents a certificate for [`MockConfig::names`] (by default `localhost`,
//! `127.0.0.1` and `::1`) from a CA made for the run ([`MockServer::ca_pem`],
//! [`MockServer::ca_der`]); pass that CA to the client as an extra trust anchor. The chain
//! is ECDSA P-256 (CA, leaf) or, like Amazon's, RSA 2048 (root, intermediate, leaf; the
//! server sends leaf and intermediate): see [`Chain`]. Either way TLS 1.2 and 1.3 are
//! offered.
//!
//! ```
//! use lwa_std::mock::{MockConfig, MockServer};
//! let server = MockServer::start(MockConfig::default(), true, 0).unwrap();
//! assert!(server.origin().starts_with("https://localhost:"));
//! assert!(server.ca_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lwa_core::pkce::CodeVerifier;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// How the look-alike behaves.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The only client ID it accepts.
    pub client_id: String,
    /// The client secret, if the client is a confidential one. Refresh and code requests
    /// must then carry it (authorization codes with PKCE excepted).
    pub client_secret: Option<String>,
    /// Access-token lifetime in seconds (LWA: 3600).
    pub token_lifetime: u32,
    /// Code-pair lifetime in seconds (LWA: 600).
    pub code_pair_lifetime: u32,
    /// Polling interval in seconds given with a code pair.
    pub poll_interval: u32,
    /// Hand out a new refresh token on every refresh (LWA usually keeps the old one). The
    /// initial setting: [`MockServer::set_rotate_refresh_tokens`] and `POST /mock/rotate`
    /// change it while serving.
    pub rotate_refresh_tokens: bool,
    /// Approve every device code at once, as if the user were instant (for demos).
    pub auto_approve: bool,
    /// Approve a device code by itself after this many polls answered
    /// `authorization_pending`: with `Some(2)`, polls 1 and 2 are pending and poll 3 gets
    /// tokens. Polls answered `slow_down` do not count.
    pub approve_after_polls: Option<u32>,
    /// The certificate chain served over HTTPS.
    pub chain: Chain,
    /// The DNS names and IP addresses the server certificate carries (HTTPS only). The
    /// origin stays `https://localhost:PORT` whatever they are.
    pub names: Vec<String>,
    /// Called once for every request answered (on the connection's thread), with what
    /// was asked and answered and no parameter but the grant type: no secret, token or
    /// code reaches it.
    pub on_request: Option<fn(&RequestLog)>,
}

/// One request the look-alike answered, for [`MockConfig::on_request`]. Its `Display` is
/// one line: `POST /auth/o2/token grant_type=refresh_token -> 200 tokens`. Method, path and
/// grant type are what the client sent: escape them before they reach a terminal.
///
/// ```
/// use lwa_std::mock::{MockConfig, MockServer, RequestLog};
///
/// fn print(request: &RequestLog) {
///     println!("{request}");
/// }
/// let config = MockConfig { on_request: Some(print), ..MockConfig::default() };
/// let server = MockServer::start(config, false, 0).unwrap();
/// # drop(server);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLog {
    /// The request method.
    pub method: String,
    /// The request path, without the query string.
    pub path: String,
    /// The `grant_type` of a token request.
    pub grant_type: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// What was answered: `tokens`, `code pair`, `approved`, ..., or the OAuth error code.
    pub outcome: String,
}

impl std::fmt::Display for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(grant) = &self.grant_type {
            write!(f, " grant_type={grant}")?;
        }
        write!(f, " -> {} {}", self.status, self.outcome)
    }
}

/// What an answer says, in a word or two, for the log.
fn outcome(json: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
        return "answered".into();
    };
    let text = |key: &str| value.get(key).map(ToString::to_string);
    if let Some(code) = value.get("error").and_then(serde_json::Value::as_str) {
        code.to_owned()
    } else if value.get("access_token").is_some() {
        "tokens".into()
    } else if value.get("device_code").is_some() {
        "code pair".into()
    } else if value.get("approved").is_some() {
        "approved".into()
    } else if value.get("code").is_some() {
        "authorization code".into()
    } else if let Some(n) = text("revoked") {
        format!("revoked {n}")
    } else if let Some(on) = text("rotate") {
        format!("rotate {on}")
    } else if let Some(n) = text("requests") {
        format!("requests {n}")
    } else {
        "answered".into()
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            client_id: "amzn1.application-oa2-client.mock".into(),
            client_secret: None,
            token_lifetime: 3600,
            code_pair_lifetime: 600,
            poll_interval: 5,
            rotate_refresh_tokens: false,
            auto_approve: false,
            approve_after_polls: None,
            chain: Chain::default(),
            names: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            on_request: None,
        }
    }
}

/// The shape of the certificate chain served over HTTPS.
///
/// Certificates are made fresh for each [`Pki`]; RSA keys come from fixed test-only keys
/// built into the crate (ring, which signs the certificates, cannot generate RSA keys), P-256
/// keys are generated each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Chain {
    /// A self-signed ECDSA P-256 CA and a P-256 leaf; the server sends the leaf.
    #[default]
    P256,
    /// The shape of Amazon's production chain: a self-signed RSA 2048 root CA, an RSA 2048
    /// intermediate CA and an RSA 2048 leaf, each signed with PKCS#1 v1.5 SHA-256; the server
    /// sends leaf and intermediate, not the root. (TLS 1.3 signs the handshake with RSA-PSS.)
    Rsa2048,
}

/// Test-only RSA 2048 keys (PKCS#8 PEM): they protect nothing. See `mock/keys/README.md`.
const RSA_ROOT_KEY: &str = include_str!("mock/keys/root.key");
/// The intermediate CA's test-only key.
const RSA_INTERMEDIATE_KEY: &str = include_str!("mock/keys/intermediate.key");
/// The leaf's test-only key.
const RSA_LEAF_KEY: &str = include_str!("mock/keys/leaf.key");

fn rsa_key(pem: &str) -> Result<KeyPair, rcgen::Error> {
    KeyPair::from_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256)
}

/// A random 16-byte serial number. With a fixed key (and RSA's deterministic signatures) the
/// default serial, a hash of the key, would make every run's certificate the same.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    // The OS generator does not fail on supported platforms; a zero serial still makes a
    // valid (if repeated) test certificate.
    let _ = getrandom::fill(&mut bytes);
    if let Some(first) = bytes.first_mut() {
        // Positive, and 16 bytes long.
        *first = (*first & 0x7f) | 0x40;
    }
    SerialNumber::from_slice(&bytes)
}

/// Parameters of a CA certificate named `name`; `path_len` limits the CAs below it.
fn ca_params(name: &str, path_len: Option<u8>) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(path_len.map_or(
        BasicConstraints::Unconstrained,
        BasicConstraints::Constrained,
    ));
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

/// A CA made for one run and the certificates it signs (HTTPS for the look-alike, hostile
/// servers in tests).
#[derive(Debug)]
pub struct Pki {
    chain: Chain,
    /// Signs the leaves: the CA itself, or the intermediate CA.
    issuer: Issuer<'static, KeyPair>,
    /// Sent after the leaf: the intermediate CA, if any.
    intermediates: Vec<CertificateDer<'static>>,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
}

impl Pki {
    /// A new ECDSA P-256 CA ([`Chain::P256`]).
    ///
    /// # Errors
    /// If key generation or signing fails.
    pub fn new(name: &str) -> Result<Self, rcgen::Error> {
        Self::with_chain(Chain::P256, name)
    }

    /// A new CA named `name` of the given chain shape; for [`Chain::Rsa2048`], the root CA
    /// and an intermediate CA below it that signs the leaves.
    ///
    /// # Errors
    /// If key generation or loading, or signing fails.
    pub fn with_chain(chain: Chain, name: &str) -> Result<Self, rcgen::Error> {
        match chain {
            Chain::P256 => {
                let key = KeyPair::generate()?;
                let params = ca_params(name, None)?;
                let cert = params.self_signed(&key)?;
                Ok(Self {
                    chain,
                    ca_pem: cert.pem(),
                    ca_der: cert.der().clone(),
                    issuer: Issuer::new(params, key),
                    intermediates: Vec::new(),
                })
            }
            Chain::Rsa2048 => {
                let root_key = rsa_key(RSA_ROOT_KEY)?;
                let mut root_params = ca_params(name, None)?;
                root_params.serial_number = Some(random_serial());
                let root = root_params.self_signed(&root_key)?;
                let root_issuer = Issuer::new(root_params, root_key);
                let key = rsa_key(RSA_INTERMEDIATE_KEY)?;
                let mut params = ca_params(&format!("{name} RSA 2048 intermediate"), Some(0))?;
                params.serial_number = Some(random_serial());
                let intermediate = params.signed_by(&key, &root_issuer)?;
                Ok(Self {
                    chain,
                    ca_pem: root.pem(),
                    ca_der: root.der().clone(),
                    issuer: Issuer::new(params, key),
                    intermediates: vec![intermediate.der().clone()],
                })
            }
        }
    }

    /// The chain shape.
    #[must_use]
    pub fn chain(&self) -> Chain {
        self.chain
    }

    /// The CA certificate (the root, the trust anchor) in PEM.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate (the root, the trust anchor) in DER.
    #[must_use]
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// A TLS server configuration with a certificate for `names` (DNS names or IP
    /// addresses), signed by this CA (or its intermediate, which the server then sends
    /// after the leaf).
    ///
    /// # Errors
    /// If a name is neither a DNS name nor an IP address, or signing or the rustls
    /// configuration fails.
    pub fn server_config(&self, names: &[&str]) -> Result<Arc<ServerConfig>, io::Error> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .map_err(io::Error::other)?;
        params.distinguished_name = DistinguishedName::new();
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        let key = match self.chain {
            Chain::P256 => KeyPair::generate().map_err(io::Error::other)?,
            Chain::Rsa2048 => {
                // What a public web server's leaf carries.
                params.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                params.serial_number = Some(random_serial());
                rsa_key(RSA_LEAF_KEY).map_err(io::Error::other)?
            }
        };
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(io::Error::other)?;
        let mut certs = vec![cert.der().clone()];
        certs.extend(self.intermediates.iter().cloned());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(io::Error::other)?;
        Ok(Arc::new(config))
    }
}

struct Pair {
    device_code: String,
    user_code: String,
    expires_at: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    approved: bool,
    /// Polls answered `authorization_pending` so far.
    pending_polls: u32,
}

struct Grant {
    redirect_uri: String,
    code_challenge: Option<String>,
}

#[derive(Default)]
struct State {
    refresh_tokens: Vec<String>,
    codes: HashMap<String, Grant>,
    pairs: Vec<Pair>,
    issued_access: Vec<String>,
}

struct Shared {
    config: MockConfig,
    origin: String,
    state: Mutex<State>,
    /// Requests to LWA's endpoints.
    requests: AtomicUsize,
    rotate: AtomicBool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A handler thread that panicked cannot leave the state half-written in a way that
        // matters to a test double; keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running look-alike. Stops when dropped.
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: Option<String>,
    ca_der: Option<Vec<u8>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("origin", &self.shared.origin)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Starts serving on `127.0.0.1:port` (`0` picks a free port), over HTTPS when `tls`
    /// (with [`MockConfig::chain`] and [`MockConfig::names`]).
    ///
    /// # Errors
    /// If the port cannot be bound, `names` is empty or holds something that is neither a
    /// DNS name nor an IP address, or the certificates cannot be made.
    pub fn start(config: MockConfig, tls: bool, port: u16) -> io::Result<Self> {
        let (tls_config, ca_pem, ca_der) = if tls {
            if config.names.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the certificate needs at least one name",
                ));
            }
            let pki = Pki::with_chain(config.chain, "lwa mock CA").map_err(io::Error::other)?;
            let names: Vec<&str> = config.names.iter().map(String::as_str).collect();
            let server_config = pki.server_config(&names)?;
            (
                Some(server_config),
                Some(pki.ca_pem().to_owned()),
                Some(pki.ca_der().to_vec()),
            )
        } else {
            (None, None, None)
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let addr = listener.local_addr()?;
        let origin = if tls {
            format!("https://localhost:{}", addr.port())
        } else {
            format!("http://127.0.0.1:{}", addr.port())
        };
        let shared = Arc::new(Shared {
            origin,
            rotate: AtomicBool::new(config.rotate_refresh_tokens),
            config,
            state: Mutex::new(State::default()),
            requests: AtomicUsize::new(0),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("lwa-mock".into())
                .spawn(move || accept_loop(&listener, &shared, tls_config.as_ref(), &stop))?
        };
        Ok(Self {
            shared,
            addr,
            ca_pem,
            ca_der,
            stop,
            thread: Some(thread),
        })
    }

    /// The origin to pass to a client (`https://localhost:PORT` or `http://127.0.0.1:PORT`).
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The CA certificate (PEM) at the top of its chain, the one to trust, when serving
    /// HTTPS.
    #[must_use]
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The CA certificate (DER) at the top of its chain, when serving HTTPS.
    #[must_use]
    pub fn ca_der(&self) -> Option<&[u8]> {
        self.ca_der.as_deref()
    }

    /// How many requests to LWA's endpoints (token and code pair) it has read, whatever
    /// the answer; requests to its `/mock/` endpoints do not count. `GET /mock/stats`
    /// reports the same number.
    #[must_use]
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Turns refresh-token rotation on or off (as `POST /mock/rotate?on=1` or `?on=0`).
    pub fn set_rotate_refresh_tokens(&self, on: bool) {
        self.shared.rotate.store(on, Ordering::SeqCst);
    }

    /// Approves a device code by its user code, as the user would on the web page.
    /// Returns whether such a code was waiting.
    pub fn approve(&self, user_code: &str) -> bool {
        approve(&self.shared, user_code)
    }

    /// Issues an authorization code for `redirect_uri` (and a PKCE `code_challenge`), as the
    /// sign-in page would.
    #[must_use]
    pub fn authorize(&self, redirect_uri: &str, code_challenge: Option<&str>) -> String {
        authorize(&self.shared, redirect_uri, code_challenge)
    }

    /// Issues a refresh token directly (as if a sign-in had happened earlier).
    #[must_use]
    pub fn issue_refresh_token(&self) -> String {
        let token = lwa_token("Atzr|IwEBI");
        self.shared.state().refresh_tokens.push(token.clone());
        token
    }

    /// Revokes every refresh token (the user removed the device) and returns how many
    /// there were.
    pub fn revoke_all(&self) -> usize {
        revoke_all(&self.shared)
    }

    /// Whether `access_token` was issued by this server.
    #[must_use]
    pub fn issued(&self, access_token: &str) -> bool {
        self.shared
            .state()
            .issued_access
            .iter()
            .any(|t| t == access_token)
    }

    /// Stops serving and waits for the accept loop to end.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn accept_loop(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    tls: Option<&Arc<ServerConfig>>,
    stop: &AtomicBool,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        let tls = tls.cloned();
        let _ = std::thread::Builder::new()
            .name("lwa-mock-conn".into())
            .spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                let _ = match tls {
                    Some(config) => match ServerConnection::new(config) {
                        Ok(conn) => {
                            let mut tls = StreamOwned::new(conn, stream);
                            let served = serve(&mut tls, &shared);
                            // End cleanly, so that a client reading to the end sees the end
                            // of the answer, not a truncation.
                            tls.conn.send_close_notify();
                            served.and_then(|()| tls.flush())
                        }
                        Err(e) => Err(io::Error::other(e)),
                    },
                    None => serve(&mut { stream }, &shared),
                };
            });
    }
}

/// Reads one request, answers it, and closes (every answer is `Connection: close`).
fn serve(io: &mut (impl Read + Write), shared: &Shared) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let (method, path, head_len, content_length) = loop {
        let n = io.read(buf.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(buf.get(..filled).unwrap_or_default()) {
            Ok(httparse::Status::Complete(len)) => {
                let content_length = request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (
                    request.method.unwrap_or("").to_owned(),
                    request.path.unwrap_or("").to_owned(),
                    len,
                    content_length,
                );
            }
            Ok(httparse::Status::Partial) if filled < buf.len() => {}
            _ => return respond(io, 400, &error_json("invalid_request", "malformed request")),
        }
    };
    if head_len + content_length > buf.len() {
        return respond(io, 413, &error_json("invalid_request", "request too large"));
    }
    while filled < head_len + content_length {
        let n = io.read(
            buf.get_mut(filled..head_len + content_length)
                .unwrap_or_default(),
        )?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
    }
    let body = buf
        .get(head_len..head_len + content_length)
        .unwrap_or_default();
    let (path, query) = path.split_once('?').unwrap_or((path.as_str(), ""));
    let lower = path.to_ascii_lowercase();
    if matches!(lower.as_str(), TOKEN_PATH | CODE_PAIR_PATH) {
        shared.requests.fetch_add(1, Ordering::SeqCst);
    }
    // LWA's endpoints read a POST's form body only; the look-alike's own take the query
    // string too, so that `POST /mock/rotate?on=1` works.
    let mut params = if method == "GET" || lower.starts_with("/mock/") {
        parse_form(query.as_bytes())
    } else {
        Params::new()
    };
    if method != "GET" {
        params.extend(parse_form(body));
    }
    let (status, json) = route(shared, &method, &lower, &params);
    let answered = respond(io, status, &json);
    if let Some(log) = shared.config.on_request {
        log(&RequestLog {
            method,
            path: path.to_owned(),
            grant_type: (lower == TOKEN_PATH)
                .then(|| params.get("grant_type").cloned())
                .flatten(),
            status,
            outcome: outcome(&json),
        });
    }
    answered
}

fn respond(io: &mut impl Write, status: u16, json: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        _ => "Error",
    };
    let mut out = String::with_capacity(json.len() + 200);
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nServer: lwa-mock\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nCache-Control: no-cache, no-store, must-revalidate\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    io.write_all(out.as_bytes())?;
    io.flush()
}

type Params = HashMap<String, String>;

/// LWA's token endpoint, in lower case (LWA spells it `/auth/o2/token`).
const TOKEN_PATH: &str = "/auth/o2/token";
/// LWA's code-pair endpoint, in lower case (LWA spells it `/auth/O2/create/codepair`).
const CODE_PAIR_PATH: &str = "/auth/o2/create/codepair";

/// Answers a request for `path` (in lower case).
fn route(shared: &Shared, method: &str, path: &str, p: &Params) -> (u16, String) {
    match (method, path) {
        ("POST", TOKEN_PATH) => token(shared, p),
        ("POST", CODE_PAIR_PATH) => code_pair(shared, p),
        ("GET" | "POST", "/mock/approve") => {
            let code = p.get("user_code").map_or("", String::as_str);
            if approve(shared, code) {
                (200, r#"{"approved":true}"#.into())
            } else {
                (
                    404,
                    error_json("invalid_grant", "no such user code waiting"),
                )
            }
        }
        ("POST", "/mock/authorize") => match p.get("redirect_uri") {
            Some(uri) => {
                let code = authorize(shared, uri, p.get("code_challenge").map(String::as_str));
                (200, format!(r#"{{"code":"{code}"}}"#))
            }
            None => missing("redirect_uri"),
        },
        ("POST", "/mock/revoke") => (200, format!(r#"{{"revoked":{}}}"#, revoke_all(shared))),
        ("POST", "/mock/rotate") => match p.get("on").map(String::as_str) {
            Some(on @ ("1" | "0" | "true" | "false")) => {
                let on = matches!(on, "1" | "true");
                shared.rotate.store(on, Ordering::SeqCst);
                (200, format!(r#"{{"rotate":{on}}}"#))
            }
            Some(_) => (400, error_json("invalid_request", "on must be 1 or 0")),
            None => missing("on"),
        },
        ("GET", "/mock/stats") => (
            200,
            format!(
                r#"{{"requests":{}}}"#,
                shared.requests.load(Ordering::SeqCst)
            ),
        ),
        (_, TOKEN_PATH | CODE_PAIR_PATH | "/mock/authorize" | "/mock/revoke" | "/mock/rotate") => {
            (405, error_json("invalid_request", "use POST"))
        }
        (_, "/mock/stats") => (405, error_json("invalid_request", "use GET")),
        _ => (404, error_json("invalid_request", "no such endpoint")),
    }
}

fn error_json(code: &str, description: &str) -> String {
    format!(r#"{{"error_description":"{description}","error":"{code}"}}"#)
}

fn missing(name: &str) -> (u16, String) {
    (
        400,
        error_json(
            "invalid_request",
            &format!("The request is missing a required parameter : {name}"),
        ),
    )
}

fn invalid_grant(what: &str) -> (u16, String) {
    (
        400,
        error_json(
            "invalid_grant",
            &format!("The request has an invalid grant parameter : {what}"),
        ),
    )
}

fn invalid_client() -> (u16, String) {
    (
        401,
        error_json("invalid_client", "Client authentication failed"),
    )
}

/// Checks `client_id` and, when `secret_required`, `client_secret`.
fn check_client(shared: &Shared, p: &Params, secret_required: bool) -> Option<(u16, String)> {
    let Some(id) = p.get("client_id") else {
        return Some(missing("client_id"));
    };
    if *id != shared.config.client_id {
        return Some(invalid_client());
    }
    if secret_required
        && let Some(secret) = &shared.config.client_secret
        && p.get("client_secret") != Some(secret)
    {
        return Some(invalid_client());
    }
    None
}

fn token(shared: &Shared, p: &Params) -> (u16, String) {
    let Some(grant) = p.get("grant_type") else {
        return missing("grant_type");
    };
    match grant.as_str() {
        "authorization_code" => {
            let Some(code) = p.get("code") else {
                return missing("code");
            };
            let Some(redirect_uri) = p.get("redirect_uri") else {
                return missing("redirect_uri");
            };
            let pkce = p.get("code_verifier");
            if let Some(e) = check_client(shared, p, pkce.is_none()) {
                return e;
            }
            // A code works once, whatever the outcome.
            let Some(g) = shared.state().codes.remove(code) else {
                return invalid_grant("code");
            };
            if g.redirect_uri != *redirect_uri {
                return invalid_grant("redirect_uri");
            }
            match (&g.code_challenge, pkce) {
                (Some(challenge), Some(verifier)) => {
                    let ok = CodeVerifier::new(verifier)
                        .is_ok_and(|v| v.challenge().as_str() == challenge);
                    if !ok {
                        return invalid_grant("code_verifier");
                    }
                }
                (Some(_), None) => return missing("code_verifier"),
                (None, _) => {}
            }
            issue(shared, None)
        }
        "refresh_token" => {
            let Some(refresh) = p.get("refresh_token") else {
                return missing("refresh_token");
            };
            if let Some(e) = check_client(shared, p, true) {
                return e;
            }
            let known = shared.state().refresh_tokens.iter().any(|t| t == refresh);
            if !known {
                return invalid_grant("refresh_token");
            }
            if shared.rotate.load(Ordering::SeqCst) {
                shared.state().refresh_tokens.retain(|t| t != refresh);
                issue(shared, None)
            } else {
                issue(shared, Some(refresh))
            }
        }
        "device_code" => {
            let (Some(device_code), Some(user_code)) = (p.get("device_code"), p.get("user_code"))
            else {
                return missing(if p.contains_key("device_code") {
                    "user_code"
                } else {
                    "device_code"
                });
            };
            let now = Instant::now();
            let mut state = shared.state();
            let Some(i) = state
                .pairs
                .iter()
                .position(|x| x.device_code == *device_code && x.user_code == *user_code)
            else {
                return invalid_grant("device_code");
            };
            let Some(pair) = state.pairs.get_mut(i) else {
                return invalid_grant("device_code");
            };
            if now >= pair.expires_at {
                state.pairs.remove(i);
                return (
                    400,
                    error_json("expired_token", "The code pair has expired"),
                );
            }
            let too_fast = pair
                .last_poll
                .is_some_and(|last| now.duration_since(last) < pair.interval);
            pair.last_poll = Some(now);
            if too_fast {
                return (400, error_json("slow_down", "Polling too fast"));
            }
            let approved = pair.approved
                || shared.config.auto_approve
                || shared
                    .config
                    .approve_after_polls
                    .is_some_and(|n| pair.pending_polls >= n);
            if !approved {
                pair.pending_polls = pair.pending_polls.saturating_add(1);
                return (
                    400,
                    error_json("authorization_pending", "Authorization pending"),
                );
            }
            state.pairs.remove(i);
            drop(state);
            issue(shared, None)
        }
        _ => (
            400,
            error_json("unsupported_grant_type", "The grant type is not supported"),
        ),
    }
}

fn code_pair(shared: &Shared, p: &Params) -> (u16, String) {
    match p.get("response_type").map(String::as_str) {
        Some("device_code") => {}
        Some(_) => {
            return (
                400,
                error_json("unsupported_response_type", "use device_code"),
            );
        }
        None => return missing("response_type"),
    }
    if let Some(e) = check_client(shared, p, false) {
        return e;
    }
    if p.get("scope").map(String::as_str) != Some("alexa:all") {
        return (400, error_json("invalid_scope", "The scope is not valid"));
    }
    let Some(scope_data) = p.get("scope_data") else {
        return missing("scope_data");
    };
    let product = serde_json::from_str::<serde_json::Value>(scope_data)
        .ok()
        .and_then(|v| {
            let all = v.get("alexa:all")?;
            let id = all.get("productID")?.as_str()?.to_owned();
            let dsn = all
                .get("productInstanceAttributes")?
                .get("deviceSerialNumber")?
                .as_str()?
                .to_owned();
            (!id.is_empty() && !dsn.is_empty()).then_some(())
        });
    if product.is_none() {
        return (
            400,
            error_json(
                "invalid_scope",
                "scope_data needs productID and deviceSerialNumber",
            ),
        );
    }
    let device_code = uuid_like();
    let user_code = user_code();
    let lifetime = shared.config.code_pair_lifetime;
    let interval = shared.config.poll_interval;
    shared.state().pairs.push(Pair {
        device_code: device_code.clone(),
        user_code: user_code.clone(),
        expires_at: Instant::now() + Duration::from_secs(u64::from(lifetime)),
        interval: Duration::from_secs(u64::from(interval)),
        last_poll: None,
        approved: false,
        pending_polls: 0,
    });
    (
        200,
        format!(
            r#"{{"device_code":"{device_code}","expires_in":{lifetime},"interval":{interval},"user_code":"{user_code}","verification_uri":"{}/mock/approve"}}"#,
            shared.origin
        ),
    )
}

fn issue(shared: &Shared, keep_refresh: Option<&String>) -> (u16, String) {
    let access = lwa_token("Atza|IwEBI");
    let refresh = match keep_refresh {
        Some(r) => r.clone(),
        None => lwa_token("Atzr|IwEBI"),
    };
    {
        let mut state = shared.state();
        state.issued_access.push(access.clone());
        if keep_refresh.is_none() {
            state.refresh_tokens.push(refresh.clone());
        }
    }
    (
        200,
        format!(
            r#"{{"access_token":"{access}","refresh_token":"{refresh}","token_type":"bearer","expires_in":{}}}"#,
            shared.config.token_lifetime
        ),
    )
}

fn revoke_all(shared: &Shared) -> usize {
    let mut state = shared.state();
    let n = state.refresh_tokens.len();
    state.refresh_tokens.clear();
    n
}

fn approve(shared: &Shared, user_code: &str) -> bool {
    let mut state = shared.state();
    match state.pairs.iter_mut().find(|p| p.user_code == user_code) {
        Some(p) => {
            p.approved = true;
            true
        }
        None => false,
    }
}

fn authorize(shared: &Shared, redirect_uri: &str, code_challenge: Option<&str>) -> String {
    let code = random_text(20, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    shared.state().codes.insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: code_challenge.map(str::to_owned),
        },
    );
    code
}

fn random_text(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    // The OS generator does not fail on supported platforms; zeros would still give valid
    // (if predictable) test tokens.
    let _ = getrandom::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| {
            alphabet
                .get(usize::from(*b) % alphabet.len().max(1))
                .map_or('A', |&c| char::from(c))
        })
        .collect()
}

/// A token shaped like LWA's: the prefix and base64url-ish text, 370 characters in all.
fn lwa_token(prefix: &str) -> String {
    const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut t = String::from(prefix);
    t.push_str(&random_text(370 - prefix.len(), B64URL));
    t
}

fn uuid_like() -> String {
    let hex = random_text(32, b"0123456789abcdef");
    let h = hex.as_bytes();
    let part =
        |a: usize, b: usize| std::str::from_utf8(h.get(a..b).unwrap_or_default()).unwrap_or("");
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

fn user_code() -> String {
    random_text(6, b"ABCDEFGHJKLMNPQRSTUVWXYZ")
}

/// `application/x-www-form-urlencoded` (and query strings): `+` is a space, `%XX` a byte.
fn parse_form(text: &[u8]) -> Params {
    fn decode(s: &[u8]) -> String {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while let Some(&b) = s.get(i) {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = s
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    if let Some(v) = hex {
                        out.push(v);
                        i += 2;
                    } else {
                        out.push(b'%');
                    }
                }
                _ => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    text.split(|&b| b == b'&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let mut it = kv.splitn(2, |&b| b == b'=');
            let k = it.next().unwrap_or_default();
            let v = it.next().unwrap_or_default();
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let p = parse_form(b"a=1&b=x%7Cy+z&c=%zz&&d=");
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "x|y z");
        assert_eq!(p["c"], "%zz");
        assert_eq!(p["d"], "");
    }

    #[test]
    fn token_shapes() {
        let t = lwa_token("Atza|IwEBI");
        assert_eq!(t.len(), 370);
        assert!(t.starts_with("Atza|IwEBI"));
        assert_eq!(uuid_like().len(), 36);
        assert_eq!(user_code().len(), 6);
    }
}
