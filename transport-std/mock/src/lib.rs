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
//! | `POST /auth/o2/token` `grant_type=device_code` | `authorization_pending` until approved, `slow_down` when polled faster than four fifths of `interval` (a client's clock and the network's delays are allowed a fifth), `expired_token` after expiry, then tokens |
//! | wrong client ID or secret | `invalid_client` (401) |
//! | missing parameter | `invalid_request`; unknown grant: `unsupported_grant_type` |
//!
//! and endpoints of its own, standing in for the person at the browser and for a test
//! harness (parameters in the query string or, for `POST`, a form body):
//!
//! | request | answer |
//! |---|---|
//! | `GET` or `POST /mock/approve?user_code=CODE` | approves a device code (case and spaces do not matter): `{"approved":true}`, or 404 `invalid_grant` when no such code waits |
//! | `GET /mock/approve` from a browser (`Accept: text/html`) | the approve page: this is the `verification_uri` it hands out. A form for the code (filled in from `?user_code=`); sending it approves the code and says so |
//! | `POST /mock/authorize` with `redirect_uri` (and `code_challenge` for PKCE) | `{"code":"..."}`, an authorization code |
//! | `POST /mock/revoke` | revokes every refresh token (the user removed the device): `{"revoked":N}` |
//! | `POST /mock/rotate?on=1` or `?on=0` | turns refresh-token rotation on or off: `{"rotate":true}` or `{"rotate":false}` |
//! | `GET /mock/stats` | `{"requests":N}`: requests to LWA's endpoints (token and code pair) so far, whatever their answer; the `/mock/` ones are not counted |
//!
//! Tokens look like LWA's (`Atza|IwEB...`, `Atzr|IwEB...`, about 370 characters).
//! Over HTTPS it presents a certificate for [`MockConfig::names`] (by default `localhost`,
//! `127.0.0.1` and `::1`) from a CA made for the run ([`MockServer::ca_pem`],
//! [`MockServer::ca_der`]); pass that CA to the client as an extra trust anchor. The chain
//! is ECDSA P-256 (CA, leaf), plain RSA 2048 (root, intermediate, leaf; the server sends
//! leaf and intermediate), or a look-alike of the shape of a chain under a public root a device
//! may meet on LWA's hosts (DigiCert Global Root G2, Amazon Root CA 1 to 4, a cross-signed
//! root), made with test keys: see [`Chain`]. Whatever the chain, TLS 1.2 and 1.3 are offered.
//! [`Pki`] makes the same chains for servers of a test's own ([`Pki::leaf`]).
//!
//! ```
//! use lwa_mock::{MockConfig, MockServer};
//! let server = MockServer::start(MockConfig::default(), true, 0).unwrap();
//! assert!(server.origin().starts_with("https://localhost:"));
//! assert!(server.ca_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lwa_core::endpoint::{CODE_PAIR_PATH, TOKEN_PATH};
use lwa_core::pkce::CodeVerifier;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName,
    DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// The rustls crypto provider the look-alike serves with, *ring*'s, as lwa-std's client
/// connects with (it builds with a C compiler alone); rustls 0.23.48 deprecates it for its
/// lack of post-quantum key exchange, which a local test server does not need.
///
/// ```
/// assert!(!lwa_mock::crypto_provider().kx_groups.is_empty());
/// ```
#[must_use]
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    // The one place the look-alike names the deprecated provider: see above.
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

