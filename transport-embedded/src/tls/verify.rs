//! The certificate verifier: webpki's path validation (chain to the one trust anchor,
//! validity at the given time, CA and key-usage constraints, server-auth EKU, the host name
//! in the subject alternative names) over the chain embedded-tls received, then the
//! handshake signature with the leaf's key.
//!
//! Nothing of the chain is copied but the leaf's public key (at most [`MAX_SPKI_LEN`]
//! bytes); webpki parses in place without allocating, so certificates cost no stack copies.

use core::cell::Cell;

use digest::Digest as _;
use embedded_tls::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, SignatureScheme,
    TlsCipherSuite, TlsError, TlsVerifier,
};
use rustls_pki_types::{
    CertificateDer, DnsName, ServerName, SignatureVerificationAlgorithm, SubjectPublicKeyInfoDer,
    UnixTime,
};
use webpki::{EndEntityCert, KeyUsage, RawPublicKeyEntity};

use super::algorithms::EcdsaP256Sha256;
#[cfg(feature = "rsa")]
use super::algorithms::{Hash, Rsa};
use super::der::element;

/// Longest leaf public key kept for the handshake signature: an RSA-4096
/// `SubjectPublicKeyInfo` is 550 bytes.
pub const MAX_SPKI_LEN: usize = 600;

/// Intermediate certificates accepted after the leaf (Amazon sends one).
const MAX_INTERMEDIATES: usize = 4;

#[cfg(not(feature = "rsa"))]
static CERT_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[&EcdsaP256Sha256];
#[cfg(feature = "rsa")]
static CERT_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    &EcdsaP256Sha256,
    &Rsa {
        pss: false,
        hash: Hash::Sha256,
    },
    &Rsa {
        pss: false,
        hash: Hash::Sha384,
    },
    &Rsa {
        pss: false,
        hash: Hash::Sha512,
    },
];

type Transcript = <Aes128GcmSha256 as TlsCipherSuite>::Hash;

/// Verifies the server for one handshake. See the [module docs](self). The caller must check
/// `proved` after the handshake: embedded-tls does not insist that the server sent its
/// certificate and signature at all.
pub(super) struct Verifier<'a> {
    ca_der: &'a [u8],
    host: DnsName<'a>,
    now: UnixTime,
    spki: [u8; MAX_SPKI_LEN],
    spki_len: usize,
    transcript: Option<Transcript>,
    /// Set once the handshake signature checked out with the verified leaf's key.
    proved: &'a Cell<bool>,
}

impl<'a> Verifier<'a> {
    /// A verifier trusting the CA certificate `ca_der` alone, for `host` at `now`.
    pub(super) fn new(
        ca_der: &'a [u8],
        host: &'a str,
        now: UnixTime,
        proved: &'a Cell<bool>,
    ) -> Result<Self, TlsError> {
        let host = DnsName::try_from(host).map_err(|_| TlsError::InvalidCertificate)?;
        proved.set(false);
        Ok(Self {
            ca_der,
            host,
            now,
            spki: [0; MAX_SPKI_LEN],
            spki_len: 0,
            transcript: None,
            proved,
        })
    }

    /// Checks the chain and the host name; keeps the leaf's public key.
    fn check_chain(&mut self, cert: &CertificateRef<'_>) -> Result<(), TlsError> {
        let mut entries = cert.entries.iter().map(|e| match e {
            CertificateEntryRef::X509(der) => Ok(CertificateDer::from(*der)),
            // Raw public keys are never asked for.
            CertificateEntryRef::RawPublicKey(_) => Err(TlsError::InvalidCertificate),
        });
        let leaf = entries.next().ok_or(TlsError::InvalidCertificate)??;
        let mut intermediates: heapless::Vec<CertificateDer<'_>, MAX_INTERMEDIATES> =
            heapless::Vec::new();
        for der in entries {
            intermediates
                .push(der?)
                .map_err(|_| TlsError::InvalidCertificate)?;
        }
        let ca = CertificateDer::from(self.ca_der);
        let anchor =
            webpki::anchor_from_trusted_cert(&ca).map_err(|_| TlsError::InvalidCertificate)?;
        let end_entity =
            EndEntityCert::try_from(&leaf).map_err(|_| TlsError::InvalidCertificate)?;
        end_entity
            .verify_for_usage(
                CERT_ALGORITHMS,
                &[anchor],
                &intermediates,
                self.now,
                KeyUsage::server_auth(),
                None,
                None,
            )
            .map_err(|_| TlsError::InvalidCertificate)?;
        end_entity
            .verify_is_valid_for_subject_name(&ServerName::DnsName(self.host.clone()))
            .map_err(|_| TlsError::InvalidCertificate)?;
        let spki = spki_of(leaf.as_ref()).ok_or(TlsError::InvalidCertificate)?;
        self.spki
            .get_mut(..spki.len())
            .ok_or(TlsError::InvalidCertificate)?
            .copy_from_slice(spki);
        self.spki_len = spki.len();
        Ok(())
    }
}

