//! TLS 1.3 with embedded-tls, verified: webpki builds a path from the server's certificate
//! to one of the trust anchors the caller passes (cross-signed paths included), checks that
//! every certificate is valid at the time the caller passes, and that the leaf names the
//! host; then the handshake signature is checked with the leaf's key. There is no way to
//! skip any of it here.
//!
//! The cipher suite is `TLS_AES_128_GCM_SHA256`, the key exchange P-256. Every signature
//! scheme the ClientHello offers is verified ([`algorithms::OFFERED`]): ECDSA P-256 and
//! P-384, Ed25519, and with the `rsa` feature RSA PKCS#1 v1.5 (certificates) and RSA-PSS
//! (handshake and certificates), keys of 2048 to 4096 bits.
//!
//! [`roots::LWA`] is a curated set of the roots LWA's hosts can plausibly chain to; a
//! device may pass its own set, or that set with more anchors loaded at run time (from
//! flash, say: [`anchor_from_der`]):
//!
//! ```no_run
//! use lwa_embedded::tls::{blocking, roots, ServerIdentity};
//! # fn tcp_connect() -> embedded_io_adapters::std::FromStd<std::net::TcpStream> { todo!() }
//! # fn unix_time_from_sntp() -> u64 { 1_800_000_000 }
//! # let rng = rand_core::OsRng;
//! let mut read_record = [0u8; 16_640];
//! let mut write_record = [0u8; 1024];
//! let identity = ServerIdentity {
//!     host: "api.amazon.com",
//!     anchors: roots::LWA,
//!     unix_time: unix_time_from_sntp(),
//! };
//! let tls = blocking::open(tcp_connect(), &identity, rng, &mut read_record, &mut write_record)?;
//! // `tls` implements embedded_io::Read + Write: hand it to blocking::run_exchange.
//! # Ok::<(), lwa_embedded::tls::Error>(())
//! ```

pub mod algorithms;
#[cfg(feature = "async")]
pub mod asynch;
pub mod blocking;
mod der;
mod error;
pub mod roots;
mod verify;

use core::cell::Cell;
use core::time::Duration;

use embedded_tls::{Aes128GcmSha256, CryptoProvider, SignatureScheme, TlsConfig, TlsVerifier};
use rand_core::CryptoRngCore;
use rustls_pki_types::UnixTime;
pub use rustls_pki_types::{CertificateDer, TrustAnchor};

pub use embedded_tls::TlsError;
pub use error::{CertificateError, Error};
pub use verify::{MAX_INTERMEDIATES, MAX_SPKI_LEN};

/// Who the server must prove to be, to whom, and when.
#[derive(Debug, Clone, Copy)]
pub struct ServerIdentity<'a> {
    /// The host name the certificate must carry in its subject alternative names, e.g.
    /// `api.amazon.com`.
    pub host: &'a str,
    /// The trust anchors (root CAs) the server's chain may lead to, in webpki's compact form
    /// (subject and public key): [`roots::LWA`], a set of the device's own, or anchors made
    /// at run time with [`anchor_from_der`]. Empty is refused before a byte is sent.
    pub anchors: &'a [TrustAnchor<'a>],
    /// Now, in seconds since 1970-01-01 UTC: every certificate of the chain must be valid
    /// then. A device takes it from SNTP or its real-time clock before its first connection
    /// (lwa's session runs on monotonic time and does not know it).
    pub unix_time: u64,
}

/// A trust anchor from a root certificate in DER, for anchors that arrive at run time (a
/// certificate kept in flash, provisioned at the factory). It borrows the certificate.
///
/// ```
/// use lwa_embedded::tls::{anchor_from_der, CertificateDer, CertificateError};
/// let garbage = CertificateDer::from(&[0x30u8, 0x03, 0x02, 0x01, 0x00][..]);
/// assert_eq!(anchor_from_der(&garbage).unwrap_err(), CertificateError::Malformed);
/// ```
///
/// # Errors
/// [`CertificateError::Malformed`] if `der` is not an X.509 certificate.
pub fn anchor_from_der<'a>(
    der: &'a CertificateDer<'a>,
) -> Result<TrustAnchor<'a>, CertificateError> {
    webpki::anchor_from_trusted_cert(der).map_err(|e| CertificateError::from_webpki(&e))
}