/// How the look-alike behaves.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The only client ID it accepts.
    pub client_id: String,
    /// The client secret, if the client is a confidential one. Refresh and code requests
    /// must then carry it (authorization codes with PKCE excepted).
    pub client_secret: Option<String>,
    /// The `expires_in` of every access token it hands out, in seconds (LWA's: 3600). A
    /// session refreshes 10 minutes before expiry, but never sooner than
    /// [`MIN_REFRESH_INTERVAL`](lwa_core::session::MIN_REFRESH_INTERVAL) (60 s) after the last
    /// token arrived: with `expires_in: 20`, the next refresh comes 60 s after the last, once
    /// the token has expired, and a test that waits for it waits that long.
    pub expires_in: u32,
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
/// use lwa_mock::{MockConfig, MockServer, RequestLog};
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
            expires_in: 3600,
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
/// Besides the two plain shapes ([`P256`](Self::P256), [`Rsa2048`](Self::Rsa2048)) there are
/// look-alikes of the shapes of chains under the public roots a device may meet on LWA's hosts:
/// the same algorithms, key sizes, extensions and validity as the public roots and
/// intermediates, made with test keys and subjects that say so ("lwa test look-alike of
/// Amazon Root CA 1", organization "lwa test"). Their URLs (OCSP, CA issuers, CRLs) are under
/// `lwa-test.invalid`, which never resolves.
///
/// | shape | the trust anchor ([`Pki::ca_der`]) | the server sends |
/// |---|---|---|
/// | [`P256`](Self::P256) | P-256 CA | P-256 leaf |
/// | [`Rsa2048`](Self::Rsa2048) | RSA 2048 root | RSA 2048 leaf, RSA 2048 intermediate |
/// | [`DigicertRsa`](Self::DigicertRsa) | RSA 2048 root (DigiCert Global Root G2) | RSA 2048 leaf, RSA 2048 intermediate (DigiCert Global G2 TLS RSA SHA256 2020 CA1) |
/// | [`AmazonRsa`](Self::AmazonRsa) | RSA 2048 root (Amazon Root CA 1) | RSA 2048 leaf, RSA 2048 intermediate (Amazon RSA 2048 M02) |
/// | [`AmazonRsa4096`](Self::AmazonRsa4096) | RSA 4096 root (Amazon Root CA 2) | RSA 2048 leaf, RSA 4096 intermediate (Amazon RSA 4096 M02) |
/// | [`AmazonP256`](Self::AmazonP256) | P-256 root (Amazon Root CA 3) | P-256 leaf, P-256 intermediate (Amazon ECDSA 256 M02) |
/// | [`AmazonP384`](Self::AmazonP384) | P-384 root (Amazon Root CA 4) | P-384 leaf, P-384 intermediate (Amazon ECDSA 384 M02) |
/// | [`CrossSigned`](Self::CrossSigned) | RSA 2048 root B (Starfield Services Root G2) | RSA 2048 leaf, RSA 2048 intermediate (Amazon RSA 2048 M02), root A (Amazon Root CA 1) cross-signed by B |
///
/// Certificates are made fresh for each [`Pki`]; RSA keys come from fixed test-only keys
/// built into the crate (ring, which signs the certificates, cannot generate RSA keys), ECDSA
/// keys are generated each time. Signing with the RSA 4096 keys makes
/// [`AmazonRsa4096`](Self::AmazonRsa4096) the slowest shape to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Chain {
    /// A self-signed ECDSA P-256 CA and a P-256 leaf; the server sends the leaf.
    #[default]
    P256,
    /// A plain RSA chain: a self-signed RSA 2048 root CA, an RSA 2048 intermediate CA and an
    /// RSA 2048 leaf, each signed with PKCS#1 v1.5 SHA-256 and carrying few extensions; the
    /// server sends leaf and intermediate, not the root. (TLS 1.3 signs the handshake with
    /// RSA-PSS.)
    Rsa2048,
    /// Like DigiCert Global Root G2 -> "DigiCert Global G2 TLS RSA SHA256 2020 CA1" -> leaf:
    /// RSA 2048 throughout, sha256WithRSAEncryption; the intermediate with path length 0,
    /// OCSP and CA-issuers URLs, a CRL and the CA/Browser Forum policies; an
    /// organization-validated leaf (policy 2.23.140.1.2.2) with two CRLs and a list of
    /// signed certificate timestamps. The server sends leaf and intermediate.
    DigicertRsa,
    /// Like Amazon Root CA 1 -> "Amazon RSA 2048 M02" -> leaf: RSA 2048 throughout,
    /// sha256WithRSAEncryption, the same kind of extensions as
    /// [`DigicertRsa`](Self::DigicertRsa) with a domain-validated leaf (policy
    /// 2.23.140.1.2.1). The server sends leaf and intermediate.
    AmazonRsa,
    /// Like Amazon Root CA 2 -> "Amazon RSA 4096 M02" -> leaf: an RSA 4096 root signing with
    /// sha384WithRSAEncryption (itself and the intermediate), an RSA 4096 intermediate signing
    /// the RSA 2048 leaf with sha256WithRSAEncryption. The server sends leaf and intermediate.
    AmazonRsa4096,
    /// Like Amazon Root CA 3 -> "Amazon ECDSA 256 M02" -> leaf: P-256 throughout,
    /// ecdsa-with-SHA256. The server sends leaf and intermediate.
    AmazonP256,
    /// Like Amazon Root CA 4 -> "Amazon ECDSA 384 M02" -> leaf: P-384 throughout,
    /// ecdsa-with-SHA384. The server sends leaf and intermediate.
    AmazonP384,
    /// A cross-signed root: the leaf's intermediate ("Amazon RSA 2048 M02"-like) is issued by
    /// root A ("Amazon Root CA 1"-like), and root B ("Starfield Services Root Certificate
    /// Authority - G2"-like, another RSA 2048 key) has issued a CA certificate with A's
    /// subject and key. The server sends leaf, intermediate and A as cross-signed by B; only
    /// B is the trust anchor, so a client must build leaf -> intermediate -> A -> B. Root A
    /// has the name and key of [`AmazonRsa`](Self::AmazonRsa)'s root, so a client that
    /// trusts that root instead accepts the chain too (leaf -> intermediate -> A), as a
    /// client trusting Amazon Root CA 1 accepts the real one.
    CrossSigned,
}

impl Chain {
    /// Every shape, in the order documented.
    pub const ALL: [Self; 8] = [
        Self::P256,
        Self::Rsa2048,
        Self::DigicertRsa,
        Self::AmazonRsa,
        Self::AmazonRsa4096,
        Self::AmazonP256,
        Self::AmazonP384,
        Self::CrossSigned,
    ];
}

