//! `lwa probe`: would a device connect to this LWA host? It opens a TLS connection with the
//! device's own TLS code (lwa-embedded's `tls` over a std `TcpStream`: embedded-tls, the same
//! cipher suite, key exchange and signature schemes, the same webpki path building and
//! checks, lwa-embedded's default trust anchors or the device's own), reports what the
//! server negotiated and sent, and gives a verdict with the exact reason.
//!
//! When the device's handshake stops before the server's certificate (an alert, a closed
//! connection), rustls connections that offer more find out what the server lacks: TLS 1.3,
//! `TLS_AES_128_GCM_SHA256`, or P-256. They send nothing but a ClientHello and are closed
//! once the server has answered it.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use embedded_io_adapters::std::FromStd;
use lwa_embedded::tls::{
    CertificateDer, CertificateError, Error as TlsFailure, Inspection, ServerIdentity, TlsError,
    TrustAnchor, algorithms, anchor_from_der, blocking, roots,
};
use lwa_std::client::{BoundedTcp, Error as ClientError};
use lwa_std::proxy::Proxy;
use rustls::pki_types::pem::PemObject as _;
use x509_parser::prelude::{FromDer as _, X509Certificate, X509Name};

use crate::args::Global;
use crate::context::{endpoint_of, proxy_of};
use crate::fail::Fail;
use crate::output::escaped;

/// Where to probe and with what.
struct Probe<'a> {
    host: &'a str,
    port: u16,
    /// PEM certificates to trust instead of lwa-embedded's default set.
    anchors_file: Option<&'a std::path::Path>,
    timeout: Duration,
    exchange_timeout: Duration,
    json: bool,
    /// The proxy to connect through (`--proxy`, the environment).
    proxy: Option<Proxy>,
}

/// A connection to the host, through the proxy if there is one.
fn connect(p: &Probe<'_>, deadline: Instant) -> Result<BoundedTcp, ClientError> {
    match &p.proxy {
        Some(proxy) => proxy.connect(
            p.host,
            p.port,
            concat!("lwa/", env!("CARGO_PKG_VERSION")),
            p.timeout,
            deadline,
        ),
        None => BoundedTcp::connect(p.host, p.port, p.timeout, deadline),
    }
}

/// `TLS_AES_128_GCM_SHA256`, the one suite the device offers.
const AES_128_GCM: u16 = 0x1301;
/// `secp256r1`, the one group the device offers.
const P256: u16 = 0x0017;
/// TLS 1.3 in `supported_versions`.
const TLS13: u16 = 0x0304;
/// The random of a HelloRetryRequest (RFC 8446 4.1.3).
const RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];
/// How much of what the server sends is kept to read its first message.
const RECORDED: usize = 64 * 1024;

/// A stream that keeps the first bytes the server sends: its ServerHello or alert, which
/// come in the clear.
struct Recorder<S> {
    inner: S,
    seen: Vec<u8>,
}

impl<S: Read> Read for Recorder<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let room = RECORDED.saturating_sub(self.seen.len()).min(n);
        self.seen
            .extend_from_slice(buf.get(..room).unwrap_or_default());
        Ok(n)
    }
}

impl<S: Write> Write for Recorder<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The server's first message, as read off the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    /// A ServerHello (or a HelloRetryRequest).
    Hello {
        version: u16,
        suite: u16,
        group: Option<u16>,
        retry: bool,
    },
    /// An alert: its description.
    Alert(u8),
    /// Nothing: the server closed or said nothing.
    Nothing,
    /// Something that is not a TLS handshake or alert record.
    Unreadable,
}

/// A big-endian `u16` at `at`.
fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// Reads the server's first message from the bytes it sent.
fn first_message(seen: &[u8]) -> First {
    let Some(&kind) = seen.first() else {
        return First::Nothing;
    };
    let body = be16(seen, 3)
        .and_then(|len| seen.get(5..5 + usize::from(len)))
        .unwrap_or_default();
    match kind {
        21 => body.get(1).map_or(First::Unreadable, |&d| First::Alert(d)),
        22 => server_hello(body).unwrap_or(First::Unreadable),
        _ => First::Unreadable,
    }
}

