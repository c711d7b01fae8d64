//! The signature algorithms lwa verifies, as webpki's [`SignatureVerificationAlgorithm`]s:
//! what certificate signatures may use ([`CERTIFICATE`]) and what a TLS 1.3
//! `CertificateVerify` may use ([`for_handshake`]).
//!
//! embedded-tls's ClientHello always offers `ecdsa_secp256r1_sha256`,
//! `ecdsa_secp384r1_sha384` and `ed25519` (and the RSA schemes with the `rsa` feature), so a
//! server may answer with any of them: each is verified here ([`OFFERED`]).
//!
//! - ECDSA P-256 on RustCrypto's `p256` (which embedded-tls links for its key exchange).
//! - ECDSA P-384 and Ed25519 on lwa's own small verifiers over `crypto-bigint`'s Montgomery
//!   arithmetic, one instance for both curves (the `p384` and `ed25519-dalek` crates would
//!   cost some 140 KiB of flash). They are held to Google's Wycheproof vectors and tested
//!   against those crates.
//! - RSA (feature `rsa`) on RustCrypto's `rsa`, which needs a global allocator.
//!
//! Every input is public (keys, signatures, messages), so the arithmetic runs in variable
//! time. No input makes any of them panic; the ECDSA and Ed25519 verifiers allocate nothing
//! (the `rsa` crate does).
//!
//! ```
//! use lwa_embedded::tls::algorithms::{self, ED25519};
//!
//! // RFC 8032, 7.1, test 1: the empty message.
//! let key = hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
//! let signature = hex::decode(
//!     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
//!      5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
//! )?;
//! assert!(ED25519.verify_signature(&key, b"", &signature).is_ok());
//! assert!(ED25519.verify_signature(&key, b"?", &signature).is_err());
//! # Ok::<(), hex::FromHexError>(())
//! ```

use embedded_tls::SignatureScheme;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use rustls_pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};
use sha2::{Digest as _, Sha256, Sha384};

mod ed25519;
mod p384;

/// ECDSA over P-256 with SHA-256 (certificates and TLS 1.3's `ecdsa_secp256r1_sha256`).
/// The public key is the uncompressed or compressed SEC1 point, the signature DER.
///
/// ```
/// use lwa_embedded::tls::algorithms::ECDSA_P256_SHA256;
/// assert!(ECDSA_P256_SHA256.verify_signature(&[4; 65], b"", &[0x30, 0]).is_err());
/// ```
pub static ECDSA_P256_SHA256: &dyn SignatureVerificationAlgorithm = &EcdsaP256Sha256;

/// ECDSA over P-256 with SHA-384 (certificates only; the digest's leftmost 256 bits count).
///
/// ```
/// use lwa_embedded::tls::algorithms::ECDSA_P256_SHA384;
/// use rustls_pki_types::alg_id;
/// assert_eq!(ECDSA_P256_SHA384.signature_alg_id(), alg_id::ECDSA_SHA384);
/// ```
pub static ECDSA_P256_SHA384: &dyn SignatureVerificationAlgorithm = &EcdsaP256Sha384;

/// ECDSA over P-384 with SHA-256 (certificates only). The public key must be the
/// uncompressed SEC1 point `04 || x || y`, the signature DER.
///
/// ```
/// use lwa_embedded::tls::algorithms::ECDSA_P384_SHA256;
/// use rustls_pki_types::alg_id;
/// assert_eq!(ECDSA_P384_SHA256.public_key_alg_id(), alg_id::ECDSA_P384);
/// ```
pub static ECDSA_P384_SHA256: &dyn SignatureVerificationAlgorithm = &EcdsaP384Sha256;

