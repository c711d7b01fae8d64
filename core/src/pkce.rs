//! PKCE (RFC 7636) for the AVS companion-app flow: a code verifier from random bytes the
//! caller supplies, and its `S256` code challenge.
//!
//! lwa-core has no randomness of its own: pass 32 bytes (or up to 96) from a
//! cryptographically secure source (the OS on a host, a hardware RNG on a device).
//!
//! ```
//! use lwa_core::pkce::CodeVerifier;
//!
//! // The example of RFC 7636, appendix B.
//! let random = [
//!     116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
//!     77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
//! ];
//! let verifier = CodeVerifier::from_random(&random).unwrap();
//! assert_eq!(verifier.as_secret().expose(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
//! assert_eq!(verifier.challenge().as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
//! ```

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::error::PkceError;
use crate::form::is_unreserved;
use crate::secret::{Secret, SecretBuf};

/// The challenge method, always `S256`.
pub const CHALLENGE_METHOD: &str = "S256";

/// Shortest code verifier RFC 7636 allows.
pub const MIN_VERIFIER_LEN: usize = 43;
/// Longest code verifier RFC 7636 allows.
pub const MAX_VERIFIER_LEN: usize = 128;

/// Length of an `S256` code challenge: base64url of 32 bytes without padding.
pub const CHALLENGE_LEN: usize = 43;

/// A PKCE code verifier: 43 to 128 unreserved characters, zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(SecretBuf<MAX_VERIFIER_LEN>);

impl CodeVerifier {
    /// Makes a verifier from 32 to 96 random bytes (base64url without padding: 43 to 128
    /// characters).
    ///
    /// # Errors
    /// [`PkceError::InvalidEntropy`] for fewer than 32 or more than 96 bytes.
    ///
    /// ```
    /// use lwa_core::pkce::CodeVerifier;
    /// assert_eq!(CodeVerifier::from_random(&[7; 32]).unwrap().as_secret().len(), 43);
    /// assert!(CodeVerifier::from_random(&[7; 16]).is_err());
    /// ```
    pub fn from_random(random: &[u8]) -> Result<Self, PkceError> {
        if !(32..=96).contains(&random.len()) {
            return Err(PkceError::InvalidEntropy { len: random.len() });
        }
        let mut text = [0u8; MAX_VERIFIER_LEN];
        let n = URL_SAFE_NO_PAD
            .encode_slice(random, &mut text)
            .map_err(|_| PkceError::InvalidEntropy { len: random.len() })?;
        let verifier = text
            .get(..n)
            .and_then(|t| core::str::from_utf8(t).ok())
            .ok_or(PkceError::InvalidCharacter)
            .and_then(Self::new);
        zeroize::Zeroize::zeroize(&mut text);
        verifier
    }

    /// Takes an existing verifier, checking its length and characters.
    ///
    /// # Errors
    /// [`PkceError::InvalidLength`] or [`PkceError::InvalidCharacter`].
    ///
    /// ```
    /// use lwa_core::pkce::CodeVerifier;
    /// use lwa_core::error::PkceError;
    /// assert!(CodeVerifier::new(&"a".repeat(43)).is_ok());
    /// assert_eq!(CodeVerifier::new("short"), Err(PkceError::InvalidLength { len: 5 }));
    /// assert_eq!(CodeVerifier::new(&"+".repeat(43)), Err(PkceError::InvalidCharacter));
    /// ```
    pub fn new(verifier: &str) -> Result<Self, PkceError> {
        let len = verifier.len();
        if !(MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&len) {
            return Err(PkceError::InvalidLength { len });
        }
        if !verifier.bytes().all(is_unreserved) {
            return Err(PkceError::InvalidCharacter);
        }
        SecretBuf::try_from_str(verifier)
            .map(Self)
            .map_err(|_| PkceError::InvalidLength { len })
    }

    /// The verifier, to send as `code_verifier` with the authorization code.
    ///
    /// ```
    /// let v = lwa_core::pkce::CodeVerifier::from_random(&[0; 32]).unwrap();
    /// assert_eq!(v.as_secret().expose(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    /// ```
    #[must_use]
    pub fn as_secret(&self) -> Secret<'_> {
        self.0.as_secret()
    }

    /// The `S256` challenge: base64url(SHA-256(verifier)) without padding.
    ///
    /// ```
    /// let v = lwa_core::pkce::CodeVerifier::from_random(&[0; 32]).unwrap();
    /// assert_eq!(v.challenge().as_str().len(), 43);
    /// ```
    #[must_use]
    pub fn challenge(&self) -> CodeChallenge {
        let digest = Sha256::digest(self.0.expose().as_bytes());
        let mut text = [0u8; CHALLENGE_LEN];
        // 32 bytes encode to exactly 43 characters, so this cannot fail; on the impossible
        // error the challenge would be all zero bytes and refused by the server.
        let _ = URL_SAFE_NO_PAD.encode_slice(digest, &mut text);
        CodeChallenge(text)
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(***)")
    }
}

/// An `S256` code challenge (public: it goes into the authorization URL).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CodeChallenge([u8; CHALLENGE_LEN]);

impl CodeChallenge {
    /// The challenge text, 43 base64url characters.
    ///
    /// ```
    /// let v = lwa_core::pkce::CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    /// assert_eq!(v.challenge().as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeChallenge({})", self.as_str())
    }
}

impl fmt::Display for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        for n in 32..=96 {
            let v = CodeVerifier::from_random(&std::vec![0xA5; n]).unwrap();
            assert_eq!(v.as_secret().len(), (n * 4).div_ceil(3));
        }
        assert_eq!(
            CodeVerifier::from_random(&[0; 97]),
            Err(PkceError::InvalidEntropy { len: 97 })
        );
        assert_eq!(
            CodeVerifier::new(&"a".repeat(129)),
            Err(PkceError::InvalidLength { len: 129 })
        );
    }

    #[test]
    fn debug_redacts() {
        let v = CodeVerifier::from_random(&[1; 32]).unwrap();
        assert_eq!(std::format!("{v:?}"), "CodeVerifier(***)");
    }
}