/// A ServerHello handshake message's version, suite and key-share group.
fn server_hello(msg: &[u8]) -> Option<First> {
    if *msg.first()? != 2 {
        return None;
    }
    let random = msg.get(6..38)?;
    let mut at = 38;
    at += 1 + usize::from(*msg.get(at)?); // session id
    let suite = be16(msg, at)?;
    at += 3; // suite, compression
    let mut version = be16(msg, 4)?;
    let mut group = None;
    let end = (at + 2 + usize::from(be16(msg, at).unwrap_or(0))).min(msg.len());
    at += 2;
    while at + 4 <= end {
        let (kind, len) = (be16(msg, at)?, usize::from(be16(msg, at + 2)?));
        match kind {
            0x002b => version = be16(msg, at + 4)?,
            0x0033 => group = be16(msg, at + 4),
            _ => {}
        }
        at += 4 + len;
    }
    Some(First::Hello {
        version,
        suite,
        group,
        retry: random == RETRY_RANDOM,
    })
}

/// What the device's own TLS code saw.
struct Attempt {
    result: Result<(), TlsFailure>,
    first: First,
    certificates: Vec<Vec<u8>>,
    sent: usize,
    anchor: Option<usize>,
    path: Vec<usize>,
    scheme: Option<u16>,
}

/// One handshake with lwa-embedded's TLS code. `Err` when the host cannot be reached.
fn device_attempt(
    p: &Probe<'_>,
    anchors: &[TrustAnchor<'_>],
    deadline: Instant,
) -> Result<Attempt, ClientError> {
    let tcp = connect(p, deadline)?;
    let mut recorder = Recorder {
        inner: tcp,
        seen: Vec::new(),
    };
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let identity = ServerIdentity {
        host: p.host,
        anchors,
        unix_time,
    };
    // What a device gives embedded-tls (see lwa-embedded's README).
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 1024]);
    let mut storage = vec![0u8; 64 * 1024];
    let mut inspection = Inspection::new(&mut storage);
    let result = blocking::open_inspected(
        FromStd::new(&mut recorder),
        &identity,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
        &mut inspection,
    )
    .map(drop);
    Ok(Attempt {
        result,
        first: first_message(&recorder.seen),
        certificates: inspection.certificates().map(<[u8]>::to_vec).collect(),
        sent: inspection.sent(),
        anchor: inspection.anchor(),
        path: inspection.path().to_vec(),
        scheme: inspection.signature_scheme().map(|s| s.as_u16()),
    })
}

/// What a rustls client offering `versions`, `suites` and `groups` negotiated with the
/// server: `None` if the server answered its ClientHello with no ServerHello.
fn negotiates(
    p: &Probe<'_>,
    deadline: Instant,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suite: Option<u16>,
    group: Option<u16>,
) -> Option<(u16, u16, Option<u16>)> {
    let ring = lwa_std::client::crypto_provider();
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: ring
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| suite.is_none_or(|c| u16::from(s.suite()) == c))
            .collect(),
        kx_groups: ring
            .kx_groups
            .iter()
            .copied()
            .filter(|g| group.is_none_or(|c| u16::from(g.name()) == c))
            .collect(),
        ..ring
    };
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(p.host.to_owned()).ok()?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let mut tcp = connect(p, deadline).ok()?;
    // Until the server has answered the ClientHello: what comes after (its certificate,
    // whether this client trusts it) does not matter here.
    while conn.is_handshaking() && conn.negotiated_cipher_suite().is_none() {
        if conn.complete_io(&mut tcp).is_err() {
            break;
        }
    }
    let suite = conn.negotiated_cipher_suite()?;
    let version = conn.protocol_version().map(u16::from)?;
    let group = conn
        .negotiated_key_exchange_group()
        .map(|g| u16::from(g.name()));
    Some((version, u16::from(suite.suite()), group))
}

