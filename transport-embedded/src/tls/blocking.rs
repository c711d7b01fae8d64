//! Verified TLS 1.3 over a blocking stream ([`embedded_io::Read`] + [`embedded_io::Write`]);
//! `asynch` (feature `async`) mirrors it. See the [`tls`](super) module for
//! what is verified.

use embedded_tls::{Aes128GcmSha256, TlsContext};
use rand_core::CryptoRngCore;

use super::{Error, Inspection, ServerIdentity, Verdict, VerifyingProvider, config, verifier};

/// Opens a verified TLS 1.3 connection over a blocking stream.
///
/// The connection borrows the socket and the record buffers; `server` is needed only during
/// the handshake.
///
/// # Errors
/// [`Error::Certificate`] with the reason when the server is not verified (a chain to none
/// of the anchors, a certificate expired or not yet valid at `server.unix_time`, one for
/// another host, an unsupported algorithm, ...); [`Error::Tls`] when the handshake fails
/// otherwise (I/O, an alert, a malformed message).
pub fn open<'b, S, R>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
) -> Result<embedded_tls::blocking::TlsConnection<'b, S, Aes128GcmSha256>, Error>
where
    S: embedded_io::Read + embedded_io::Write,
    R: CryptoRngCore,
{
    open_with(socket, server, rng, read_record, write_record, None)
}

/// [`open`], recording what the verifier saw in `inspection`.
///
/// # Errors
/// As [`open`].
pub fn open_inspected<'b, S, R>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
    inspection: &mut Inspection<'_>,
) -> Result<embedded_tls::blocking::TlsConnection<'b, S, Aes128GcmSha256>, Error>
where
    S: embedded_io::Read + embedded_io::Write,
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
}

fn open_with<'b, S, R>(
    socket: S,
    server: &ServerIdentity<'_>,
    rng: R,
    read_record: &'b mut [u8],
    write_record: &'b mut [u8],
    inspection: Option<&mut Inspection<'_>>,
) -> Result<embedded_tls::blocking::TlsConnection<'b, S, Aes128GcmSha256>, Error>
where
    S: embedded_io::Read + embedded_io::Write,
    R: CryptoRngCore,
{
    let verdict = Verdict::default();
    let verifier = verifier(server, &verdict, inspection)?;
    let config = config(server.host);
    let mut tls = embedded_tls::blocking::TlsConnection::new(socket, read_record, write_record);
    let provider = VerifyingProvider { rng, verifier };
    let opened = tls.open(TlsContext::new(&config, provider));
    verdict.settle(opened)?;
    Ok(tls)
}