/// What the verifier saw of one handshake, for diagnostics (a device's log, `lwa probe`):
/// the certificates the server sent, the anchor and intermediates the verified path used,
/// the handshake signature scheme, and why verification failed. Filled by
/// [`blocking::open_inspected`] and `asynch::open_inspected` (feature `async`), whether the
/// handshake succeeds or not.
///
/// ```
/// use lwa_embedded::tls::Inspection;
/// let mut storage = [0u8; 8192];
/// let inspection = Inspection::new(&mut storage);
/// assert_eq!(inspection.certificates().count(), 0);
/// assert_eq!(inspection.anchor(), None);
/// ```
#[derive(Debug)]
pub struct Inspection<'r> {
    storage: &'r mut [u8],
    /// End offsets in `storage` of the certificates kept.
    ends: heapless::Vec<usize, { MAX_INTERMEDIATES + 1 }>,
    /// Certificates the server sent, kept or not.
    sent: usize,
    anchor: Option<usize>,
    path: heapless::Vec<usize, MAX_INTERMEDIATES>,
    scheme: Option<SignatureScheme>,
    error: Option<CertificateError>,
}

impl<'r> Inspection<'r> {
    /// An empty inspection that copies the server's certificates into `storage` (8 KiB holds
    /// a usual chain; what does not fit is counted but not kept).
    pub fn new(storage: &'r mut [u8]) -> Self {
        Self {
            storage,
            ends: heapless::Vec::new(),
            sent: 0,
            anchor: None,
            path: heapless::Vec::new(),
            scheme: None,
            error: None,
        }
    }

    /// The certificates the server sent, in the order sent (its own first), in DER: all of
    /// them, or the first ones if the storage was too small for the rest.
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().filter_map(move |&end| {
            let cert = self.storage.get(start..end);
            start = end;
            cert
        })
    }

    /// How many certificates the server sent (more than [`certificates`](Self::certificates)
    /// yields when the storage was too small or the server sent too many).
    #[must_use]
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// The index in [`ServerIdentity::anchors`] of the anchor the verified path leads to.
    #[must_use]
    pub fn anchor(&self) -> Option<usize> {
        self.anchor
    }

    /// The positions, in the order the server sent them (0 is its own), of the
    /// intermediates on the verified path, from the leaf's issuer up.
    #[must_use]
    pub fn path(&self) -> &[usize] {
        &self.path
    }

    /// The scheme the server signed the handshake with, once it did.
    #[must_use]
    pub fn signature_scheme(&self) -> Option<SignatureScheme> {
        self.scheme
    }

    /// Why the server was not verified, if it was not.
    #[must_use]
    pub fn error(&self) -> Option<CertificateError> {
        self.error
    }

    fn reset(&mut self) {
        self.ends.clear();
        self.sent = 0;
        self.anchor = None;
        self.path.clear();
        self.scheme = None;
        self.error = None;
    }

    /// Keeps a copy of the next certificate the server sent, if it and every one before it
    /// fit: the kept ones are always the first ones sent.
    fn keep(&mut self, der: &[u8]) {
        let all_kept = self.ends.len() == self.sent;
        self.sent += 1;
        let start = self.ends.last().copied().unwrap_or(0);
        let end = start.saturating_add(der.len());
        if all_kept
            && let Some(slot) = self.storage.get_mut(start..end)
            && self.ends.push(end).is_ok()
        {
            slot.copy_from_slice(der);
        }
    }
}