/// Why a device would not connect: a code for scripts and a sentence for people.
struct Refusal {
    code: &'static str,
    reason: String,
}

fn refusal(code: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        code,
        reason: reason.into(),
    }
}

/// What the server lacks, when the device's handshake stopped before the certificate.
fn diagnose_hello(p: &Probe<'_>, attempt: &Attempt, deadline: Instant) -> Refusal {
    use rustls::version::{TLS12, TLS13 as RUSTLS_TLS13};
    match attempt.first {
        First::Hello {
            retry: true, group, ..
        } => {
            return refusal(
                "no_p256",
                format!(
                    "the server asks for key exchange group {}; the device offers P-256 \
                     (secp256r1) only",
                    group.map_or_else(|| "?".into(), group_name)
                ),
            );
        }
        First::Hello { version, .. } if version != TLS13 => {
            return refusal(
                "no_tls13",
                format!(
                    "the server answered with {}; the device speaks TLS 1.3 only",
                    version_name(version)
                ),
            );
        }
        _ => {}
    }
    let heard = match attempt.first {
        First::Alert(d) => format!("the server refused the handshake (alert {})", alert_name(d)),
        First::Nothing => "the server closed the connection without answering".to_owned(),
        First::Unreadable => "the server did not answer with TLS".to_owned(),
        First::Hello { .. } => match attempt.result {
            Err(TlsFailure::Tls(e)) => format!("the handshake failed after the ServerHello: {e:?}"),
            _ => "the handshake failed".to_owned(),
        },
    };
    let Some((_, suite, group)) = negotiates(p, deadline, &[&RUSTLS_TLS13], None, None) else {
        let tls12 = negotiates(p, deadline, &[&TLS12], None, None);
        return refusal(
            "no_tls13",
            match tls12 {
                Some(_) => {
                    format!("{heard}: it speaks TLS 1.2, not TLS 1.3, which the device needs")
                }
                None => format!("{heard}: it completes no TLS 1.3 handshake (nor TLS 1.2)"),
            },
        );
    };
    if negotiates(p, deadline, &[&RUSTLS_TLS13], Some(AES_128_GCM), None).is_none() {
        return refusal(
            "no_aes_128_gcm",
            format!(
                "{heard}: it does not offer TLS_AES_128_GCM_SHA256, the device's one cipher suite \
                 (it chose {} when offered all)",
                suite_name(suite)
            ),
        );
    }
    if negotiates(p, deadline, &[&RUSTLS_TLS13], None, Some(P256)).is_none() {
        return refusal(
            "no_p256",
            format!(
                "{heard}: it does not offer P-256 (secp256r1) key exchange, the device's one group \
                 (it chose {} when offered all)",
                group.map_or_else(|| "?".into(), group_name)
            ),
        );
    }
    refusal("handshake", heard)
}