/// Test-only RSA 2048 keys (PKCS#8 PEM): they protect nothing. See `mock/keys/README.md`.
const RSA_ROOT_KEY: &str = include_str!("keys/root.key");
/// The intermediate CA's test-only key.
const RSA_INTERMEDIATE_KEY: &str = include_str!("keys/intermediate.key");
/// The leaf's test-only key.
const RSA_LEAF_KEY: &str = include_str!("keys/leaf.key");
/// The test-only RSA 4096 key of the look-alike of Amazon Root CA 2.
const RSA4096_ROOT_KEY: &str = include_str!("keys/rsa4096-root.key");
/// The test-only RSA 4096 key of the look-alike of Amazon RSA 4096 M02.
const RSA4096_INTERMEDIATE_KEY: &str = include_str!("keys/rsa4096-intermediate.key");
/// The test-only RSA 2048 key of root B, the cross-signer of [`Chain::CrossSigned`].
const CROSS_ROOT_KEY: &str = include_str!("keys/cross-root.key");

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

/// Sets a certificate's validity. rcgen takes a date type of the `time` crate, which lwa
/// does not depend on by name: the conversions are inferred from rcgen's fields.
///
/// # Errors
/// [`rcgen::Error::Time`] for a time a certificate cannot carry (before year 0 or after
/// 9999).
fn set_validity(
    params: &mut CertificateParams,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<(), rcgen::Error> {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let at = |t: SystemTime| -> Option<_> {
        let date = match t.duration_since(UNIX_EPOCH) {
            Ok(after) => epoch.checked_add(after.try_into().ok()?),
            Err(before) => epoch.checked_sub(before.duration().try_into().ok()?),
        }?;
        // GeneralizedTime has four digits for the year (and rcgen panics past them).
        (0..=9999).contains(&date.year()).then_some(date)
    };
    params.not_before = at(not_before).ok_or(rcgen::Error::Time)?;
    params.not_after = at(not_after).ok_or(rcgen::Error::Time)?;
    Ok(())
}

/// A day.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// A year of 365 days.
const YEAR: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// `now - back .. now - back + length`, saturating at the ends of `SystemTime`.
fn span(now: SystemTime, back: Duration, length: Duration) -> (SystemTime, SystemTime) {
    let start = now.checked_sub(back).unwrap_or(UNIX_EPOCH);
    (start, start.checked_add(length).unwrap_or(now))
}

/// A leaf's validity in the look-alike shapes: 13 months (395 days, what public CAs have
/// issued), started a week ago.
fn leaf_validity(now: SystemTime) -> (SystemTime, SystemTime) {
    span(now, 7 * DAY, 395 * DAY)
}

/// Hand-written DER for the extensions rcgen has no field for.
mod der {
    /// A tag, the length of `content` (short or long form), and `content`.
    pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(content.len() + 6);
        out.push(tag);
        match u8::try_from(content.len()) {
            Ok(len) if len < 0x80 => out.push(len),
            _ => {
                let bytes = content.len().to_be_bytes();
                let significant: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
                // At most 8 bytes, so the count fits in the low bits.
                out.push(0x80 | (significant.len() as u8));
                out.extend_from_slice(&significant);
            }
        }
        out.extend_from_slice(content);
        out
    }

    /// A SEQUENCE of the given encodings.
    pub(super) fn sequence(items: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &items.concat())
    }

    /// An OBJECT IDENTIFIER.
    pub(super) fn oid(arcs: &[u64]) -> Vec<u8> {
        let mut it = arcs.iter().copied();
        let first = it
            .next()
            .unwrap_or(0)
            .saturating_mul(40)
            .saturating_add(it.next().unwrap_or(0));
        let mut body = Vec::new();
        for arc in std::iter::once(first).chain(it) {
            let mut groups = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                groups.push(((rest & 0x7f) as u8) | 0x80);
                rest >>= 7;
            }
            body.extend(groups.iter().rev());
        }
        tlv(0x06, &body)
    }

    /// An IA5String.
    pub(super) fn ia5(text: &str) -> Vec<u8> {
        tlv(0x16, text.as_bytes())
    }

    /// A GeneralName of type uniformResourceIdentifier (`[6] IMPLICIT IA5String`).
    pub(super) fn uri(text: &str) -> Vec<u8> {
        tlv(0x86, text.as_bytes())
    }
}

/// id-pe-authorityInfoAccess (RFC 5280 4.2.2.1).
const AUTHORITY_INFO_ACCESS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-ad-ocsp.
const AD_OCSP: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];
/// id-ad-caIssuers.
const AD_CA_ISSUERS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 2];
/// id-ce-certificatePolicies (RFC 5280 4.2.1.4).
const CERTIFICATE_POLICIES: &[u64] = &[2, 5, 29, 32];
/// id-qt-cps, a CPS pointer qualifying a policy.
const QT_CPS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 2, 1];
/// The signed-certificate-timestamp list extension (RFC 6962 3.3).
const SCT_LIST: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];
/// anyPolicy.
const ANY_POLICY: &[u64] = &[2, 5, 29, 32, 0];
/// CA/Browser Forum extended validation.
const EV_POLICY: &[u64] = &[2, 23, 140, 1, 1];
/// CA/Browser Forum domain validated.
const DV_POLICY: &[u64] = &[2, 23, 140, 1, 2, 1];
/// CA/Browser Forum organization validated.
const OV_POLICY: &[u64] = &[2, 23, 140, 1, 2, 2];
/// CA/Browser Forum individual validated.
const IV_POLICY: &[u64] = &[2, 23, 140, 1, 2, 3];
/// The policy DigiCert's intermediates list first (its CPS).
const DIGICERT_CPS_POLICY: &[u64] = &[2, 16, 840, 1, 114_412, 2, 1];

