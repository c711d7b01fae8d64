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
//! and three endpoints of its own, standing in for the person at the browser:
//! `GET` or `POST /mock/approve?user_code=CODE` approves a device code (this is the
//! `verification_uri` it hands out); `POST /mock/authorize` with `redirect_uri` (and
//! `code_challenge` for PKCE) returns `{"code":"..."}`, an authorization code.
//!
//! Tokens look like LWA's (`Atza|IwEB...`, `Atzr|IwEB...`, about 370 characters).
//! Over HTTPS it presents a certificate for `localhost`, `127.0.0.1` and `::1` from a CA made
//! for the run ([`MockServer::ca_pem`]); pass that CA to the client as an extra trust anchor.
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
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
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
    /// Hand out a new refresh token on every refresh (LWA usually keeps the old one).
    pub rotate_refresh_tokens: bool,
    /// Approve every device code at once, as if the user were instant (for demos).
    pub auto_approve: bool,
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
        }
    }
}

/// A CA made for one run and the certificates it signs (HTTPS for the look-alike, hostile
/// servers in tests).
#[derive(Debug)]
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
}

impl Pki {
    /// A new CA.
    ///
    /// # Errors
    /// If key generation or signing fails.
    pub fn new(name: &str) -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key)?;
        Ok(Self {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate in PEM.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A TLS server configuration with a certificate for `names` (DNS names or IP
    /// addresses), signed by this CA.
    ///
    /// # Errors
    /// If signing or the rustls configuration fails.
    pub fn server_config(&self, names: &[&str]) -> Result<Arc<ServerConfig>, io::Error> {
        let key = KeyPair::generate().map_err(io::Error::other)?;
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .map_err(io::Error::other)?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(io::Error::other)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
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
    requests: AtomicUsize,
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
    /// Starts serving on `127.0.0.1:port` (`0` picks a free port), over HTTPS when `tls`.
    ///
    /// # Errors
    /// If the port cannot be bound or the certificates cannot be made.
    pub fn start(config: MockConfig, tls: bool, port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let addr = listener.local_addr()?;
        let (tls_config, ca_pem) = if tls {
            let pki = Pki::new("lwa mock CA").map_err(io::Error::other)?;
            let config = pki.server_config(&["localhost", "127.0.0.1", "::1"])?;
            (Some(config), Some(pki.ca_pem().to_owned()))
        } else {
            (None, None)
        };
        let origin = if tls {
            format!("https://localhost:{}", addr.port())
        } else {
            format!("http://127.0.0.1:{}", addr.port())
        };
        let shared = Arc::new(Shared {
            config,
            origin,
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

    /// The CA certificate (PEM) that signed its certificate, when serving HTTPS.
    #[must_use]
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// How many requests it has answered.
    #[must_use]
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
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

    /// Revokes every refresh token (the user removed the device).
    pub fn revoke_all(&self) {
        self.shared.state().refresh_tokens.clear();
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
                        Ok(conn) => serve(&mut StreamOwned::new(conn, stream), &shared),
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
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let body = buf
        .get(head_len..head_len + content_length)
        .unwrap_or_default();
    let (path, query) = path.split_once('?').unwrap_or((path.as_str(), ""));
    let params = if method == "GET" {
        parse_form(query.as_bytes())
    } else {
        parse_form(body)
    };
    let (status, json) = route(shared, &method, path, &params);
    respond(io, status, &json)
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

fn route(shared: &Shared, method: &str, path: &str, p: &Params) -> (u16, String) {
    let lower = path.to_ascii_lowercase();
    match (method, lower.as_str()) {
        ("POST", "/auth/o2/token") => token(shared, p),
        ("POST", "/auth/o2/create/codepair") => code_pair(shared, p),
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
        (_, "/auth/o2/token" | "/auth/o2/create/codepair") => {
            (405, error_json("invalid_request", "use POST"))
        }
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
            if shared.config.rotate_refresh_tokens {
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
            if !pair.approved && !shared.config.auto_approve {
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
