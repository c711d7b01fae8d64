//! Every certificate chain shape of the look-alike, over real loopback TLS 1.3: the exact
//! certificates each shape sends (key type and size, signature algorithm, issuer and subject,
//! the extensions public CAs put in them), that a client trusting only the shape's anchor
//! gets an HTTP answer and one trusting another shape's anchor is refused, the cross-signed
//! path, and leaves made with `Pki::leaf` for validity a test chooses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lwa_mock::{Chain, MockConfig, MockServer, Pki};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, ServerConfig,
    ServerConnection, StreamOwned,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_WITH_SHA384: &str = "1.2.840.10045.4.3.3";
const AIA: &str = "1.3.6.1.5.5.7.1.1";
const OCSP: &str = "1.3.6.1.5.5.7.48.1";
const CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";
const SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";
const POLICIES: &str = "2.5.29.32";
const CPS: &str = "1.3.6.1.5.5.7.2.1";
const DV: &str = "2.23.140.1.2.1";
const OV: &str = "2.23.140.1.2.2";

/// Key usage bits as x509-parser numbers them.
const DIGITAL_SIGNATURE: u16 = 1;
const KEY_ENCIPHERMENT: u16 = 1 << 2;
const KEY_CERT_SIGN: u16 = 1 << 5;
const CRL_SIGN: u16 = 1 << 6;

const DAY: u64 = 24 * 60 * 60;

const DIGICERT_ROOT: &str = "lwa test look-alike of DigiCert Global Root G2";
const DIGICERT_CA1: &str = "lwa test look-alike of DigiCert Global G2 TLS RSA SHA256 2020 CA1";
const AMAZON_ROOT_1: &str = "lwa test look-alike of Amazon Root CA 1";
const AMAZON_ROOT_2: &str = "lwa test look-alike of Amazon Root CA 2";
const AMAZON_ROOT_3: &str = "lwa test look-alike of Amazon Root CA 3";
const AMAZON_ROOT_4: &str = "lwa test look-alike of Amazon Root CA 4";
const AMAZON_RSA_2048_M02: &str = "lwa test look-alike of Amazon RSA 2048 M02";
const AMAZON_RSA_4096_M02: &str = "lwa test look-alike of Amazon RSA 4096 M02";
const AMAZON_ECDSA_256_M02: &str = "lwa test look-alike of Amazon ECDSA 256 M02";
const AMAZON_ECDSA_384_M02: &str = "lwa test look-alike of Amazon ECDSA 384 M02";
const STARFIELD_G2: &str =
    "lwa test look-alike of Starfield Services Root Certificate Authority - G2";
/// What `MockServer` names the CA of the plain shapes.
const MOCK_CA: &str = "lwa mock CA";

/// A public key as a certificate carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// RSA, with the modulus size in bits.
    Rsa(usize),
    /// ECDSA on the curve named by this OID, with the field size in bits.
    Ec(&'static str, usize),
}

/// What a certificate is, in the terms the tests compare.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Summary {
    key: Key,
    /// The OID of the signature algorithm (the outer one; the inner one must agree).
    signature: String,
    issuer: String,
    subject: String,
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, cert) = X509Certificate::from_der(der).unwrap();
    assert!(rest.is_empty(), "trailing bytes after the certificate");
    cert
}

fn common_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    let names: Vec<_> = name.iter_common_name().collect();
    assert_eq!(names.len(), 1, "{name}");
    names[0].as_str().unwrap().to_owned()
}

fn summary(der: &[u8]) -> Summary {
    let cert = parse(der);
    let spki = cert.public_key();
    let key = match spki.parsed().unwrap() {
        PublicKey::RSA(rsa) => {
            assert_eq!(spki.algorithm.algorithm.to_id_string(), RSA_ENCRYPTION);
            Key::Rsa(rsa.key_size())
        }
        PublicKey::EC(point) => {
            assert_eq!(spki.algorithm.algorithm.to_id_string(), EC_PUBLIC_KEY);
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .unwrap()
                .as_oid()
                .unwrap();
            let curve = match curve.to_id_string().as_str() {
                P256 => P256,
                P384 => P384,
                other => panic!("curve {other}"),
            };
            Key::Ec(curve, point.key_size())
        }
        other => panic!("{other:?}"),
    };
    let signature = cert.signature_algorithm.algorithm.to_id_string();
    assert_eq!(
        cert.tbs_certificate.signature.algorithm.to_id_string(),
        signature
    );
    Summary {
        key,
        signature,
        issuer: common_name(cert.issuer()),
        subject: common_name(cert.subject()),
    }
}