/// A list of signed certificate timestamps (RFC 6962 3.3) the size of a public leaf's: three
/// SCTs from three logs, each with an ECDSA P-256 signature, 359 bytes in all. Opaque test
/// bytes: no log made them, no client here checks them, TLS clients that do would refuse them.
fn sct_list(timestamp_ms: u64) -> Vec<u8> {
    fn with_u16_len(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend(u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut scts = Vec::new();
    for log in 1u8..=3 {
        let mut sct = vec![0]; // v1
        sct.extend([0x10 * log; 32]); // the log's ID
        sct.extend(timestamp_ms.to_be_bytes());
        sct.extend([0, 0]); // no extensions
        sct.extend([4, 3]); // SHA-256, ECDSA
        let signature = der::sequence(&[der::tlv(0x02, &[0x5a; 32]), der::tlv(0x02, &[0x3c; 32])]);
        with_u16_len(&mut sct, &signature);
        with_u16_len(&mut scts, &sct);
    }
    let mut list = Vec::new();
    with_u16_len(&mut list, &scts);
    list
}

/// A key of a look-alike certificate, and how it signs.
#[derive(Debug, Clone, Copy)]
enum KeySpec {
    /// Generated; signs with ecdsa-with-SHA256.
    P256,
    /// Generated; signs with ecdsa-with-SHA384.
    P384,
    /// A fixed test-only RSA key, signing with the given algorithm.
    Rsa(&'static str, &'static rcgen::SignatureAlgorithm),
}

impl KeySpec {
    fn key_pair(self) -> Result<KeyPair, rcgen::Error> {
        match self {
            Self::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::P384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            Self::Rsa(pem, algorithm) => KeyPair::from_pem_and_sign_algo(pem, algorithm),
        }
    }

    fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa(..))
    }
}

/// What a certificate says of its issuer (where to fetch its certificate, ask OCSP, get
/// CRLs) and under which policies it was issued.
#[derive(Debug)]
struct Links {
    ocsp: String,
    ca_issuers: String,
    crls: Vec<String>,
    policies: Vec<&'static [u64]>,
    /// A CPS pointer qualifying the first policy.
    cps: Option<&'static str>,
}

impl Links {
    /// Amazon Trust Services' pattern, for the CA whose short name is `ca` (`rootca1`,
    /// `r2m02`, ...), under `lwa-test.invalid`.
    fn amazon(ca: &str, policy: &'static [u64]) -> Self {
        let host = |service: &str| format!("http://{service}.{ca}.amazontrust.lwa-test.invalid");
        Self {
            ocsp: host("ocsp"),
            ca_issuers: format!("{}/{ca}.cer", host("crt")),
            crls: vec![format!("{}/{ca}.crl", host("crl"))],
            policies: vec![policy],
            cps: None,
        }
    }

    /// Adds the authority information access, CRL distribution point and certificate
    /// policy extensions to `params`.
    fn apply(&self, params: &mut CertificateParams) {
        let access = |method: &[u64], uri: &str| der::sequence(&[der::oid(method), der::uri(uri)]);
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                AUTHORITY_INFO_ACCESS,
                der::sequence(&[
                    access(AD_OCSP, &self.ocsp),
                    access(AD_CA_ISSUERS, &self.ca_issuers),
                ]),
            ));
        params.crl_distribution_points = self
            .crls
            .iter()
            .map(|uri| CrlDistributionPoint {
                uris: vec![uri.clone()],
            })
            .collect();
        let policies: Vec<Vec<u8>> = self
            .policies
            .iter()
            .enumerate()
            .map(|(i, policy)| {
                let mut info = vec![der::oid(policy)];
                if let (0, Some(cps)) = (i, self.cps) {
                    info.push(der::sequence(&[der::sequence(&[
                        der::oid(QT_CPS),
                        der::ia5(cps),
                    ])]));
                }
                der::sequence(&info)
            })
            .collect();
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                CERTIFICATE_POLICIES,
                der::sequence(&policies),
            ));
    }
}

/// A look-alike CA: its common name and key.
#[derive(Debug, Clone, Copy)]
struct Ca {
    name: &'static str,
    key: KeySpec,
}

/// A look-alike chain: root, intermediate, leaf, and maybe a root that cross-signs the root.
#[derive(Debug)]
struct Shape {
    root: Ca,
    /// Another root that cross-signs `root`, and what the cross-signed certificate says of
    /// it: it is then the trust anchor, and `root` as it signed it is sent after the
    /// intermediate.
    cross: Option<(Ca, Links)>,
    intermediate: Ca,
    /// What the intermediate says of the root.
    intermediate_links: Links,
    leaf_key: KeySpec,
    /// What the leaf says of the intermediate.
    leaf_links: Links,
    /// An organization-validated leaf: its subject names an organization and its place,
    /// not only the host.
    organization: bool,
}

