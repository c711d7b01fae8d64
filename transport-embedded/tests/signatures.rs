//! lwa's P-384 and Ed25519 verifiers against RustCrypto's `p384` and `ed25519-dalek`:
//! what those crates sign must verify; a single flipped bit of the signature, the message or
//! the key must be refused, and both must agree on it; random bytes as key or signature
//! (also around a real key, so that the arithmetic runs) must be refused without a panic.

#![cfg(feature = "embedded-tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use ed25519_dalek::Verifier as _;
use lwa_embedded::tls::algorithms::{
    CERTIFICATE, ECDSA_P256_SHA256, ECDSA_P256_SHA384, ECDSA_P384_SHA256, ECDSA_P384_SHA384,
    ED25519,
};
use p384::ecdsa::signature::Signer as _;
use p384::ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256, Sha384};

/// Cases per property: each signs once and verifies a few times with both implementations.
const CASES: u32 = 256;

/// Flips bit `bit` (modulo the length) of `bytes`; `None` for no bytes.
fn flip(bytes: &[u8], bit: usize) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    let bit = bit.checked_rem(8 * out.len())?;
    out[bit / 8] ^= 1 << (bit % 8);
    Some(out)
}

/// The key, message and signature with one bit of one of them flipped, for each of the
/// three (the message only if it has a bit).
fn flipped(
    key: &[u8],
    message: &[u8],
    signature: &[u8],
    bits: [usize; 3],
) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let (k, m, s) = (key.to_vec(), message.to_vec(), signature.to_vec());
    [
        flip(key, bits[0]).map(|key| (key, m.clone(), s.clone())),
        flip(message, bits[1]).map(|message| (k.clone(), message, s.clone())),
        flip(signature, bits[2]).map(|signature| (k.clone(), m.clone(), signature)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A P-384 signature made by the `p384` crate: the SEC1 key, the DER signature.
fn p384_sign(secret: &[u8], message: &[u8], sha384: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    let key = p384::ecdsa::SigningKey::from_slice(secret).ok()?;
    let signature: p384::ecdsa::Signature = if sha384 {
        key.sign(message)
    } else {
        key.sign_prehash(&Sha256::digest(message)).unwrap()
    };
    let public = key.verifying_key().to_encoded_point(false);
    Some((
        public.as_bytes().to_vec(),
        signature.to_der().as_bytes().to_vec(),
    ))
}

/// The `p384` crate's verdict.
fn p384_theirs(key: &[u8], message: &[u8], signature: &[u8], sha384: bool) -> bool {
    let Ok(key) = p384::ecdsa::VerifyingKey::from_sec1_bytes(key) else {
        return false;
    };
    let Ok(signature) = p384::ecdsa::Signature::from_der(signature) else {
        return false;
    };
    if sha384 {
        key.verify_prehash(&Sha384::digest(message), &signature)
    } else {
        key.verify_prehash(&Sha256::digest(message), &signature)
    }
    .is_ok()
}

/// lwa's verdict.
fn p384_ours(key: &[u8], message: &[u8], signature: &[u8], sha384: bool) -> bool {
    let algorithm = if sha384 {
        ECDSA_P384_SHA384
    } else {
        ECDSA_P384_SHA256
    };
    algorithm.verify_signature(key, message, signature).is_ok()
}

/// ed25519-dalek's verdict (its `verify`: the cofactorless equation, `S < L`).
fn ed25519_theirs(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let (Ok(key), Ok(signature)) = (
        <[u8; 32]>::try_from(key),
        ed25519_dalek::Signature::from_slice(signature),
    ) else {
        return false;
    };
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .is_ok_and(|key| key.verify(message, &signature).is_ok())
}

fn ed25519_ours(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    ED25519.verify_signature(key, message, signature).is_ok()
}

/// A fixed P-384 key (the `p384` crate's), for signatures of random bytes.
fn p384_key() -> Vec<u8> {
    p384_sign(&[7; 48], b"", true).unwrap().0
}

/// `SEQUENCE { INTEGER r, INTEGER s }` of two 48-byte values (with the leading zero DER wants
/// before a high bit; leading zero bytes of the value are kept, so some are not minimal).
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let mut out = vec![0x02];
        let pad = v[0] >= 0x80;
        out.push(u8::try_from(v.len() + usize::from(pad)).unwrap());
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
        out
    };
    let body = [int(r), int(s)].concat();
    [vec![0x30, u8::try_from(body.len()).unwrap()], body].concat()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn p384_agrees_with_the_p384_crate(
        secret in prop::collection::vec(any::<u8>(), 48),
        message in prop::collection::vec(any::<u8>(), 0..100),
        sha384 in any::<bool>(),
        bits in any::<[usize; 3]>(),
    ) {
        let Some((key, signature)) = p384_sign(&secret, &message, sha384) else {
            return Ok(()); // a secret of zero or >= n: the crate refuses it
        };
        prop_assert!(p384_ours(&key, &message, &signature, sha384));
        for (i, (key, message, signature)) in flipped(&key, &message, &signature, bits).iter().enumerate() {
            let ours = p384_ours(key, message, signature, sha384);
            prop_assert_eq!(ours, p384_theirs(key, message, signature, sha384), "case {}", i);
            prop_assert!(!ours, "a flipped bit (case {}) verified", i);
        }
    }

    /// P-256 stays on the `p256` crate; this checks the digest each algorithm feeds it
    /// (SHA-384's leftmost 256 bits for ECDSA_P256_SHA384).
    #[test]
    fn p256_verifies_both_hashes(
        secret in prop::collection::vec(any::<u8>(), 32),
        message in prop::collection::vec(any::<u8>(), 0..100),
        sha384 in any::<bool>(),
        bit in any::<usize>(),
    ) {
        let Ok(key) = p256::ecdsa::SigningKey::from_slice(&secret) else {
            return Ok(());
        };
        let signature: p256::ecdsa::Signature = if sha384 {
            key.sign_prehash(&Sha384::digest(&message)).unwrap()
        } else {
            key.sign_prehash(&Sha256::digest(&message)).unwrap()
        };
        let (right, wrong) = if sha384 {
            (ECDSA_P256_SHA384, ECDSA_P256_SHA256)
        } else {
            (ECDSA_P256_SHA256, ECDSA_P256_SHA384)
        };
        let public = key.verifying_key().to_encoded_point(false);
        let der = signature.to_der();
        prop_assert!(right.verify_signature(public.as_bytes(), &message, der.as_bytes()).is_ok());
        prop_assert!(wrong.verify_signature(public.as_bytes(), &message, der.as_bytes()).is_err());
        let flipped = flip(der.as_bytes(), bit).unwrap();
        prop_assert!(right.verify_signature(public.as_bytes(), &message, &flipped).is_err());
    }

    #[test]
    fn ed25519_agrees_with_ed25519_dalek(
        secret in any::<[u8; 32]>(),
        message in prop::collection::vec(any::<u8>(), 0..100),
        bits in any::<[usize; 3]>(),
    ) {
        let key = ed25519_dalek::SigningKey::from_bytes(&secret);
        let signature = ed25519_dalek::Signer::sign(&key, &message).to_bytes().to_vec();
        let key = key.verifying_key().to_bytes().to_vec();
        prop_assert!(ed25519_ours(&key, &message, &signature));
        for (i, (key, message, signature)) in flipped(&key, &message, &signature, bits).iter().enumerate() {
            let ours = ed25519_ours(key, message, signature);
            prop_assert_eq!(ours, ed25519_theirs(key, message, signature), "case {}", i);
            prop_assert!(!ours, "a flipped bit (case {}) verified", i);
        }
    }

    #[test]
    fn random_keys_and_signatures_are_refused(
        key in prop::collection::vec(any::<u8>(), 0..100),
        signature in prop::collection::vec(any::<u8>(), 0..120),
        message in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        for algorithm in CERTIFICATE {
            prop_assert!(algorithm.verify_signature(&key, &message, &signature).is_err());
        }
    }

    #[test]
    fn random_signatures_under_real_keys_are_refused(
        r in prop::collection::vec(any::<u8>(), 48),
        s in prop::collection::vec(any::<u8>(), 48),
        point in prop::collection::vec(any::<u8>(), 96),
        ed_key in any::<[u8; 32]>(),
        message in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        // A real P-384 key and an off-curve one, with a well-formed DER (r, s).
        let signature = der_signature(&r, &s);
        let key = p384_key();
        prop_assert!(!p384_ours(&key, &message, &signature, true));
        prop_assert!(!p384_ours(&key, &message, &signature, false));
        let off_curve = [&[4][..], &point].concat();
        prop_assert!(!p384_ours(&off_curve, &message, &signature, true));
        // Random 32-byte Ed25519 keys (about half decode to a point), S < L by clearing the
        // top bits so the whole equation runs.
        let mut ed_signature = [r.as_slice(), s.as_slice()].concat();
        ed_signature.truncate(64);
        ed_signature[63] &= 0x0f;
        let ours = ed25519_ours(&ed_key, &message, &ed_signature);
        prop_assert!(!ours);
        prop_assert_eq!(ours, ed25519_theirs(&ed_key, &message, &ed_signature));
    }
}