fn s(key: Key, signature: &str, issuer: &str, subject: &str) -> Summary {
    Summary {
        key,
        signature: signature.to_owned(),
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
    }
}

const RSA_2048: Key = Key::Rsa(2048);
const RSA_4096: Key = Key::Rsa(4096);
const EC_P256: Key = Key::Ec(P256, 256);
const EC_P384: Key = Key::Ec(P384, 384);

/// The trust anchor and the certificates the server sends, leaf first, for the default
/// names (the leaf's common name is the first, `localhost`).
fn expected(chain: Chain) -> (Summary, Vec<Summary>) {
    let leaf = "localhost";
    let intermediate = format!("{MOCK_CA} RSA 2048 intermediate");
    match chain {
        Chain::P256 => (
            s(EC_P256, ECDSA_WITH_SHA256, MOCK_CA, MOCK_CA),
            vec![s(EC_P256, ECDSA_WITH_SHA256, MOCK_CA, leaf)],
        ),
        Chain::Rsa2048 => (
            s(RSA_2048, SHA256_WITH_RSA, MOCK_CA, MOCK_CA),
            vec![
                s(RSA_2048, SHA256_WITH_RSA, &intermediate, leaf),
                s(RSA_2048, SHA256_WITH_RSA, MOCK_CA, &intermediate),
            ],
        ),
        Chain::DigicertRsa => (
            s(RSA_2048, SHA256_WITH_RSA, DIGICERT_ROOT, DIGICERT_ROOT),
            vec![
                s(RSA_2048, SHA256_WITH_RSA, DIGICERT_CA1, leaf),
                s(RSA_2048, SHA256_WITH_RSA, DIGICERT_ROOT, DIGICERT_CA1),
            ],
        ),
        Chain::AmazonRsa => (
            s(RSA_2048, SHA256_WITH_RSA, AMAZON_ROOT_1, AMAZON_ROOT_1),
            vec![
                s(RSA_2048, SHA256_WITH_RSA, AMAZON_RSA_2048_M02, leaf),
                s(
                    RSA_2048,
                    SHA256_WITH_RSA,
                    AMAZON_ROOT_1,
                    AMAZON_RSA_2048_M02,
                ),
            ],
        ),
        Chain::AmazonRsa4096 => (
            s(RSA_4096, SHA384_WITH_RSA, AMAZON_ROOT_2, AMAZON_ROOT_2),
            vec![
                s(RSA_2048, SHA256_WITH_RSA, AMAZON_RSA_4096_M02, leaf),
                s(
                    RSA_4096,
                    SHA384_WITH_RSA,
                    AMAZON_ROOT_2,
                    AMAZON_RSA_4096_M02,
                ),
            ],
        ),
        Chain::AmazonP256 => (
            s(EC_P256, ECDSA_WITH_SHA256, AMAZON_ROOT_3, AMAZON_ROOT_3),
            vec![
                s(EC_P256, ECDSA_WITH_SHA256, AMAZON_ECDSA_256_M02, leaf),
                s(
                    EC_P256,
                    ECDSA_WITH_SHA256,
                    AMAZON_ROOT_3,
                    AMAZON_ECDSA_256_M02,
                ),
            ],
        ),
        Chain::AmazonP384 => (
            s(EC_P384, ECDSA_WITH_SHA384, AMAZON_ROOT_4, AMAZON_ROOT_4),
            vec![
                s(EC_P384, ECDSA_WITH_SHA384, AMAZON_ECDSA_384_M02, leaf),
                s(
                    EC_P384,
                    ECDSA_WITH_SHA384,
                    AMAZON_ROOT_4,
                    AMAZON_ECDSA_384_M02,
                ),
            ],
        ),
        Chain::CrossSigned => (
            s(RSA_2048, SHA256_WITH_RSA, STARFIELD_G2, STARFIELD_G2),
            vec![
                s(RSA_2048, SHA256_WITH_RSA, AMAZON_RSA_2048_M02, leaf),
                s(
                    RSA_2048,
                    SHA256_WITH_RSA,
                    AMAZON_ROOT_1,
                    AMAZON_RSA_2048_M02,
                ),
                s(RSA_2048, SHA256_WITH_RSA, STARFIELD_G2, AMAZON_ROOT_1),
            ],
        ),
        other => panic!("no expectation for {other:?}"),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(lwa_mock::crypto_provider())
}

fn roots(anchor: &[u8]) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(anchor.to_vec())).unwrap();
    Arc::new(roots)
}