/// The look-alike of Amazon Root CA 1 (root A of the cross-signed shape too).
const AMAZON_ROOT_CA_1: Ca = Ca {
    name: "lwa test look-alike of Amazon Root CA 1",
    key: KeySpec::Rsa(RSA_ROOT_KEY, &rcgen::PKCS_RSA_SHA256),
};
/// The look-alike of Amazon RSA 2048 M02.
const AMAZON_RSA_2048_M02: Ca = Ca {
    name: "lwa test look-alike of Amazon RSA 2048 M02",
    key: KeySpec::Rsa(RSA_INTERMEDIATE_KEY, &rcgen::PKCS_RSA_SHA256),
};
/// The RSA 2048 leaf key of the look-alike shapes.
const RSA_LEAF: KeySpec = KeySpec::Rsa(RSA_LEAF_KEY, &rcgen::PKCS_RSA_SHA256);

/// The look-alike shape of `chain`; `None` for the plain ones.
fn shape(chain: Chain) -> Option<Shape> {
    let amazon = |root: Ca, intermediate: Ca, leaf_key, codes: (&str, &str)| Shape {
        root,
        cross: None,
        intermediate,
        intermediate_links: Links::amazon(codes.0, DV_POLICY),
        leaf_key,
        leaf_links: Links::amazon(codes.1, DV_POLICY),
        organization: false,
    };
    match chain {
        Chain::P256 | Chain::Rsa2048 => None,
        Chain::DigicertRsa => {
            let digicert = |path: &str| format!("http://{path}");
            Some(Shape {
                root: Ca {
                    name: "lwa test look-alike of DigiCert Global Root G2",
                    key: KeySpec::Rsa(RSA_ROOT_KEY, &rcgen::PKCS_RSA_SHA256),
                },
                cross: None,
                intermediate: Ca {
                    name: "lwa test look-alike of DigiCert Global G2 TLS RSA SHA256 2020 CA1",
                    key: KeySpec::Rsa(RSA_INTERMEDIATE_KEY, &rcgen::PKCS_RSA_SHA256),
                },
                intermediate_links: Links {
                    ocsp: digicert("ocsp.digicert.lwa-test.invalid"),
                    ca_issuers: digicert(
                        "cacerts.digicert.lwa-test.invalid/DigiCertGlobalRootG2.crt",
                    ),
                    crls: vec![digicert(
                        "crl3.digicert.lwa-test.invalid/DigiCertGlobalRootG2.crl",
                    )],
                    policies: vec![
                        DIGICERT_CPS_POLICY,
                        EV_POLICY,
                        DV_POLICY,
                        OV_POLICY,
                        IV_POLICY,
                    ],
                    cps: None,
                },
                leaf_key: RSA_LEAF,
                leaf_links: Links {
                    ocsp: digicert("ocsp.digicert.lwa-test.invalid"),
                    ca_issuers: digicert(
                        "cacerts.digicert.lwa-test.invalid/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crt",
                    ),
                    crls: vec![
                        digicert(
                            "crl3.digicert.lwa-test.invalid/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crl",
                        ),
                        digicert(
                            "crl4.digicert.lwa-test.invalid/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crl",
                        ),
                    ],
                    policies: vec![OV_POLICY],
                    cps: Some("http://www.digicert.lwa-test.invalid/CPS"),
                },
                organization: true,
            })
        }
        Chain::AmazonRsa => Some(amazon(
            AMAZON_ROOT_CA_1,
            AMAZON_RSA_2048_M02,
            RSA_LEAF,
            ("rootca1", "r2m02"),
        )),
        Chain::AmazonRsa4096 => Some(amazon(
            Ca {
                name: "lwa test look-alike of Amazon Root CA 2",
                key: KeySpec::Rsa(RSA4096_ROOT_KEY, &rcgen::PKCS_RSA_SHA384),
            },
            Ca {
                name: "lwa test look-alike of Amazon RSA 4096 M02",
                // It signs the leaf with SHA-256; the root signs it with SHA-384.
                key: KeySpec::Rsa(RSA4096_INTERMEDIATE_KEY, &rcgen::PKCS_RSA_SHA256),
            },
            RSA_LEAF,
            ("rootca2", "r4m02"),
        )),
        Chain::AmazonP256 => Some(amazon(
            Ca {
                name: "lwa test look-alike of Amazon Root CA 3",
                key: KeySpec::P256,
            },
            Ca {
                name: "lwa test look-alike of Amazon ECDSA 256 M02",
                key: KeySpec::P256,
            },
            KeySpec::P256,
            ("rootca3", "e2m02"),
        )),
        Chain::AmazonP384 => Some(amazon(
            Ca {
                name: "lwa test look-alike of Amazon Root CA 4",
                key: KeySpec::P384,
            },
            Ca {
                name: "lwa test look-alike of Amazon ECDSA 384 M02",
                key: KeySpec::P384,
            },
            KeySpec::P384,
            ("rootca4", "e3m02"),
        )),
        Chain::CrossSigned => Some(Shape {
            cross: Some((
                Ca {
                    name: "lwa test look-alike of Starfield Services Root Certificate Authority - G2",
                    key: KeySpec::Rsa(CROSS_ROOT_KEY, &rcgen::PKCS_RSA_SHA256),
                },
                Links::amazon("rootg2", ANY_POLICY),
            )),
            ..amazon(
                AMAZON_ROOT_CA_1,
                AMAZON_RSA_2048_M02,
                RSA_LEAF,
                ("rootca1", "r2m02"),
            )
        }),
    }
}

