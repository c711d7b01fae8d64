//! RSA signatures on RustCrypto's `rsa` crate (which allocates its big integers).

use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts as _;
use rsa::{pkcs1v15, pss};
use rustls_pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};
use sha2::{Sha256, Sha384, Sha512};

use super::{Hash, Rsa};

/// Keys from 2048 bits (counted in whole bytes, as ring does) to 4096.
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 4096;

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
        let key = rsa::RsaPublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        if key.size() * 8 < MIN_BITS || key.n().bits() > MAX_BITS {
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