/// A TLS 1.3 only client trusting `anchor` and nothing else.
fn tls13_client(anchor: &[u8]) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots(anchor))
            .with_no_client_auth(),
    )
}

/// What one HTTPS request got: the protocol version, the certificates as sent, the answer.
struct Fetched {
    version: ProtocolVersion,
    certs: Vec<CertificateDer<'static>>,
    answer: String,
}

/// `GET target` over TLS to `localhost` on `port`; the client's verdict if it refused.
fn get(port: u16, config: Arc<ClientConfig>, target: &str) -> Result<Fetched, rustls::Error> {
    let conn = ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    let tls_error = |e: std::io::Error| {
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
        inner.cloned().unwrap_or_else(|| panic!("{e}"))
    };
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(tls_error)?;
    }
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).map_err(tls_error)?;
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).map_err(tls_error)?;
    let certs = tls
        .conn
        .peer_certificates()
        .unwrap()
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    Ok(Fetched {
        version: tls.conn.protocol_version().unwrap(),
        certs,
        answer: String::from_utf8(answer).unwrap(),
    })
}

fn start(chain: Chain) -> MockServer {
    MockServer::start(
        MockConfig {
            chain,
            ..MockConfig::default()
        },
        true,
        0,
    )
    .unwrap()
}

fn unknown_issuer() -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
}

/// Whole seconds since the epoch, `days` from now.
fn days_from_now(days: i64) -> SystemTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let secs = now.checked_add_signed(days * DAY as i64).unwrap();
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn extension<'a>(cert: &'a X509Certificate<'_>, oid: &str) -> &'a ParsedExtension<'a> {
    let found: Vec<_> = cert
        .extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == oid)
        .collect();
    assert_eq!(found.len(), 1, "extension {oid}");
    found[0].parsed_extension()
}

fn key_usage(cert: &X509Certificate<'_>) -> (bool, u16) {
    let ku = cert.key_usage().unwrap().unwrap();
    (ku.critical, ku.value.flags)
}

fn eku(cert: &X509Certificate<'_>) -> (bool, bool, usize) {
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(!eku.any && !eku.code_signing && !eku.email_protection);
    (eku.server_auth, eku.client_auth, eku.other.len())
}

fn basic_constraints(cert: &X509Certificate<'_>) -> (bool, Option<u32>) {
    let bc = cert.basic_constraints().unwrap().unwrap();
    assert!(bc.critical);
    (bc.value.ca, bc.value.path_len_constraint)
}

fn subject_key_id<'a>(cert: &'a X509Certificate<'_>) -> &'a [u8] {
    match extension(cert, "2.5.29.14") {
        ParsedExtension::SubjectKeyIdentifier(id) => id.0,
        other => panic!("{other:?}"),
    }
}

fn authority_key_id<'a>(cert: &'a X509Certificate<'_>) -> &'a [u8] {
    match extension(cert, "2.5.29.35") {
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().unwrap().0,
        other => panic!("{other:?}"),
    }
}

