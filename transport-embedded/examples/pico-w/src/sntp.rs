//! The wall-clock time, once at boot, by SNTP (RFC 4330) over embassy-net UDP: webpki checks
//! every certificate's validity against it, and a device without it cannot connect.
//!
//! One request, one reply: the request's transmit timestamp is a random nonce, and a reply
//! counts only if it echoes that nonce as its originate timestamp (so a stray or forged
//! datagram from off the path is dropped), is a server's reply (mode 4) from a synchronized
//! server (stratum 1 to 15, no alarm) and carries a transmit time. SNTP is not
//! authenticated: an attacker on the path can set the clock, which moves certificate
//! validity but not the chain's signatures.

use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpEndpoint, Stack, dns::DnsQueryType};
use embassy_time::{Duration, with_timeout};

/// SNTP's port.
const PORT: u16 = 123;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_TO_UNIX: u64 = 2_208_988_800;
/// The length of an SNTP message without extensions.
const LEN: usize = 48;
/// How long to wait for the reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no time came back.
#[derive(Debug, defmt::Format)]
pub enum SntpError {
    /// The server's name did not resolve.
    Dns(embassy_net::dns::Error),
    /// The name resolved to no IPv4 address.
    NoAddress,
    /// The UDP socket could not be bound.
    Bind(embassy_net::udp::BindError),
    /// The request could not be sent.
    Send(embassy_net::udp::SendError),
    /// The reply could not be received.
    Recv(embassy_net::udp::RecvError),
    /// No reply in time.
    TimedOut,
    /// A reply that does not answer the request, or from an unsynchronized server.
    BadReply,
}

/// Asks `server` for the time: seconds since 1970-01-01 UTC.
///
/// # Errors
/// An [`SntpError`]; the caller retries.
pub async fn unix_time(stack: Stack<'_>, server: &str, nonce: u64) -> Result<u64, SntpError> {
    let addresses = stack
        .dns_query(server, DnsQueryType::A)
        .await
        .map_err(SntpError::Dns)?;
    let address = *addresses.first().ok_or(SntpError::NoAddress)?;

    let mut rx_meta = [PacketMetadata::EMPTY; 1];
    let mut tx_meta = [PacketMetadata::EMPTY; 1];
    let mut rx = [0u8; 128];
    let mut tx = [0u8; LEN];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx, &mut tx_meta, &mut tx);
    socket.bind(0).map_err(SntpError::Bind)?;

    let request = request(nonce);
    socket
        .send_to(&request, IpEndpoint::new(address, PORT))
        .await
        .map_err(SntpError::Send)?;
    let mut reply = [0u8; 128];
    loop {
        let (n, from) = with_timeout(REPLY_TIMEOUT, socket.recv_from(&mut reply))
            .await
            .map_err(|_| SntpError::TimedOut)?
            .map_err(SntpError::Recv)?;
        // Only the server asked answers; anything else on this port is dropped.
        if from.endpoint.addr != address {
            continue;
        }
        return reply
            .get(..n)
            .and_then(|r| parse(r, nonce))
            .ok_or(SntpError::BadReply);
    }
}

/// A client request (version 4, mode 3) whose transmit timestamp is `nonce`.
fn request(nonce: u64) -> [u8; LEN] {
    let mut m = [0u8; LEN];
    m[0] = 0b00_100_011; // leap indicator 0, version 4, mode 3 (client)
    m[40..48].copy_from_slice(&nonce.to_be_bytes());
    m
}

/// The server's transmit time in Unix seconds, if `reply` answers the request sent with
/// `nonce` from a synchronized server.
fn parse(reply: &[u8], nonce: u64) -> Option<u64> {
    let reply: &[u8; LEN] = reply.get(..LEN)?.try_into().ok()?;
    let [first, stratum, ..] = *reply;
    let leap = first >> 6;
    let mode = first & 0b111;
    let originate = u64::from_be_bytes(reply[24..32].try_into().ok()?);
    let seconds = u32::from_be_bytes(reply[40..44].try_into().ok()?);
    if mode != 4 || leap == 3 || !(1..=15).contains(&stratum) || originate != nonce || seconds == 0
    {
        return None;
    }
    // NTP seconds wrap in February 2036: a value with the top bit clear is in the next era
    // (RFC 4330, section 3), which keeps 1968 to 2104 right.
    let seconds = u64::from(seconds);
    let seconds = if seconds & 0x8000_0000 == 0 {
        seconds + (1 << 32)
    } else {
        seconds
    };
    Some(seconds - NTP_TO_UNIX)
}
