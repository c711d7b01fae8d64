//! The signature algorithms the verifier accepts, on RustCrypto's `p256` and `rsa`
//! (webpki brings the X.509 path checks and leaves the arithmetic to its caller).

use p256::ecdsa::signature::Verifier as _;
use rustls_pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};

/// ECDSA over P-256 with SHA-256: certificate signatures and TLS 1.3's
/// `ecdsa_secp256r1_sha256`.
#[derive(Debug)]
pub(super) struct EcdsaP256Sha256;

impl SignatureVerificationAlgorithm for EcdsaP256Sha256 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        // Read here rather than with `Signature::from_der`, which links the `der` crate
        // (2.5 KiB of flash) for this one structure.
        let (r, s) = super::der::ecdsa_p256_signature(signature).ok_or(InvalidSignature)?;
        let signature = p256::ecdsa::Signature::from_scalars(r, s).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P256
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA256
    }
}

#[cfg(feature = "rsa")]
pub(super) use rsa_algs::{Hash, Rsa};

#[cfg(feature = "rsa")]
mod rsa_algs {
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    use rsa::signature::Verifier;
    use rsa::{pkcs1v15, pss};
    use rustls_pki_types::{
        AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
    };
    use sha2::{Sha256, Sha384, Sha512};

    /// Keys from 2048 to 4096 bits, as webpki's own RSA algorithms accept.
    const MIN_BITS: usize = 2048;

    /// The hash an RSA signature is made with.
    #[derive(Debug, Clone, Copy)]
    pub(in crate::tls) enum Hash {
        Sha256,
        Sha384,
        Sha512,
    }

    /// RSA signatures: PKCS#1 v1.5 for certificates (Amazon's chain uses SHA-256), PSS
    /// (MGF1 with the same hash, salt as long as the hash) for TLS 1.3's `rsa_pss_rsae_*`
    /// handshake signatures.
    #[derive(Debug)]
    pub(in crate::tls) struct Rsa {
        pub(in crate::tls) pss: bool,
        pub(in crate::tls) hash: Hash,
    }

    /// Checks `signature` (of type `S`) over `message` with `key`.
    fn check<S, K>(key: &K, message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature>
    where
        K: Verifier<S>,
        S: for<'s> TryFrom<&'s [u8]>,
    {
        let signature = S::try_from(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| InvalidSignature)
    }

    impl SignatureVerificationAlgorithm for Rsa {
        fn verify_signature(
            &self,
            public_key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), InvalidSignature> {
            let key =
                rsa::RsaPublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
            if rsa::traits::PublicKeyParts::size(&key) * 8 < MIN_BITS {
                return Err(InvalidSignature);
            }
            let (m, s) = (message, signature);
            match (self.pss, self.hash) {
                (false, Hash::Sha256) => check(&pkcs1v15::VerifyingKey::<Sha256>::new(key), m, s),
                (false, Hash::Sha384) => check(&pkcs1v15::VerifyingKey::<Sha384>::new(key), m, s),
                (false, Hash::Sha512) => check(&pkcs1v15::VerifyingKey::<Sha512>::new(key), m, s),
                (true, Hash::Sha256) => check(&pss::VerifyingKey::<Sha256>::new(key), m, s),
                (true, Hash::Sha384) => check(&pss::VerifyingKey::<Sha384>::new(key), m, s),
                (true, Hash::Sha512) => check(&pss::VerifyingKey::<Sha512>::new(key), m, s),
            }
        }

        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            alg_id::RSA_ENCRYPTION
        }

        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            match (self.pss, self.hash) {
                (false, Hash::Sha256) => alg_id::RSA_PKCS1_SHA256,
                (false, Hash::Sha384) => alg_id::RSA_PKCS1_SHA384,
                (false, Hash::Sha512) => alg_id::RSA_PKCS1_SHA512,
                (true, Hash::Sha256) => alg_id::RSA_PSS_SHA256,
                (true, Hash::Sha384) => alg_id::RSA_PSS_SHA384,
                (true, Hash::Sha512) => alg_id::RSA_PSS_SHA512,
            }
        }
    }
}