/// The reason for a refused certificate or handshake signature, with what the certificates
/// say about it.
fn certificate_refusal(e: CertificateError, host: &str, certs: &[Option<Described>]) -> Refusal {
    let code = match e {
        CertificateError::UnknownIssuer => "unknown_root",
        CertificateError::Expired => "expired",
        CertificateError::NotValidYet => "not_valid_yet",
        CertificateError::WrongName => "wrong_name",
        CertificateError::UnsupportedAlgorithm | CertificateError::UnsupportedHandshakeScheme => {
            "unsupported_algorithm"
        }
        CertificateError::TooManyCertificates => "too_many_certificates",
        CertificateError::KeyTooLarge => "key_too_large",
        CertificateError::NotForServers => "not_for_servers",
        CertificateError::Constraint => "constraint",
        CertificateError::BadSignature | CertificateError::BadHandshakeSignature => "bad_signature",
        CertificateError::TooComplex => "too_complex",
        _ => "malformed",
    };
    let known: Vec<(usize, &Described)> = certs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((i, d.as_ref()?)))
        .collect();
    let now = rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    );
    // RFC 3339 UTC times in the same format compare as text.
    let detail = match e {
        CertificateError::UnknownIssuer => known.last().map(|(i, d)| {
            format!(
                "the last certificate sent, [{i}], is issued by {}",
                d.issuer
            )
        }),
        CertificateError::WrongName => known
            .first()
            .map(|(_, d)| format!("it names {}, not {host}", d.names.join(", "))),
        CertificateError::Expired => known
            .iter()
            .find(|(_, d)| d.not_after < now)
            .map(|(i, d)| format!("[{i}] expired at {}", d.not_after)),
        CertificateError::NotValidYet => known
            .iter()
            .find(|(_, d)| d.not_before > now)
            .map(|(i, d)| format!("[{i}] is valid from {}", d.not_before)),
        CertificateError::UnsupportedAlgorithm => Some(
            known
                .iter()
                .map(|(i, d)| format!("[{i}] {} signed with {}", d.key, d.signature))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    };
    refusal(
        code,
        match detail {
            Some(detail) => format!("{e}: {detail}"),
            None => e.to_string(),
        },
    )
}

/// One certificate, as people read it.
struct Described {
    subject: String,
    issuer: String,
    key: String,
    signature: String,
    not_before: String,
    not_after: String,
    names: Vec<String>,
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn describe(der: &[u8]) -> Option<Described> {
    use x509_parser::public_key::PublicKey;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let key = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(point)) => format!("ECDSA P-{}", point.key_size()),
        _ if cert.public_key().algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            "Ed25519".to_owned()
        }
        _ => format!(
            "{} (unknown)",
            cert.public_key().algorithm.algorithm.to_id_string()
        ),
    };
    use x509_parser::extensions::GeneralName;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(name) => (*name).to_owned(),
                    GeneralName::IPAddress(ip) => ip_text(ip).unwrap_or_else(|| format!("{n}")),
                    other => format!("{other}"),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Described {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        key,
        signature: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        not_before: rfc3339(cert.validity().not_before.timestamp()),
        not_after: rfc3339(cert.validity().not_after.timestamp()),
        names,
    })
}

