//! embedded-tls over a real `TcpStream` (through embedded-io-adapters) to a rustls TLS 1.3
//! server in the test, with certificates from a CA made in the test: a whole refresh over a
//! verified connection, a certificate for another host name refused, a CA nobody trusts
//! refused; P-256 chains, and RSA chains with the `rsa` feature.

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

use embedded_io_adapters::std::FromStd;

mod common;
#[cfg(feature = "async")]
use common::AsyncTcp;
use embedded_tls::TlsError;
use lwa_embedded::EXCHANGE_BUFFER_LEN;
use lwa_embedded::blocking::run_exchange;
use lwa_embedded::core::endpoint::{Endpoint, Region};
use lwa_embedded::core::exchange::{Exchange, Outcome};
use lwa_embedded::core::request::Request;
use lwa_embedded::core::secret::Secret;
use lwa_embedded::tls::{ServerIdentity, open_blocking};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"access_token\":\"Atza|tls-ok\",\"refresh_token\":\"Atzr|tls-ok\",\"token_type\":\"bearer\",\"expires_in\":3600}";

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

fn ca(key: KeyPair) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "lwa test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

/// A TLS 1.3-only rustls server with a certificate for `name` signed by `ca`, answering one
/// request with `ANSWER`. Returns its port.
fn server(ca: &Ca, leaf_key: KeyPair, name: &str) -> u16 {
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&leaf_key, &ca.issuer).unwrap();
    serve(vec![cert.der().clone()], &leaf_key)
}

/// Like [`server`], with the chain (leaf first) and the leaf's key given.
fn serve(chain: Vec<CertificateDer<'static>>, leaf_key: &KeyPair) -> u16 {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
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

/// Opens embedded-tls to `port`, verifying against `ca_der` and `host`, and runs a refresh.
fn refresh_over_tls(port: u16, host: &str, ca_der: &[u8]) -> Result<String, TlsError> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut read_record = vec![0u8; 16_640];
    let mut write_record = vec![0u8; 4096];
    let identity = ServerIdentity {
        host,
        ca_der,
        unix_time: now(),
    };
    let mut tls = open_blocking(
        FromStd::new(tcp),
        &identity,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
    )?;
    let request = Request::Refresh {
        client_id: "c",
        refresh_token: Secret::new("Atzr|old"),
        client_secret: None,
    };
    let mut buf = [0u8; EXCHANGE_BUFFER_LEN];
    let endpoint = Endpoint::region(Region::Na);
    let exchange = Exchange::new(&endpoint, &request, &mut buf).unwrap();
    match run_exchange(&mut tls, exchange) {
        Ok(Outcome::Token(t)) => Ok(t.access_token.expose().to_owned()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn p256_chain_verified_refresh() {
    let ca = ca(KeyPair::generate().unwrap());
    let port = server(&ca, KeyPair::generate().unwrap(), "localhost");
    assert_eq!(
        refresh_over_tls(port, "localhost", &ca.der).unwrap(),
        "Atza|tls-ok"
    );
}

/// Seconds since 1970, now.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A leaf for `localhost` with `edit` applied to its parameters, signed by `issuer`.
fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    edit: impl FnOnce(&mut CertificateParams),
) -> (CertificateDer<'static>, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    edit(&mut params);
    (params.signed_by(&key, issuer).unwrap().der().clone(), key)
}

/// Opens a connection to `port` trusting `ca_der` for `localhost` at `unix_time`.
fn handshake(port: u16, ca_der: &[u8], unix_time: u64) -> Result<(), TlsError> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 1024]);
    let identity = ServerIdentity {
        host: "localhost",
        ca_der,
        unix_time,
    };
    open_blocking(
        FromStd::new(tcp),
        &identity,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
    )
    .map(drop)
}

#[test]
fn certificates_are_checked_against_the_time_given() {
    let ca = ca(KeyPair::generate().unwrap());
    let (cert, key) = leaf(&ca.issuer, |p| {
        p.not_before = rcgen::date_time_ymd(2030, 1, 1);
        p.not_after = rcgen::date_time_ymd(2031, 1, 1);
    });
    let in_2030 = 1_900_000_000; // 2030-03-17
    let in_2029 = 1_880_000_000;
    let in_2032 = 1_960_000_000;
    let port = serve(vec![cert.clone()], &key);
    assert!(handshake(port, &ca.der, in_2030).is_ok());
    let port = serve(vec![cert.clone()], &key);
    assert!(matches!(
        handshake(port, &ca.der, in_2029),
        Err(TlsError::InvalidCertificate)
    ));
    let port = serve(vec![cert], &key);
    assert!(matches!(
        handshake(port, &ca.der, in_2032),
        Err(TlsError::InvalidCertificate)
    ));
}

