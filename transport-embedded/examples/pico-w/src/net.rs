//! The connector lwa's async driver opens connections with: the endpoint's name resolved by
//! embassy-net's DNS, a TCP socket, and TLS 1.3 on top, verified by `lwa_embedded::tls`
//! against lwa-embedded's curated trust anchors, the host name and the time from SNTP.
//!
//! Every connection has one deadline, [`CONNECTION_DEADLINE`] after it began, for the
//! name, the TCP handshake, the TLS handshake and the exchange alike: a server that stalls
//! ends in an error, which the session turns into a retry.

use embassy_net::dns::{self, DnsQueryType};
use embassy_net::tcp::{self, TcpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{Duration, Instant, with_deadline};
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use embedded_tls::{Aes128GcmSha256, TlsConnection};
use lwa_embedded::core::endpoint::Endpoint;
use lwa_embedded::tls::{ServerIdentity, asynch};

use crate::rng::TlsRng;

/// TLS read record buffer: a full TLS record (16 KiB of plaintext, header, tag, padding);
/// lwa's `tls` asks for no smaller max-fragment-length.
pub const READ_RECORD_LEN: usize = 16_640;
/// TLS write record buffer: embedded-tls cuts a longer write into records of this size.
pub const WRITE_RECORD_LEN: usize = 1024;
/// TCP receive window: TLS records arrive in pieces of this size at most.
pub const TCP_RX_LEN: usize = 4096;
/// TCP send buffer.
pub const TCP_TX_LEN: usize = 2048;
/// How long one connection may take from its DNS query to its last byte. An RSA-2048
/// handshake on the 125 MHz Cortex-M0+ takes a few seconds of it.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(60);

/// Why a connection did not open.
#[derive(Debug, defmt::Format)]
pub enum ConnectError {
    /// The endpoint's name did not resolve.
    Dns(dns::Error),
    /// The name resolved to no IPv4 address.
    NoAddress,
    /// The TCP connection failed.
    Tcp(tcp::ConnectError),
    /// The TLS handshake failed: the server not verified (with the reason), or I/O.
    Tls(lwa_embedded::tls::Error),
    /// The deadline passed.
    TimedOut,
}

/// Opens verified TLS connections to the endpoint, one per request.
pub struct Connector {
    stack: Stack<'static>,
    /// Unix seconds at boot (uptime zero), from SNTP.
    unix_at_boot: u64,
    rng: TlsRng,
    tcp_rx: &'static mut [u8],
    tcp_tx: &'static mut [u8],
    read_record: &'static mut [u8],
    write_record: &'static mut [u8],
}

/// The buffers a [`Connector`] works in.
pub struct Buffers {
    /// TCP receive window ([`TCP_RX_LEN`]).
    pub tcp_rx: &'static mut [u8],
    /// TCP send buffer ([`TCP_TX_LEN`]).
    pub tcp_tx: &'static mut [u8],
    /// TLS read record ([`READ_RECORD_LEN`]).
    pub read_record: &'static mut [u8],
    /// TLS write record ([`WRITE_RECORD_LEN`]).
    pub write_record: &'static mut [u8],
}

impl Connector {
    /// A connector over `stack`, checking certificates against the time `unix_at_boot`
    /// plus the uptime.
    #[must_use]
    pub fn new(stack: Stack<'static>, unix_at_boot: u64, buffers: Buffers) -> Self {
        Self {
            stack,
            unix_at_boot,
            rng: TlsRng::new(),
            tcp_rx: buffers.tcp_rx,
            tcp_tx: buffers.tcp_tx,
            read_record: buffers.read_record,
            write_record: buffers.write_record,
        }
    }

    /// Seconds since 1970 now.
    #[must_use]
    pub fn unix_now(&self) -> u64 {
        self.unix_at_boot + Instant::now().as_secs()
    }

    /// Resolves `host` to its first IPv4 address.
    async fn resolve(&self, host: &str) -> Result<embassy_net::IpAddress, ConnectError> {
        let addresses = self
            .stack
            .dns_query(host, DnsQueryType::A)
            .await
            .map_err(ConnectError::Dns)?;
        addresses.first().copied().ok_or(ConnectError::NoAddress)
    }

    /// [`lwa_embedded::asynch::Connect::connect`], with the error kept.
    async fn open(&mut self, endpoint: &Endpoint<'_>) -> Result<Tls<'_>, ConnectError> {
        let deadline = Instant::now() + CONNECTION_DEADLINE;
        let unix_time = self.unix_now();
        let address = with_deadline(deadline, self.resolve(endpoint.host()))
            .await
            .map_err(|_| ConnectError::TimedOut)??;

        let mut socket = TcpSocket::new(self.stack, &mut *self.tcp_rx, &mut *self.tcp_tx);
        // smoltcp resets a connection whose data goes unacknowledged this long.
        socket.set_timeout(Some(CONNECTION_DEADLINE));
        with_deadline(
            deadline,
            socket.connect(IpEndpoint::new(address, endpoint.port())),
        )
        .await
        .map_err(|_| ConnectError::TimedOut)?
        .map_err(ConnectError::Tcp)?;

        let identity = ServerIdentity {
            host: endpoint.host(),
            anchors: crate::config::ANCHORS,
            unix_time,
        };
        let socket = Deadline { socket, deadline };
        asynch::open(
            socket,
            &identity,
            &mut self.rng,
            &mut *self.read_record,
            &mut *self.write_record,
        )
        .await
        .map_err(ConnectError::Tls)
    }
}

/// A TLS connection over a TCP socket with a deadline.
pub type Tls<'c> = TlsConnection<'c, Deadline<'c>, Aes128GcmSha256>;

impl lwa_embedded::asynch::Connect for Connector {
    type Connection<'c> = Tls<'c>;
    type Error = ConnectError;

    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<Tls<'_>, ConnectError> {
        let result = self.open(endpoint).await;
        // The driver hands the session only "a transport failure": say here what it was.
        if let Err(e) = &result {
            defmt::warn!("connection to {} failed: {}", endpoint.host(), e);
        }
        result
    }
}

/// A TCP socket whose reads and writes fail once the deadline has passed.
pub struct Deadline<'s> {
    socket: TcpSocket<'s>,
    deadline: Instant,
}

/// Why a read or write on a [`Deadline`] socket failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum StreamError {
    /// The connection was reset.
    Tcp(tcp::Error),
    /// The deadline passed.
    TimedOut,
}

impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Tcp(tcp::Error::ConnectionReset) => f.write_str("connection reset"),
            Self::TimedOut => f.write_str("connection deadline passed"),
        }
    }
}

impl core::error::Error for StreamError {}

impl embedded_io_async::Error for StreamError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Tcp(tcp::Error::ConnectionReset) => ErrorKind::ConnectionReset,
            Self::TimedOut => ErrorKind::TimedOut,
        }
    }
}

impl ErrorType for Deadline<'_> {
    type Error = StreamError;
}

impl Read for Deadline<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        with_deadline(self.deadline, self.socket.read(buf))
            .await
            .map_err(|_| StreamError::TimedOut)?
            .map_err(StreamError::Tcp)
    }
}

impl Write for Deadline<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, StreamError> {
        with_deadline(self.deadline, self.socket.write(buf))
            .await
            .map_err(|_| StreamError::TimedOut)?
            .map_err(StreamError::Tcp)
    }

    async fn flush(&mut self) -> Result<(), StreamError> {
        with_deadline(self.deadline, self.socket.flush())
            .await
            .map_err(|_| StreamError::TimedOut)?
            .map_err(StreamError::Tcp)
    }
}