/// The subject of a look-alike CA named `name`.
fn look_alike_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    push_country(&mut dn);
    dn.push(DnType::OrganizationName, "lwa test");
    dn.push(DnType::CommonName, name);
    dn
}

/// `C=US`, as a PrintableString (RFC 5280 wants one for a country).
fn push_country(dn: &mut DistinguishedName) {
    match rcgen::string::PrintableString::try_from("US") {
        Ok(us) => dn.push(DnType::CountryName, DnValue::PrintableString(us)),
        Err(_) => dn.push(DnType::CountryName, "US"),
    }
}

/// Parameters of a look-alike CA certificate: what public roots and intermediates carry.
fn look_alike_ca(
    ca: Ca,
    path_len: Option<u8>,
    validity: (SystemTime, SystemTime),
) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = look_alike_name(ca.name);
    params.is_ca = IsCa::Ca(path_len.map_or(
        BasicConstraints::Unconstrained,
        BasicConstraints::Constrained,
    ));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.serial_number = Some(random_serial());
    set_validity(&mut params, validity.0, validity.1)?;
    Ok(params)
}

/// What [`Pki::with_chain`] makes of a look-alike shape.
struct Made {
    issuer: Issuer<'static, KeyPair>,
    intermediates: Vec<CertificateDer<'static>>,
    anchor: rcgen::Certificate,
}

/// Makes the CAs of a look-alike shape.
fn make_cas(shape: &Shape, now: SystemTime) -> Result<Made, rcgen::Error> {
    let root_key = shape.root.key.key_pair()?;
    let root_params = look_alike_ca(shape.root, None, span(now, 3 * YEAR, 25 * YEAR))?;
    let mut sent_after = Vec::new();
    let anchor = match &shape.cross {
        None => root_params.self_signed(&root_key)?,
        Some((cross, links)) => {
            // Root B, the anchor, and root A's subject and key as B signs them.
            let b_key = cross.key.key_pair()?;
            let b_params = look_alike_ca(*cross, None, span(now, 4 * YEAR, 25 * YEAR))?;
            let b = b_params.self_signed(&b_key)?;
            let b_issuer = Issuer::new(b_params, b_key);
            let mut a_params = look_alike_ca(shape.root, None, span(now, 3 * YEAR, 15 * YEAR))?;
            a_params.use_authority_key_identifier_extension = true;
            links.apply(&mut a_params);
            sent_after.push(a_params.signed_by(&root_key, &b_issuer)?.der().clone());
            b
        }
    };
    let root_issuer = Issuer::new(root_params, root_key);
    let key = shape.intermediate.key.key_pair()?;
    let mut params = look_alike_ca(shape.intermediate, Some(0), span(now, 2 * YEAR, 10 * YEAR))?;
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    shape.intermediate_links.apply(&mut params);
    let intermediate = params.signed_by(&key, &root_issuer)?;
    sent_after.insert(0, intermediate.der().clone());
    Ok(Made {
        issuer: Issuer::new(params, key),
        intermediates: sent_after,
        anchor,
    })
}

/// A CA made for one run and the certificates it signs (HTTPS for the look-alike, hostile
/// servers in tests).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use lwa_mock::{Chain, Pki};
///
/// let pki = Pki::with_chain(Chain::AmazonP256, "unused").unwrap();
/// let now = SystemTime::now();
/// let day = Duration::from_secs(86_400);
/// // A leaf that expired yesterday, and the intermediate the shape sends after it.
/// let (chain, _key) = pki.leaf(&["localhost"], now - 30 * day, now - day).unwrap();
/// assert_eq!(chain.len(), 2);
/// ```
#[derive(Debug)]
pub struct Pki {
    chain: Chain,
    /// Signs the leaves: the CA itself, or the intermediate CA.
    issuer: Issuer<'static, KeyPair>,
    /// Sent after the leaf: the intermediate CA and, cross-signed, the root, if any.
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