/// A certificate that is not a CA cannot sign another, even when its signature is right.
#[test]
fn an_intermediate_that_is_not_a_ca_is_refused() {
    let root = ca(KeyPair::generate().unwrap());
    let middle_key = KeyPair::generate().unwrap();
    let mut middle_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    middle_params
        .distinguished_name
        .push(DnType::CommonName, "not a CA");
    middle_params.is_ca = IsCa::ExplicitNoCa;
    let middle = middle_params.signed_by(&middle_key, &root.issuer).unwrap();
    let middle_issuer = Issuer::new(middle_params, middle_key);
    let (cert, key) = leaf(&middle_issuer, |_| {});
    let port = serve(vec![cert, middle.der().clone()], &key);
    assert!(matches!(
        handshake(port, &root.der, now()),
        Err(TlsError::InvalidCertificate)
    ));
}

/// A leaf whose extended key usage excludes TLS servers is refused.
#[test]
fn a_leaf_for_clients_only_is_refused() {
    let ca = ca(KeyPair::generate().unwrap());
    let (cert, key) = leaf(&ca.issuer, |p| {
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    });
    let port = serve(vec![cert], &key);
    assert!(matches!(
        handshake(port, &ca.der, now()),
        Err(TlsError::InvalidCertificate)
    ));
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let ca = ca(KeyPair::generate().unwrap());
    let port = server(&ca, KeyPair::generate().unwrap(), "example.com");
    let got = refresh_over_tls(port, "localhost", &ca.der);
    assert!(matches!(got, Err(TlsError::InvalidCertificate)), "{got:?}");
}

#[test]
fn a_ca_nobody_trusts_is_refused() {
    let trusted = ca(KeyPair::generate().unwrap());
    let stranger = ca(KeyPair::generate().unwrap());
    let port = server(&stranger, KeyPair::generate().unwrap(), "localhost");
    let got = refresh_over_tls(port, "localhost", &trusted.der);
    assert!(matches!(got, Err(TlsError::InvalidCertificate)), "{got:?}");
}

#[cfg(feature = "rsa")]
fn rsa_key(pem: &str) -> KeyPair {
    KeyPair::from_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256).unwrap()
}

#[cfg(feature = "rsa")]
#[test]
fn rsa_chain_verified_refresh() {
    let ca = ca(rsa_key(include_str!("fixtures/rsa-ca.key")));
    let port = server(
        &ca,
        rsa_key(include_str!("fixtures/rsa-leaf.key")),
        "localhost",
    );
    assert_eq!(
        refresh_over_tls(port, "localhost", &ca.der).unwrap(),
        "Atza|tls-ok"
    );
}

#[cfg(feature = "rsa")]
#[test]
fn rsa_chain_for_another_host_is_refused() {
    let ca = ca(rsa_key(include_str!("fixtures/rsa-ca.key")));
    let port = server(
        &ca,
        rsa_key(include_str!("fixtures/rsa-leaf.key")),
        "example.com",
    );
    let got = refresh_over_tls(port, "localhost", &ca.der);
    assert!(matches!(got, Err(TlsError::InvalidCertificate)), "{got:?}");
}

#[cfg(feature = "async")]
async fn refresh_over_async_tls(port: u16, host: &str, ca_der: &[u8]) -> Result<String, TlsError> {
    let tcp = AsyncTcp(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let mut read_record = vec![0u8; 16_640];
    let mut write_record = vec![0u8; 4096];
    let identity = ServerIdentity {
        host,
        ca_der,
        unix_time: now(),
    };
    let mut tls = lwa_embedded::tls::open(
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
    let ca = ca(KeyPair::generate().unwrap());
    let port = server(&ca, KeyPair::generate().unwrap(), "localhost");
    assert_eq!(
        pollster::block_on(refresh_over_async_tls(port, "localhost", &ca.der)).unwrap(),
        "Atza|tls-ok"
    );
    let port = server(&ca, KeyPair::generate().unwrap(), "example.com");
    let got = pollster::block_on(refresh_over_async_tls(port, "localhost", &ca.der));
    assert!(matches!(got, Err(TlsError::InvalidCertificate)), "{got:?}");
}