/// The embedded-tls crypto provider that verifies the server (see the [module docs](self)).
/// Private: embedded-tls 0.19 completes a handshake whose server sent `Finished` without
/// `Certificate` and `CertificateVerify` (a man in the middle can), and never asks the
/// verifier; only the `open` functions, which check afterwards that the server proved its
/// identity, may use it.
struct VerifyingProvider<'a, 'i, R> {
    rng: R,
    verifier: verify::Verifier<'a, 'i>,
}

impl<R> core::fmt::Debug for VerifyingProvider<'_, '_, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("VerifyingProvider")
    }
}

impl<R: CryptoRngCore> CryptoProvider for VerifyingProvider<'_, '_, R> {
    type CipherSuite = Aes128GcmSha256;
    // No client certificate is ever sent, so nothing is signed.
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Self::CipherSuite>, TlsError> {
        Ok(&mut self.verifier)
    }
}

/// The configuration every connection uses: the host name for SNI and verification, and
/// RSA signature schemes when the `rsa` feature is on. Offers [`algorithms::OFFERED`].
fn config(host: &str) -> TlsConfig<'_> {
    let config = TlsConfig::new().with_server_name(host);
    #[cfg(feature = "rsa")]
    let config = config.enable_rsa_signatures();
    config
}

/// How one handshake ended, as the verifier saw it.
#[derive(Debug, Default)]
struct Verdict {
    /// The handshake signature checked out with a verified chain's key.
    proved: Cell<bool>,
    /// Why the verifier refused, when it did.
    refused: Cell<Option<CertificateError>>,
}

impl Verdict {
    /// The error for a handshake embedded-tls ended with `result`: the verifier's reason
    /// when it refused, and a refusal when embedded-tls accepted a server that proved
    /// nothing (see [`VerifyingProvider`]).
    fn settle(&self, result: Result<(), TlsError>) -> Result<(), Error> {
        match (result, self.refused.get()) {
            (_, Some(reason)) => Err(Error::Certificate(reason)),
            (Err(e), None) => Err(Error::Tls(e)),
            (Ok(()), None) if self.proved.get() => Ok(()),
            (Ok(()), None) => Err(Error::Certificate(CertificateError::NoCertificate)),
        }
    }
}

/// The verifier for `server`, or the reason it cannot verify anything.
fn verifier<'a, 'i>(
    server: &ServerIdentity<'a>,
    verdict: &'a Verdict,
    inspection: Option<&'a mut Inspection<'i>>,
) -> Result<verify::Verifier<'a, 'i>, Error> {
    if server.anchors.is_empty() {
        return Err(CertificateError::NoTrustAnchors.into());
    }
    let now = UnixTime::since_unix_epoch(Duration::from_secs(server.unix_time));
    verify::Verifier::new(server.anchors, server.host, now, verdict, inspection)
        .map_err(Error::Certificate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_without_proof_is_refused() {
        let verdict = Verdict::default();
        assert!(matches!(
            verdict.settle(Ok(())),
            Err(Error::Certificate(CertificateError::NoCertificate))
        ));
        verdict.proved.set(true);
        assert!(verdict.settle(Ok(())).is_ok());
        // The verifier's reason wins over what embedded-tls made of the refusal.
        verdict.refused.set(Some(CertificateError::Expired));
        assert!(matches!(
            verdict.settle(Err(TlsError::InvalidCertificate)),
            Err(Error::Certificate(CertificateError::Expired))
        ));
        assert!(matches!(
            Verdict::default().settle(Err(TlsError::IoError)),
            Err(Error::Tls(TlsError::IoError))
        ));
    }

    #[test]
    fn an_inspection_keeps_what_fits() {
        let mut storage = [0u8; 5];
        let mut inspection = Inspection::new(&mut storage);
        inspection.keep(b"abc");
        inspection.keep(b"defg");
        inspection.keep(b"h");
        assert_eq!(inspection.sent(), 3);
        let kept: std::vec::Vec<&[u8]> = inspection.certificates().collect();
        assert_eq!(kept, [&b"abc"[..]]);
        inspection.reset();
        assert_eq!(inspection.certificates().count(), 0);
    }
}
