//! TLS 1.3 with embedded-tls, verified: webpki checks that the server's certificate chain
//! leads to the CA the caller passes, that every certificate is valid at the time the
//! caller passes, and that the leaf names the host; then the handshake signature is checked
//! with the leaf's key. There is no way to skip any of it here.
//!
//! The cipher suite is `TLS_AES_128_GCM_SHA256`. P-256 (ECDSA) chains verify out of the box;
//! RSA chains (Amazon's) need the `rsa` feature and a global allocator for the `rsa` crate's
//! big integers. See the crate docs for the CA api.amazon.com needs and the buffer sizes.
//!
//! ```no_run
//! use lwa_embedded::tls::{open_blocking, ServerIdentity};
//! # fn tcp_connect() -> embedded_io_adapters::std::FromStd<std::net::TcpStream> { todo!() }
//! # fn unix_time_from_sntp() -> u64 { 1_800_000_000 }
//! # let rng = rand_core::OsRng;
//! static AMAZON_ROOT_CA_1: &[u8] = &[/* include_bytes!("AmazonRootCA1.cer") */];
//! let mut read_record = [0u8; 16_640];
//! let mut write_record = [0u8; 1024];
//! let identity = ServerIdentity {
//!     host: "api.amazon.com",
//!     ca_der: AMAZON_ROOT_CA_1,
//!     unix_time: unix_time_from_sntp(),
//! };
//! let tls = open_blocking(tcp_connect(), &identity, rng, &mut read_record, &mut write_record)?;
//! // `tls` implements embedded_io::Read + Write: hand it to blocking::run_exchange.
//! # Ok::<(), embedded_tls::TlsError>(())
//! ```

mod algorithms;
mod der;
mod verify;

use core::cell::Cell;
use core::time::Duration;

use embedded_tls::{Aes128GcmSha256, CryptoProvider, TlsConfig, TlsContext, TlsError, TlsVerifier};
use rand_core::CryptoRngCore;
use rustls_pki_types::UnixTime;

pub use verify::MAX_SPKI_LEN;

/// Who the server must prove to be, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerIdentity<'a> {
    /// The host name the certificate must carry in its subject alternative names, e.g.
    /// `api.amazon.com`.
    pub host: &'a str,
    /// The trust anchor in DER: the root CA the server's chain ends at.
    pub ca_der: &'a [u8],
    /// Now, in seconds since 1970-01-01 UTC: every certificate of the chain must be valid
    /// then. A device takes it from SNTP or its real-time clock before its first connection
    /// (lwa's session runs on monotonic time and does not know it).
    pub unix_time: u64,
}

/// The embedded-tls crypto provider that verifies the server (see the [module docs](self)).
/// Private: embedded-tls 0.19 completes a handshake whose server sent `Finished` without
/// `Certificate` and `CertificateVerify` (a man in the middle can), and never asks the
/// verifier; only [`open_blocking`] and [`open`], which check afterwards that the server
/// proved its identity, may use it.
struct VerifyingProvider<'a, R> {
    rng: R,
    verifier: verify::Verifier<'a>,
}

impl<R> core::fmt::Debug for VerifyingProvider<'_, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("VerifyingProvider")
    }
}

impl<'a, R: CryptoRngCore> VerifyingProvider<'a, R> {
    /// A provider that verifies `server`, drawing randomness from `rng`; `proved` turns true
    /// once the server's handshake signature checked out with a verified chain's key.
    fn new(server: &ServerIdentity<'a>, rng: R, proved: &'a Cell<bool>) -> Result<Self, TlsError> {
        let now = UnixTime::since_unix_epoch(Duration::from_secs(server.unix_time));
        Ok(Self {
            rng,
            verifier: verify::Verifier::new(server.ca_der, server.host, now, proved)?,
        })
    }
}

/// After a handshake embedded-tls accepted: refuses it unless the server proved its
/// identity (see [`VerifyingProvider`]).
fn proved(proved: &Cell<bool>) -> Result<(), TlsError> {
    if proved.get() {
        Ok(())
    } else {
        Err(TlsError::InvalidCertificate)
    }
}

impl<'a, R: CryptoRngCore> CryptoProvider for VerifyingProvider<'a, R> {
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

/// Opens a verified TLS 1.3 connection over a blocking stream.
///
/// The connection borrows the socket and the record buffers; `server` is needed only during
/// the handshake.
///
/// # Errors
/// Any [`TlsError`]: `InvalidCertificate` for a chain that does not lead to the CA, a
/// certificate expired or not yet valid at `server.unix_time`, or one for another host;
/// `InvalidSignature`, I/O errors, ...
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
    let mut tls = embedded_tls::blocking::TlsConnection::new(socket, read_record, write_record);
    let config = config(server.host);
    let signed = Cell::new(false);
    let provider = VerifyingProvider::new(server, rng, &signed)?;
    tls.open(TlsContext::new(&config, provider))?;
    proved(&signed)?;
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
    let mut tls = embedded_tls::TlsConnection::new(socket, read_record, write_record);
    let config = config(server.host);
    let signed = Cell::new(false);
    let provider = VerifyingProvider::new(server, rng, &signed)?;
    tls.open(TlsContext::new(&config, provider)).await?;
    proved(&signed)?;
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_without_proof_is_refused() {
        assert!(matches!(
            proved(&Cell::new(false)),
            Err(TlsError::InvalidCertificate)
        ));
        assert!(proved(&Cell::new(true)).is_ok());
    }
}
