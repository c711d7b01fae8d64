//! The certificate verifier: webpki's path building and validation (a path to any of the
//! trust anchors, cross-signed ones included; validity at the given time; CA, path-length
//! and name constraints; the server-auth EKU; the host name in the subject alternative
//! names) over the chain embedded-tls received, then the handshake signature with the
//! leaf's key. Every algorithm offered is checked ([`algorithms`](super::algorithms)).
//!
//! Nothing of the chain is copied but the leaf's public key (at most [`MAX_SPKI_LEN`]
//! bytes); webpki parses in place without allocating, so certificates cost no stack copies.
//! Work is bounded: at most [`MAX_INTERMEDIATES`] certificates after the leaf are looked
//! at, and webpki stops path building after 100 signature checks (a loop of
//! cross-signatures, a huge anchor set) with [`CertificateError::TooComplex`].

use digest::Digest as _;
use embedded_tls::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, TlsCipherSuite,
    TlsError, TlsVerifier,
};
use rustls_pki_types::{
    CertificateDer, DnsName, ServerName, SubjectPublicKeyInfoDer, TrustAnchor, UnixTime,
};
use webpki::{EndEntityCert, KeyUsage, RawPublicKeyEntity};

use super::der::element;
use super::{CertificateError, Inspection, Verdict, algorithms};

/// Longest leaf public key kept for the handshake signature: an RSA-4096
/// `SubjectPublicKeyInfo` is 550 bytes.
pub const MAX_SPKI_LEN: usize = 600;

/// Most certificates accepted after the server's own: real chains send one or two
/// intermediates, a cross-signed one three, some servers the root too.
pub const MAX_INTERMEDIATES: usize = 4;

type Transcript = <Aes128GcmSha256 as TlsCipherSuite>::Hash;

/// Verifies the server for one handshake. See the [module docs](self). The caller must check
/// `verdict.proved` after the handshake: embedded-tls does not insist that the server sent
/// its certificate and signature at all.
pub(super) struct Verifier<'a, 'i> {
    anchors: &'a [TrustAnchor<'a>],
    host: DnsName<'a>,
    now: UnixTime,
    spki: [u8; MAX_SPKI_LEN],
    spki_len: usize,
    transcript: Option<Transcript>,
    verdict: &'a Verdict,
    inspection: Option<&'a mut Inspection<'i>>,
}