fn uri<'a>(name: &GeneralName<'a>) -> &'a str {
    match name {
        GeneralName::URI(uri) => uri,
        other => panic!("{other:?}"),
    }
}

/// The OCSP and CA-issuers URLs.
fn access(cert: &X509Certificate<'_>) -> (String, String) {
    let ParsedExtension::AuthorityInfoAccess(aia) = extension(cert, AIA) else {
        panic!("AIA")
    };
    let methods: Vec<_> = aia
        .iter()
        .map(|a| (a.access_method.to_id_string(), uri(&a.access_location)))
        .collect();
    assert_eq!(methods.len(), 2);
    assert_eq!(
        (methods[0].0.as_str(), methods[1].0.as_str()),
        (OCSP, CA_ISSUERS)
    );
    (methods[0].1.to_owned(), methods[1].1.to_owned())
}

fn crls(cert: &X509Certificate<'_>) -> Vec<String> {
    let ParsedExtension::CRLDistributionPoints(points) = extension(cert, "2.5.29.31") else {
        panic!("CRL DP")
    };
    points
        .iter()
        .map(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(names)) => {
                assert_eq!(names.len(), 1);
                uri(&names[0]).to_owned()
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

/// The policy OIDs, and the CPS URL qualifying the first if any.
fn policies(cert: &X509Certificate<'_>) -> (Vec<String>, Option<String>) {
    let ParsedExtension::CertificatePolicies(policies) = extension(cert, POLICIES) else {
        panic!("policies")
    };
    let cps = policies[0].policy_qualifiers.as_ref().map(|q| {
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].policy_qualifier_id.to_id_string(), CPS);
        // An IA5String: tag 0x16, a one-byte length.
        assert_eq!(q[0].qualifier[0], 0x16);
        String::from_utf8(q[0].qualifier[2..].to_vec()).unwrap()
    });
    assert!(policies[1..].iter().all(|p| p.policy_qualifiers.is_none()));
    (
        policies
            .iter()
            .map(|p| p.policy_id.to_id_string())
            .collect(),
        cps,
    )
}

fn validity_days(cert: &X509Certificate<'_>) -> i64 {
    let v = cert.validity();
    (v.not_after.timestamp() - v.not_before.timestamp()) / DAY as i64
}

