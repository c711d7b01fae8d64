//! `lwa probe` end to end: the `lwa` binary against real TLS servers on loopback. The
//! look-alike with every chain shape (a device trusting the shape's root connects; one with
//! lwa-embedded's default set does not, and the probe says why), and servers a device cannot
//! talk to (TLS 1.2 only, no P-256 group, no AES-128-GCM suite, an expired or misnamed leaf),
//! each verdict asserted; exit codes 0, 1, 2 and 3.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use lwa_mock::{Chain, MockConfig, MockServer, Pki};
use rustls::crypto::ring;
use serde_json::Value;

mod common;

use common::{bare, stderr, stdout};

/// Runs `lwa --endpoint ORIGIN probe --json [--anchors PEM]`: the exit code and the report.
fn probe(origin: &str, anchors: Option<&PathBuf>) -> (Option<i32>, Value, Output) {
    let mut c = bare();
    c.args(["--endpoint", origin, "--timeout", "5", "--json", "probe"]);
    if let Some(pem) = anchors {
        c.arg("--anchors").arg(pem);
    }
    let out = c.output().unwrap();
    let report = serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null);
    (out.status.code(), report, out)
}

/// `pem` in a file of its own.
fn pem_file(dir: &tempfile::TempDir, pem: &str) -> PathBuf {
    let path = dir.path().join(format!("anchors-{}.pem", pem.len()));
    std::fs::write(&path, pem).unwrap();
    path
}

/// The certificates the look-alike sends for each shape, and the scheme rustls signs the
/// handshake with for the shape's leaf key.
fn expected(chain: Chain) -> (usize, &'static str) {
    match chain {
        Chain::P256 => (1, "ecdsa_secp256r1_sha256"),
        Chain::AmazonP256 => (2, "ecdsa_secp256r1_sha256"),
        Chain::AmazonP384 => (2, "ecdsa_secp384r1_sha384"),
        Chain::CrossSigned => (3, "rsa_pss_rsae_sha512"),
        _ => (2, "rsa_pss_rsae_sha512"),
    }
}

#[test]
fn every_chain_shape_connects_with_its_root_and_not_without_it() {
    let dir = tempfile::tempdir().unwrap();
    for chain in Chain::ALL {
        let config = MockConfig {
            chain,
            ..MockConfig::default()
        };
        let server = MockServer::start(config, true, 0).unwrap();
        let anchors = pem_file(&dir, server.ca_pem().unwrap());
        let (code, report, out) = probe(server.origin(), Some(&anchors));
        assert_eq!(code, Some(0), "{chain:?}: {}", stderr(&out));
        let (sent, scheme) = expected(chain);
        assert_eq!(report["connects"], true, "{chain:?}");
        assert_eq!(report["tls_version"], "TLS 1.3");
        assert_eq!(report["cipher_suite"], "TLS_AES_128_GCM_SHA256");
        assert_eq!(report["key_exchange"], "secp256r1 (P-256)");
        assert_eq!(report["signature_scheme"], scheme, "{chain:?}");
        assert_eq!(report["certificates_sent"], sent, "{chain:?}");
        assert_eq!(report["certificates"].as_array().unwrap().len(), sent);
        assert_eq!(report["certificates"][0]["names"][0], "localhost");
        let path: Vec<u64> = (1..sent as u64).collect();
        assert_eq!(report["path"], serde_json::json!(path), "{chain:?}");
        assert_eq!(report["reason_code"], Value::Null);

        let (code, report, _) = probe(server.origin(), None);
        assert_eq!(code, Some(1), "{chain:?}");
        assert_eq!(report["connects"], false);
        assert_eq!(report["reason_code"], "unknown_root", "{chain:?}");
        assert_eq!(report["anchor"], Value::Null);
        assert_eq!(
            report["anchors"],
            "lwa-embedded's default set (tls::roots::LWA)"
        );
    }
}

/// The anchor the cross-signed path leads to is the second root, through the cross
/// certificate (the last one sent).
#[test]
fn the_cross_signed_path_is_reported_to_the_second_root() {
    let dir = tempfile::tempdir().unwrap();
    let config = MockConfig {
        chain: Chain::CrossSigned,
        ..MockConfig::default()
    };
    let server = MockServer::start(config, true, 0).unwrap();
    let anchors = pem_file(&dir, server.ca_pem().unwrap());
    let (code, report, _) = probe(server.origin(), Some(&anchors));
    assert_eq!(code, Some(0));
    let anchor = report["anchor"].as_str().unwrap();
    assert!(anchor.contains("Starfield Services Root"), "{anchor}");
    let cross = &report["certificates"][2];
    assert!(
        cross["subject"]
            .as_str()
            .unwrap()
            .contains("Amazon Root CA 1")
    );
    assert!(
        cross["issuer"]
            .as_str()
            .unwrap()
            .contains("Starfield Services Root")
    );
}