/// ECDSA over P-384 with SHA-384 (certificates and TLS 1.3's `ecdsa_secp384r1_sha384`). The
/// public key must be the uncompressed SEC1 point `04 || x || y`, the signature DER.
///
/// ```
/// use lwa_embedded::tls::algorithms::ECDSA_P384_SHA384;
///
/// // Wycheproof, ecdsa_secp384r1_sha384_test.json, test 1: the empty message.
/// let key = hex::decode(
///     "0429bdb76d5fa741bfd70233cb3a66cc7d44beb3b0663d92a8136650478bcefb61ef182e155a54345a\
///      5e8e5e88f064e5bc9a525ab7f764dad3dae1468c2b419f3b62b9ba917d5e8c4fb1ec47404a3fc76474b\
///      2713081be9db4c00e043ada9fc4a3",
/// )?;
/// let signature = hex::decode(
///     "3064023032401249714e9091f05a5e109d5c1216fdc05e98614261aa0dbd9e9cd4415dee29238afbd3\
///      b103c1e40ee5c9144aee0f02304326756fb2c4fd726360dd6479b5849478c7a9d054a833a58c1631c33\
///      b63c3441336ddf2c7fe0ed129aae6d4ddfeb753",
/// )?;
/// assert!(ECDSA_P384_SHA384.verify_signature(&key, b"", &signature).is_ok());
/// assert!(ECDSA_P384_SHA384.verify_signature(&key, b"x", &signature).is_err());
/// # Ok::<(), hex::FromHexError>(())
/// ```
pub static ECDSA_P384_SHA384: &dyn SignatureVerificationAlgorithm = &EcdsaP384Sha384;

/// Ed25519 (RFC 8032; certificates and TLS 1.3's `ed25519`): the public key is its 32 bytes,
/// the signature its 64. Strict as RFC 8032 5.1.7 reads: `S` must be below the group order
/// and the key a canonical encoding of a point, and `R` must be the encoding of
/// `[S]B - [k]A` (the equation without the cofactor). See the [module docs](self) for an
/// example.
pub static ED25519: &dyn SignatureVerificationAlgorithm = &Ed25519;

/// RSASSA-PKCS1-v1_5 with SHA-256 (certificates only), keys of 2048 to 4096 bits. The public
/// key is the PKCS#1 `RSAPublicKey` DER.
///
/// ```
/// use lwa_embedded::tls::algorithms::RSA_PKCS1_SHA256;
/// use rustls_pki_types::alg_id;
/// assert_eq!(RSA_PKCS1_SHA256.public_key_alg_id(), alg_id::RSA_ENCRYPTION);
/// ```
#[cfg(feature = "rsa")]
pub static RSA_PKCS1_SHA256: &dyn SignatureVerificationAlgorithm = &Rsa {
    pss: false,
    hash: Hash::Sha256,
};

/// RSASSA-PKCS1-v1_5 with SHA-384 (certificates only), keys of 2048 to 4096 bits.
#[cfg(feature = "rsa")]
pub static RSA_PKCS1_SHA384: &dyn SignatureVerificationAlgorithm = &Rsa {
    pss: false,
    hash: Hash::Sha384,
};

/// RSASSA-PKCS1-v1_5 with SHA-512 (certificates only), keys of 2048 to 4096 bits.
#[cfg(feature = "rsa")]
pub static RSA_PKCS1_SHA512: &dyn SignatureVerificationAlgorithm = &Rsa {
    pss: false,
    hash: Hash::Sha512,
};

/// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt (certificates and TLS 1.3's
/// `rsa_pss_rsae_sha256`), keys of 2048 to 4096 bits.
#[cfg(feature = "rsa")]
pub static RSA_PSS_SHA256: &dyn SignatureVerificationAlgorithm = &Rsa {
    pss: true,
    hash: Hash::Sha256,
};

/// RSASSA-PSS with SHA-384, MGF1 with SHA-384 and a 48-byte salt (`rsa_pss_rsae_sha384`),
/// keys of 2048 to 4096 bits.
#[cfg(feature = "rsa")]
pub static RSA_PSS_SHA384: &dyn SignatureVerificationAlgorithm = &Rsa {
    pss: true,
    hash: Hash::Sha384,
};

/// RSASSA-PSS with SHA-512, MGF1 with SHA-512 and a 64-byte salt (`rsa_pss_rsae_sha512`),
/// keys of 2048 to 4096 bits.
#[cfg(feature = "rsa")]
pub static RSA_PSS_SHA512: &dyn SignatureVerificationAlgorithm = &Rsa {
    pss: true,
    hash: Hash::Sha512,
};

/// Every algorithm a certificate of the chain may be signed with: the ECDSA and Ed25519 ones,
/// and with the `rsa` feature the RSA ones. Pass it to webpki's `verify_for_usage`.
///
/// ```
/// use lwa_embedded::tls::algorithms::{CERTIFICATE, ECDSA_P384_SHA384};
/// use rustls_pki_types::alg_id;
/// assert!(CERTIFICATE.iter().any(|a| a.public_key_alg_id() == alg_id::ED25519));
/// assert!(CERTIFICATE.iter().any(|a| core::ptr::addr_eq(*a, ECDSA_P384_SHA384)));
/// ```
#[cfg(not(feature = "rsa"))]
pub static CERTIFICATE: &[&dyn SignatureVerificationAlgorithm] = &[
    ECDSA_P256_SHA256,
    ECDSA_P256_SHA384,
    ECDSA_P384_SHA256,
    ECDSA_P384_SHA384,
    ED25519,
];

