//! TLS 1.3 with embedded-tls, verified: the server's certificate chain must lead to the CA
//! the caller passes, and the certificate must name the host. There is no way to skip
//! either check here.
//!
//! The cipher suite is `TLS_AES_128_GCM_SHA256`. P-256 (ECDSA) chains verify out of the box;
//! RSA chains (Amazon's) need the `rsa` feature and a global allocator for embedded-tls's
//! RSA code. See the crate docs for the CA api.amazon.com needs and the buffer sizes.
//!
//! ```no_run
//! use lwa_embedded::tls::{open_blocking, ServerIdentity};
//! # fn tcp_connect() -> embedded_io_adapters::std::FromStd<std::net::TcpStream> { todo!() }
//! # let rng = rand_core::OsRng;
//! static AMAZON_ROOT_CA_1: &[u8] = &[/* include_bytes!("AmazonRootCA1.cer") */];
//! let mut read_record = [0u8; 16_640];
//! let mut write_record = [0u8; 4096];
//! let identity = ServerIdentity { host: "api.amazon.com", ca_der: AMAZON_ROOT_CA_1 };
//! let tls = open_blocking(tcp_connect(), &identity, rng, &mut read_record, &mut write_record)?;
//! // `tls` implements embedded_io::Read + Write: hand it to blocking::run_exchange.
//! # Ok::<(), embedded_tls::TlsError>(())
//! ```

use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CryptoProvider, NoClock, TlsClock, TlsConfig, TlsContext,
    TlsError, TlsVerifier,
};
use rand_core::CryptoRngCore;

/// Room for the server's certificate chain that the verifier keeps during the handshake.
/// Amazon's chain (leaf and intermediate, RSA 2048) is under 4 KiB.
pub const DEFAULT_CERT_SIZE: usize = 4096;

/// Who the server must prove to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerIdentity<'a> {
    /// The host name the certificate must carry (SAN or CN), e.g. `api.amazon.com`.
    pub host: &'a str,
    /// The trust anchor in DER: the root CA the server's chain ends at.
    pub ca_der: &'a [u8],
}

/// An embedded-tls crypto provider that verifies the server: chain to `ca_der`, host name,
/// and the handshake signature. `Clock` checks validity periods when it knows the time
/// ([`NoClock`] skips them: a device without a clock cannot tell).
pub struct VerifyingProvider<
    'a,
    R,
    Clock: TlsClock = NoClock,
    const CERT_SIZE: usize = DEFAULT_CERT_SIZE,
> {
    rng: R,
    verifier: CertVerifier<'a, Aes128GcmSha256, Clock, CERT_SIZE>,
}

impl<R, Clock: TlsClock, const CERT_SIZE: usize> core::fmt::Debug
    for VerifyingProvider<'_, R, Clock, CERT_SIZE>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("VerifyingProvider")
    }
}

impl<'a, R: CryptoRngCore, Clock: TlsClock, const CERT_SIZE: usize>
    VerifyingProvider<'a, R, Clock, CERT_SIZE>
{
    /// A provider trusting `ca_der` alone, drawing randomness from `rng`.
    pub fn new(ca_der: &'a [u8], rng: R) -> Self {
        Self {
            rng,
            verifier: CertVerifier::new(Certificate::X509(ca_der)),
        }
    }
}

impl<R: CryptoRngCore, Clock: TlsClock, const CERT_SIZE: usize> CryptoProvider
    for VerifyingProvider<'_, R, Clock, CERT_SIZE>
{
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
/// RSA signature schemes when the `rsa` feature is on.
fn config<'a>(host: &'a str) -> TlsConfig<'a> {
    let config = TlsConfig::new().with_server_name(host);
    #[cfg(feature = "rsa")]
    let config = config.enable_rsa_signatures();
    config
}

/// Opens a verified TLS 1.3 connection over a blocking stream, keeping up to
/// [`DEFAULT_CERT_SIZE`] bytes of the server's certificate chain during the handshake.
///
/// The connection borrows the socket and the record buffers; `server` (host name and CA) is
/// needed only during the handshake.
///
/// # Errors
/// Any [`TlsError`]: `InvalidCertificate` for a chain that does not lead to the CA or a
/// certificate for another host, `InvalidSignature`, I/O errors, ...
pub fn open_blocking<'b, S, R>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
) -> Result<embedded_tls::blocking::TlsConnection<'b, S, Aes128GcmSha256>, TlsError>
where
    S: embedded_io::Read + embedded_io::Write,
    R: CryptoRngCore,
{
    open_blocking_with::<S, R, DEFAULT_CERT_SIZE>(socket, server, rng, read_record, write_record)
}

/// [`open_blocking`] with room for `CERT_SIZE` bytes of the server's certificate chain.
///
/// The verifier keeps a copy of the chain as sent (every certificate, root excluded) until
/// the server's signature is checked, and embedded-tls builds that copy on the stack: each
/// byte of `CERT_SIZE` costs about two bytes of peak stack. Size it to the chain your
/// endpoint sends: about 3.3 KiB for Amazon's RSA leaf and intermediate (the default, 4096,
/// holds it), under 2 KiB for a P-256 leaf and intermediate. A chain that does not fit is
/// refused with `TlsError::OutOfMemory`.
///
/// # Errors
/// As [`open_blocking`].
pub fn open_blocking_with<'b, S, R, const CERT_SIZE: usize>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
) -> Result<embedded_tls::blocking::TlsConnection<'b, S, Aes128GcmSha256>, TlsError>
where
    S: embedded_io::Read + embedded_io::Write,
    R: CryptoRngCore,
{
    let mut tls = embedded_tls::blocking::TlsConnection::new(socket, read_record, write_record);
    let config = config(server.host);
    let provider: VerifyingProvider<'_, R, NoClock, CERT_SIZE> =
        VerifyingProvider::new(server.ca_der, rng);
    tls.open(TlsContext::new(&config, provider))?;
    Ok(tls)
}

/// Opens a verified TLS 1.3 connection over an async stream.
///
/// # Errors
/// As [`open_blocking`].
#[cfg(feature = "async")]
pub async fn open<'b, S, R>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
) -> Result<embedded_tls::TlsConnection<'b, S, Aes128GcmSha256>, TlsError>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'b,
    R: CryptoRngCore,
{
    open_with::<S, R, DEFAULT_CERT_SIZE>(socket, server, rng, read_record, write_record).await
}

/// [`open`] with room for `CERT_SIZE` bytes of the server's certificate chain (see
/// [`open_blocking_with`]).
///
/// # Errors
/// As [`open_blocking`].
#[cfg(feature = "async")]
pub async fn open_with<'b, S, R, const CERT_SIZE: usize>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
) -> Result<embedded_tls::TlsConnection<'b, S, Aes128GcmSha256>, TlsError>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'b,
    R: CryptoRngCore,
{
    let mut tls = embedded_tls::TlsConnection::new(socket, read_record, write_record);
    let config = config(server.host);
    let provider: VerifyingProvider<'_, R, NoClock, CERT_SIZE> =
        VerifyingProvider::new(server.ca_der, rng);
    tls.open(TlsContext::new(&config, provider)).await?;
    Ok(tls)
}