/// What every look-alike shape's certificates carry beyond key, signature and names.
fn check_look_alike(chain: Chain, anchor: &[u8], served: &[CertificateDer<'_>]) {
    let anchor = parse(anchor);
    let certs: Vec<_> = served.iter().map(|c| parse(c)).collect();
    let (leaf, intermediate) = (&certs[0], &certs[1]);
    let rsa_leaf = matches!(summary(&served[0]).key, Key::Rsa(_));
    let (amazon, ov) = (chain != Chain::DigicertRsa, chain == Chain::DigicertRsa);

    // Every CA says it is a test look-alike, of organization "lwa test".
    for ca in certs[1..].iter().chain([&anchor]) {
        assert!(common_name(ca.subject()).starts_with("lwa test look-alike of "));
        let orgs: Vec<_> = ca.subject().iter_organization().collect();
        assert_eq!(orgs[0].as_str().unwrap(), "lwa test");
        assert_eq!(
            key_usage(ca),
            (true, DIGITAL_SIGNATURE | KEY_CERT_SIGN | CRL_SIGN)
        );
    }

    // The root: self-signed, unconstrained, 25 years, no authority key identifier.
    assert_eq!(anchor.subject(), anchor.issuer());
    assert_eq!(basic_constraints(&anchor), (true, None));
    assert_eq!(validity_days(&anchor), 25 * 365);
    assert!(
        anchor
            .extensions()
            .iter()
            .all(|e| e.oid.to_id_string() != "2.5.29.35")
    );

    // The intermediate: path length 0, server and client auth, OCSP, CA issuers, a CRL,
    // the policies, 10 years, the root's key identifier (or root A's).
    assert_eq!(basic_constraints(intermediate), (true, Some(0)));
    assert_eq!(eku(intermediate), (true, true, 0));
    assert_eq!(validity_days(intermediate), 10 * 365);
    let (ocsp, ca_issuers) = access(intermediate);
    let (intermediate_policies, cps) = policies(intermediate);
    assert_eq!(cps, None);
    let root_code = match chain {
        Chain::AmazonRsa | Chain::CrossSigned => "rootca1",
        Chain::AmazonRsa4096 => "rootca2",
        Chain::AmazonP256 => "rootca3",
        Chain::AmazonP384 => "rootca4",
        _ => "",
    };
    if amazon {
        let host = format!("{root_code}.amazontrust.lwa-test.invalid");
        assert_eq!(ocsp, format!("http://ocsp.{host}"));
        assert_eq!(ca_issuers, format!("http://crt.{host}/{root_code}.cer"));
        assert_eq!(
            crls(intermediate),
            [format!("http://crl.{host}/{root_code}.crl")]
        );
        assert_eq!(intermediate_policies, [DV]);
    } else {
        assert_eq!(ocsp, "http://ocsp.digicert.lwa-test.invalid");
        assert_eq!(
            ca_issuers,
            "http://cacerts.digicert.lwa-test.invalid/DigiCertGlobalRootG2.crt"
        );
        assert_eq!(
            crls(intermediate),
            ["http://crl3.digicert.lwa-test.invalid/DigiCertGlobalRootG2.crl"]
        );
        assert_eq!(
            intermediate_policies,
            [
                "2.16.840.1.114412.2.1",
                "2.23.140.1.1",
                DV,
                OV,
                "2.23.140.1.2.3"
            ]
        );
    }
    if chain != Chain::CrossSigned {
        assert_eq!(authority_key_id(intermediate), subject_key_id(&anchor));
    }

    // The leaf: the names, CA:FALSE, server and client auth, 13 months, its issuer's key
    // identifier, OCSP, CA issuers, CRLs, one policy and three SCTs.
    assert_eq!(basic_constraints(leaf), (false, None));
    assert_eq!(
        key_usage(leaf),
        (
            true,
            if rsa_leaf {
                DIGITAL_SIGNATURE | KEY_ENCIPHERMENT
            } else {
                DIGITAL_SIGNATURE
            }
        )
    );
    assert_eq!(eku(leaf), (true, true, 0));
    assert_eq!(validity_days(leaf), 395);
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let not_before = leaf.validity().not_before.timestamp();
    assert!((now - 7 * DAY as i64 - 60..=now - 7 * DAY as i64).contains(&not_before));
    assert_eq!(authority_key_id(leaf), subject_key_id(intermediate));
    let san = leaf.subject_alternative_name().unwrap().unwrap();
    assert!(!san.critical);
    assert_eq!(
        san.value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(dns) => (*dns).to_owned(),
                GeneralName::IPAddress(ip) => match <[u8; 4]>::try_from(*ip) {
                    Ok(v4) => IpAddr::from(v4).to_string(),
                    Err(_) => IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string(),
                },
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>(),
        ["localhost", "127.0.0.1", "::1"]
    );
    let (ocsp, ca_issuers) = access(leaf);
    let (leaf_policies, cps) = policies(leaf);
    if ov {
        let subject = leaf.subject().to_string();
        assert_eq!(
            subject,
            "C=US, ST=Washington, L=Seattle, O=lwa test, CN=localhost"
        );
        assert_eq!(ocsp, "http://ocsp.digicert.lwa-test.invalid");
        assert_eq!(
            ca_issuers,
            "http://cacerts.digicert.lwa-test.invalid/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crt"
        );
        assert_eq!(
            crls(leaf),
            [
                "http://crl3.digicert.lwa-test.invalid/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crl",
                "http://crl4.digicert.lwa-test.invalid/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crl"
            ]
        );
        assert_eq!(leaf_policies, [OV]);
        assert_eq!(
            cps.as_deref(),
            Some("http://www.digicert.lwa-test.invalid/CPS")
        );
    } else {
        assert_eq!(leaf.subject().to_string(), "CN=localhost");
        let code = match chain {
            Chain::AmazonRsa | Chain::CrossSigned => "r2m02",
            Chain::AmazonRsa4096 => "r4m02",
            Chain::AmazonP256 => "e2m02",
            _ => "e3m02",
        };
        let host = format!("{code}.amazontrust.lwa-test.invalid");
        assert_eq!(ocsp, format!("http://ocsp.{host}"));
        assert_eq!(ca_issuers, format!("http://crt.{host}/{code}.cer"));
        assert_eq!(crls(leaf), [format!("http://crl.{host}/{code}.crl")]);
        assert_eq!(leaf_policies, [DV]);
        assert_eq!(cps, None);
    }
    let sct = leaf
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == SCT_LIST)
        .unwrap();
    assert!(!sct.critical);
    // An OCTET STRING (4 bytes of header) around a 359-byte list of three SCTs.
    assert_eq!(sct.value.len(), 363);
    assert_eq!(sct.value[..4], [0x04, 0x82, 0x01, 0x67]);
    let ParsedExtension::SCT(timestamps) = sct.parsed_extension() else {
        panic!("{:?}", sct.parsed_extension())
    };
    assert_eq!(timestamps.len(), 3);
    for t in timestamps {
        assert_eq!(t.timestamp, u64::try_from(not_before).unwrap() * 1000);
        assert_eq!((t.signature.hash_alg_id, t.signature.sign_alg_id), (4, 3));
        assert_eq!(t.signature.data.len(), 70);
    }
}

