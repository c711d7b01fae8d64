//! The curated trust anchors (`lwa_embedded::tls::roots`) are Mozilla's, byte for byte: each
//! is checked against webpki-roots (subject and key) and webpki-root-certs (the whole
//! certificate, for the fingerprint, key type and expiry the docs list). The source file and
//! the README's table are generated from those crates, never typed by hand:
//!
//! ```sh
//! LWA_WRITE_ROOTS=1 cargo test -p lwa-embedded --features embedded-tls --test roots
//! ```
//!
//! writes `src/tls/roots.rs` and prints the table; without the variable the test fails if
//! either differs from what the crates hold (a root missing, changed, or a new release of
//! the store).

#![cfg(feature = "embedded-tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::fmt::Write as _;

use lwa_embedded::tls::roots;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// The set, as (constant name, Mozilla's label, why it is in the set).
const SET: [(&str, &str, &str); 9] = [
    (
        "DIGICERT_GLOBAL_ROOT_G2",
        "DigiCert Global Root G2",
        "the root ESP32 Alexa SDK's CA bundle names for api.amazon.com",
    ),
    (
        "DIGICERT_GLOBAL_ROOT_G3",
        "DigiCert Global Root G3",
        "DigiCert's ECC successor to Global Root G2",
    ),
    (
        "DIGICERT_TLS_RSA4096_ROOT_G5",
        "DigiCert TLS RSA4096 Root G5",
        "DigiCert's RSA successor for TLS",
    ),
    (
        "DIGICERT_TLS_ECC_P384_ROOT_G5",
        "DigiCert TLS ECC P384 Root G5",
        "DigiCert's ECC successor for TLS",
    ),
    (
        "AMAZON_ROOT_CA_1",
        "Amazon Root CA 1",
        "Amazon Trust Services, which recommends trusting all five of its roots",
    ),
    (
        "AMAZON_ROOT_CA_2",
        "Amazon Root CA 2",
        "Amazon Trust Services",
    ),
    (
        "AMAZON_ROOT_CA_3",
        "Amazon Root CA 3",
        "Amazon Trust Services",
    ),
    (
        "AMAZON_ROOT_CA_4",
        "Amazon Root CA 4",
        "Amazon Trust Services",
    ),
    (
        "STARFIELD_SERVICES_ROOT_G2",
        "Starfield Services Root Certificate Authority - G2",
        "Amazon Trust Services' fifth root, which cross-signs Amazon Root CA 1-4",
    ),
];

