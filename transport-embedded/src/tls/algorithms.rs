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
pub(super) use rsa_algs::{Hash, RsaPkcs1, RsaPss};

#[cfg(feature = "rsa")]
mod rsa_algs {
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    use rsa::signature::Verifier as _;
    use rustls_pki_types::{
        AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
    };
    use sha2::{Sha256, Sha384, Sha512};

    /// Keys from 2048 to 4096 bits, as webpki's own RSA algorithms accept.
    const MIN_BITS: usize = 2048;

    fn key(public_key: &[u8]) -> Result<rsa::RsaPublicKey, InvalidSignature> {
        let key = rsa::RsaPublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        if rsa::traits::PublicKeyParts::size(&key) * 8 < MIN_BITS {
            return Err(InvalidSignature);
        }
        Ok(key)
    }

    /// The hash an RSA signature is made with.
    #[derive(Debug, Clone, Copy)]
    pub(in crate::tls) enum Hash {
        Sha256,
        Sha384,
        Sha512,
    }

    /// RSA PKCS#1 v1.5: certificate signatures (Amazon's chain uses SHA-256).
    #[derive(Debug)]
    pub(in crate::tls) struct RsaPkcs1(pub(in crate::tls) Hash);

    impl SignatureVerificationAlgorithm for RsaPkcs1 {
        fn verify_signature(
            &self,
            public_key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), InvalidSignature> {
            use rsa::pkcs1v15::{Signature, VerifyingKey};
            let key = key(public_key)?;
            let signature = Signature::try_from(signature).map_err(|_| InvalidSignature)?;
            match self.0 {
                Hash::Sha256 => VerifyingKey::<Sha256>::new(key).verify(message, &signature),
                Hash::Sha384 => VerifyingKey::<Sha384>::new(key).verify(message, &signature),
                Hash::Sha512 => VerifyingKey::<Sha512>::new(key).verify(message, &signature),
            }
            .map_err(|_| InvalidSignature)
        }

        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            alg_id::RSA_ENCRYPTION
        }

        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            match self.0 {
                Hash::Sha256 => alg_id::RSA_PKCS1_SHA256,
                Hash::Sha384 => alg_id::RSA_PKCS1_SHA384,
                Hash::Sha512 => alg_id::RSA_PKCS1_SHA512,
            }
        }
    }

    /// RSA-PSS (MGF1 with the same hash, salt as long as the hash): TLS 1.3's
    /// `rsa_pss_rsae_*` handshake signatures.
    #[derive(Debug)]
    pub(in crate::tls) struct RsaPss(pub(in crate::tls) Hash);

    impl SignatureVerificationAlgorithm for RsaPss {
        fn verify_signature(
            &self,
            public_key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), InvalidSignature> {
            use rsa::pss::{Signature, VerifyingKey};
            let key = key(public_key)?;
            let signature = Signature::try_from(signature).map_err(|_| InvalidSignature)?;
            match self.0 {
                Hash::Sha256 => VerifyingKey::<Sha256>::new(key).verify(message, &signature),
                Hash::Sha384 => VerifyingKey::<Sha384>::new(key).verify(message, &signature),
                Hash::Sha512 => VerifyingKey::<Sha512>::new(key).verify(message, &signature),
            }
            .map_err(|_| InvalidSignature)
        }

        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            alg_id::RSA_ENCRYPTION
        }

        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            match self.0 {
                Hash::Sha256 => alg_id::RSA_PSS_SHA256,
                Hash::Sha384 => alg_id::RSA_PSS_SHA384,
                Hash::Sha512 => alg_id::RSA_PSS_SHA512,
            }
        }
    }
}
