//! The device's network: a byte stream to the host over UART0, the way a Wi-Fi module's AT
//! interface carries TCP (open a connection to host:port, send and receive data, close).
//!
//! Frames in both directions are `kind: u8, len: u16 (little endian), payload`:
//!
//! | kind | from | payload | meaning |
//! |---|---|---|---|
//! | `C` | device | `host:port` | open a TCP connection (closing any open one) |
//! | `O` / `E` | host | - / reason | the connection is open / could not be opened |
//! | `D` | both | bytes | data on the open connection |
//! | `F` | host | - | the server closed the connection |
//! | `X` | device | - | close the connection |
//! | `M` / `R` | device / host | text / answer | a test control (the person at the browser, the operator) |
//!
//! Binary frames rather than AT text: no escaping, no unsolicited lines to untangle, and
//! the same three operations. The host side is `harness.py`.
//!
//! Every connection has a deadline ([`DEADLINE_MS`] from opening it): a read or write after
//! it fails with [`WireError::TimedOut`], so a stalled server cannot hold the device.
//! [`Wire`] implements both `embedded_io` and `embedded_io_async`; one implementation
//! serves both, the blocking one runs the async one to completion.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use crate::board::{Uart, uptime_ms};

/// How long one connection may take, from opening it to its last byte (handshake, request
/// and answer).
pub const DEADLINE_MS: u32 = 4_000;
/// Deadline for the host's answer to a test control.
const CONTROL_DEADLINE_MS: u32 = 30_000;
/// Largest data frame the device sends.
const MAX_FRAME: usize = 1024;

/// Why the wire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The deadline passed.
    TimedOut,
    /// The host could not open the connection (unknown name, refused).
    Refused,
    /// No connection is open.
    NotConnected,
    /// The host sent a frame that makes no sense here.
    Protocol,
    /// A host name and port longer than a frame may carry.
    TooLong,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::TimedOut => "deadline passed",
            Self::Refused => "connection refused",
            Self::NotConnected => "not connected",
            Self::Protocol => "unexpected frame from the host",
            Self::TooLong => "host name too long",
        })
    }
}

impl core::error::Error for WireError {}

impl embedded_io::Error for WireError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            Self::TimedOut => embedded_io::ErrorKind::TimedOut,
            Self::Refused => embedded_io::ErrorKind::ConnectionRefused,
            Self::NotConnected => embedded_io::ErrorKind::NotConnected,
            Self::Protocol => embedded_io::ErrorKind::InvalidData,
            Self::TooLong => embedded_io::ErrorKind::InvalidInput,
        }
    }
}

/// Counters of what crossed the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireStats {
    /// Connections opened.
    pub connections: u32,
    /// Data bytes sent on connections.
    pub sent: u32,
    /// Data bytes received on connections.
    pub received: u32,
}

/// The stream to the host. See the [module docs](self).
#[derive(Debug)]
pub struct Wire {
    uart: Uart,
    open: bool,
    eof: bool,
    /// Data bytes left in the frame being read.
    rx_left: usize,
    deadline: u32,
    /// At most this many bytes per read (1 makes every read deliver a single byte).
    pub max_read: usize,
    /// What crossed the wire.
    pub stats: WireStats,
}