    /// A new CA of the given chain shape. For [`Chain::P256`] and [`Chain::Rsa2048`] the
    /// CA (the root) is named `name`, and for [`Chain::Rsa2048`] an intermediate CA below it
    /// signs the leaves; the look-alike shapes make their roots and intermediates with the
    /// look-alike names and do not use `name`.
    ///
    /// # Errors
    /// If key generation or loading, or signing fails.
    pub fn with_chain(chain: Chain, name: &str) -> Result<Self, rcgen::Error> {
        if let Some(shape) = shape(chain) {
            let made = make_cas(&shape, SystemTime::now())?;
            return Ok(Self {
                chain,
                ca_pem: made.anchor.pem(),
                ca_der: made.anchor.der().clone(),
                issuer: made.issuer,
                intermediates: made.intermediates,
            });
        }
        match chain {
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
            // P256, and any shape without a look-alike.
            _ => {
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
        }
    }

    /// The chain shape.
    #[must_use]
    pub fn chain(&self) -> Chain {
        self.chain
    }

    /// The trust anchor in PEM: the CA, the root, or for [`Chain::CrossSigned`] root B.
    /// The server never sends it.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The trust anchor in DER (the certificate of [`ca_pem`](Self::ca_pem)).
    #[must_use]
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// What the server sends after the leaf, in order: nothing for [`Chain::P256`], the
    /// intermediate CA for the others, then for [`Chain::CrossSigned`] root A as
    /// cross-signed by root B.
    #[must_use]
    pub fn intermediates_der(&self) -> &[CertificateDer<'static>] {
        &self.intermediates
    }

    /// A new leaf certificate for `names` (DNS names or IP addresses; the first is also its
    /// common name), valid from `not_before` to `not_after`, issued in this shape (by the CA,
    /// or by the intermediate), with the extensions the shape's leaves carry. Returns the
    /// chain to send, the leaf first and then [`intermediates_der`](Self::intermediates_der),
    /// and the leaf's private key: what a rustls server needs
    /// (`ServerConfig::builder()...with_single_cert(chain, key)`), to build servers the
    /// look-alike does not make itself (an expired leaf, TLS 1.2 only, other groups or
    /// cipher suites).
    ///
    /// # Errors
    /// If a name is neither a DNS name nor an IP address, a time is before year 0 or after
    /// 9999, or key generation or signing fails.
    pub fn leaf(
        &self,
        names: &[&str],
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        self.make_leaf(names, Some((not_before, not_after)))
    }

    /// A leaf, with the given validity or the shape's own: for the plain shapes rcgen's
    /// default (1975 to 4096), for the look-alikes 13 months from a week ago.
    fn make_leaf(
        &self,
        names: &[&str],
        validity: Option<(SystemTime, SystemTime)>,
    ) -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .map_err(io::Error::other)?;
        params.distinguished_name = DistinguishedName::new();
        let look_alike = shape(self.chain);
        let validity = validity.or_else(|| {
            look_alike
                .as_ref()
                .map(|_| leaf_validity(SystemTime::now()))
        });
        let key = match &look_alike {
            None if self.chain == Chain::Rsa2048 => {
                // What a public web server's leaf carries.
                params.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                params.serial_number = Some(random_serial());
                rsa_key(RSA_LEAF_KEY).map_err(io::Error::other)?
            }
            None => KeyPair::generate().map_err(io::Error::other)?,
            Some(shape) => {
                if shape.organization {
                    push_country(&mut params.distinguished_name);
                    params
                        .distinguished_name
                        .push(DnType::StateOrProvinceName, "Washington");
                    params
                        .distinguished_name
                        .push(DnType::LocalityName, "Seattle");
                    params
                        .distinguished_name
                        .push(DnType::OrganizationName, "lwa test");
                }
                // An ECDSA key cannot encipher keys.
                params.key_usages = if shape.leaf_key.is_rsa() {
                    vec![
                        KeyUsagePurpose::DigitalSignature,
                        KeyUsagePurpose::KeyEncipherment,
                    ]
                } else {
                    vec![KeyUsagePurpose::DigitalSignature]
                };
                params.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
                // Basic constraints CA:FALSE, and a subject key identifier.
                params.is_ca = IsCa::ExplicitNoCa;
                params.use_authority_key_identifier_extension = true;
                params.serial_number = Some(random_serial());
                shape.leaf_links.apply(&mut params);
                // Logged at the second the leaf's validity starts (as written, in whole
                // seconds).
                let issued_ms = validity
                    .and_then(|(not_before, _)| not_before.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs().saturating_mul(1000));
                params
                    .custom_extensions
                    .push(CustomExtension::from_oid_content(
                        SCT_LIST,
                        der::tlv(0x04, &sct_list(issued_ms)),
                    ));
                shape.leaf_key.key_pair().map_err(io::Error::other)?
            }
        };
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        if let Some((not_before, not_after)) = validity {
            set_validity(&mut params, not_before, not_after).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a certificate's validity must lie within years 0 to 9999",
                )
            })?;
        }
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(io::Error::other)?;
        let mut certs = vec![cert.der().clone()];
        certs.extend(self.intermediates.iter().cloned());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((certs, key))
    }

    /// A TLS server configuration (TLS 1.2 and 1.3, the ring provider) with a new leaf for
    /// `names` (DNS names or IP addresses) of the shape's usual validity, made as
    /// [`leaf`](Self::leaf) makes it; the server sends the leaf and then
    /// [`intermediates_der`](Self::intermediates_der).
    ///
    /// # Errors
    /// If a name is neither a DNS name nor an IP address, or signing or the rustls
    /// configuration fails.
    pub fn server_config(&self, names: &[&str]) -> Result<Arc<ServerConfig>, io::Error> {
        let (certs, key) = self.make_leaf(names, None)?;
        let provider = Arc::new(crypto_provider());
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

    /// The CA certificate (PEM) at the top of its chain, the one to trust (for
    /// [`Chain::CrossSigned`] root B; see [`Pki::ca_pem`]), when serving HTTPS.
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
    let (method, path, head_len, content_length, wants_html) = loop {
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
                // A browser asks for a page; curl and the tests for JSON.
                let wants_html = request.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("accept")
                        && std::str::from_utf8(h.value).is_ok_and(|v| v.contains("text/html"))
                });
                break (
                    request.method.unwrap_or("").to_owned(),
                    request.path.unwrap_or("").to_owned(),
                    len,
                    content_length,
                    wants_html,
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
    let canonical = route_path(path);
    if matches!(canonical.as_str(), TOKEN_PATH | CODE_PAIR_PATH) {
        shared.requests.fetch_add(1, Ordering::SeqCst);
    }
    // LWA's endpoints read a POST's form body only; the look-alike's own take the query
    // string too, so that `POST /mock/rotate?on=1` works.
    let mut params = if method == "GET" || canonical.starts_with("/mock/") {
        parse_form(query.as_bytes())
    } else {
        Params::new()
    };
    if method != "GET" {
        params.extend(parse_form(body));
    }
    let page =
        wants_html && canonical == "/mock/approve" && matches!(method.as_str(), "GET" | "POST");
    let (status, json, answered) = if page {
        let (status, html, outcome) = approve_page(shared, &method, &params);
        let answered = respond_as(io, status, "text/html;charset=UTF-8", &html);
        (status, format!(r#"{{"outcome":"{outcome}"}}"#), answered)
    } else {
        let (status, json) = route(shared, &method, &canonical, &params);
        let answered = respond(io, status, &json);
        (status, json, answered)
    };
    if let Some(log) = shared.config.on_request {
        log(&RequestLog {
            method,
            path: path.to_owned(),
            grant_type: (canonical == TOKEN_PATH)
                .then(|| params.get("grant_type").cloned())
                .flatten(),
            status,
            outcome: outcome(&json),
        });
    }
    answered
}

fn respond(io: &mut impl Write, status: u16, json: &str) -> io::Result<()> {
    respond_as(io, status, "application/json;charset=UTF-8", json)
}

fn respond_as(io: &mut impl Write, status: u16, content_type: &str, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        _ => "Error",
    };
    let mut out = String::with_capacity(body.len() + 200);
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nServer: lwa-mock\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache, no-store, must-revalidate\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    io.write_all(out.as_bytes())?;
    io.flush()
}

type Params = HashMap<String, String>;

/// The path as the routes name it: LWA's own two as lwa-core spells them (LWA answers
/// `/auth/o2/` and `/auth/O2/` alike), any other in lower case.
fn route_path(path: &str) -> String {
    [TOKEN_PATH, CODE_PAIR_PATH]
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(path))
        .map_or_else(|| path.to_ascii_lowercase(), str::to_owned)
}