/// Prints the DER sizes, for the record (`--nocapture`).
fn print_sizes(chain: Chain, anchor: &[u8], served: &[CertificateDer<'_>]) {
    let sizes: Vec<_> = served.iter().map(|c| c.len()).collect();
    let total: usize = sizes.iter().sum();
    eprintln!(
        "{chain:?}: anchor {} bytes; sent {sizes:?} = {total} bytes",
        anchor.len()
    );
}

/// The shape's server, a TLS 1.3 client trusting only its anchor, one request, and the
/// exact certificates sent.
fn serves_its_chain(chain: Chain) {
    let server = start(chain);
    let anchor = server.ca_der().unwrap().to_vec();
    let from_pem = CertificateDer::from_pem_slice(server.ca_pem().unwrap().as_bytes()).unwrap();
    assert_eq!(from_pem.as_ref(), anchor.as_slice());
    let fetched = get(server.port(), tls13_client(&anchor), "/mock/stats").unwrap();
    assert_eq!(fetched.version, ProtocolVersion::TLSv1_3);
    assert!(
        fetched.answer.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        fetched.answer
    );
    assert!(
        fetched.answer.ends_with("\r\n\r\n{\"requests\":0}"),
        "{}",
        fetched.answer
    );
    let (want_anchor, want_served) = expected(chain);
    assert_eq!(summary(&anchor), want_anchor, "{chain:?} anchor");
    let served: Vec<_> = fetched.certs.iter().map(|c| summary(c)).collect();
    assert_eq!(served, want_served, "{chain:?} sent");
    assert!(
        fetched
            .certs
            .iter()
            .all(|c| c.as_ref() != anchor.as_slice()),
        "the anchor is never sent"
    );
    if !matches!(chain, Chain::P256 | Chain::Rsa2048) {
        check_look_alike(chain, &anchor, &fetched.certs);
    }
    print_sizes(chain, &anchor, &fetched.certs);
}

#[test]
fn p256_serves_its_chain() {
    serves_its_chain(Chain::P256);
}

#[test]
fn rsa2048_serves_its_chain() {
    serves_its_chain(Chain::Rsa2048);
}

#[test]
fn digicert_rsa_serves_its_chain() {
    serves_its_chain(Chain::DigicertRsa);
}

#[test]
fn amazon_rsa_serves_its_chain() {
    serves_its_chain(Chain::AmazonRsa);
}

#[test]
fn amazon_rsa4096_serves_its_chain() {
    serves_its_chain(Chain::AmazonRsa4096);
}

#[test]
fn amazon_p256_serves_its_chain() {
    serves_its_chain(Chain::AmazonP256);
}

#[test]
fn amazon_p384_serves_its_chain() {
    serves_its_chain(Chain::AmazonP384);
}

#[test]
fn cross_signed_serves_its_chain() {
    serves_its_chain(Chain::CrossSigned);
}

#[test]
fn every_shape_has_a_test_here() {
    // A new shape fails this until it gets an expectation and a test above.
    assert_eq!(Chain::ALL.len(), 8);
    for chain in Chain::ALL {
        let _ = expected(chain);
    }
}

#[test]
fn a_client_trusting_another_shapes_anchor_is_refused() {
    // Every shape's server against every other shape's anchor. The RSA shapes share keys
    // but not names, so no chain reaches another shape's root.
    let servers: Vec<_> = Chain::ALL
        .iter()
        .map(|chain| (*chain, start(*chain)))
        .collect();
    for (chain, server) in &servers {
        for (other, other_server) in &servers {
            if chain == other {
                continue;
            }
            let config = tls13_client(other_server.ca_der().unwrap());
            let got = get(server.port(), config, "/mock/stats");
            if (*chain, *other) == (Chain::CrossSigned, Chain::AmazonRsa) {
                // The one exception, as with the real roots: root A of the cross-signed shape
                // has the name and key of the amazon-rsa root, so a client that trusts that
                // root builds leaf -> intermediate -> root and ignores the cross certificate.
                let fetched = got.unwrap();
                assert_eq!(fetched.certs.len(), 3);
                assert!(fetched.answer.starts_with("HTTP/1.1 200 OK\r\n"));
                continue;
            }
            let refused = got.err();
            if matches!(
                (chain, other),
                (Chain::P256, Chain::Rsa2048) | (Chain::Rsa2048, Chain::P256)
            ) {
                // The two plain shapes' roots have the same name (the look-alike's "lwa mock
                // CA"), so the verifier tries the other root's key on the signature, and
                // says it is of the wrong kind.
                assert!(
                    matches!(
                        refused,
                        Some(rustls::Error::InvalidCertificate(
                            CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. }
                        ))
                    ),
                    "{chain:?} server, {other:?} anchor: {refused:?}"
                );
            } else {
                assert_eq!(
                    refused,
                    Some(unknown_issuer()),
                    "{chain:?} server, {other:?} anchor"
                );
            }
        }
    }
}