impl TlsVerifier<Aes128GcmSha256> for Verifier<'_> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        // The name is the one this verifier was made for; refuse any other.
        if hostname.eq_ignore_ascii_case(self.host.as_ref()) {
            Ok(())
        } else {
            Err(TlsError::InvalidCertificate)
        }
    }

    fn verify_certificate(
        &mut self,
        transcript: &Transcript,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        self.spki_len = 0;
        self.check_chain(&cert)?;
        self.transcript = Some(transcript.clone());
        Ok(())
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        // Without a verified chain there is nothing to check the signature against.
        let transcript = self.transcript.take().ok_or(TlsError::InvalidCertificate)?;
        let spki = self
            .spki
            .get(..self.spki_len)
            .filter(|s| !s.is_empty())
            .ok_or(TlsError::InvalidCertificate)?;
        let algorithm: &dyn SignatureVerificationAlgorithm = match verify.signature_scheme {
            SignatureScheme::EcdsaSecp256r1Sha256 => &EcdsaP256Sha256,
            #[cfg(feature = "rsa")]
            SignatureScheme::RsaPssRsaeSha256 => &Rsa {
                pss: true,
                hash: Hash::Sha256,
            },
            #[cfg(feature = "rsa")]
            SignatureScheme::RsaPssRsaeSha384 => &Rsa {
                pss: true,
                hash: Hash::Sha384,
            },
            #[cfg(feature = "rsa")]
            SignatureScheme::RsaPssRsaeSha512 => &Rsa {
                pss: true,
                hash: Hash::Sha512,
            },
            _ => return Err(TlsError::InvalidSignatureScheme),
        };
        // RFC 8446 4.4.3: 64 spaces, the context string, a zero byte, the transcript hash.
        let mut message = [0x20u8; 64 + 34 + 32];
        let (context, hash) = message
            .get_mut(64..)
            .ok_or(TlsError::InternalError)?
            .split_at_mut(34);
        context.copy_from_slice(b"TLS 1.3, server CertificateVerify\x00");
        hash.copy_from_slice(&transcript.finalize());
        let spki = SubjectPublicKeyInfoDer::from(spki);
        let key = RawPublicKeyEntity::try_from(&spki).map_err(|_| TlsError::InvalidCertificate)?;
        key.verify_signature(algorithm, &message, verify.signature)
            .map_err(|_| TlsError::InvalidSignature)?;
        self.proved.set(true);
        Ok(())
    }
}

/// The `subjectPublicKeyInfo` element of a certificate (already accepted by webpki).
fn spki_of(cert: &[u8]) -> Option<&[u8]> {
    let certificate = element(cert)?.content;
    let mut tbs = element(certificate)?.content;
    // version [0] (optional), serialNumber, signature, issuer, validity, subject.
    let mut skip = 5;
    if tbs.first() == Some(&0xa0) {
        skip += 1;
    }
    for _ in 0..skip {
        tbs = element(tbs)?.rest;
    }
    let spki = element(tbs)?;
    (spki.tag == 0x30).then_some(spki.whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signature without a verified chain before it proves nothing: embedded-tls would let
    /// a server send CertificateVerify (or skip both messages); `proved` stays false.
    #[test]
    fn nothing_is_proved_without_a_verified_chain() {
        let proved = Cell::new(true);
        let now = UnixTime::since_unix_epoch(core::time::Duration::from_secs(1_800_000_000));
        let mut v = Verifier::new(&[0x30, 0x00], "lwa.test", now, &proved).unwrap();
        assert!(!proved.get(), "a new verifier starts unproved");
        let verify = CertificateVerifyRef {
            signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
            signature: &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        };
        assert!(matches!(
            v.verify_signature(verify),
            Err(TlsError::InvalidCertificate)
        ));
        assert!(!proved.get());
        assert!(matches!(
            v.set_hostname_verification("other.test"),
            Err(TlsError::InvalidCertificate)
        ));
        assert!(v.set_hostname_verification("LWA.test").is_ok());
    }

    #[test]
    fn spki_of_never_panics_on_prefixes() {
        let cert = [
            0x30, 0x11, 0x30, 0x0f, 0xa0, 0x00, 0x02, 0x00, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00,
            0x30, 0x00, 0x30, 0x01, 0x05,
        ];
        assert_eq!(spki_of(&cert), Some(&[0x30u8, 0x01, 0x05][..]));
        for n in 0..cert.len() {
            let _ = spki_of(&cert[..n]);
        }
    }
}