impl<'a, 'i> Verifier<'a, 'i> {
    /// A verifier trusting `anchors`, for `host` at `now`, reporting to `verdict` (and
    /// `inspection`).
    pub(super) fn new(
        anchors: &'a [TrustAnchor<'a>],
        host: &'a str,
        now: UnixTime,
        verdict: &'a Verdict,
        mut inspection: Option<&'a mut Inspection<'i>>,
    ) -> Result<Self, CertificateError> {
        let host = DnsName::try_from(host).map_err(|_| CertificateError::InvalidHostName)?;
        verdict.proved.set(false);
        verdict.refused.set(None);
        if let Some(inspection) = inspection.as_deref_mut() {
            inspection.reset();
        }
        Ok(Self {
            anchors,
            host,
            now,
            spki: [0; MAX_SPKI_LEN],
            spki_len: 0,
            transcript: None,
            verdict,
            inspection,
        })
    }

    /// Records why the server is refused, and tells embedded-tls (which then alerts the
    /// server and ends the handshake).
    fn refuse(&mut self, reason: CertificateError) -> TlsError {
        // The first reason is the real one; a later step only fails for lack of it.
        if self.verdict.refused.get().is_none() {
            self.verdict.refused.set(Some(reason));
        }
        if let Some(inspection) = self.inspection.as_deref_mut() {
            inspection.error.get_or_insert(reason);
        }
        match reason {
            CertificateError::UnsupportedHandshakeScheme => TlsError::InvalidSignatureScheme,
            CertificateError::BadHandshakeSignature => TlsError::InvalidSignature,
            _ => TlsError::InvalidCertificate,
        }
    }

    /// Checks the chain and the host name; keeps the leaf's public key.
    fn check_chain(&mut self, cert: &CertificateRef<'_>) -> Result<(), CertificateError> {
        let mut ders = heapless::Vec::<&[u8], { MAX_INTERMEDIATES + 1 }>::new();
        for entry in &cert.entries {
            let CertificateEntryRef::X509(der) = entry else {
                // Raw public keys are never asked for.
                return Err(CertificateError::NoCertificate);
            };
            if let Some(inspection) = self.inspection.as_deref_mut() {
                inspection.keep(der);
            }
            // Past the limit the inspection still counts what was sent; the length check
            // below refuses.
            let _ = ders.push(der);
        }
        if cert.entries.len() > ders.len() {
            return Err(CertificateError::TooManyCertificates);
        }
        let (&leaf, rest) = ders.split_first().ok_or(CertificateError::NoCertificate)?;
        let intermediates: heapless::Vec<CertificateDer<'_>, MAX_INTERMEDIATES> =
            rest.iter().map(|&der| CertificateDer::from(der)).collect();
        let leaf = CertificateDer::from(leaf);
        let webpki = |e: webpki::Error| CertificateError::from_webpki(&e);
        let end_entity = EndEntityCert::try_from(&leaf).map_err(webpki)?;
        let path = end_entity
            .verify_for_usage(
                algorithms::CERTIFICATE,
                self.anchors,
                &intermediates,
                self.now,
                KeyUsage::server_auth(),
                None,
                None,
            )
            .map_err(webpki)?;
        if let Some(inspection) = self.inspection.as_deref_mut() {
            inspection.anchor = self
                .anchors
                .iter()
                .position(|a| core::ptr::eq(a, path.anchor()));
            for cert in path.intermediate_certificates() {
                let der = cert.der();
                if let Some(i) = rest.iter().position(|r| r.as_ptr() == der.as_ptr()) {
                    // Positions in the order sent: the leaf is 0.
                    let _ = inspection.path.push(i + 1);
                }
            }
        }
        end_entity
            .verify_is_valid_for_subject_name(&ServerName::DnsName(self.host.clone()))
            .map_err(webpki)?;
        let spki = spki_of(leaf.as_ref()).ok_or(CertificateError::Malformed)?;
        self.spki
            .get_mut(..spki.len())
            .ok_or(CertificateError::KeyTooLarge)?
            .copy_from_slice(spki);
        self.spki_len = spki.len();
        Ok(())
    }

    /// Checks the handshake signature with the verified leaf's key.
    fn check_signature(
        &mut self,
        verify: &CertificateVerifyRef<'_>,
    ) -> Result<(), CertificateError> {
        if let Some(inspection) = self.inspection.as_deref_mut() {
            inspection.scheme = Some(verify.signature_scheme);
        }
        // Without a verified chain there is nothing to check the signature against.
        let transcript = self
            .transcript
            .take()
            .ok_or(CertificateError::NoCertificate)?;
        let spki = self
            .spki
            .get(..self.spki_len)
            .filter(|s| !s.is_empty())
            .ok_or(CertificateError::NoCertificate)?;
        let algorithm = algorithms::for_handshake(verify.signature_scheme)
            .ok_or(CertificateError::UnsupportedHandshakeScheme)?;
        // RFC 8446 4.4.3: 64 spaces, the context string, a zero byte, the transcript hash.
        let mut message = [0x20u8; 64 + 34 + 32];
        let (context, hash) = message
            .get_mut(64..)
            .ok_or(CertificateError::BadHandshakeSignature)?
            .split_at_mut(34);
        context.copy_from_slice(b"TLS 1.3, server CertificateVerify\x00");
        hash.copy_from_slice(&transcript.finalize());
        let spki = SubjectPublicKeyInfoDer::from(spki);
        let key = RawPublicKeyEntity::try_from(&spki).map_err(|_| CertificateError::Malformed)?;
        key.verify_signature(algorithm, &message, verify.signature)
            .map_err(|e| match e {
                webpki::Error::InvalidSignatureForPublicKey => {
                    CertificateError::BadHandshakeSignature
                }
                // The scheme does not match the certificate's key type.
                _ => CertificateError::UnsupportedHandshakeScheme,
            })
    }
}

impl TlsVerifier<Aes128GcmSha256> for Verifier<'_, '_> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        // The name is the one this verifier was made for; refuse any other.
        if hostname.eq_ignore_ascii_case(self.host.as_ref()) {
            Ok(())
        } else {
            Err(self.refuse(CertificateError::WrongName))
        }
    }

    fn verify_certificate(
        &mut self,
        transcript: &Transcript,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        self.spki_len = 0;
        self.check_chain(&cert).map_err(|e| self.refuse(e))?;
        self.transcript = Some(transcript.clone());
        Ok(())
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        self.check_signature(&verify).map_err(|e| self.refuse(e))?;
        self.verdict.proved.set(true);
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
    use embedded_tls::SignatureScheme;

    /// A signature without a verified chain before it proves nothing: embedded-tls would let
    /// a server send CertificateVerify (or skip both messages); `proved` stays false.
    #[test]
    fn nothing_is_proved_without_a_verified_chain() {
        let verdict = Verdict::default();
        verdict.proved.set(true);
        let now = UnixTime::since_unix_epoch(core::time::Duration::from_secs(1_800_000_000));
        let anchors = [super::super::roots::DIGICERT_GLOBAL_ROOT_G2];
        let mut v = Verifier::new(&anchors, "lwa.test", now, &verdict, None).unwrap();
        assert!(!verdict.proved.get(), "a new verifier starts unproved");
        let verify = CertificateVerifyRef {
            signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
            signature: &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        };
        assert!(matches!(
            v.verify_signature(verify),
            Err(TlsError::InvalidCertificate)
        ));
        assert!(!verdict.proved.get());
        assert_eq!(verdict.refused.get(), Some(CertificateError::NoCertificate));
        assert!(v.set_hostname_verification("LWA.test").is_ok());
        assert!(matches!(
            v.set_hostname_verification("other.test"),
            Err(TlsError::InvalidCertificate)
        ));
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