#[test]
fn cross_signed_needs_root_b_and_the_cross_certificate_and_never_sends_b() {
    let pki = Pki::with_chain(Chain::CrossSigned, "unused").unwrap();
    let root_b = pki.ca_der().to_vec();
    let (chain, _key) = pki
        .leaf(&["localhost"], days_from_now(-1), days_from_now(30))
        .unwrap();
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[1..], *pki.intermediates_der());
    // B is not in what is sent, by bytes or by subject, and A as sent is not self-signed.
    let b = parse(&root_b);
    for cert in &chain {
        assert_ne!(cert.as_ref(), root_b.as_slice());
        assert_ne!(parse(cert).subject(), b.subject());
    }
    let a = parse(&chain[2]);
    assert_eq!(a.issuer(), b.subject());
    assert_ne!(a.subject(), a.issuer());
    assert_eq!(basic_constraints(&a), (true, None));
    assert_eq!(authority_key_id(&a), subject_key_id(&b));
    // A's key is not B's.
    assert_ne!(a.public_key().raw, b.public_key().raw);
    // The intermediate is issued by A's key, which is what the cross certificate certifies.
    let intermediate = parse(&chain[1]);
    assert_eq!(authority_key_id(&intermediate), subject_key_id(&a));
    assert_eq!(intermediate.issuer(), a.subject());
    assert_eq!(
        policies(&a),
        (vec!["2.5.29.32.0".to_owned()], None),
        "anyPolicy"
    );
    let host = "rootg2.amazontrust.lwa-test.invalid";
    assert_eq!(
        access(&a),
        (
            format!("http://ocsp.{host}"),
            format!("http://crt.{host}/rootg2.cer")
        )
    );
    assert_eq!(crls(&a), [format!("http://crl.{host}/rootg2.crl")]);

    // Trusting only B: the path leaf -> intermediate -> A -> B is found, and not without A.
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(&root_b), provider())
        .build()
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let now = UnixTime::now();
    assert!(
        verifier
            .verify_server_cert(&chain[0], &chain[1..], &name, &[], now)
            .is_ok()
    );
    assert_eq!(
        verifier
            .verify_server_cert(&chain[0], &chain[1..2], &name, &[], now)
            .err(),
        Some(unknown_issuer())
    );
}