/// A TLS server on loopback for `localhost` (any number of connections: the probe's
/// diagnosis makes several), with `provider`'s suites and groups and `versions`.
fn server(
    pki: &Pki,
    not_before: SystemTime,
    not_after: SystemTime,
    names: &[&str],
    provider: rustls::crypto::CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> String {
    let (chain, key) = pki.leaf(names, not_before, not_after).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                while conn.is_handshaking() {
                    if conn.complete_io(&mut stream).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("https://localhost:{port}")
}

const DAY: Duration = Duration::from_secs(86_400);

/// A server in `pki`'s shape with a year-long leaf for localhost.
fn plain_server(
    pki: &Pki,
    provider: rustls::crypto::CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> String {
    let now = SystemTime::now();
    server(
        pki,
        now - DAY,
        now + 365 * DAY,
        &["localhost"],
        provider,
        versions,
    )
}

fn probe_refused(origin: &str, anchors: &PathBuf) -> (String, String) {
    let (code, report, out) = probe(origin, Some(anchors));
    assert_eq!(code, Some(1), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(report["connects"], false);
    (
        report["reason_code"].as_str().unwrap().to_owned(),
        report["reason"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn servers_a_device_cannot_talk_to_are_named_exactly() {
    use rustls::version::{TLS12, TLS13};
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::with_chain(Chain::AmazonP256, "probe").unwrap();
    let anchors = pem_file(&dir, pki.ca_pem());

    let origin = plain_server(&pki, lwa_std::client::crypto_provider(), &[&TLS12]);
    let (code, reason) = probe_refused(&origin, &anchors);
    assert_eq!(code, "no_tls13");
    assert!(reason.contains("alert protocol_version"), "{reason}");
    assert!(
        reason.contains("it speaks TLS 1.2, not TLS 1.3"),
        "{reason}"
    );

    let no_p256 = rustls::crypto::CryptoProvider {
        kx_groups: vec![ring::kx_group::X25519],
        ..lwa_std::client::crypto_provider()
    };
    let origin = plain_server(&pki, no_p256, &[&TLS13]);
    let (code, reason) = probe_refused(&origin, &anchors);
    assert_eq!(code, "no_p256");
    assert!(
        reason.contains("(it chose x25519 when offered all)"),
        "{reason}"
    );

    let no_aes128 = rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
            ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ],
        ..lwa_std::client::crypto_provider()
    };
    let origin = plain_server(&pki, no_aes128, &[&TLS13]);
    let (code, reason) = probe_refused(&origin, &anchors);
    assert_eq!(code, "no_aes_128_gcm");
    assert!(
        reason.contains("it does not offer TLS_AES_128_GCM_SHA256"),
        "{reason}"
    );

    let now = SystemTime::now();
    let expired = server(
        &pki,
        now - 400 * DAY,
        now - 30 * DAY,
        &["localhost"],
        lwa_std::client::crypto_provider(),
        &[&TLS13],
    );
    let (code, reason) = probe_refused(&expired, &anchors);
    assert_eq!(code, "expired");
    assert!(
        reason.starts_with("a certificate has expired: [0] expired at "),
        "{reason}"
    );

    let misnamed = server(
        &pki,
        now - DAY,
        now + DAY,
        &["other.test"],
        lwa_std::client::crypto_provider(),
        &[&TLS13],
    );
    let (code, reason) = probe_refused(&misnamed, &anchors);
    assert_eq!(code, "wrong_name");
    assert_eq!(
        reason,
        "the certificate is for another host: it names other.test, not localhost"
    );
}

#[test]
fn the_text_report_says_what_a_person_needs() {
    let dir = tempfile::tempdir().unwrap();
    let config = MockConfig {
        chain: Chain::AmazonP384,
        ..MockConfig::default()
    };
    let server = MockServer::start(config, true, 0).unwrap();
    let anchors = pem_file(&dir, server.ca_pem().unwrap());
    let out = bare()
        .args(["--endpoint", server.origin(), "probe", "--anchors"])
        .arg(&anchors)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "server: TLS 1.3, TLS_AES_128_GCM_SHA256, key exchange secp256r1 (P-256), handshake signed with ecdsa_secp384r1_sha384",
        "certificates sent: 2",
        "      key ECDSA P-384, signed with ecdsa-with-SHA384",
        "verdict: a device with these anchors and lwa-embedded's TLS would connect",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(text.contains("path: [0] -> [1] -> anchor "), "{text}");
}

#[test]
fn an_unreachable_host_is_exit_3_and_plain_http_exit_2() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (code, _, out) = probe(&format!("https://localhost:{port}"), None);
    assert_eq!(code, Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach localhost"),
        "{}",
        stderr(&out)
    );
    let (code, _, out) = probe("http://127.0.0.1:8080", None);
    assert_eq!(code, Some(2));
    assert!(
        stderr(&out).contains("give an https:// origin"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_anchors_file_without_certificates_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = pem_file(&dir, "not a certificate\n");
    let (code, _, out) = probe("https://localhost:1", Some(&empty));
    assert_eq!(code, Some(2));
    assert!(
        stderr(&out).contains("no certificate in it"),
        "{}",
        stderr(&out)
    );
}
