//! Every test of Google's Wycheproof vectors for the algorithms lwa verifies, through the
//! public algorithms of `lwa_embedded::tls::algorithms` and with the public key as webpki
//! hands it over (the `subjectPublicKey` of the vector's `publicKeyDer`: a SEC1 point, the
//! 32 bytes of an Ed25519 key, a PKCS#1 `RSAPublicKey`). Every `valid` signature must be
//! accepted and every `invalid` one refused; the `acceptable` ones are refused, for the
//! reason given at [`pkcs1`]. The number of tests run per file is asserted, so that a test
//! cannot pass by running nothing.
//!
//! The vectors are copies of `/tests/vectors/wycheproof/` (see its README.md for their
//! source and licence).

#![cfg(feature = "embedded-tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use lwa_embedded::tls::algorithms::{ECDSA_P256_SHA256, ECDSA_P384_SHA384, ED25519};
#[cfg(feature = "rsa")]
use lwa_embedded::tls::algorithms::{
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512,
};
use rustls_pki_types::SignatureVerificationAlgorithm;
use serde_json::Value;

/// What a file held and what came of it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    tests: usize,
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

/// One DER element at the start of `der`: its tag, its content and what follows.
fn element(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let (tag, first) = (der[0], der[1]);
    let (len, at) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        let len = der[2..2 + n]
            .iter()
            .fold(0, |a, &b| (a << 8) | usize::from(b));
        (len, 2 + n)
    };
    (tag, &der[at..at + len], &der[at + len..])
}

/// The `subjectPublicKey` (BIT STRING contents, without its unused-bits byte) of a DER
/// `SubjectPublicKeyInfo`: what webpki passes to `verify_signature`.
fn subject_public_key(spki: &[u8]) -> Vec<u8> {
    let (tag, content, rest) = element(spki);
    assert!(tag == 0x30 && rest.is_empty());
    let (tag, _algorithm, rest) = element(content);
    assert_eq!(tag, 0x30);
    let (tag, bits, rest) = element(rest);
    assert!(tag == 0x03 && rest.is_empty() && bits[0] == 0);
    bits[1..].to_vec()
}