/// What the docs say of one root.
struct Root {
    constant: &'static str,
    label: &'static str,
    why: &'static str,
    anchor: TrustAnchor<'static>,
    fingerprint: String,
    key: String,
    not_after: String,
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Each root of the set, from Mozilla's store as the two crates hold it.
fn mozilla() -> Vec<Root> {
    SET.iter()
        .map(|&(constant, label, why)| {
            let der: &'static CertificateDer<'static> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .find(|der| {
                    let (_, cert) = X509Certificate::from_der(der.as_ref()).unwrap();
                    common_name(&cert) == label
                })
                .unwrap_or_else(|| panic!("{label} is not in webpki-root-certs"));
            let anchor = webpki::anchor_from_trusted_cert(der).unwrap();
            let listed = webpki_roots::TLS_SERVER_ROOTS
                .iter()
                .find(|a| a.subject == anchor.subject)
                .unwrap_or_else(|| panic!("{label} is not in webpki-roots"));
            assert_eq!(
                listed.subject_public_key_info, anchor.subject_public_key_info,
                "{label}: webpki-roots and webpki-root-certs disagree on the key"
            );
            assert_eq!(
                listed.name_constraints, None,
                "{label} has name constraints"
            );
            let (_, cert) = X509Certificate::from_der(der.as_ref()).unwrap();
            let key = match cert.public_key().parsed().unwrap() {
                PublicKey::RSA(rsa) => format!("RSA {}", rsa.key_size()),
                PublicKey::EC(point) => format!("ECDSA P-{}", point.key_size()),
                other => panic!("{label}: unexpected key {other:?}"),
            };
            let fingerprint =
                Sha256::digest(der.as_ref())
                    .iter()
                    .fold(String::new(), |mut s, b| {
                        let _ = write!(s, "{b:02X}");
                        s
                    });
            let not_after = cert.validity().not_after.to_datetime().date().to_string();
            Root {
                constant,
                label,
                why,
                anchor: listed.clone(),
                fingerprint,
                key,
                not_after,
            }
        })
        .collect()
}

/// `bytes` as a Rust byte string literal.
fn literal(bytes: &[u8]) -> String {
    format!("b\"{}\"", bytes.escape_ascii())
}

/// The source of `src/tls/roots.rs`.
fn source(roots: &[Root]) -> String {
    let mut s = String::from(
        "//! The trust anchors a device needs for LWA's hosts, now and over a device's life:\n\
         //! the root public material ties to `api.amazon.com` (nothing was found for\n\
         //! `api.amazon.co.uk` and `api.amazon.co.jp`), the roots its CAs recommend trusting,\n\
         //! and the successors they announced (see the crate's README, \"Trust anchors\").\n\
         //! Taken from Mozilla's root store as the `webpki-roots` and `webpki-root-certs`\n\
         //! crates publish it; this file is generated from them (`LWA_WRITE_ROOTS=1 cargo\n\
         //! test -p lwa-embedded --features embedded-tls --test roots`) and a test fails\n\
         //! when it differs.\n\
         //!\n\
         //! Each is a [`TrustAnchor`] in webpki's compact form (subject and public key): the\n\
         //! set costs 3 134 bytes of subjects and keys (3.4 KiB of flash on a 32-bit device with\n\
         //! the anchors' own structures).\n\
         //!\n\
         //! ```\n\
         //! use lwa_embedded::tls::roots;\n\
         //! assert_eq!(roots::LWA.len(), 9);\n\
         //! assert!(roots::LWA.contains(&roots::DIGICERT_GLOBAL_ROOT_G2));\n\
         //! ```\n\
         \n\
         use rustls_pki_types::{Der, TrustAnchor};\n",
    );
    for r in roots {
        let _ = write!(
            s,
            "\n/// {}: {}, valid until {}; {}.\n///\n/// SHA-256 fingerprint \
             `{}`.\npub const {}: TrustAnchor<'static> = TrustAnchor {{\n    subject: \
             Der::from_slice({}),\n    subject_public_key_info: Der::from_slice({}),\n    \
             name_constraints: None,\n}};\n",
            r.label,
            r.key,
            r.not_after,
            r.why,
            r.fingerprint,
            r.constant,
            literal(r.anchor.subject.as_ref()),
            literal(r.anchor.subject_public_key_info.as_ref()),
        );
    }
    s.push_str("\n/// Every root above, for [`ServerIdentity::anchors`](super::ServerIdentity::anchors).\npub static LWA: &[TrustAnchor<'static>] = &[\n");
    for r in roots {
        let _ = writeln!(s, "    {},", r.constant);
    }
    s.push_str("];\n");
    s
}

/// The README's table of the set.
fn table(roots: &[Root]) -> String {
    let mut s =
        String::from("| root | key | valid until | SHA-256 fingerprint |\n|---|---|---|---|\n");
    for r in roots {
        let _ = writeln!(
            s,
            "| {} | {} | {} | `{}` |",
            r.label, r.key, r.not_after, r.fingerprint
        );
    }
    s
}

const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tls/roots.rs");
const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

#[test]
fn the_curated_roots_are_mozillas() {
    let roots = mozilla();
    let source = source(&roots);
    let table = table(&roots);
    if std::env::var_os("LWA_WRITE_ROOTS").is_some() {
        std::fs::write(SOURCE, &source).unwrap();
        println!("{table}");
        return;
    }
    assert_eq!(
        std::fs::read_to_string(SOURCE).unwrap(),
        source,
        "src/tls/roots.rs is not what Mozilla's store holds: regenerate it (see this file)"
    );
    assert!(
        std::fs::read_to_string(README).unwrap().contains(&table),
        "README.md lacks the table:\n{table}"
    );
    let consts = [
        roots::DIGICERT_GLOBAL_ROOT_G2,
        roots::DIGICERT_GLOBAL_ROOT_G3,
        roots::DIGICERT_TLS_RSA4096_ROOT_G5,
        roots::DIGICERT_TLS_ECC_P384_ROOT_G5,
        roots::AMAZON_ROOT_CA_1,
        roots::AMAZON_ROOT_CA_2,
        roots::AMAZON_ROOT_CA_3,
        roots::AMAZON_ROOT_CA_4,
        roots::STARFIELD_SERVICES_ROOT_G2,
    ];
    assert_eq!(roots::LWA, consts);
    for (anchor, root) in roots::LWA.iter().zip(&roots) {
        assert_eq!(anchor, &root.anchor, "{}", root.label);
    }
}

/// What the set costs in flash: its subjects and keys (and a slice header per anchor).
#[test]
fn the_set_is_about_3_kib() {
    let bytes: usize = roots::LWA
        .iter()
        .map(|a| a.subject.as_ref().len() + a.subject_public_key_info.as_ref().len())
        .sum();
    assert_eq!(bytes, 3_134, "{bytes} bytes of subjects and keys");
}
