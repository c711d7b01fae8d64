//! Helpers the integration tests share.

#![allow(dead_code, unreachable_pub)] // each test file uses what it needs

#[cfg(feature = "async")]
use std::io::{Read, Write};
#[cfg(feature = "async")]
use std::net::TcpStream;

/// A blocking `TcpStream` behind the async traits (each call completes at once), so that
/// the async TLS helper runs against the same real socket and server.
#[cfg(feature = "async")]
pub struct AsyncTcp(pub TcpStream);

#[cfg(feature = "async")]
impl embedded_io_async::ErrorType for AsyncTcp {
    type Error = std::io::Error;
}

#[cfg(feature = "async")]
impl embedded_io_async::Read for AsyncTcp {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        self.0.read(buf)
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Write for AsyncTcp {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        self.0.write(buf)
    }
    async fn flush(&mut self) -> Result<(), std::io::Error> {
        self.0.flush()
    }
}
