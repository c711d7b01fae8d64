//! The connector the drivers open connections with: a TCP connection over the [`Wire`], and
//! embedded-tls on top, verified against lwa-embedded's default trust anchors plus the run's
//! test root, and the endpoint's host name.

use embedded_tls::Aes128GcmSha256;
use lwa_embedded::core::endpoint::Endpoint;
use lwa_embedded::tls::{ServerIdentity, TrustAnchor, asynch, blocking};

use crate::board::uptime_ms;
use crate::wire::{Wire, WireError, block_on};

/// TLS read record buffer: a full TLS record (16 KiB of plaintext, header, tag, padding).
/// lwa's `tls` asks for no smaller max_fragment_length (rustls would not grant one).
pub const READ_RECORD_LEN: usize = 16_640;
/// TLS write record buffer. embedded-tls cuts a longer write into records of this size, so
/// a 2.5 KiB request goes out as three records; 1 KiB costs 2% in record overhead and saves
/// 3 KiB of RAM against one record for the largest request.
pub const WRITE_RECORD_LEN: usize = 1024;
/// Why a connection did not open.
#[derive(Debug, Clone, Copy)]
pub enum ConnectError {
    /// The wire (TCP) failed: refused, or the deadline passed before TLS began.
    Wire(WireError),
    /// The TLS handshake failed: the server not verified (with the reason), I/O, deadline.
    Tls(lwa_embedded::tls::Error),
}

/// Opens verified TLS connections over the wire, one per request.
#[derive(Debug)]
pub struct Connector {
    /// The stream to the host.
    pub wire: Wire,
    /// The trust anchors the server's chain must lead to.
    pub anchors: &'static [TrustAnchor<'static>],
    /// Seconds since 1970 at boot, from the network (as SNTP would give it): certificates
    /// are checked against the time now.
    pub unix_time_at_boot: u64,
    /// Randomness for TLS (key shares, client random).
    pub rng: crate::rng::Sha256Rng,
    read_record: &'static mut [u8],
    write_record: &'static mut [u8],
    /// How the last connection attempt went.
    pub report: Report,
}

/// How the last connection attempt went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Report {
    /// Why it failed, if it did (the driver hands the session only "a transport failure").
    pub last_error: Option<ConnectError>,
    /// Milliseconds the last successful handshake took, TCP connect included.
    pub last_handshake_ms: u32,
    /// [`Connector::work`] the last successful handshake took.
    pub last_handshake_work: u64,
}

impl Connector {
    /// A connector with the given record buffers.
    pub fn new(
        wire: Wire,
        anchors: &'static [TrustAnchor<'static>],
        rng: crate::rng::Sha256Rng,
        read_record: &'static mut [u8],
        write_record: &'static mut [u8],
    ) -> Self {
        Self {
            wire,
            anchors,
            unix_time_at_boot: 0,
            rng,
            read_record,
            write_record,
            report: Report::default(),
        }
    }

    /// Work done since boot, waiting for the host left out: instructions when QEMU runs with
    /// `-icount shift=0` (one instruction per nanosecond of virtual time), busy time in
    /// nanoseconds otherwise.
    #[must_use]
    pub fn work(&self) -> u64 {
        work()
    }
}

/// See [`Connector::work`].
fn work() -> u64 {
    u64::from(crate::board::busy_counts()) * crate::board::INSNS_PER_COUNT
}

type Tls<'c> = embedded_tls::TlsConnection<'c, &'c mut Wire, Aes128GcmSha256>;
type BlockingTls<'c> = embedded_tls::blocking::TlsConnection<'c, &'c mut Wire, Aes128GcmSha256>;

/// When a connection attempt started: uptime and work so far.
#[derive(Clone, Copy)]
struct Start {
    ms: u32,
    work: u64,
}

impl Connector {
    /// Who the server must be, now.
    fn identity<'e>(&self, endpoint: &Endpoint<'e>) -> (ServerIdentity<'e>, Start) {
        let identity = ServerIdentity {
            host: endpoint.host(),
            anchors: self.anchors,
            unix_time: self.unix_time_at_boot + u64::from(uptime_ms() / 1000),
        };
        let start = Start {
            ms: uptime_ms(),
            work: work(),
        };
        (identity, start)
    }
}

impl Report {
    /// Records how a connection attempt that began at `start` ended.
    fn settle<T>(
        &mut self,
        result: Result<T, ConnectError>,
        start: Start,
    ) -> Result<T, ConnectError> {
        match &result {
            Ok(_) => {
                self.last_error = None;
                self.last_handshake_ms = uptime_ms().wrapping_sub(start.ms);
                self.last_handshake_work = work() - start.work;
            }
            Err(e) => self.last_error = Some(*e),
        }
        result
    }
}

impl lwa_embedded::blocking::Connect for Connector {
    type Connection<'c> = BlockingTls<'c>;
    type Error = ConnectError;

    fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<BlockingTls<'_>, ConnectError> {
        let (identity, start) = self.identity(endpoint);
        let result = match block_on(self.wire.connect(endpoint.host(), endpoint.port())) {
            Err(e) => Err(ConnectError::Wire(e)),
            Ok(()) => blocking::open(
                &mut self.wire,
                &identity,
                &mut self.rng,
                self.read_record,
                self.write_record,
            )
            .map_err(ConnectError::Tls),
        };
        self.report.settle(result, start)
    }
}

impl lwa_embedded::asynch::Connect for Connector {
    type Connection<'c> = Tls<'c>;
    type Error = ConnectError;

    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<Tls<'_>, ConnectError> {
        let (identity, start) = self.identity(endpoint);
        let result = match self.wire.connect(endpoint.host(), endpoint.port()).await {
            Err(e) => Err(ConnectError::Wire(e)),
            Ok(()) => asynch::open(
                &mut self.wire,
                &identity,
                &mut self.rng,
                self.read_record,
                self.write_record,
            )
            .await
            .map_err(ConnectError::Tls),
        };
        self.report.settle(result, start)
    }
}