/// Answers a request for `path` (see [`route_path`]).
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
            // A client that keeps the interval measures it from its own clock, and its poll
            // reaches the look-alike after a delay that varies: a fifth of the interval is
            // allowed, as servers of this protocol do.
            let least = pair.interval.saturating_sub(pair.interval / 5);
            let too_fast = pair
                .last_poll
                .is_some_and(|last| now.duration_since(last) < least);
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
            shared.config.expires_in
        ),
    )
}

fn revoke_all(shared: &Shared) -> usize {
    let mut state = shared.state();
    let n = state.refresh_tokens.len();
    state.refresh_tokens.clear();
    n
}

/// The approve page a browser gets at the `verification_uri`: a form for the code (filled
/// in from `?user_code=`), and after it is sent, whether the code was approved. Returns the
/// status, the page and the outcome for the request log.
fn approve_page(shared: &Shared, method: &str, p: &Params) -> (u16, String, &'static str) {
    let code = p.get("user_code").map_or("", String::as_str);
    let (status, message, outcome) = if method == "POST" {
        if let Some(code) = approved_code(shared, code) {
            (
                200,
                format!(
                    "<p id=\"result\">Approved: the device with code <b>{}</b> is signed in.</p>",
                    html_escaped(&code)
                ),
                "approved",
            )
        } else {
            (
                404,
                format!(
                    "<p id=\"result\">No code <b>{}</b> is waiting: check the code the device shows.</p>",
                    html_escaped(code)
                ),
                "invalid_grant",
            )
        }
    } else {
        (200, String::new(), "approve page")
    };
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lwa look-alike: approve a device</title></head>\n<body><h1>Approve a device</h1>\n<p>This is lwa's local LWA look-alike, not Amazon: approving here signs the device in to the look-alike only.</p>\n{message}\n<form method=\"post\" action=\"/mock/approve\"><label>Code shown on the device <input id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" autofocus></label> <button id=\"approve\" type=\"submit\">Approve</button></form>\n</body></html>\n",
        html_escaped(code)
    );
    (status, page, outcome)
}

/// `text` for HTML text and attribute values.
fn html_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Approves the pair whose user code is `user_code`, as a person types it: case and spaces
/// do not matter.
fn approve(shared: &Shared, user_code: &str) -> bool {
    approved_code(shared, user_code).is_some()
}

/// [`approve`], returning the code as the look-alike spells it.
fn approved_code(shared: &Shared, user_code: &str) -> Option<String> {
    let typed: String = user_code
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let mut state = shared.state();
    let pair = state
        .pairs
        .iter_mut()
        .find(|p| !typed.is_empty() && p.user_code == typed)?;
    pair.approved = true;
    Some(pair.user_code.clone())
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
