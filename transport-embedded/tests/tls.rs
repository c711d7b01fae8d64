//! embedded-tls over a real `TcpStream` (through embedded-io-adapters) to a rustls TLS 1.3
//! server in the test, with certificates from CAs made in the test: refreshes over verified
//! connections for every key type the device offers to verify (P-256, P-384, Ed25519, RSA
//! PKCS#1 and PSS), paths to any of several anchors and through cross-signatures, each
//! refusal with its typed reason, hostile chains and anchor sets, and the ClientHello's
//! `signature_algorithms`, which must be exactly what the verifier checks.

#![cfg(feature = "embedded-tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use embedded_io_adapters::std::FromStd;

mod common;
#[cfg(feature = "async")]
use common::AsyncTcp;
use embedded_tls::SignatureScheme;
use lwa_embedded::EXCHANGE_BUFFER_LEN;
use lwa_embedded::blocking::run_exchange;
use lwa_embedded::core::endpoint::{Endpoint, Region};
use lwa_embedded::core::exchange::{Exchange, Outcome};
use lwa_embedded::core::request::Request;
use lwa_embedded::core::secret::Secret;
use lwa_embedded::tls::{
    CertificateError, Error, Inspection, MAX_INTERMEDIATES, ServerIdentity, TlsError, TrustAnchor,
    algorithms, anchor_from_der, blocking,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SignatureAlgorithm,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"access_token\":\"Atza|tls-ok\",\"refresh_token\":\"Atzr|tls-ok\",\"token_type\":\"bearer\",\"expires_in\":3600}";

/// A CA: what signs, and its certificate.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// A self-signed CA named `name`.
fn ca_named(key: KeyPair, name: &str) -> Ca {
    let params = ca_params(name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

fn ca(key: KeyPair) -> Ca {
    ca_named(key, "lwa test CA")
}

fn key(alg: &'static SignatureAlgorithm) -> KeyPair {
    KeyPair::generate_for(alg).unwrap()
}

fn p256() -> KeyPair {
    key(&rcgen::PKCS_ECDSA_P256_SHA256)
}

/// The anchor for a CA certificate, for the rest of the test run.
fn anchor(der: &CertificateDer<'static>) -> TrustAnchor<'static> {
    anchor_from_der(Box::leak(Box::new(der.clone()))).unwrap()
}

/// A leaf for `localhost` with `edit` applied to its parameters, signed by `issuer`.
fn leaf_with(
    issuer: &Issuer<'static, KeyPair>,
    key: KeyPair,
    edit: impl FnOnce(&mut CertificateParams),
) -> (CertificateDer<'static>, KeyPair) {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    edit(&mut params);
    (params.signed_by(&key, issuer).unwrap().der().clone(), key)
}

/// A TLS 1.3-only rustls server sending `chain` (leaf first) with the leaf's `key`,
/// answering one request with `ANSWER`. Returns its port.
fn serve(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> u16 {
    serve_der(
        chain,
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

fn serve_der(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> u16 {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, stream);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            if let Some(head) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let text = String::from_utf8_lossy(&got[..head]).to_string();
                let len: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if got.len() >= head + 4 + len {
                    break;
                }
            }
        }
        tls.write_all(ANSWER).unwrap();
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    port
}

/// A server for `localhost` with a leaf of `key` signed by `ca`.
fn server(ca: &Ca, key: KeyPair) -> u16 {
    let (cert, key) = leaf_with(&ca.issuer, key, |_| {});
    serve(vec![cert], &key)
}

/// Seconds since 1970, now.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Opens a connection to `port` trusting `anchors` for `host` at `unix_time`, inspecting
/// it, and runs a refresh over it if it opened.
fn connect(
    port: u16,
    host: &str,
    anchors: &[TrustAnchor<'_>],
    unix_time: u64,
) -> (Result<String, Error>, Report) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 1024]);
    let identity = ServerIdentity {
        host,
        anchors,
        unix_time,
    };
    let mut storage = vec![0u8; 16 * 1024];
    let mut inspection = Inspection::new(&mut storage);
    let opened = blocking::open_inspected(
        FromStd::new(tcp),
        &identity,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
        &mut inspection,
    );
    let result = opened.map(|mut tls| refresh(&mut tls));
    let report = Report {
        sent: inspection.sent(),
        anchor: inspection.anchor(),
        path: inspection.path().to_vec(),
        scheme: inspection.signature_scheme(),
        error: inspection.error(),
    };
    (result, report)
}

/// What the inspection saw.
#[derive(Debug)]
struct Report {
    sent: usize,
    anchor: Option<usize>,
    path: Vec<usize>,
    scheme: Option<SignatureScheme>,
    error: Option<CertificateError>,
}

/// One refresh over an open connection: the access token.
fn refresh<T: embedded_io::Read + embedded_io::Write>(tls: &mut T) -> String {
    let request = Request::Refresh {
        client_id: "c",
        refresh_token: Secret::new("Atzr|old"),
        client_secret: None,
    };
    let mut buf = [0u8; EXCHANGE_BUFFER_LEN];
    let endpoint = Endpoint::region(Region::Na);
    let exchange = Exchange::new(&endpoint, &request, &mut buf).unwrap();
    match run_exchange(tls, exchange) {
        Ok(Outcome::Token(t)) => t.access_token.expose().to_owned(),
        other => panic!("unexpected {other:?}"),
    }
}

/// Connects trusting `anchors` for `localhost` now: the access token, and what was seen.
fn refresh_via(port: u16, anchors: &[TrustAnchor<'_>]) -> (Result<String, Error>, Report) {
    connect(port, "localhost", anchors, now())
}

#[track_caller]
fn assert_refused(got: &Result<String, Error>, reason: CertificateError) {
    assert!(
        matches!(got, Err(Error::Certificate(r)) if *r == reason),
        "expected {reason:?}, got {got:?}"
    );
}

#[test]
fn p256_chain_verified_refresh() {
    let ca = ca(p256());
    let port = server(&ca, p256());
    let (got, seen) = refresh_via(port, &[anchor(&ca.der)]);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!(seen.scheme, Some(SignatureScheme::EcdsaSecp256r1Sha256));
    assert_eq!((seen.sent, seen.anchor, seen.error), (1, Some(0), None));
}

/// A P-384 chain (Amazon Root CA 4's, DigiCert Global Root G3's shape): the certificates
/// signed with ECDSA P-384/SHA-384, the handshake with `ecdsa_secp384r1_sha384`.
#[test]
fn p384_chain_verified_refresh() {
    let ca = ca(key(&rcgen::PKCS_ECDSA_P384_SHA384));
    let port = server(&ca, key(&rcgen::PKCS_ECDSA_P384_SHA384));
    let (got, seen) = refresh_via(port, &[anchor(&ca.der)]);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!(seen.scheme, Some(SignatureScheme::EcdsaSecp384r1Sha384));
}

/// A P-384 CA over a P-256 leaf: a certificate signature with P-384/SHA-384, the handshake
/// with P-256.
#[test]
fn p384_ca_over_a_p256_leaf() {
    let ca = ca(key(&rcgen::PKCS_ECDSA_P384_SHA384));
    let port = server(&ca, p256());
    let (got, seen) = refresh_via(port, &[anchor(&ca.der)]);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!(seen.scheme, Some(SignatureScheme::EcdsaSecp256r1Sha256));
}

/// Ed25519 is offered, so it is verified: certificates and handshake.
#[test]
fn ed25519_chain_verified_refresh() {
    let ca = ca(key(&rcgen::PKCS_ED25519));
    let port = server(&ca, key(&rcgen::PKCS_ED25519));
    let (got, seen) = refresh_via(port, &[anchor(&ca.der)]);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!(seen.scheme, Some(SignatureScheme::Ed25519));
}

/// The path may lead to any anchor of the set; the inspection names which.
#[test]
fn the_path_may_lead_to_any_anchor() {
    let strangers = [ca(p256()), ca(key(&rcgen::PKCS_ED25519))];
    let trusted = ca(p256());
    let port = server(&trusted, p256());
    let anchors = [
        anchor(&strangers[0].der),
        anchor(&strangers[1].der),
        anchor(&trusted.der),
    ];
    let (got, seen) = refresh_via(port, &anchors);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!(seen.anchor, Some(2));
}

/// Root A issues the intermediate; root B cross-signs A. The server sends the leaf, the
/// intermediate and A as B signed it: a device trusting only B gets there through the
/// cross-signature, one trusting only A directly.
#[test]
fn a_cross_signed_path_leads_to_the_second_root() {
    let (key_a, key_b) = (p256(), p256());
    let params_a = ca_params("lwa test root A");
    let root_a = params_a.self_signed(&key_a).unwrap().der().clone();
    let root_b = ca_named(key_b, "lwa test root B");
    let a_by_b = params_a.signed_by(&key_a, &root_b.issuer).unwrap();
    let issuer_a = Issuer::new(params_a, key_a);
    let middle_key = p256();
    let middle_params = ca_params("lwa test intermediate");
    let middle = middle_params.signed_by(&middle_key, &issuer_a).unwrap();
    let middle_issuer = Issuer::new(middle_params, middle_key);
    let (leaf, leaf_key) = leaf_with(&middle_issuer, p256(), |_| {});
    let chain = vec![leaf, middle.der().clone(), a_by_b.der().clone()];

    let port = serve(chain.clone(), &leaf_key);
    let (got, seen) = refresh_via(port, &[anchor(&root_b.der)]);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!((seen.sent, seen.anchor), (3, Some(0)));
    assert_eq!(seen.path, [1, 2]);

    let port = serve(chain, &leaf_key);
    let (got, seen) = refresh_via(port, &[anchor(&root_a)]);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!(seen.path, [1]);
}

#[test]
fn certificates_are_checked_against_the_time_given() {
    let ca = ca(p256());
    let (cert, key) = leaf_with(&ca.issuer, p256(), |p| {
        p.not_before = rcgen::date_time_ymd(2030, 1, 1);
        p.not_after = rcgen::date_time_ymd(2031, 1, 1);
    });
    let anchors = [anchor(&ca.der)];
    let in_2030 = 1_900_000_000; // 2030-03-17
    let in_2029 = 1_880_000_000;
    let in_2032 = 1_960_000_000;
    let port = serve(vec![cert.clone()], &key);
    assert!(connect(port, "localhost", &anchors, in_2030).0.is_ok());
    let port = serve(vec![cert.clone()], &key);
    let (got, seen) = connect(port, "localhost", &anchors, in_2029);
    assert_refused(&got, CertificateError::NotValidYet);
    assert_eq!(seen.error, Some(CertificateError::NotValidYet));
    let port = serve(vec![cert], &key);
    assert_refused(
        &connect(port, "localhost", &anchors, in_2032).0,
        CertificateError::Expired,
    );
}

/// A certificate that is not a CA cannot sign another, even when its signature is right.
#[test]
fn an_intermediate_that_is_not_a_ca_is_refused() {
    let root = ca(p256());
    let middle_key = p256();
    let mut middle_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    middle_params
        .distinguished_name
        .push(DnType::CommonName, "not a CA");
    middle_params.is_ca = IsCa::ExplicitNoCa;
    let middle = middle_params.signed_by(&middle_key, &root.issuer).unwrap();
    let middle_issuer = Issuer::new(middle_params, middle_key);
    let (cert, key) = leaf_with(&middle_issuer, p256(), |_| {});
    let port = serve(vec![cert, middle.der().clone()], &key);
    assert_refused(
        &refresh_via(port, &[anchor(&root.der)]).0,
        CertificateError::Constraint,
    );
}

/// A leaf whose extended key usage excludes TLS servers is refused.
#[test]
fn a_leaf_for_clients_only_is_refused() {
    let ca = ca(p256());
    let (cert, key) = leaf_with(&ca.issuer, p256(), |p| {
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    });
    let port = serve(vec![cert], &key);
    assert_refused(
        &refresh_via(port, &[anchor(&ca.der)]).0,
        CertificateError::NotForServers,
    );
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let ca = ca(p256());
    let (cert, key) = leaf_with(&ca.issuer, p256(), |p| {
        p.subject_alt_names = vec![rcgen::SanType::DnsName("example.com".try_into().unwrap())];
    });
    let port = serve(vec![cert], &key);
    assert_refused(
        &refresh_via(port, &[anchor(&ca.der)]).0,
        CertificateError::WrongName,
    );
}

#[test]
fn a_ca_nobody_trusts_is_refused() {
    let trusted = ca(p256());
    let stranger = ca_named(p256(), "lwa test stranger");
    let port = server(&stranger, p256());
    let (got, seen) = refresh_via(port, &[anchor(&trusted.der)]);
    assert_refused(&got, CertificateError::UnknownIssuer);
    assert_eq!((seen.sent, seen.anchor), (1, None));
}

/// A CA with the trusted CA's name but another key: its signatures do not verify with the
/// anchor's key.
#[test]
fn a_ca_with_the_anchors_name_and_another_key_is_refused() {
    let trusted = ca(p256());
    let impostor = ca(p256());
    let port = server(&impostor, p256());
    assert_refused(
        &refresh_via(port, &[anchor(&trusted.der)]).0,
        CertificateError::BadSignature,
    );
}

/// A listener that records whatever a client sends before it gives up.
fn recording_listener() -> (u16, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    (port, handle)
}

/// No anchors, or a host that is not a DNS name: refused before a byte is sent.
#[test]
fn nothing_is_sent_without_anchors_or_with_a_bad_host() {
    let ca = ca(p256());
    for (host, anchors, reason) in [
        ("localhost", vec![], CertificateError::NoTrustAnchors),
        (
            "not a host!",
            vec![anchor(&ca.der)],
            CertificateError::InvalidHostName,
        ),
    ] {
        let (port, sent) = recording_listener();
        let (got, _) = connect(port, host, &anchors, now());
        assert_refused(&got, reason);
        assert_eq!(sent.join().unwrap(), b"");
    }
}

/// 500 anchors: none right is "unknown issuer", the right one last is found; both end.
#[test]
fn five_hundred_anchors_are_searched_in_bounded_time() {
    let trusted = ca(p256());
    let strangers: Vec<TrustAnchor<'static>> = (0..499)
        .map(|i| anchor(&ca_named(p256(), &format!("stranger {i}")).der))
        .collect();
    let port = server(&trusted, p256());
    assert_refused(
        &refresh_via(port, &strangers).0,
        CertificateError::UnknownIssuer,
    );
    let mut all = strangers.clone();
    all.push(anchor(&trusted.der));
    let port = server(&trusted, p256());
    let (got, seen) = refresh_via(port, &all);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!(seen.anchor, Some(499));
}

/// Anchors that arrive at run time malformed: a certificate that is not one is refused
/// when the anchor is made; an anchor whose key is garbage verifies nothing.
#[test]
fn malformed_anchors_are_typed_errors() {
    for garbage in [&[][..], &[0x30, 0x00], &[0x30, 0x82, 0xff], &[0xff; 64]] {
        let der = CertificateDer::from(garbage);
        assert_eq!(anchor_from_der(&der), Err(CertificateError::Malformed));
    }
    let ca = ca(p256());
    let good = anchor(&ca.der);
    let broken = TrustAnchor {
        subject: good.subject.clone(),
        subject_public_key_info: rustls::pki_types::Der::from_slice(&[
            0x30, 0x03, 0x02, 0x01, 0x00,
        ]),
        name_constraints: None,
    };
    let port = server(&ca, p256());
    assert_refused(&refresh_via(port, &[broken]).0, CertificateError::Malformed);
}

/// More certificates than a chain has: embedded-tls itself takes at most 16 entries (a
/// decode error beyond), the verifier at most `MAX_INTERMEDIATES` after the leaf.
#[test]
fn too_many_certificates_are_refused() {
    let ca = ca(p256());
    let (leaf, key) = leaf_with(&ca.issuer, p256(), |_| {});
    let fillers: Vec<_> = (0..19)
        .map(|i| ca_named(p256(), &format!("filler {i}")).der)
        .collect();
    let chain = |n: usize| [vec![leaf.clone()], fillers[..n].to_vec()].concat();
    let port = serve(chain(19), &key);
    let (got, seen) = refresh_via(port, &[anchor(&ca.der)]);
    assert!(
        matches!(got, Err(Error::Tls(TlsError::DecodeError))),
        "{got:?}"
    );
    assert_eq!(seen.sent, 0);
    let port = serve(chain(MAX_INTERMEDIATES + 1), &key);
    let (got, seen) = refresh_via(port, &[anchor(&ca.der)]);
    assert_refused(&got, CertificateError::TooManyCertificates);
    assert_eq!(seen.sent, MAX_INTERMEDIATES + 2);
    let port = serve(chain(MAX_INTERMEDIATES), &key);
    assert_eq!(
        refresh_via(port, &[anchor(&ca.der)]).0.unwrap(),
        "Atza|tls-ok"
    );
}

/// A 1 MiB certificate message does not fit the 16 KiB record buffer: embedded-tls refuses
/// it before the verifier sees it, no panic.
#[test]
fn a_chain_of_a_mebibyte_is_refused() {
    let ca = ca(p256());
    let (leaf, key) = leaf_with(&ca.issuer, p256(), |_| {});
    let huge = CertificateDer::from(vec![0x30; 1 << 20]);
    let port = serve(vec![leaf, huge], &key);
    let (got, _) = refresh_via(port, &[anchor(&ca.der)]);
    assert!(
        matches!(got, Err(Error::Tls(TlsError::InvalidCertificate))),
        "{got:?}"
    );
}

/// X cross-signs Y and Y cross-signs X; the leaf is X's; the device trusts neither. Path
/// building ends ("unknown issuer") instead of going round.
#[test]
fn a_loop_of_cross_signatures_ends() {
    let (key_x, key_y) = (p256(), p256());
    let (params_x, params_y) = (ca_params("lwa test X"), ca_params("lwa test Y"));
    let issuer_x = Issuer::new(params_x.clone(), key_x);
    let issuer_y = Issuer::new(params_y.clone(), key_y);
    let x_by_y = params_x.signed_by(issuer_x.key(), &issuer_y).unwrap();
    let y_by_x = params_y.signed_by(issuer_y.key(), &issuer_x).unwrap();
    let (leaf, key) = leaf_with(&issuer_x, p256(), |_| {});
    let stranger = ca(p256());
    let port = serve(vec![leaf, x_by_y.der().clone(), y_by_x.der().clone()], &key);
    assert_refused(
        &refresh_via(port, &[anchor(&stranger.der)]).0,
        CertificateError::UnknownIssuer,
    );
}

/// The ClientHello offers exactly the schemes the verifier checks: none it cannot verify,
/// none missing.
#[test]
fn the_client_hello_offers_exactly_what_is_verified() {
    let ca = ca(p256());
    let (port, sent) = recording_listener();
    let _ = connect(port, "localhost", &[anchor(&ca.der)], now());
    let hello = sent.join().unwrap();
    let offered = signature_algorithms(&hello);
    let verified: Vec<u16> = algorithms::OFFERED.iter().map(|s| s.as_u16()).collect();
    assert_eq!(offered, verified);
    #[cfg(not(feature = "rsa"))]
    assert_eq!(offered, [0x0403, 0x0503, 0x0807]);
    #[cfg(feature = "rsa")]
    assert_eq!(
        offered,
        [
            0x0403, 0x0503, 0x0807, 0x0401, 0x0501, 0x0601, 0x0804, 0x0805, 0x0806
        ]
    );
    for scheme in algorithms::OFFERED {
        let pkcs1 = matches!(
            scheme,
            SignatureScheme::RsaPkcs1Sha256
                | SignatureScheme::RsaPkcs1Sha384
                | SignatureScheme::RsaPkcs1Sha512
        );
        // PKCS#1 v1.5 is for certificates only in TLS 1.3 (RFC 8446 4.2.3).
        assert_eq!(
            algorithms::for_handshake(*scheme).is_some(),
            !pkcs1,
            "{scheme:?}"
        );
    }
}

/// The `signature_algorithms` extension of the ClientHello record at the start of `bytes`.
fn signature_algorithms(bytes: &[u8]) -> Vec<u16> {
    let u16_at = |b: &[u8], i: usize| usize::from(u16::from_be_bytes([b[i], b[i + 1]]));
    assert_eq!(bytes[0], 22, "a handshake record");
    let hello = &bytes[5..5 + u16_at(bytes, 3)];
    assert_eq!(hello[0], 1, "a ClientHello");
    let mut i = 4 + 2 + 32; // type and length, legacy version, random
    i += 1 + usize::from(hello[i]); // session id
    i += 2 + u16_at(hello, i); // cipher suites
    i += 1 + usize::from(hello[i]); // compression methods
    let end = i + 2 + u16_at(hello, i);
    i += 2;
    while i < end {
        let (kind, len) = (u16_at(hello, i), u16_at(hello, i + 2));
        let data = &hello[i + 4..i + 4 + len];
        if kind == 13 {
            return data[2..]
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
        }
        i += 4 + len;
    }
    panic!("no signature_algorithms extension");
}

#[cfg(feature = "rsa")]
fn rsa_key(pem: &str) -> KeyPair {
    KeyPair::from_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256).unwrap()
}

#[cfg(feature = "rsa")]
#[test]
fn rsa_chain_verified_refresh() {
    let ca = ca(rsa_key(include_str!("fixtures/rsa-ca.key")));
    let port = server(&ca, rsa_key(include_str!("fixtures/rsa-leaf.key")));
    let (got, seen) = refresh_via(port, &[anchor(&ca.der)]);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    // rustls signs with the strongest PSS scheme offered.
    assert_eq!(seen.scheme, Some(SignatureScheme::RsaPssRsaeSha512));
}

#[cfg(feature = "rsa")]
#[test]
fn rsa_chain_for_another_host_is_refused() {
    let ca = ca(rsa_key(include_str!("fixtures/rsa-ca.key")));
    let (cert, key) = leaf_with(
        &ca.issuer,
        rsa_key(include_str!("fixtures/rsa-leaf.key")),
        |p| p.subject_alt_names = vec![rcgen::SanType::DnsName("example.com".try_into().unwrap())],
    );
    let port = serve(vec![cert], &key);
    assert_refused(
        &refresh_via(port, &[anchor(&ca.der)]).0,
        CertificateError::WrongName,
    );
}

/// Certificates signed with RSA-PSS (SHA-256 by the root, SHA-384 by an RSA-4096
/// intermediate; made with OpenSSL, see fixtures/README.md).
#[cfg(feature = "rsa")]
#[test]
fn an_rsa_pss_chain_with_a_4096_bit_intermediate_is_verified() {
    let root = CertificateDer::from(&include_bytes!("fixtures/pss/root.der")[..]);
    let middle = CertificateDer::from(&include_bytes!("fixtures/pss/intermediate.der")[..]);
    let leaf = CertificateDer::from(&include_bytes!("fixtures/pss/leaf.der")[..]);
    let key = rsa_key(include_str!("fixtures/rsa-leaf.key"));
    let port = serve(vec![leaf, middle], &key);
    let (got, seen) = refresh_via(port, &[anchor(&root.into_owned())]);
    assert_eq!(got.unwrap(), "Atza|tls-ok");
    assert_eq!(seen.path, [1]);
}

#[cfg(feature = "async")]
async fn refresh_over_async_tls(
    port: u16,
    host: &str,
    anchors: &[TrustAnchor<'_>],
) -> Result<String, Error> {
    let tcp = AsyncTcp(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let mut read_record = vec![0u8; 16_640];
    let mut write_record = vec![0u8; 4096];
    let identity = ServerIdentity {
        host,
        anchors,
        unix_time: now(),
    };
    let mut tls = lwa_embedded::tls::asynch::open(
        tcp,
        &identity,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
    )
    .await?;
    let request = Request::Refresh {
        client_id: "c",
        refresh_token: Secret::new("Atzr|old"),
        client_secret: None,
    };
    let mut buf = [0u8; EXCHANGE_BUFFER_LEN];
    let endpoint = Endpoint::region(Region::Na);
    let exchange = Exchange::new(&endpoint, &request, &mut buf).unwrap();
    match lwa_embedded::asynch::run_exchange(&mut tls, exchange).await {
        Ok(Outcome::Token(t)) => Ok(t.access_token.expose().to_owned()),
        other => panic!("unexpected {other:?}"),
    }
}

#[cfg(feature = "async")]
#[test]
fn async_helper_verifies_and_refreshes() {
    let ca = ca(p256());
    let anchors = [anchor(&ca.der)];
    let port = server(&ca, p256());
    assert_eq!(
        pollster::block_on(refresh_over_async_tls(port, "localhost", &anchors)).unwrap(),
        "Atza|tls-ok"
    );
    let port = server(&ca, p256());
    let got = pollster::block_on(refresh_over_async_tls(port, "elsewhere.test", &anchors));
    assert_refused(&got, CertificateError::WrongName);
}

/// The plain helper refuses as the inspected one does.
#[test]
fn open_refuses_like_the_inspected_one() {
    let trusted = ca(p256());
    let stranger = ca_named(p256(), "lwa test stranger");
    let port = server(&stranger, p256());
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 1024]);
    let anchors = [anchor(&trusted.der)];
    let identity = ServerIdentity {
        host: "localhost",
        anchors: &anchors,
        unix_time: now(),
    };
    let got = blocking::open(
        FromStd::new(tcp),
        &identity,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
    );
    assert!(matches!(
        got.map(drop),
        Err(Error::Certificate(CertificateError::UnknownIssuer))
    ));
}

/// *ring*'s provider, as lwa-std's `client::crypto_provider` gives it (this test does not
/// link lwa-std): deprecated by rustls 0.23.48 for its lack of post-quantum key exchange,
/// and the one that builds with a C compiler alone.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