/// Every algorithm a certificate of the chain may be signed with: the ECDSA and Ed25519 ones,
/// and with the `rsa` feature the RSA ones. Pass it to webpki's `verify_for_usage`.
///
/// ```
/// use lwa_embedded::tls::algorithms::CERTIFICATE;
/// use rustls_pki_types::alg_id;
/// assert!(CERTIFICATE.iter().any(|a| a.signature_alg_id() == alg_id::RSA_PKCS1_SHA256));
/// ```
#[cfg(feature = "rsa")]
pub static CERTIFICATE: &[&dyn SignatureVerificationAlgorithm] = &[
    ECDSA_P256_SHA256,
    ECDSA_P256_SHA384,
    ECDSA_P384_SHA256,
    ECDSA_P384_SHA384,
    ED25519,
    RSA_PKCS1_SHA256,
    RSA_PKCS1_SHA384,
    RSA_PKCS1_SHA512,
    RSA_PSS_SHA256,
    RSA_PSS_SHA384,
    RSA_PSS_SHA512,
];

/// The signature schemes the ClientHello offers, in its order, each of which this module
/// verifies: embedded-tls's three, then (feature `rsa`) the six RSA ones, which lwa's TLS
/// configuration appends with `enable_rsa_signatures`.
///
/// ```
/// use embedded_tls::SignatureScheme;
/// use lwa_embedded::tls::algorithms::{OFFERED, for_handshake};
/// assert_eq!(OFFERED.first(), Some(&SignatureScheme::EcdsaSecp256r1Sha256));
/// // Every offered scheme but RSA PKCS#1 (certificates only in TLS 1.3) can sign a handshake.
/// for scheme in OFFERED {
///     let pkcs1 = matches!(
///         scheme,
///         SignatureScheme::RsaPkcs1Sha256
///             | SignatureScheme::RsaPkcs1Sha384
///             | SignatureScheme::RsaPkcs1Sha512
///     );
///     assert_eq!(for_handshake(*scheme).is_some(), !pkcs1);
/// }
/// ```
#[cfg(not(feature = "rsa"))]
pub const OFFERED: &[SignatureScheme] = &[
    SignatureScheme::EcdsaSecp256r1Sha256,
    SignatureScheme::EcdsaSecp384r1Sha384,
    SignatureScheme::Ed25519,
];

/// The signature schemes the ClientHello offers, in its order, each of which this module
/// verifies: embedded-tls's three, then the six RSA ones, which lwa's TLS configuration
/// appends with `enable_rsa_signatures`.
///
/// ```
/// use embedded_tls::SignatureScheme;
/// use lwa_embedded::tls::algorithms::OFFERED;
/// assert_eq!(OFFERED.len(), 9);
/// assert_eq!(OFFERED.last(), Some(&SignatureScheme::RsaPssRsaeSha512));
/// ```
#[cfg(feature = "rsa")]
pub const OFFERED: &[SignatureScheme] = &[
    SignatureScheme::EcdsaSecp256r1Sha256,
    SignatureScheme::EcdsaSecp384r1Sha384,
    SignatureScheme::Ed25519,
    SignatureScheme::RsaPkcs1Sha256,
    SignatureScheme::RsaPkcs1Sha384,
    SignatureScheme::RsaPkcs1Sha512,
    SignatureScheme::RsaPssRsaeSha256,
    SignatureScheme::RsaPssRsaeSha384,
    SignatureScheme::RsaPssRsaeSha512,
];