/// Edge cases the random search would not find: the neutral element and small-order points
/// as keys, `S = L - 1`, `S = L`, an all-zero signature; ours and ed25519-dalek's verdicts
/// must be the same.
#[test]
fn ed25519_edge_cases_agree() {
    let l_minus_1 =
        hex::decode("ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010").unwrap();
    let l =
        hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010").unwrap();
    let identity = {
        let mut y = [0u8; 32];
        y[0] = 1;
        y
    };
    // A point of order 4: (sqrt(-1), 0), y = 0.
    let order_4 = [0u8; 32];
    // The base point.
    let base =
        hex::decode("5866666666666666666666666666666666666666666666666666666666666666").unwrap();
    for key in [identity.to_vec(), order_4.to_vec(), base] {
        for r in [identity.to_vec(), order_4.to_vec()] {
            for s in [vec![0u8; 32], l_minus_1.clone(), l.clone()] {
                let signature = [r.clone(), s].concat();
                assert_eq!(
                    ed25519_ours(&key, b"m", &signature),
                    ed25519_theirs(&key, b"m", &signature),
                    "key {key:02x?} signature {signature:02x?}"
                );
            }
        }
    }
    // The identity as key, R the identity and S = 0: [0]B - [k]0 = 0. Both accept (the
    // equation holds; RFC 8032 does not refuse small-order keys).
    let signature = [identity.to_vec(), vec![0u8; 32]].concat();
    assert!(ed25519_ours(&identity, b"m", &signature));
}