/// Serves one TLS handshake with `certs` and `key`, and the client's verdict on it.
fn verdict_on(
    certs: Vec<CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
    anchor: &[u8],
) -> Result<Fetched, rustls::Error> {
    let config = Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(config).unwrap(), tcp);
        // A refusing client ends the handshake; only a served one gets an answer.
        let mut head = [0u8; 1024];
        if tls.read(&mut head).is_ok_and(|n| n > 0) {
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    let fetched = get(port, tls13_client(anchor), "/");
    server.join().unwrap();
    fetched
}

#[test]
fn pki_leaf_makes_leaves_of_the_given_validity_in_each_shape() {
    for chain in [Chain::P256, Chain::AmazonRsa, Chain::AmazonP384] {
        let pki = Pki::with_chain(chain, "leaf test CA").unwrap();
        let not_before = days_from_now(-30);
        let not_after = days_from_now(-1);

        // Valid now: served and accepted, the chain as the shape sends it.
        let (certs, key) = pki
            .leaf(&["localhost"], not_before, days_from_now(1))
            .unwrap();
        assert_eq!(certs.len(), 1 + pki.intermediates_der().len(), "{chain:?}");
        assert_eq!(certs[1..], *pki.intermediates_der());
        let leaf = parse(&certs[0]);
        assert_eq!(
            leaf.validity().not_before.timestamp(),
            not_before.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
        );
        let fetched = verdict_on(certs.clone(), key, pki.ca_der()).unwrap();
        assert_eq!(fetched.certs, certs);
        assert!(fetched.answer.ends_with("\r\n\r\nok"));

        // Expired yesterday: refused as expired, with the leaf's own end of validity.
        let (certs, key) = pki.leaf(&["localhost"], not_before, not_after).unwrap();
        match verdict_on(certs, key, pki.ca_der()) {
            Err(rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
                not_after: refused,
                ..
            })) => assert_eq!(
                refused,
                UnixTime::since_unix_epoch(not_after.duration_since(UNIX_EPOCH).unwrap())
            ),
            other => panic!("{chain:?}: {:?}", other.err()),
        }

        // Not valid until tomorrow: refused as not yet valid.
        let (certs, key) = pki
            .leaf(&["localhost"], days_from_now(1), days_from_now(30))
            .unwrap();
        assert!(
            matches!(
                verdict_on(certs, key, pki.ca_der()),
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidYetContext { .. }
                ))
            ),
            "{chain:?}"
        );
    }
}

#[test]
fn pki_leaf_refuses_times_a_certificate_cannot_carry_and_names_it_cannot_write() {
    let pki = Pki::new("leaf test CA").unwrap();
    let year = Duration::from_secs(365 * DAY);
    let now = SystemTime::now();
    for (not_before, not_after) in [
        // Before year 0.
        (UNIX_EPOCH - 1975 * year, now),
        // After year 9999.
        (now, UNIX_EPOCH + 8100 * year),
    ] {
        let e = pki.leaf(&["localhost"], not_before, not_after).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(
            e.to_string(),
            "a certificate's validity must lie within years 0 to 9999"
        );
    }
    // The ends of the range work (GeneralizedTime, four-digit years).
    assert!(
        pki.leaf(
            &["localhost"],
            UNIX_EPOCH - 1969 * year,
            UNIX_EPOCH + 8000 * year
        )
        .is_ok()
    );
    // rcgen takes any ASCII as a DNS name, but nothing else.
    assert!(pki.leaf(&["bücher.test"], now, now + year).is_err());
}