/// The algorithm that checks a TLS 1.3 `CertificateVerify` signed with `scheme`; `None` for
/// a scheme lwa does not offer, and for `rsa_pkcs1_*`, which TLS 1.3 allows in certificates
/// only (RFC 8446, 4.2.3).
///
/// ```
/// use embedded_tls::SignatureScheme;
/// use lwa_embedded::tls::algorithms::{ED25519, for_handshake};
/// let algorithm = for_handshake(SignatureScheme::Ed25519).unwrap();
/// assert!(core::ptr::addr_eq(algorithm, ED25519));
/// assert!(for_handshake(SignatureScheme::EcdsaSecp521r1Sha512).is_none());
/// ```
pub fn for_handshake(
    scheme: SignatureScheme,
) -> Option<&'static dyn SignatureVerificationAlgorithm> {
    match scheme {
        SignatureScheme::EcdsaSecp256r1Sha256 => Some(ECDSA_P256_SHA256),
        SignatureScheme::EcdsaSecp384r1Sha384 => Some(ECDSA_P384_SHA384),
        SignatureScheme::Ed25519 => Some(ED25519),
        #[cfg(feature = "rsa")]
        SignatureScheme::RsaPssRsaeSha256 => Some(RSA_PSS_SHA256),
        #[cfg(feature = "rsa")]
        SignatureScheme::RsaPssRsaeSha384 => Some(RSA_PSS_SHA384),
        #[cfg(feature = "rsa")]
        SignatureScheme::RsaPssRsaeSha512 => Some(RSA_PSS_SHA512),
        _ => None,
    }
}

/// The hash an RSA signature is made with.
#[cfg(feature = "rsa")]
#[derive(Debug, Clone, Copy)]
pub(in crate::tls) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// One unit type per algorithm, with webpki's identifiers for its key and signature (paired
/// as webpki's ring and aws-lc-rs backends pair them) and the function that checks it.
macro_rules! algorithm {
    ($(#[$doc:meta])* $name:ident, $key:ident, $signature:ident, $verify:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(super) struct $name;

        impl SignatureVerificationAlgorithm for $name {
            fn verify_signature(
                &self,
                public_key: &[u8],
                message: &[u8],
                signature: &[u8],
            ) -> Result<(), InvalidSignature> {
                let verify: fn(&[u8], &[u8], &[u8]) -> Option<()> = $verify;
                verify(public_key, message, signature).ok_or(InvalidSignature)
            }

            fn public_key_alg_id(&self) -> AlgorithmIdentifier {
                alg_id::$key
            }

            fn signature_alg_id(&self) -> AlgorithmIdentifier {
                alg_id::$signature
            }
        }
    };
}

algorithm!(
    /// ECDSA over P-256 with SHA-256.
    EcdsaP256Sha256,
    ECDSA_P256,
    ECDSA_SHA256,
    |key, message, signature| p256(key, &Sha256::digest(message), signature)
);
algorithm!(
    /// ECDSA over P-256 with SHA-384.
    EcdsaP256Sha384,
    ECDSA_P256,
    ECDSA_SHA384,
    |key, message, signature| p256(key, &Sha384::digest(message), signature)
);
algorithm!(
    /// ECDSA over P-384 with SHA-256.
    EcdsaP384Sha256,
    ECDSA_P384,
    ECDSA_SHA256,
    |key, message, signature| p384::verify(key, &Sha256::digest(message), signature)
);
algorithm!(
    /// ECDSA over P-384 with SHA-384.
    EcdsaP384Sha384,
    ECDSA_P384,
    ECDSA_SHA384,
    |key, message, signature| p384::verify(key, &Sha384::digest(message), signature)
);
algorithm!(
    /// Ed25519.
    Ed25519,
    ED25519,
    ED25519,
    ed25519::verify
);

/// Checks an ECDSA P-256 signature (DER) over a message whose hash is `digest`.
fn p256(key: &[u8], digest: &[u8], signature: &[u8]) -> Option<()> {
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key).ok()?;
    // Read here rather than with `Signature::from_der`, which links the `der` crate
    // (2.5 KiB of flash) for this one structure.
    let (r, s) = super::der::ecdsa_signature::<32>(signature)?;
    let signature = p256::ecdsa::Signature::from_scalars(r, s).ok()?;
    // The prehash form takes SHA-384's leftmost 256 bits, as ECDSA prescribes.
    key.verify_prehash(digest, &signature).ok()
}

mod field;

/// RSA signatures: PKCS#1 v1.5 for certificates, PSS (MGF1
/// with the same hash, salt as long as the hash) for TLS 1.3's `rsa_pss_rsae_*` handshake
/// signatures and certificates.
#[cfg(feature = "rsa")]
#[derive(Debug)]
pub(in crate::tls) struct Rsa {
    pub(in crate::tls) pss: bool,
    pub(in crate::tls) hash: Hash,
}

#[cfg(feature = "rsa")]
mod rsa_signatures;
