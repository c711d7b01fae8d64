//! Why a verified TLS connection did not open: the handshake itself failed ([`Error::Tls`]),
//! or the server did not prove who it is ([`Error::Certificate`], with the reason).

use core::fmt;

use embedded_tls::TlsError;

/// Why [`blocking::open`](super::blocking::open) or `asynch::open` (feature `async`) failed.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The handshake failed below the certificate checks: the stream (`Io`), an alert from
    /// the server (`HandshakeAborted`: it offers nothing the device speaks, for one), a
    /// message embedded-tls could not read, or record buffers too small for it.
    Tls(TlsError),
    /// The server did not prove that it is the host to one of the trust anchors.
    Certificate(CertificateError),
}

impl From<TlsError> for Error {
    fn from(e: TlsError) -> Self {
        Self::Tls(e)
    }
}

impl From<CertificateError> for Error {
    fn from(e: CertificateError) -> Self {
        Self::Certificate(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tls(e) => write!(f, "tls: {e:?}"),
            Self::Certificate(e) => write!(f, "server not verified: {e}"),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            Self::Tls(TlsError::Io(kind)) => *kind,
            _ => embedded_io::ErrorKind::Other,
        }
    }
}

/// Why the server's certificate chain or its handshake signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CertificateError {
    /// The identity names no trust anchor: nothing could ever verify. Refused before a
    /// byte is sent.
    NoTrustAnchors,
    /// The identity's host is not a valid DNS name. Refused before a byte is sent.
    InvalidHostName,
    /// The server sent no certificate, a raw public key, or no handshake signature.
    NoCertificate,
    /// The server sent more than [`MAX_INTERMEDIATES`](super::MAX_INTERMEDIATES)
    /// certificates after its own.
    TooManyCertificates,
    /// A certificate (or a trust anchor) is not well-formed DER X.509, or has a critical
    /// extension that is not understood.
    Malformed,
    /// No chain leads from the server's certificate to any of the trust anchors.
    UnknownIssuer,
    /// A certificate of the chain expired before the time given.
    Expired,
    /// A certificate of the chain is not valid yet at the time given (is the clock set?).
    NotValidYet,
    /// The server's certificate does not name the host.
    WrongName,
    /// The server's certificate is not for TLS servers (extended key usage).
    NotForServers,
    /// The chain breaks a CA constraint: a CA used as the server's certificate, a server
    /// certificate used as a CA, a path length or name constraint.
    Constraint,
    /// A certificate is signed with an algorithm (or key) this verifier does not check.
    UnsupportedAlgorithm,
    /// A certificate's signature does not verify.
    BadSignature,
    /// Building the path took more work than allowed (a loop of cross-signatures, a huge
    /// anchor set): refused rather than spending unbounded time.
    TooComplex,
    /// The server's public key is longer than [`MAX_SPKI_LEN`](super::MAX_SPKI_LEN).
    KeyTooLarge,
    /// The server signed the handshake with a scheme this verifier does not check.
    UnsupportedHandshakeScheme,
    /// The server's handshake signature does not verify with its certificate's key.
    BadHandshakeSignature,
}

impl CertificateError {
    /// The reason for a webpki error (one place maps them all).
    pub(super) fn from_webpki(e: &webpki::Error) -> Self {
        use webpki::Error as W;
        #[allow(deprecated)] // webpki still returns its deprecated variants in places
        match e {
            W::UnknownIssuer => Self::UnknownIssuer,
            W::CertExpired { .. } => Self::Expired,
            W::CertNotValidYet { .. } => Self::NotValidYet,
            W::CertNotValidForName(_) => Self::WrongName,
            W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
                Self::NotForServers
            }
            W::CaUsedAsEndEntity
            | W::EndEntityUsedAsCa
            | W::PathLenConstraintViolated
            | W::NameConstraintViolation
            | W::InvalidNetworkMaskConstraint
            | W::MalformedNameConstraint => Self::Constraint,
            W::UnsupportedSignatureAlgorithm
            | W::UnsupportedSignatureAlgorithmContext(_)
            | W::UnsupportedSignatureAlgorithmForPublicKey
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
            | W::SignatureAlgorithmMismatch => Self::UnsupportedAlgorithm,
            W::InvalidSignatureForPublicKey => Self::BadSignature,
            W::MaximumSignatureChecksExceeded
            | W::MaximumPathBuildCallsExceeded
            | W::MaximumPathDepthExceeded
            | W::MaximumNameConstraintComparisonsExceeded => Self::TooComplex,
            _ => Self::Malformed,
        }
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoTrustAnchors => "no trust anchors given",
            Self::InvalidHostName => "the host is not a valid DNS name",
            Self::NoCertificate => "the server proved no identity (no certificate or signature)",
            Self::TooManyCertificates => "the server sent too many certificates",
            Self::Malformed => "a certificate is malformed or has an unknown critical extension",
            Self::UnknownIssuer => "the chain leads to none of the trust anchors",
            Self::Expired => "a certificate has expired",
            Self::NotValidYet => "a certificate is not valid yet (is the clock right?)",
            Self::WrongName => "the certificate is for another host",
            Self::NotForServers => "the certificate is not for TLS servers",
            Self::Constraint => "the chain breaks a CA constraint",
            Self::UnsupportedAlgorithm => "a certificate uses an unsupported signature algorithm",
            Self::BadSignature => "a certificate's signature is wrong",
            Self::TooComplex => "building the certificate path took too much work",
            Self::KeyTooLarge => "the server's public key is too large",
            Self::UnsupportedHandshakeScheme => "unsupported handshake signature scheme",
            Self::BadHandshakeSignature => "the handshake signature is wrong",
        })
    }
}

impl core::error::Error for CertificateError {}
