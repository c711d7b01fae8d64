//! Verified TLS 1.3 over an async stream ([`embedded_io_async::Read`] +
//! [`embedded_io_async::Write`]), as [`blocking`](super::blocking) over a blocking one.

use embedded_tls::{Aes128GcmSha256, TlsContext};
use rand_core::CryptoRngCore;

use super::{Error, Inspection, ServerIdentity, Verdict, VerifyingProvider, config, verifier};

/// Opens a verified TLS 1.3 connection over an async stream.
///
/// # Errors
/// As [`blocking::open`](super::blocking::open).
pub async fn open<'b, S, R>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
) -> Result<embedded_tls::TlsConnection<'b, S, Aes128GcmSha256>, Error>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'b,
    R: CryptoRngCore,
{
    open_with(socket, server, rng, read_record, write_record, None).await
}

/// [`open`], recording what the verifier saw in `inspection`.
///
/// # Errors
/// As [`blocking::open`](super::blocking::open).
pub async fn open_inspected<'b, S, R>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
    inspection: &mut Inspection<'_>,
) -> Result<embedded_tls::TlsConnection<'b, S, Aes128GcmSha256>, Error>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'b,
    R: CryptoRngCore,
{
    open_with(
        socket,
        server,
        rng,
        read_record,
        write_record,
        Some(inspection),
    )
    .await
}

async fn open_with<'b, S, R>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
    inspection: Option<&mut Inspection<'_>>,
) -> Result<embedded_tls::TlsConnection<'b, S, Aes128GcmSha256>, Error>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'b,
    R: CryptoRngCore,
{
    let verdict = Verdict::default();
    let verifier = verifier(server, &verdict, inspection)?;
    let config = config(server.host);
    let mut tls = embedded_tls::TlsConnection::new(socket, read_record, write_record);
    let provider = VerifyingProvider { rng, verifier };
    let opened = tls.open(TlsContext::new(&config, provider)).await;
    verdict.settle(opened)?;
    Ok(tls)
}