/// An IP address in a subject alternative name, as text.
fn ip_text(bytes: &[u8]) -> Option<String> {
    let ip = match bytes.len() {
        4 => std::net::IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        _ => std::net::IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
    };
    Some(ip.to_string())
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// A trust anchor's subject, as people read it.
fn anchor_name(anchor: &TrustAnchor<'_>) -> String {
    // webpki keeps the subject without its SEQUENCE header: put one back to parse it.
    let subject = anchor.subject.as_ref();
    let len = subject.len();
    let mut der = vec![0x30];
    match len {
        0..=0x7f => der.push(len as u8),
        0x80..=0xff => der.extend([0x81, len as u8]),
        _ => der.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    der.extend_from_slice(subject);
    X509Name::from_der(&der).map_or_else(|_| "(unreadable name)".into(), |(_, n)| n.to_string())
}

fn version_name(v: u16) -> String {
    match v {
        0x0304 => "TLS 1.3".into(),
        0x0303 => "TLS 1.2".into(),
        0x0302 => "TLS 1.1".into(),
        0x0301 => "TLS 1.0".into(),
        other => format!("version {other:#06x}"),
    }
}

fn suite_name(s: u16) -> String {
    match s {
        0x1301 => "TLS_AES_128_GCM_SHA256".into(),
        0x1302 => "TLS_AES_256_GCM_SHA384".into(),
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256".into(),
        other => format!("suite {other:#06x}"),
    }
}

fn group_name(g: u16) -> String {
    match g {
        0x0017 => "secp256r1 (P-256)".into(),
        0x0018 => "secp384r1 (P-384)".into(),
        0x0019 => "secp521r1 (P-521)".into(),
        0x001d => "x25519".into(),
        0x11ec => "X25519MLKEM768".into(),
        other => format!("group {other:#06x}"),
    }
}

fn scheme_name(s: u16) -> String {
    match s {
        0x0401 => "rsa_pkcs1_sha256".into(),
        0x0501 => "rsa_pkcs1_sha384".into(),
        0x0601 => "rsa_pkcs1_sha512".into(),
        0x0403 => "ecdsa_secp256r1_sha256".into(),
        0x0503 => "ecdsa_secp384r1_sha384".into(),
        0x0603 => "ecdsa_secp521r1_sha512".into(),
        0x0804 => "rsa_pss_rsae_sha256".into(),
        0x0805 => "rsa_pss_rsae_sha384".into(),
        0x0806 => "rsa_pss_rsae_sha512".into(),
        0x0807 => "ed25519".into(),
        other => format!("scheme {other:#06x}"),
    }
}

fn alert_name(d: u8) -> String {
    match d {
        40 => "handshake_failure".into(),
        42 => "bad_certificate".into(),
        47 => "illegal_parameter".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        109 => "missing_extension".into(),
        112 => "unrecognized_name".into(),
        other => format!("{other}"),
    }
}

/// Reads the PEM certificates of `path` into DER.
fn read_anchors(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, Fail> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| Fail::Config(format!("--anchors {shown}: {e}")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| Fail::Config(format!("--anchors {shown}: not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(Fail::Config(format!(
            "--anchors {shown}: no certificate in it"
        )));
    }
    Ok(certs)
}

/// `lwa probe`, for the options given.
pub(crate) fn run(g: &Global, anchors: Option<&std::path::Path>) -> Result<(), Fail> {
    let endpoint = endpoint_of(g)?;
    if !endpoint.is_tls() {
        return Err(Fail::Config(
            "--endpoint: lwa probe checks TLS; give an https:// origin".into(),
        ));
    }
    probe(&Probe {
        host: endpoint.host(),
        port: endpoint.port(),
        anchors_file: anchors,
        timeout: Duration::from_secs(g.timeout),
        exchange_timeout: Duration::from_secs(g.exchange_timeout),
        json: g.json,
        proxy: proxy_of(g, &endpoint)?,
    })
}

/// Runs the probe: prints the report and returns `Ok` when a device would connect,
/// `Fail::Silent(1)` when it would not, a network failure when the host cannot be reached.
fn probe(p: &Probe<'_>) -> Result<(), Fail> {
    let deadline = Instant::now() + p.exchange_timeout;
    let file_certs = p.anchors_file.map(read_anchors).transpose()?;
    let file_anchors: Option<Vec<TrustAnchor<'_>>> = file_certs
        .as_ref()
        .map(|certs| {
            certs
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    anchor_from_der(c)
                        .map_err(|e| Fail::Config(format!("--anchors: certificate {}: {e}", i + 1)))
                })
                .collect::<Result<_, _>>()
        })
        .transpose()?;
    let (anchors, anchors_from): (&[TrustAnchor<'_>], String) =
        match (&file_anchors, p.anchors_file) {
            (Some(a), Some(path)) => (a, path.display().to_string()),
            _ => (
                roots::LWA,
                "lwa-embedded's default set (tls::roots::LWA)".to_owned(),
            ),
        };
    let attempt = device_attempt(p, anchors, deadline)
        .map_err(|e| Fail::Network(format!("cannot reach {}:{}: {e}", p.host, p.port)))?;
    // A stall before the server said anything: nothing to judge.
    if let (Err(TlsFailure::Tls(TlsError::Io(kind))), First::Nothing) =
        (&attempt.result, attempt.first)
        && matches!(kind, embedded_io::ErrorKind::TimedOut)
    {
        return Err(Fail::Network(format!(
            "{}:{} did not answer the ClientHello in time",
            p.host, p.port
        )));
    }
    let described: Vec<Option<Described>> =
        attempt.certificates.iter().map(|c| describe(c)).collect();
    let refused = match &attempt.result {
        Ok(()) => None,
        Err(TlsFailure::Certificate(e)) => Some(certificate_refusal(*e, p.host, &described)),
        Err(_) => Some(diagnose_hello(p, &attempt, deadline)),
    };
    let anchor = attempt.anchor.and_then(|i| anchors.get(i)).map(anchor_name);
    let negotiated = match attempt.first {
        First::Hello {
            version,
            suite,
            group,
            retry: false,
        } => Some((version, suite, group)),
        _ => None,
    };
    if p.json {
        print_json(
            p,
            &attempt,
            &described,
            anchor.as_deref(),
            &anchors_from,
            negotiated,
            refused.as_ref(),
        )?;
    } else {
        print_text(
            p,
            &attempt,
            &described,
            anchor.as_deref(),
            &anchors_from,
            negotiated,
            refused.as_ref(),
        )?;
    }
    match refused {
        None => Ok(()),
        Some(_) => Err(Fail::Silent(1)),
    }
}

/// The signature schemes the device offers, by name.
fn offered() -> String {
    algorithms::OFFERED
        .iter()
        .map(|s| scheme_name(s.as_u16()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[allow(clippy::too_many_arguments)] // one report, printed two ways
fn print_text(
    p: &Probe<'_>,
    attempt: &Attempt,
    described: &[Option<Described>],
    anchor: Option<&str>,
    anchors_from: &str,
    negotiated: Option<(u16, u16, Option<u16>)>,
    refused: Option<&Refusal>,
) -> Result<(), Fail> {
    outln!("probe: {}:{} with lwa-embedded's TLS code", p.host, p.port)?;
    if let Some(proxy) = &p.proxy {
        outln!("  through the proxy {proxy} (CONNECT; TLS end to end)")?;
    }
    outln!("device offers: TLS 1.3, TLS_AES_128_GCM_SHA256, key exchange secp256r1 (P-256)")?;
    outln!("  signature schemes: {}", offered())?;
    outln!("  trust anchors: {anchors_from}")?;
    match negotiated {
        Some((version, suite, group)) => outln!(
            "server: {}, {}, key exchange {}{}",
            version_name(version),
            suite_name(suite),
            group.map_or_else(|| "?".into(), group_name),
            attempt
                .scheme
                .map(|s| format!(", handshake signed with {}", scheme_name(s)))
                .unwrap_or_default()
        )?,
        None => outln!("server: no ServerHello the device accepts")?,
    }
    if attempt.sent > 0 {
        outln!("certificates sent: {}", attempt.sent)?;
    }
    for (i, d) in described.iter().enumerate() {
        let Some(d) = d else {
            outln!("  [{i}] (not readable as X.509)")?;
            continue;
        };
        outln!("  [{i}] subject {}", escaped(&d.subject))?;
        outln!("      issuer  {}", escaped(&d.issuer))?;
        outln!("      key {}, signed with {}", d.key, d.signature)?;
        outln!("      valid {} to {}", d.not_before, d.not_after)?;
        if i == 0 && !d.names.is_empty() {
            outln!("      names {}", escaped(&d.names.join(", ")))?;
        }
    }
    if let Some(anchor) = anchor {
        let path: Vec<String> = std::iter::once("[0]".to_owned())
            .chain(attempt.path.iter().map(|i| format!("[{i}]")))
            .collect();
        outln!("path: {} -> anchor {}", path.join(" -> "), escaped(anchor))?;
    }
    match refused {
        None => outln!("verdict: a device with these anchors and lwa-embedded's TLS would connect"),
        Some(r) => {
            outln!(
                "verdict: a device with these anchors and lwa-embedded's TLS would NOT connect"
            )?;
            outln!("reason ({}): {}", r.code, escaped(&r.reason))
        }
    }
}

#[allow(clippy::too_many_arguments)] // one report, printed two ways
fn print_json(
    p: &Probe<'_>,
    attempt: &Attempt,
    described: &[Option<Described>],
    anchor: Option<&str>,
    anchors_from: &str,
    negotiated: Option<(u16, u16, Option<u16>)>,
    refused: Option<&Refusal>,
) -> Result<(), Fail> {
    use serde_json::{Value, json};
    let certificates: Vec<Value> = described
        .iter()
        .map(|d| match d {
            None => Value::Null,
            Some(d) => json!({
                "subject": d.subject,
                "issuer": d.issuer,
                "key": d.key,
                "signature_algorithm": d.signature,
                "not_before": d.not_before,
                "not_after": d.not_after,
                "names": d.names,
            }),
        })
        .collect();
    let report = json!({
        "host": p.host,
        "port": p.port,
        "proxy": p.proxy.as_ref().map(ToString::to_string),
        "anchors": anchors_from,
        "tls_version": negotiated.map(|n| version_name(n.0)),
        "cipher_suite": negotiated.map(|n| suite_name(n.1)),
        "key_exchange": negotiated.and_then(|n| n.2).map(group_name),
        "signature_scheme": attempt.scheme.map(scheme_name),
        "certificates_sent": attempt.sent,
        "certificates": certificates,
        "path": attempt.path,
        "anchor": anchor,
        "connects": refused.is_none(),
        "reason_code": refused.map(|r| r.code),
        "reason": refused.map(|r| r.reason.as_str()),
    });
    outln!("{report}")
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)] // tests
mod tests {
    use super::*;

    #[test]
    fn first_messages_are_read_strictly() {
        assert_eq!(first_message(b""), First::Nothing);
        assert_eq!(first_message(&[21, 3, 3, 0, 2, 2, 70]), First::Alert(70));
        assert_eq!(first_message(&[21, 3, 3, 0, 1, 2]), First::Unreadable);
        assert_eq!(
            first_message(b"HTTP/1.1 400 Bad Request\r\n"),
            First::Unreadable
        );
        // A TLS 1.3 ServerHello: legacy version 1.2, supported_versions 1.3, key share P-256.
        let mut hello = vec![2, 0, 0, 0, 3, 3];
        hello.extend([7u8; 32]);
        hello.extend([0, 0x13, 0x01, 0]);
        let ext = [0x00, 0x2b, 0, 2, 3, 4, 0x00, 0x33, 0, 4, 0, 0x17, 0, 0];
        hello.extend((ext.len() as u16).to_be_bytes());
        hello.extend(ext);
        let mut record = vec![22, 3, 3];
        record.extend((hello.len() as u16).to_be_bytes());
        record.extend(&hello);
        assert_eq!(
            first_message(&record),
            First::Hello {
                version: TLS13,
                suite: AES_128_GCM,
                group: Some(P256),
                retry: false
            }
        );
        for n in 0..record.len() {
            // Any truncation is read as something, never a panic.
            let _ = first_message(&record[..n]);
        }
        record[11..43].copy_from_slice(&RETRY_RANDOM);
        assert!(matches!(
            first_message(&record),
            First::Hello { retry: true, .. }
        ));
    }

    #[test]
    fn anchor_names_read_back() {
        assert_eq!(
            anchor_name(&roots::AMAZON_ROOT_CA_1),
            "C=US, O=Amazon, CN=Amazon Root CA 1"
        );
        assert_eq!(
            anchor_name(&roots::STARFIELD_SERVICES_ROOT_G2),
            "C=US, ST=Arizona, L=Scottsdale, O=Starfield Technologies, Inc., CN=Starfield \
             Services Root Certificate Authority - G2"
        );
    }
}
