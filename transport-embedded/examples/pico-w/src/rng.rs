//! Randomness: TLS's client random and key shares from the RP2040's ring oscillator
//! (embassy-rp's [`RoscRng`], the chip's only entropy source), and the session's retry
//! jitter.
//!
//! `RoscRng` samples the oscillator's `RANDOMBIT` once per bit, back to back; bits sampled
//! that way can be biased and correlated to a degree no one has bounded for every chip and
//! clock setting. So TLS does not take them raw: every 32 bytes it uses are SHA-256 over 64
//! fresh raw bytes (512 sampled bits condensed to 256), on the SHA-256 embedded-tls links
//! anyway. A handshake draws under 100 bytes.

use embassy_rp::clocks::RoscRng;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

/// Raw oscillator bytes hashed into each 32-byte block.
const RAW_PER_BLOCK: usize = 64;

/// The ring oscillator's bits, condensed with SHA-256: the random source TLS draws from.
#[derive(Debug)]
pub struct TlsRng {
    block: [u8; 32],
    used: usize,
}

impl TlsRng {
    /// A generator with no block drawn yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            block: [0; 32],
            used: 32,
        }
    }

    /// Draws the next block: SHA-256 over fresh oscillator bytes.
    fn refill(&mut self) {
        let mut raw = [0u8; RAW_PER_BLOCK];
        RoscRng.fill_bytes(&mut raw);
        self.block = Sha256::digest(raw).into();
        self.used = 0;
    }
}

impl RngCore for TlsRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used >= self.block.len() {
                self.refill();
            }
            *byte = self.block.get(self.used).copied().unwrap_or_default();
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for TlsRng {}

/// Random values for the session's retry jitter and the network stack's seed; nothing
/// secret depends on them, so the raw oscillator bits do.
pub fn jitter() -> u32 {
    RoscRng.next_u32()
}