/// Runs a future to completion by polling it; the wire's only wait is a poll of the UART.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Lets other tasks run once (wakes itself, so the executor comes back at once).
pub async fn yield_now() {
    let mut yielded = false;
    core::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

impl Wire {
    /// A wire over UART0.
    #[must_use]
    pub fn new(uart: Uart) -> Self {
        Self {
            uart,
            open: false,
            eof: false,
            rx_left: 0,
            deadline: 0,
            max_read: usize::MAX,
            stats: WireStats::default(),
        }
    }

    fn expired(&self) -> bool {
        // Wrapping difference: correct across the counter's wrap.
        (uptime_ms().wrapping_sub(self.deadline) as i32) >= 0
    }

    async fn byte(&mut self) -> Result<u8, WireError> {
        loop {
            if let Some(b) = self.uart.try_read() {
                return Ok(b);
            }
            // Waiting for the host is not the firmware's work: the busy counter stops.
            crate::board::pause_busy();
            while !crate::board::rx_ready() && !self.expired() {
                // A real driver would sleep until the UART's receive interrupt; polling
                // keeps this board support small and costs nothing but host time.
                yield_now().await;
            }
            crate::board::resume_busy();
            if self.expired() && !crate::board::rx_ready() {
                return Err(WireError::TimedOut);
            }
        }
    }

    async fn header(&mut self) -> Result<(u8, usize), WireError> {
        let kind = self.byte().await?;
        let lo = self.byte().await?;
        let hi = self.byte().await?;
        Ok((kind, usize::from(u16::from_le_bytes([lo, hi]))))
    }

    async fn skip_payload(&mut self, mut len: usize) -> Result<(), WireError> {
        while len > 0 {
            self.byte().await?;
            len -= 1;
        }
        Ok(())
    }

    fn send_frame(&mut self, kind: u8, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len = u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes();
        self.uart.write(kind);
        self.uart.write(len[0]);
        self.uart.write(len[1]);
        for &b in parts.iter().flat_map(|p| p.iter()) {
            self.uart.write(b);
        }
    }

    /// Reads frames until one of `kind` arrives, dropping data and closes of an earlier
    /// connection; copies its payload into `out` (as much as fits) and returns its length.
    async fn await_frame(
        &mut self,
        kind: u8,
        refused: Option<u8>,
        out: &mut [u8],
    ) -> Result<usize, WireError> {
        loop {
            let (k, len) = self.header().await?;
            if k == kind || Some(k) == refused {
                let mut n = 0;
                for _ in 0..len {
                    let b = self.byte().await?;
                    if let Some(slot) = out.get_mut(n) {
                        *slot = b;
                        n += 1;
                    }
                }
                return if k == kind {
                    Ok(n)
                } else {
                    Err(WireError::Refused)
                };
            }
            match k {
                b'D' | b'F' => self.skip_payload(len).await?,
                _ => return Err(WireError::Protocol),
            }
        }
    }

    /// Closes the open connection, if any, and drops what is left of a data frame the
    /// connection's reader stopped in the middle of.
    async fn close_and_drain(&mut self) -> Result<(), WireError> {
        if self.open {
            self.send_frame(b'X', &[]);
            self.open = false;
        }
        let left = core::mem::take(&mut self.rx_left);
        self.skip_payload(left).await
    }

    /// Opens a TCP connection to `host:port` through the host, closing any open one. The
    /// connection's deadline starts now.
    ///
    /// # Errors
    /// [`WireError::Refused`] when the host cannot connect; [`WireError::TimedOut`].
    pub async fn connect(&mut self, host: &str, port: u16) -> Result<(), WireError> {
        let mut digits = [0u8; 5];
        let mut at = digits.len();
        let mut p = port;
        loop {
            at -= 1;
            digits[at] = b'0' + (p % 10) as u8;
            p /= 10;
            if p == 0 {
                break;
            }
        }
        if host.len() > 250 {
            return Err(WireError::TooLong);
        }
        self.deadline = uptime_ms().wrapping_add(DEADLINE_MS);
        self.close_and_drain().await?;
        self.eof = false;
        self.send_frame(b'C', &[host.as_bytes(), b":", &digits[at..]]);
        self.await_frame(b'O', Some(b'E'), &mut []).await?;
        self.open = true;
        self.stats.connections += 1;
        Ok(())
    }

    /// Sends a test control to the host and copies its answer into `answer`.
    ///
    /// # Errors
    /// [`WireError::TimedOut`] or [`WireError::Protocol`].
    pub async fn control(&mut self, command: &str, answer: &mut [u8]) -> Result<usize, WireError> {
        self.deadline = uptime_ms().wrapping_add(CONTROL_DEADLINE_MS);
        self.close_and_drain().await?;
        self.send_frame(b'M', &[command.as_bytes()]);
        self.await_frame(b'R', None, answer).await
    }

    /// Reads data from the open connection; `Ok(0)` once the server closed it.
    ///
    /// # Errors
    /// [`WireError::TimedOut`], [`WireError::NotConnected`], [`WireError::Protocol`].
    pub async fn read_async(&mut self, buf: &mut [u8]) -> Result<usize, WireError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.open {
            return Err(WireError::NotConnected);
        }
        while self.rx_left == 0 {
            if self.eof {
                return Ok(0);
            }
            match self.header().await? {
                (b'D', len) => self.rx_left = len,
                (b'F', 0) => self.eof = true,
                _ => return Err(WireError::Protocol),
            }
        }
        let n = buf.len().min(self.rx_left).min(self.max_read.max(1));
        for slot in buf.iter_mut().take(n) {
            *slot = self.byte().await?;
        }
        self.rx_left -= n;
        self.stats.received += n as u32;
        Ok(n)
    }

    /// Sends data on the open connection (at most one frame's worth per call).
    ///
    /// # Errors
    /// [`WireError::TimedOut`], [`WireError::NotConnected`].
    pub fn write_now(&mut self, buf: &[u8]) -> Result<usize, WireError> {
        if !self.open {
            return Err(WireError::NotConnected);
        }
        if self.expired() {
            return Err(WireError::TimedOut);
        }
        let n = buf.len().min(MAX_FRAME);
        let data = buf.get(..n).unwrap_or_default();
        self.send_frame(b'D', &[data]);
        self.stats.sent += n as u32;
        Ok(n)
    }
}

impl embedded_io::ErrorType for Wire {
    type Error = WireError;
}

impl embedded_io::Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, WireError> {
        block_on(self.read_async(buf))
    }
}

impl embedded_io::Write for Wire {
    fn write(&mut self, buf: &[u8]) -> Result<usize, WireError> {
        self.write_now(buf)
    }
    fn flush(&mut self) -> Result<(), WireError> {
        Ok(())
    }
}

impl embedded_io_async::Read for Wire {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, WireError> {
        self.read_async(buf).await
    }
}

impl embedded_io_async::Write for Wire {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, WireError> {
        self.write_now(buf)
    }
    async fn flush(&mut self) -> Result<(), WireError> {
        Ok(())
    }
}