/// Runs every test of the Wycheproof file `name` through `algorithm`. `acceptable` says
/// whether an `acceptable` test (given its flags) is to be accepted; it panics on flags it
/// has no decision for.
fn run(
    name: &str,
    algorithm: &dyn SignatureVerificationAlgorithm,
    acceptable: fn(&[&str]) -> bool,
) -> Counts {
    let path = format!(
        "{}/../tests/vectors/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut counts = Counts::default();
    let mut wrong = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        let key =
            subject_public_key(&hex::decode(group["publicKeyDer"].as_str().unwrap()).unwrap());
        for test in group["tests"].as_array().unwrap() {
            let message = hex::decode(test["msg"].as_str().unwrap()).unwrap();
            let signature = hex::decode(test["sig"].as_str().unwrap()).unwrap();
            let flags: Vec<&str> = test["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            let expected = match test["result"].as_str().unwrap() {
                "valid" => {
                    counts.valid += 1;
                    true
                }
                "invalid" => {
                    counts.invalid += 1;
                    false
                }
                "acceptable" => {
                    counts.acceptable += 1;
                    acceptable(&flags)
                }
                other => panic!("{name}: result {other}"),
            };
            counts.tests += 1;
            let accepted = algorithm
                .verify_signature(&key, &message, &signature)
                .is_ok();
            if accepted != expected {
                wrong.push(format!(
                    "tcId {} ({}, {:?}): {}",
                    test["tcId"],
                    test["comment"].as_str().unwrap(),
                    flags,
                    if accepted { "accepted" } else { "refused" }
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{name}:\n{}", wrong.join("\n"));
    assert_eq!(
        counts.tests,
        usize::try_from(file["numberOfTests"].as_u64().unwrap()).unwrap(),
        "{name}: numberOfTests"
    );
    counts
}

/// For files without `acceptable` tests.
fn none_acceptable(flags: &[&str]) -> bool {
    panic!("no acceptable test expected, got one flagged {flags:?}")
}

/// The one `acceptable` kind in the RSASSA-PKCS1-v1_5 files: `MissingNull`, a DigestInfo
/// whose AlgorithmIdentifier leaves out the NULL parameters. RFC 8017 (9.2, note 2) lets a
/// verifier accept it for old signers; no certificate authority signs that way today, and
/// webpki's own backends (ring, aws-lc-rs) refuse it, so lwa refuses it too: one fixed
/// encoding, compared byte for byte.
#[cfg(feature = "rsa")]
fn pkcs1(flags: &[&str]) -> bool {
    assert_eq!(flags, ["MissingNull"], "an acceptable test of a new kind");
    false
}

/// `tests, valid, invalid, acceptable`.
fn counts(tests: usize, valid: usize, invalid: usize, acceptable: usize) -> Counts {
    Counts {
        tests,
        valid,
        invalid,
        acceptable,
    }
}

#[test]
fn ecdsa_p256_sha256() {
    assert_eq!(
        run(
            "ecdsa_secp256r1_sha256_test.json",
            ECDSA_P256_SHA256,
            none_acceptable
        ),
        counts(484, 174, 310, 0)
    );
}

#[test]
fn ecdsa_p384_sha384() {
    assert_eq!(
        run(
            "ecdsa_secp384r1_sha384_test.json",
            ECDSA_P384_SHA384,
            none_acceptable
        ),
        counts(504, 194, 310, 0)
    );
}

#[test]
fn ed25519() {
    assert_eq!(
        run("ed25519_test.json", ED25519, none_acceptable),
        counts(151, 88, 63, 0)
    );
}

/// One test per RSA file (the `rsa` crate is slow unoptimised; the test threads share them).
macro_rules! rsa_tests {
    ($($test:ident: $file:literal, $algorithm:ident, $acceptable:ident, $counts:expr;)*) => {$(
        #[cfg(feature = "rsa")]
        #[test]
        fn $test() {
            assert_eq!(run($file, $algorithm, $acceptable), $counts);
        }
    )*};
}

rsa_tests! {
    rsa_pkcs1_2048_sha256: "rsa_signature_2048_sha256_test.json", RSA_PKCS1_SHA256, pkcs1, counts(259, 9, 249, 1);
    rsa_pkcs1_2048_sha384: "rsa_signature_2048_sha384_test.json", RSA_PKCS1_SHA384, pkcs1, counts(258, 7, 250, 1);
    rsa_pkcs1_2048_sha512: "rsa_signature_2048_sha512_test.json", RSA_PKCS1_SHA512, pkcs1, counts(259, 8, 250, 1);
    rsa_pkcs1_3072_sha256: "rsa_signature_3072_sha256_test.json", RSA_PKCS1_SHA256, pkcs1, counts(259, 8, 250, 1);
    rsa_pkcs1_3072_sha384: "rsa_signature_3072_sha384_test.json", RSA_PKCS1_SHA384, pkcs1, counts(259, 7, 251, 1);
    rsa_pkcs1_3072_sha512: "rsa_signature_3072_sha512_test.json", RSA_PKCS1_SHA512, pkcs1, counts(260, 8, 251, 1);
    rsa_pkcs1_4096_sha256: "rsa_signature_4096_sha256_test.json", RSA_PKCS1_SHA256, pkcs1, counts(258, 7, 250, 1);
    rsa_pkcs1_4096_sha384: "rsa_signature_4096_sha384_test.json", RSA_PKCS1_SHA384, pkcs1, counts(259, 7, 251, 1);
    rsa_pkcs1_4096_sha512: "rsa_signature_4096_sha512_test.json", RSA_PKCS1_SHA512, pkcs1, counts(259, 7, 251, 1);
    rsa_pss_2048_sha256: "rsa_pss_2048_sha256_mgf1_32_test.json", RSA_PSS_SHA256, none_acceptable, counts(108, 63, 45, 0);
    rsa_pss_2048_sha384: "rsa_pss_2048_sha384_mgf1_48_test.json", RSA_PSS_SHA384, none_acceptable, counts(141, 95, 46, 0);
    rsa_pss_3072_sha256: "rsa_pss_3072_sha256_mgf1_32_test.json", RSA_PSS_SHA256, none_acceptable, counts(108, 63, 45, 0);
    rsa_pss_4096_sha256: "rsa_pss_4096_sha256_mgf1_32_test.json", RSA_PSS_SHA256, none_acceptable, counts(108, 63, 45, 0);
    rsa_pss_4096_sha384: "rsa_pss_4096_sha384_mgf1_48_test.json", RSA_PSS_SHA384, none_acceptable, counts(141, 95, 46, 0);
    rsa_pss_4096_sha512: "rsa_pss_4096_sha512_mgf1_64_test.json", RSA_PSS_SHA512, none_acceptable, counts(179, 132, 47, 0);
}
